import argparse
import csv
import dataclasses
import json
import re
from pathlib import Path

import numpy as np
import pytest
import torch
from trainer_problems import FAST, heat2d, poisson1d, poisson_inverse, small

import pdec
from pdec import fit
from pdec.cli import add_predict_arguments, cmd_predict
from pdec.compiler.driver import compile as compile_spec
from pdec.core.errors import PdecRunError
from pdec.core.settings import Settings, Stage
from pdec.run.results import History, load_result
from pdec.train import checkpoint
from pdec.train.trainer import Trainer

EXAMPLES = sorted((Path(__file__).parent.parent / "examples").glob("*.pde"))




def _strip_time(history):
    return [{k: v for k, v in row.items() if k != "time"} for row in history.rows]


def test_poisson1d_reaches_small_error(tmp_path):
    compiled = poisson1d(layers=(16, 16), interior=64, adam=300, lbfgs=200, lr=1e-2, weighting="fixed")
    result = fit(compiled, out=tmp_path / "run", quiet=True, plots=False)
    assert result.metrics["errors"]["u"] < 1e-2
    x = np.linspace(0, 1, 11)[:, None]
    np.testing.assert_allclose(result.predict(x)[:, 0], np.sin(np.pi * x[:, 0]), atol=2e-2)


def test_run_directory_contents(tmp_path):
    compiled = poisson1d(**small(lbfgs=3))
    result = fit(compiled, out=tmp_path / "run", quiet=True)
    run = tmp_path / "run"
    assert result.run_dir == run
    for name in ("spec.pde", "settings.json", "history.csv", "metrics.json", "checkpoint.pt"):
        assert (run / name).is_file(), name
    for name in ("loss.png", "weights.png", "solution.png"):
        assert (run / "plots" / name).is_file(), name
    assert (run / "spec.pde").read_text() == compiled.problem.source.text
    assert json.loads((run / "settings.json").read_text())["adam"] == 20
    header = next(csv.reader(open(run / "history.csv")))
    for column in ("step", "lr", "loss", "loss:pde:poisson", "loss:bc:left", "weight:bc:right", "error:u", "time"):
        assert column in header
    rows = History.read_csv(run / "history.csv")
    assert len(rows) == 21 and rows.rows[-1]["phase"] == "lbfgs" and rows.rows[-1]["step"] == 23  # one row per chunk
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["steps"] == 23 and set(metrics["losses"]) == {"pde:poisson", "bc:left", "bc:right"}
    with pytest.raises(PdecRunError, match="already holds a run"):
        fit(compiled, out=run, quiet=True, plots=False)


def test_same_seed_same_history(tmp_path):
    compiled = heat2d(**small(lbfgs=4, resample=5, sampler="random"))
    a = fit(compiled, out=tmp_path / "a", quiet=True, plots=False)
    b = fit(compiled, out=tmp_path / "b", quiet=True, plots=False)
    assert _strip_time(a.history) == _strip_time(b.history)
    c = fit(compiled, out=tmp_path / "c", quiet=True, seed=1)
    assert _strip_time(a.history) != _strip_time(c.history)


@pytest.mark.parametrize("stop", [10, 30])  # in Adam, in L-BFGS
@pytest.mark.parametrize("weighting", ["inverse_dirichlet", "relobralo"])
def test_resume_equals_uninterrupted(tmp_path, stop, weighting):
    compiled = poisson_inverse(**small(lbfgs=25, resample=7, weighting=weighting, update_every=3))
    straight = fit(compiled, out=tmp_path / "straight", quiet=True, plots=False)

    def interrupt(trainer, row):
        if row["step"] == stop:
            raise KeyboardInterrupt

    first = fit(compiled, out=tmp_path / "resumed", quiet=True, plots=False, callback=interrupt)
    assert first.interrupted and first.history.rows[-1]["step"] == stop
    resumed = fit(compiled, resume=tmp_path / "resumed", quiet=True, plots=False)
    assert not resumed.interrupted
    assert _strip_time(resumed.history) == _strip_time(straight.history)
    assert resumed.unknowns == straight.unknowns


def test_interrupt_message_says_how_to_resume(tmp_path, capsys):
    def interrupt(trainer, row):
        raise KeyboardInterrupt

    result = fit(poisson1d(**FAST), out=tmp_path / "run", quiet=True, plots=False, callback=interrupt)
    assert result.interrupted
    err = capsys.readouterr().err
    assert "interrupted at step 1/20" in err and f"--resume {tmp_path / 'run'}" in err


