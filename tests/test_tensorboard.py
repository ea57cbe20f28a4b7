"""TensorBoard logs: the history rows as scalars under RUN/tensorboard; off by default, one setting or flag."""

from __future__ import annotations

import sys
from types import SimpleNamespace

import numpy as np
import pytest
from trainer_problems import poisson_inverse, small

import pdec
from pdec.cli import build_parser, run_arguments
from pdec.core.errors import PdecRunError, PdecSettingsError
from pdec.core.settings import _SCHEMA, Settings
from pdec.run.results import HISTORY, History
from pdec.run.tensorboard import FOLDER, TensorBoardLog, tag

pytest.importorskip("tensorboard")
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator  # noqa: E402


def scalars(folder) -> dict[str, tuple[list[int], list[float]]]:
    """``{tag: (steps, values)}`` of every scalar in an event folder."""
    events = EventAccumulator(str(folder), size_guidance={"scalars": 0})
    events.Reload()
    return {t: ([e.step for e in events.Scalars(t)], [e.value for e in events.Scalars(t)])
            for t in events.Tags()["scalars"]}


def test_the_scalars_are_the_history_rows(tmp_path):
    out = tmp_path / "run"
    pdec.fit(poisson_inverse(), out=out, quiet=True, plots=False, tensorboard=True,
             **small(adam=8, lbfgs=10, eval_every=3, data_first=0.0))
    history = History.read_csv(out / HISTORY)
    logged = scalars(out / FOLDER)
    columns = [c for c in history.columns if c.split(":")[0] in ("loss", "weight", "unknown", "error", "lr")]
    assert {"loss:pde:poisson", "weight:data:obs", "unknown:k", "error:u"} <= set(columns)
    for column in columns:
        steps, values = logged[tag(column)]
        rows = ~np.isnan(history[column])  # errors: the evaluation steps only
        assert steps == [int(s) for s in history["step"][rows]], column
        assert np.allclose(values, history[column][rows], rtol=1e-6, atol=0), column  # float32 in the event file
    assert logged["loss/pde:poisson"][0][-1] == history["step"][-1]  # the second phase's rows too


def test_off_by_default_and_documented(tmp_path):
    assert Settings().tensorboard is False
    pdec.fit(poisson_inverse(), out=tmp_path / "run", quiet=True, plots=False, **small(adam=2))
    assert not (tmp_path / "run" / FOLDER).exists()
    from pathlib import Path

    table = (Path(__file__).resolve().parents[1] / "docs" / "language.md").read_text(encoding="utf-8")
    assert [k for k in _SCHEMA if f"| `{k}` |" not in table] == []  # every setting in the train table


def test_one_setting_or_flag_turns_it_on():
    spec = "var x in [0, 1]\nfield u(x)\neq: u_xx = 1\nbc: u = 0 on boundary\ntrain:\n  tensorboard = true\n"
    assert pdec.load(spec).settings.tensorboard is True
    with pytest.raises(PdecSettingsError, match="true or false"):
        pdec.load(spec.replace("= true", "= 1"))
    args = build_parser().parse_args(["run", "spec.pde", "--tensorboard"])
    assert args.tensorboard is True and "--tensorboard" in run_arguments(args)  # each process of --nproc too
    assert build_parser().parse_args(["run", "spec.pde"]).tensorboard is None  # the spec's setting stands


def test_without_the_package_the_run_stops_before_training(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", None)
    with pytest.raises(PdecRunError, match="needs the tensorboard package") as caught:
        pdec.fit(poisson_inverse(), out=tmp_path / "run", quiet=True, plots=False, tensorboard=True, **small(adam=2))
    assert "pdec[tensorboard]" in caught.value.hint
    assert not (tmp_path / "run").exists()


def trainer(folder, settings=None):
    return SimpleNamespace(run_dir=folder, resume_dir=folder, settings=settings or Settings(tensorboard=True))


def test_an_unwritable_log_folder_is_a_run_error(tmp_path):
    (tmp_path / FOLDER).write_text("a file where the folder goes")
    log = TensorBoardLog()
    with pytest.raises(PdecRunError, match="cannot write the TensorBoard log") as caught:
        log(trainer(tmp_path), {"step": 1, "loss": 1.0})
    assert caught.value.hint


def test_steps_count_on_across_time_windows_and_the_callback_still_runs(tmp_path):
    seen = []
    log = TensorBoardLog(then=lambda t, row: seen.append(row["step"]))
    for window in (trainer(tmp_path), trainer(tmp_path)):  # marching: one trainer per window, steps from 1
        for step in (1, 2, 3):
            log(window, {"step": step, "phase": "adam", "loss": float(step), "time": 0.1})
    log.close()
    assert scalars(tmp_path / FOLDER)["loss"] == ([1, 2, 3, 4, 5, 6], [1.0, 2.0, 3.0, 1.0, 2.0, 3.0])
    assert seen == [1, 2, 3] * 2


def test_other_processes_and_runs_without_the_setting_write_nothing(tmp_path):
    TensorBoardLog(enabled=False)(trainer(tmp_path), {"step": 1, "loss": 1.0})
    TensorBoardLog()(trainer(tmp_path, Settings()), {"step": 1, "loss": 1.0})
    assert not (tmp_path / FOLDER).exists()
