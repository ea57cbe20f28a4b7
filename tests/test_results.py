"""Checkpoints and run directories: safe loading (weights_only), atomic writes, and clean errors."""

from __future__ import annotations

import pathlib

import pytest
import torch
from trainer_problems import poisson1d, small

from pdec import fit
from pdec.core.errors import PdecRunError
from pdec.run.results import CHECKPOINT, load_checkpoint, load_result, read_points_csv, save_checkpoint


class Payload:
    """An object whose unpickling creates a file: what a malicious checkpoint would do."""

    def __init__(self, target: pathlib.Path) -> None:
        self.target = target

    def __reduce__(self):
        return (pathlib.Path.touch, (self.target,))


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    """A genuine run directory, trained a few steps with ReLoBRaLo (its state holds a numpy generator's state)."""
    out = tmp_path_factory.mktemp("run") / "run"
    fit(poisson1d(), out=out, quiet=True, plots=False, **small(adam=6, weighting="relobralo", checkpoint_every=3))
    return out


def test_genuine_checkpoint_loads_with_weights_only(run_dir):
    state = torch.load(run_dir / CHECKPOINT, map_location="cpu", weights_only=True)
    assert type(state["meta"]["torch"]) is str
    assert load_result(run_dir).predict([[0.5]]).shape == (1, 1)


def test_malicious_checkpoint_does_not_run(tmp_path):
    pwned = tmp_path / "PWNED"
    torch.save({"meta": {}, "net": {}, "history": [], "payload": Payload(pwned)}, tmp_path / CHECKPOINT)
    with pytest.raises(PdecRunError, match="cannot read checkpoint"):
        load_checkpoint(tmp_path)
    assert not pwned.exists()


@pytest.mark.parametrize("state", [{}, [], {"meta": {}, "net": {}, "history": []}])
def test_foreign_checkpoint_is_a_run_error(tmp_path, state):
    torch.save(state, tmp_path / CHECKPOINT)
    with pytest.raises(PdecRunError, match="not a pdec checkpoint"):
        load_result(tmp_path)


def test_failed_checkpoint_write_keeps_the_previous_one(tmp_path, monkeypatch):
    path = tmp_path / CHECKPOINT
    save_checkpoint(path, {"step": 1})

    def full_disk(obj, target):
        pathlib.Path(target).write_bytes(b"partial")
        raise RuntimeError("[enforce fail at inline_container.cc:672] . unexpected pos 64 vs 0")

    monkeypatch.setattr(torch, "save", full_disk)
    with pytest.raises(PdecRunError, match="cannot write the checkpoint"):
        save_checkpoint(path, {"step": 2})
    monkeypatch.undo()
    assert torch.load(path, weights_only=True) == {"step": 1}
    assert not path.with_suffix(".tmp").exists()


@pytest.mark.parametrize("name", ["missing.csv", "folder"])
def test_unreadable_points_file_is_a_run_error(tmp_path, name):
    (tmp_path / "folder").mkdir()
    with pytest.raises(PdecRunError, match="cannot read points"):
        read_points_csv(tmp_path / name, ("x",))


def test_checkpoint_without_training_state_cannot_be_resumed(run_dir, tmp_path):
    import shutil

    copy = tmp_path / "run"
    shutil.copytree(run_dir, copy)
    state = torch.load(copy / CHECKPOINT, weights_only=True)
    del state["optimizer"]
    torch.save(state, copy / CHECKPOINT)
    with pytest.raises(PdecRunError, match="cannot be resumed"):
        fit(poisson1d(), resume=copy, quiet=True, plots=False, **small(adam=8))


def test_plain_values_survive_the_safe_loader(tmp_path):
    import numpy as np

    from pdec.run.results import plain

    state = {"betas": (0.9, 0.999), "w": np.float64(2.5), "n": np.int64(3), "a": np.arange(3), "v": torch.__version__}
    save_checkpoint(tmp_path / CHECKPOINT, state)
    back = torch.load(tmp_path / CHECKPOINT, weights_only=True)
    assert back["betas"] == (0.9, 0.999) and back["w"] == 2.5 and back["n"] == 3 and type(back["v"]) is str
    assert back["a"].tolist() == [0, 1, 2] and plain([np.float32(1)]) == [1.0]


def test_history_csv_appends_the_new_rows_and_rewrites_when_columns_change(tmp_path):
    from pdec.run.results import History

    path, fresh = tmp_path / "history.csv", tmp_path / "fresh.csv"
    history = History([{"step": 1, "loss": 0.5}])
    history.write_csv(path)
    history.append({"step": 2, "loss": 0.25})
    history.write_csv(path)  # appended: the same columns
    history.write_csv(fresh)
    assert path.read_text() == fresh.read_text() and path.read_text().count("\n") == 3
    history.append({"step": 3, "loss": 0.125, "error:u": 0.1})  # a new column: the file is written anew
    history.write_csv(path)
    assert path.read_text().splitlines()[0] == "step,loss,error:u"
    history.truncate(1)  # a rollback drops rows: written anew
    history.append({"step": 2, "loss": 0.3})
    history.write_csv(path)
    assert History.read_csv(path).rows == [{"step": 1.0, "loss": 0.5}, {"step": 2.0, "loss": 0.3}]