def test_staged_training_activates_terms(tmp_path):
    compiled = poisson1d(**FAST)
    # the paper's per-term rule: the default keeps these conditions at isolated points at weight 1
    settings = compiled.settings.replace(update_every=1000, weighting="inverse_dirichlet")
    settings = Settings(**{**settings.__dict__, "stages": (Stage(("left", "right"), 5),)})
    trainer = Trainer(compiled, settings, tmp_path / "run", quiet=True, plots=False)
    checkpoint.create_run_dir(trainer.setup.run_dir, compiled.spec.text, settings)
    result = trainer.run()
    rows = result.history.rows
    assert all("loss:pde:poisson" not in r and "loss:bc:left" in r for r in rows[:5])
    assert all("loss:pde:poisson" in r for r in rows[5:])
    w = [r["weight:bc:left"] for r in rows]
    assert w[1:5] == [w[0]] * 4  # updated at step 1 only (update_every=1000) ...
    assert w[5] != w[4] and w[6:] == [w[5]] * (len(w) - 6)  # ... and recomputed when the PDE switches on


def test_stage_with_unknown_term_is_an_error(tmp_path):
    compiled = poisson1d(**FAST)
    settings = Settings(**{**compiled.problem.settings.__dict__, "stages": (Stage(("nope",), 5),)})
    with pytest.raises(PdecRunError, match="nope"):
        Trainer(compiled, settings, tmp_path)


class NaNOnce:
    """A compiled problem whose evaluate returns NaN residuals on one call."""

    def __init__(self, compiled, bad_call):
        self._compiled, self._bad, self.calls = compiled, bad_call, 0

    def __getattr__(self, name):
        return getattr(self._compiled, name)

    def evaluate(self, *args, **kwargs):
        self.calls += 1
        out = self._compiled.evaluate(*args, **kwargs)
        if self.calls == self._bad:
            out = {k: v * float("nan") for k, v in out.items()}
        return out


def test_nan_rolls_back_and_lowers_lr(tmp_path, capsys):
    compiled = poisson1d(**small(adam=40))
    result = fit(NaNOnce(compiled, bad_call=30), out=tmp_path / "run", quiet=True, plots=False)
    err = capsys.readouterr().err
    assert "step 30: loss" in err and "rolled back to step 25" in err and "x0.5" in err
    assert result.metrics["rollbacks"] == 1 and result.metrics["steps"] == 40
    steps = [r["step"] for r in result.history.rows]
    assert steps == list(range(1, 41))
    assert result.history.rows[24]["lr"] == pytest.approx(1e-3) and result.history.rows[25]["lr"] == pytest.approx(5e-4)
    assert np.isfinite(result.metrics["loss"])


def test_rollback_names_the_term_and_where_it_is_not_finite(tmp_path, capsys):
    from pdec.compiler.driver import compile as compile_spec

    spec = "var x in [0, 1]\nfield u(x)\neq: u_xx = 1\nbc wall: u = log(x) at x = 0\nbc: u = 0 at x = 1\n"
    compiled = compile_spec(spec, **small(adam=3))
    assert "not finite at x = 0" in str(compiled.problem.warnings[0])  # check time already says so
    with pytest.raises(PdecRunError, match=r"loss bc:wall \(not finite at x = 0; \d+ of \d+ rows\)"):
        fit(compiled, out=tmp_path / "run", quiet=True, plots=False)
    said = capsys.readouterr().err
    assert re.search(r"step 1: loss bc:wall \(not finite at x = 0; \d+ of \d+ rows\) is NaN/Inf", said)


def test_unknowns_trained_with_their_own_lr(tmp_path):
    compiled = poisson_inverse(**small(adam=30))
    trainer = Trainer(compiled, compiled.problem.settings, tmp_path / "run", quiet=True, plots=False)
    groups = trainer.state.optimizer.param_groups
    assert [g["lr"] for g in groups] == [1e-3, 1e-2]
    checkpoint.create_run_dir(trainer.setup.run_dir, compiled.spec.text, trainer.settings)
    result = trainer.run()
    k = result.history["unknown:k"]
    assert k[0] != k[-1] and result.unknowns["k"] == pytest.approx(k[-1])
    assert "data:obs" in result.metrics["losses"] and "k" in result.metrics["unknown_errors"]
    assert compiled.unknowns.floats()["k"] == pytest.approx(0.5)  # the compiled problem is left untouched


