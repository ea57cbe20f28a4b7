"""Time marching (`windows = N`; pdec.nn.windows, pdec.train.marching): windows, joins, training, loading, resuming."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import pdec
from pdec.nn.windows import Marched, edges, marched_net, window_problem
from pdec.run.results import load_result

# The heat equation with its exact solution; the initial value is a loss term as written (windows make it exact).
HEAT = """var x in [0, 1]
time t in [0, 0.4]
field u(x, t)
eq heat: u_t = u_xx / pi^2
ic start: u = sin(pi*x)
bc ends: u = 0 on boundary(x)
exact: u = sin(pi*x) * exp(-t)
train:
  layers = [16, 16]
  interior = 300
  boundary = 60
  adam = {adam}
  lbfgs = 0
  lr = 0.01
  windows = {windows}
  eval_points = 500
"""


def test_window_problems_split_time_and_move_the_initial_values():
    problem = pdec.load(HEAT.format(adam=10, windows=4))
    assert edges(problem, 4) == pytest.approx([0.0, 0.1, 0.2, 0.3, 0.4])
    third = window_problem(problem, 2, 4)
    assert (third.time.lo, third.time.hi) == pytest.approx((0.2, 0.3))
    start = next(c for c in third.conditions if c.name == "start")
    assert start.exact and all(p.face.value == pytest.approx(0.2) for p in start.pieces)
    assert [v.lo for v in third.variables if not v.is_time] == [0.0]  # space untouched


def test_without_windows_the_initial_value_stays_a_loss_term():
    compiled = pdec.compile(HEAT.format(adam=10, windows=1))
    assert "ic:start" in compiled.terms
    assert "ic:start" not in pdec.compile(HEAT.format(adam=10, windows=3)).terms  # marching makes it exact


def test_windows_join_continuously_by_construction():
    """Window k's network at t_k equals window k-1's there (to round-off), for any weights: the initial values carry."""
    problem = pdec.load(HEAT.format(adam=10, windows=4))
    net = marched_net(problem, problem.settings, torch.device("cpu"), torch.float64)
    for p in net.parameters():  # weights far from the initial ones: the joins must not depend on training
        p.data.normal_(0, 0.5, generator=torch.Generator().manual_seed(p.numel()))
    x = torch.linspace(0, 1, 11, dtype=torch.float64)[:, None]
    for k, t in enumerate(net.edges[1:-1], start=1):
        points = torch.cat([x, torch.full_like(x, t)], 1)
        before, after = net.nets[k - 1](points), net.nets[k](points)
        assert torch.allclose(before, after, atol=1e-13, rtol=0), k
        assert after.abs().max() > 1e-3  # not trivially zero
    start = torch.cat([x, torch.zeros_like(x)], 1)
    assert torch.allclose(net(start)[:, 0], torch.sin(math.pi * x[:, 0]), atol=1e-13)  # window 0: the spec's value


def test_a_marched_run_trains_loads_and_predicts(tmp_path):
    result = pdec.fit(pdec.compile(HEAT.format(adam=400, windows=2)), out=tmp_path / "run", quiet=True, plots=False)
    assert isinstance(result.net, Marched) and result.metrics["windows"] == 2
    assert result.metrics["errors"]["u"] < 2e-2  # the exact solution over the whole interval
    assert len(result.metrics["window_errors"]) == 2
    assert (tmp_path / "run" / "window-1" / "checkpoint.pt").is_file()
    points = np.array([[0.3, 0.05], [0.7, 0.2], [0.5, 0.35]])
    exact = np.sin(np.pi * points[:, 0]) * np.exp(-points[:, 1])
    assert np.abs(result.predict(points)[:, 0] - exact).max() < 2e-2
    loaded = load_result(tmp_path / "run")
    assert np.allclose(loaded.predict(points), result.predict(points), atol=1e-6)
    with pytest.raises(pdec.PdecRunError, match="one time window"):
        load_result(tmp_path / "run" / "window-2")
    steps = result.history["step"]
    assert list(steps) == sorted(steps) and result.history["window"][-1] == 2


def test_a_stopped_march_resumes_in_its_window(tmp_path):
    compiled = pdec.compile(HEAT.format(adam=60, windows=3))
    calls = {"n": 0}

    def stop_in_window_two(trainer, row):
        calls["n"] += 1
        if calls["n"] == 90:  # window 2, step 30
            raise KeyboardInterrupt

    run = tmp_path / "run"
    stopped = pdec.fit(compiled, out=run, quiet=True, plots=False, callback=stop_in_window_two)
    assert stopped.interrupted
    finished_first = (run / "window-1" / "history.csv").read_text()
    result = pdec.fit(compiled, resume=run, quiet=True, plots=False)
    assert not result.interrupted and result.metrics["windows"] == 3
    assert (run / "window-1" / "history.csv").read_text() == finished_first  # not trained again
    assert len(result.history) == 180 and math.isfinite(result.metrics["errors"]["u"])


def test_causal_weights_inside_windows_are_warned_about():
    assert not pdec.load(HEAT.format(adam=10, windows=4)).warnings
    warnings = pdec.load(HEAT.format(adam=10, windows=4) + "  causal = 1\n").warnings
    assert len(warnings) == 1 and "causal weights inside time windows" in str(warnings[0])
    assert "2 | time t in [0, 0.4]" in str(warnings[0])  # located at the time variable
    assert len(pdec.compile(HEAT.format(adam=10, windows=4) + "  causal = 1\n", seed=1).problem.warnings) == 1


def test_windows_is_a_compile_time_setting():
    with pytest.raises(pdec.PdecRunError, match="compile-time"):
        pdec.fit(pdec.compile(HEAT.format(adam=1, windows=1)), windows=2)
    assert "ic:start" not in pdec.compile(HEAT.format(adam=1, windows=1), windows=2).terms


def test_fit_is_the_one_place_that_knows_time_marching(tmp_path):
    """The compiler does not know the trainer, nor the trainer time marching: pdec.fit hands it over."""
    from pdec.train.trainer import train

    compiled = pdec.compile(HEAT.format(adam=1, windows=2))
    with pytest.raises(AttributeError, match=r"pdec\.fit\(compiled"):
        compiled.train(adam=1)
    with pytest.raises(pdec.PdecRunError, match="one network per window"):
        train(compiled, out=tmp_path / "run", quiet=True, plots=False)
    assert not (tmp_path / "run").exists()


def test_compile_overrides_apply_exact_conditions():
    """`pdec.compile(spec, exact_conditions=True)` marks the conditions exact, as the train block's setting does."""
    compiled = pdec.compile(HEAT.format(adam=1, windows=1), exact_conditions=True)
    assert set(compiled.constraints.terms) == {"ic:start", "bc:ends"} and list(compiled.terms) == ["pde:heat"]