def test_a_checkpoint_holds_the_history_packed_each_row_encoded_once(tmp_path):
    """Ints, floats to the last bit (NaN, infinities, -0.0), text and each row's column order survive the safe
    loader; each packing encodes only the rows added since the last; a rollback packs anew."""
    import math

    import numpy as np

    from pdec.run.results import History

    rows = [{"step": 1, "phase": "adam", "loss": 0.1 + 0.2, "w": -0.0}, {"step": 2, "phase": "adam", "loss": math.inf}]
    history = History(rows)
    assert len(history.packed()["json"]) == 1
    history.append({"step": 3, "phase": "lbfgs", "error:u": float(np.float64(1 / 3)), "loss": np.float32(0.5)})
    packed = history.packed()
    assert len(packed["json"]) == 2 and history.packed() == packed  # nothing new: nothing encoded
    save_checkpoint(tmp_path / CHECKPOINT, {"history": packed})
    back = History.unpacked(torch.load(tmp_path / CHECKPOINT, weights_only=True)["history"])
    assert back.rows == [*rows, {"step": 3, "phase": "lbfgs", "error:u": 1 / 3, "loss": 0.5}]
    assert [list(r) for r in back.rows] == [list(r) for r in history.rows] and math.copysign(1, back.rows[0]["w"]) < 0
    assert back.packed() == packed  # a resumed run keeps the blocks it loaded
    nan = History([{"loss": math.nan}])
    assert math.isnan(History.unpacked(nan.packed()).rows[0]["loss"])
    history.truncate(1)
    assert History.unpacked(history.packed()).rows == rows[:1]
    assert History.unpacked(rows).rows == rows  # a checkpoint written before packing: the rows themselves


def test_a_snapshot_copies_every_tensor_and_keeps_a_state_dict_loadable():
    from pdec.train.checkpoint import copied

    net = torch.nn.Linear(2, 3)
    state = {"net": net.state_dict(), "steps": [1, (2, torch.ones(2))], "phase": "adam"}
    copy = copied(state)
    with torch.no_grad():
        net.weight.add_(1.0)
        state["steps"][1][1].add_(1.0)
    assert not torch.equal(copy["net"]["weight"], net.weight) and torch.equal(copy["steps"][1][1], torch.ones(2))
    assert type(copy["net"]) is type(state["net"]) and copy["net"]._metadata == state["net"]._metadata
    net.load_state_dict(copy["net"])
    assert torch.equal(net.weight, copy["net"]["weight"])


def test_history_rows_are_structured_and_flattened_only_for_the_files(tmp_path):
    """A row keeps each quantity by name; its columns (the CSV's header, a callback's view) are built from them in
    the order history.csv has always had, and read back into the same structure."""
    import math

    from pdec.run.history import History, Row, column, parse_column

    row = Row(3, "adam", "float32", 1e-3, 0.75, losses={"pde:heat": 0.5, "ic:start": 0.25},
              weights={"pde:heat": 1.0, "ic:start": 1.0}, unknowns={"k": 0.4},
              causal={"": 0.1, "pde:heat": 0.1}, errors={"u": 0.02}, time=1.5)
    assert list(row) == ["step", "phase", "dtype", "lr", "loss", "loss:pde:heat", "loss:ic:start", "weight:pde:heat",
                         "weight:ic:start", "unknown:k", "causal:min_weight", "causal:min_weight:pde:heat", "error:u",
                         "time"]
    assert row["loss:pde:heat"] == 0.5 and row["error:u"] == 0.02 and "error:v" not in row and row.get("window") is None
    assert Row.from_flat(row.flat()).losses == row.losses and Row.from_flat(dict(row)) == row
    for name, parsed in [("step", ("step", None)), ("loss", ("loss", None)), ("loss:pde:heat", ("losses", "pde:heat")),
                         ("causal:min_weight", ("causal", "")), ("causal:min_weight:pde:heat", ("causal", "pde:heat")),
                         ("unknown:k", ("unknowns", "k")), ("error:u", ("errors", "u")), ("note", ("other", "note"))]:
        assert parse_column(name) == parsed
    assert column("loss", "pde:heat") == "loss:pde:heat" and column("causal:min_weight", "") == "causal:min_weight"
    history = History([row, Row(4, "adam", "float32", 1e-3, 0.5, losses={"pde:heat": 0.5}, other={"note": 1.0})])
    history.write_csv(tmp_path / "h.csv")
    back = History.read_csv(tmp_path / "h.csv")
    assert back.columns == history.columns and back.columns[-1] == "note"
    assert back.rows[0].losses == {"pde:heat": 0.5, "ic:start": 0.25} and back.rows[0].causal[""] == 0.1
    errors = back.series("errors", "u")
    assert back.names("losses") == ["pde:heat", "ic:start"] and errors[0] == 0.02 and math.isnan(errors[1])
    back.write_csv(tmp_path / "again.csv")
    assert (tmp_path / "again.csv").read_text() == (tmp_path / "h.csv").read_text().replace("3,", "3.0,", 1).replace(
        "\n4,", "\n4.0,")  # the same columns; only the steps come back as floats