def test_predict_command_and_load_result(tmp_path, capsys):
    result = fit(poisson1d(**FAST), out=tmp_path / "run", quiet=True, plots=False)
    points = tmp_path / "points.csv"
    points.write_text("x\n0.25\n0.5\n")
    parser = argparse.ArgumentParser()
    add_predict_arguments(parser)
    assert cmd_predict(parser.parse_args([str(tmp_path / "run"), str(points), "-o", str(tmp_path / "out.csv")])) == 0
    rows = list(csv.DictReader(open(tmp_path / "out.csv")))
    assert [float(r["x"]) for r in rows] == [0.25, 0.5]
    expected = result.predict([[0.25], [0.5]])[:, 0]
    np.testing.assert_allclose([float(r["u"]) for r in rows], expected, rtol=1e-6)
    loaded = load_result(tmp_path / "run")
    np.testing.assert_allclose(loaded.predict([[0.3]]), result.predict([[0.3]]))


def test_outputs_scaled_from_the_data_survive_save_and_load(tmp_path):
    """poisson_inverse observes u = sin(pi x) at 16 points: the output map is their mean and std, saved and reloaded."""
    result = fit(poisson_inverse(**FAST), out=tmp_path / "run", quiet=True, plots=False)
    u = np.sin(np.pi * np.linspace(0.05, 0.95, 16))
    assert result.net.output_scaled
    assert float(result.net.shift) == pytest.approx(u.mean()) and float(result.net.gain) == pytest.approx(u.std())
    loaded = load_result(tmp_path / "run")
    np.testing.assert_allclose(loaded.predict([[0.3], [0.7]]), result.predict([[0.3], [0.7]]))
    plain = fit(poisson_inverse(**FAST), out=tmp_path / "plain", quiet=True, plots=False, output_scale="none")
    assert not plain.net.output_scaled


def test_float64_and_missing_cuda(tmp_path):
    result = fit(poisson1d(**FAST), out=tmp_path / "run", quiet=True, dtype="float64", adam=3)
    assert next(result.net.parameters()).dtype == torch.float64
    if not torch.cuda.is_available():
        with pytest.raises(PdecRunError, match="CUDA"):
            fit(poisson1d(**FAST), out=tmp_path / "cuda", quiet=True, device="cuda")


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_example_smoke(tmp_path, path):
    from pdec.compiler.driver import compile as compile_spec

    compiled = compile_spec(path)
    tiny = {
        "layers": [8, 8],
        "interior": 128,
        "boundary": 32,
        "adam": 80,
        "lbfgs": 0,
        "eval_points": 256,
        "eval_every": 1000,
        "lr": 3e-3,
        "weighting": "fixed",
        "causal": 0.0,  # causal weights raise the loss by design as later times switch on (tests/test_causal.py)
    }
    tiny.update({f"points.{t.bare}": 32 for t in compiled.terms.values() if t.kind not in ("pde", "data")})
    stages = tuple(dataclasses.replace(st, steps=10) for st in compiled.settings.stages)  # within 80 steps
    compiled = compiled.replace(settings=dataclasses.replace(compiled.settings, stages=stages))
    result = fit(compiled, out=tmp_path / "run", quiet=True, plots=path.stem == "burgers", **tiny)
    loss = result.history["loss"]
    assert np.isfinite(loss).all()
    every = np.isfinite(np.column_stack([result.history[f"loss:{t}"] for t in compiled.terms])).all(axis=1)
    last_switch = int(np.argmax(every))  # the first step that trains every term (after any data-only stage)
    assert last_switch <= 30
    assert loss[-10:].mean() < loss[last_switch : last_switch + 10].mean()


def test_cli_run_predict_and_resume(tmp_path, capsys):
    from pdec.cli import add_run_arguments, cmd_run

    spec = Path(__file__).parent.parent / "examples" / "poisson1d.pde"
    parser = argparse.ArgumentParser()
    add_run_arguments(parser)
    run = tmp_path / "run"
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        args = parser.parse_args([str(spec), "--steps", "15", "--lbfgs", "0", "--out", str(run), "--quiet"])
        assert cmd_run(args) == 0
        assert torch.get_num_threads() == 1  # the command line's default on a CPU
    finally:
        torch.set_num_threads(before)
    assert len(History.read_csv(run / "history.csv")) == 15
    assert cmd_run(parser.parse_args([str(spec), "--resume", str(run), "--steps", "20", "--quiet"])) == 0
    assert [r["step"] for r in History.read_csv(run / "history.csv").rows] == list(range(1, 21))
    points = tmp_path / "p.csv"
    points.write_text("0.5\n")
    predict = argparse.ArgumentParser()
    add_predict_arguments(predict)
    capsys.readouterr()
    assert cmd_predict(predict.parse_args([str(run), str(points)])) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "x,u" and len(out) == 2