KS = """var x in [0, 2*pi]
time t in [0, 0.3]
field u(x, t)
eq ks: u_t + u*u_x + u_xx + u_xxxx / 10 = 0
ic: u = cos(x)
periodic: u in x exact
train:
  layers = [8, 8]
  windows = 3
  dtype = float64
  lowering = {lowering}
"""


@pytest.mark.parametrize("lowering", ["forward", "autograd"])
def test_cached_initial_values_give_the_residuals_of_the_whole_chain(lowering, monkeypatch):
    """The carried values' Taylor cache reproduces the residuals (up to u_xxxx) of evaluating every window before."""
    from pdec.nn.windows import Carried, chain

    problem = pdec.load(KS.format(lowering=lowering))
    windows = [pdec.compile(window_problem(problem, k, 3)) for k in range(3)]
    net = chain(problem, windows, problem.settings, torch.device("cpu"), torch.float64)
    for p in net.parameters():
        p.data.normal_(0, 0.7, generator=torch.Generator().manual_seed(p.numel()))
    last = windows[2]
    gen = torch.Generator().manual_seed(0)
    points = {"interior": torch.cat([torch.rand(50, 1, generator=gen, dtype=torch.float64) * 2 * math.pi,
                                     0.2 + 0.1 * torch.rand(50, 1, generator=gen, dtype=torch.float64)], 1)}
    cached = [last.evaluate(net.nets[2], points)["pde:ks"] for _ in range(2)]  # a miss, then a hit
    monkeypatch.setattr(Carried, "polynomial", Carried.carried_at)  # every window evaluated, every time
    direct = last.evaluate(net.nets[2], points)["pde:ks"]
    assert direct.abs().max() > 1e-2
    for residual in cached:
        assert torch.allclose(residual, direct, atol=1e-10, rtol=1e-10)


SYSTEM = """var x in [0, 1]
time t in [0, 0.3]
field u(x, t)
field v(x, t)
eq first: u_t = v_x
eq second: v_t = u_x
ic rest: v = 0
ic start: u = sin(pi*x)
bc ends: u = 0 on boundary(x)
train:
  layers = [8, 8]
  windows = 3
  dtype = float64
"""


@pytest.mark.parametrize("grad", [True, False])
def test_each_field_carries_its_own_values(grad):
    """Two fields whose initial conditions come in the other order: each window starts from each field's own values."""
    problem = pdec.load(SYSTEM)
    net = marched_net(problem, problem.settings, torch.device("cpu"), torch.float64)
    for p in net.parameters():
        p.data.normal_(0, 0.5, generator=torch.Generator().manual_seed(p.numel()))
    x = torch.linspace(0, 1, 7, dtype=torch.float64)[:, None]
    with torch.set_grad_enabled(grad):
        for k, t in enumerate(net.edges[1:-1], start=1):
            points = torch.cat([x, torch.full_like(x, t)], 1)
            before, after = net.nets[k - 1](points), net.nets[k](points)
            assert torch.allclose(before, after, atol=1e-13, rtol=0), k
            assert (before[:, 0] - before[:, 1]).abs().max() > 1e-3  # u and v differ: a swap would show


def test_windows_with_a_float64_second_phase_chain_their_precisions(tmp_path):
    """Window 1's Adam runs in float32 while window 0's network is float64 after its second phase: the carried
    initial values and the joined solution evaluate each window in its own precision."""  # noqa: D205, D209
    spec = HEAT.format(adam=150, windows=2).replace("lbfgs = 0", "iterations = 30")
    result = pdec.fit(pdec.compile(spec), out=tmp_path / "run", quiet=True, plots=False)
    assert {p.dtype for p in result.net.parameters()} == {torch.float64}
    assert result.metrics["errors"]["u"] < 2e-2
    dtypes = [(r["window"], r["phase"], r["dtype"]) for r in result.history.rows]
    assert (2, "adam", "float32") in dtypes and (1, "ssbroyden", "float64") in dtypes