def test_off_a_terminal_status_lines_report_progress(tmp_path, capsys, monkeypatch):
    from pdec.train.console import Console

    monkeypatch.setattr(Console, "STATUS_EVERY", 0.0)  # every step, for the test
    fit(poisson1d(**small(adam=3)), out=tmp_path / "run", plots=False)
    lines = [line for line in capsys.readouterr().err.splitlines() if line.startswith("step ")]
    assert [line.split()[1] for line in lines] == ["1/3", "2/3", "3/3"]
    assert "adam: loss" in lines[-1] and "pde:poisson" in lines[-1] and "error u" in lines[-1] and "left" in lines[-1]


def test_stages_longer_than_the_adam_phase_are_rejected(tmp_path):
    compiled = poisson1d(**small(adam=10))
    settings = dataclasses.replace(compiled.problem.settings, stages=(Stage(("left",), 8), Stage(("right",), 8)))
    with pytest.raises(PdecRunError, match="the stages run to step 16, past the 10 Adam steps") as info:
        Trainer(compiled, settings, tmp_path)
    assert "set adam to at least 16" in info.value.hint


def test_inverse_problem_without_stages_fits_the_data_first(tmp_path):
    compiled = poisson_inverse(**small(adam=20, data_first=0.25))
    result = fit(compiled, out=tmp_path / "run", quiet=True, plots=False)
    active = np.isfinite(result.history["loss:pde:poisson"])
    assert not active[:5].any() and active[5:].all()  # 25% of 20 Adam steps on the data alone
    assert np.isfinite(result.history["loss:data:obs"]).all()
    off = fit(compiled, out=tmp_path / "off", quiet=True, plots=False, data_first=0)
    assert np.isfinite(off.history["loss:pde:poisson"]).all()


BURGERS = Path(__file__).parent.parent / "examples" / "burgers.pde"
SHORT_BURGERS = dict(layers=[20, 20, 20, 20], interior=2000, adam=2000, lbfgs=0, eval_every=500)


def test_default_weighting_leaves_the_trivial_solution(tmp_path):
    """The 13-second Burgers configuration: the paper's per-term rule collapses to u = 0 (error 0.98-1.0 over seeds
    0-1, measured), the default must not. Both runs, side by side, from the same seed."""
    from pdec.compiler.driver import compile as compile_spec

    torch.set_num_threads(1)
    compiled = compile_spec(BURGERS)
    default = fit(compiled, out=tmp_path / "default", quiet=True, plots=False, **SHORT_BURGERS)
    assert default.settings.weighting == "inverse_dirichlet_grouped_capped"
    assert default.metrics["errors"]["u"] < 0.6
    paper = fit(compiled, out=tmp_path / "paper", quiet=True, plots=False, weighting="inverse_dirichlet", adam=600,
                **{k: v for k, v in SHORT_BURGERS.items() if k != "adam"})
    assert paper.metrics["errors"]["u"] > 0.9  # the failure the default fixes, still reproduced by the paper's rule
    # its mechanism: the terms u = 0 satisfies (the equation, the walls) outweigh the initial condition 100-fold
    weights = paper.metrics["weights"]
    assert min(weights["pde:burgers"], weights["bc:left"], weights["bc:right"]) > 100 * weights["ic:initial"]
    assert any("relative L2 error of u" in w for w in paper.metrics["warnings"])


POINT_DIRICHLET = """# DeepXDE's Poisson_Dirichlet_1d example, cut to 2,000 Adam steps
var x in [-1, 1]
field u(x)
eq poisson: -u_xx = pi^2*sin(pi*x)
bc ends: u = sin(pi*x) on boundary
exact: u = sin(pi*x)
train:
  layers = [50, 50, 50]
  interior = 16
  boundary = 2
  adam = 2000
  lbfgs = 0
  eval_every = 500
"""


def test_default_weighting_holds_conditions_at_points(tmp_path):
    """Conditions at isolated points keep weight 1 under the default. Balanced like the other conditions, u(-1) and
    u(1) are met exactly, their gradient vanishes, their weight climbs and the equation is driven away: error 0.42
    at seed 1 (0.66 after 10,000 steps, measured), against 4e-3 for the default. Both runs, side by side."""
    from pdec.compiler.driver import compile as compile_spec

    torch.set_num_threads(1)
    compiled = compile_spec(POINT_DIRICHLET)
    default = fit(compiled, out=tmp_path / "default", quiet=True, plots=False, seed=1)
    assert default.metrics["weights"] == {"pde:poisson": 1.0, "bc:ends": 1.0}
    assert default.metrics["errors"]["u"] < 2e-2
    # the last iterate, where the drift ends (the kept lowest-loss iterate, 4.8e-2 here, hides how far it went)
    settings = compiled.settings.replace(seed=1, keep_best=False)
    balanced = Trainer(compiled, settings, tmp_path / "balanced", quiet=True, plots=False)
    balanced.state.balancer.isolated = dict.fromkeys(balanced.terms, False)  # the rule before points were held at 1
    checkpoint.create_run_dir(balanced.setup.run_dir, compiled.spec.text, settings)
    result = balanced.run()
    assert result.metrics["errors"]["u"] > 0.2
    assert result.metrics["weights"]["bc:ends"] > 100


def test_resume_restores_the_rng_state(tmp_path):
    from pdec.train import checkpoint

    compiled = poisson1d(**FAST)
    trainer = Trainer(compiled, compiled.settings, tmp_path / "run", quiet=True, plots=False)
    torch.manual_seed(7)
    saved = checkpoint.saved(trainer.setup, trainer.state)
    expected = torch.rand(3)
    torch.rand(100)  # the generator moves on
    trainer.resume(saved)
    assert torch.equal(torch.rand(3), expected)


def test_only_rank_zero_prints_and_writes(tmp_path, capsys, monkeypatch):
    from pdec.train import console

    monkeypatch.setattr(console, "rank", lambda: 1)
    console.say("hello")
    assert capsys.readouterr().err == ""
    result = fit(poisson1d(**small(adam=3)), out=tmp_path / "run", quiet=True, plots=False)
    assert result.history.rows[-1]["step"] == 3 and not (tmp_path / "run").exists()


def test_compile_time_settings_are_refused_by_the_trainer(tmp_path):
    with pytest.raises(PdecRunError, match="compile-time setting"):
        fit(poisson1d(**FAST), out=tmp_path / "run", quiet=True, compile=True)


# --- the iterate a run returns (keep_best) ---------------------------------------------------------------------------

SPIKY = small(adam=50, lr=0.15, weighting="fixed")  # Adam at a learning rate that overshoots: the loss goes up and down


def test_a_run_ending_with_adam_returns_its_lowest_loss_iterate(tmp_path):
    result = fit(poisson1d(**SPIKY), out=tmp_path / "run", quiet=True, plots=False)
    rows = result.history.rows  # each row's loss is that of the parameters before the row's update
    lowest = min(rows, key=lambda r: r["loss"])
    assert lowest["loss"] < 0.9 * rows[-1]["loss"]  # the case: the last step is not the best one
    kept = result.metrics["kept_step"]
    assert kept == lowest["step"] - 1
    assert result.metrics["loss"] == pytest.approx(lowest["loss"], rel=1e-6)  # a fresh evaluation of those parameters
    saved = load_result(tmp_path / "run")
    x = np.linspace(0, 1, 7)[:, None]
    np.testing.assert_array_equal(saved.predict(x), result.predict(x))  # the checkpoint holds the kept iterate


def test_keep_best_false_returns_the_last_iterate(tmp_path):
    kept = fit(poisson1d(**SPIKY), out=tmp_path / "kept", quiet=True, plots=False)
    last = fit(poisson1d(**SPIKY), out=tmp_path / "last", quiet=True, plots=False, keep_best=False)
    assert _strip_time(kept.history) == _strip_time(last.history)  # the same training
    assert last.metrics["kept_step"] is None and last.metrics["loss"] > kept.metrics["loss"]


def test_an_adam_run_resumed_keeps_the_same_iterate(tmp_path):
    compiled = poisson1d(**{**SPIKY, "lr": 0.5})  # diverges after a few steps: the kept iterate is an early one
    straight = fit(compiled, out=tmp_path / "straight", quiet=True, plots=False)
    assert straight.metrics["kept_step"] < 30

    def interrupt(trainer, row):
        if row["step"] == 30:  # after the lowest loss: the kept iterate must come back from the checkpoint
            raise KeyboardInterrupt

    assert fit(compiled, out=tmp_path / "resumed", quiet=True, plots=False, callback=interrupt).interrupted
    resumed = fit(compiled, resume=tmp_path / "resumed", quiet=True, plots=False)
    assert resumed.metrics["kept_step"] == straight.metrics["kept_step"]
    assert resumed.metrics["loss"] == straight.metrics["loss"]


RATE = """
time t in [0, 10]
field y(t)
eq rate: y_t = cos(t)
ic start: y = 0
exact: y = sin(t)
train:
  layers = [32, 32]
  adam = 1500
  lr = 0.01
  lbfgs = 0
"""


def test_an_equation_fitted_only_at_its_points_is_reported(tmp_path):
    few = fit(compile_spec(RATE + "  interior = 6\n"), out=tmp_path / "few", quiet=True, plots=False).metrics
    assert few["losses"]["pde:rate"] < 1e-8 and few["heldout_losses"]["pde:rate"] > 1e-2  # residual 0 only at 6 points
    assert few["errors"]["y"] > 0.2  # and the solution is wrong between them (0.46; with 200 points 3e-3)
    assert any("pde:rate holds at its training points" in w for w in few["warnings"])
    enough = fit(compile_spec(RATE + "  interior = 200\n"), out=tmp_path / "enough", quiet=True, plots=False).metrics
    assert enough["errors"]["y"] < 1e-2 and enough["warnings"] == []
    assert enough["heldout_losses"]["pde:rate"] < 10 * enough["losses"]["pde:rate"]



SPRING = """time t in [0, 10]
field q(t)
eq spring: q_tt + 0.2*q_t + 4*q = 0
ic start: q = 1
ic still: q_t = 0 at t = 0
exact: q = exp(-0.1*t)*(cos(sqrt(3.99)*t) + 0.1/sqrt(3.99)*sin(sqrt(3.99)*t))
train:
  layers = [16, 16]
  interior = 200
  adam = 300
"""


def test_a_run_stopped_while_its_loss_still_fell_says_so_and_resumes_further(tmp_path):
    """300 iterations end on a loss that fell about 100-fold over the last 60 of them: the run says it stopped early
    and how to continue; continued to 1,200 iterations from its checkpoint, it ends far more accurate, and quiet."""  # noqa: D205, D209
    compiled = compile_spec(SPRING + "  iterations = 300\n")
    short = fit(compiled, out=tmp_path / "run", quiet=True, plots=False).metrics
    (warning,) = [w for w in short["warnings"] if "still falling" in w]
    assert f"--resume {tmp_path / 'run'} --iterations 600" in warning  # (a spec given as text: `pdec run SPEC`)
    longer = fit(compiled, resume=tmp_path / "run", iterations=1200, quiet=True, plots=False).metrics
    assert longer["errors"]["q"] < short["errors"]["q"] / 10  # (1.5e-4, then about 4e-6)
    assert not any("still falling" in w for w in longer["warnings"])


def test_a_stage_that_ends_the_run_scores_the_last_iterate_on_its_own_terms(tmp_path):
    """Adam trains only the data (the stage covers every step): the last iterate competes on the data's loss alone,
    as every kept iterate was scored, not with the equation it never trained on (which would always lose it)."""  # noqa: D205, D209
    import numpy as np


    x = np.linspace(0.05, 0.95, 19)
    (tmp_path / "obs.csv").write_text("x,u\n" + "".join(f"{a},{np.sin(np.pi * a)}\n" for a in x))
    (tmp_path / "p.pde").write_text(
        "var x in [0, 1]\nfield u(x)\neq poisson: -u_xx = pi^2*sin(pi*x)\n"
        'data obs: "obs.csv" x = x, u = u\ntrain:\n  stage: obs for 60\n'
    )
    result = pdec.fit(pdec.compile(tmp_path / "p.pde"), out=tmp_path / "run", layers=[8], adam=60, iterations=0,
                      lr=1e-3, quiet=True, plots=False)
    losses = [row["loss:data:obs"] for row in result.history.rows]
    assert losses[-1] < min(losses[:-1])  # a steady descent: the last iterate is the best on the stage's term
    assert result.metrics["kept_step"] is None  # so it is the one returned
