"""pdec's default against DeepXDE 1.15 (PyTorch backend) on DeepXDE's own forward examples, with DeepXDE's settings.

Run from the repository root (needs ``pip install deepxde==1.15.0``, the ``bench`` extra)::

    python benchmarks/bench_deepxde.py                          # every problem, seeds 0-2
    python benchmarks/bench_deepxde.py --only ode_system --seeds 0
    python benchmarks/bench_deepxde.py --budget 80              # launch no new run after 80 minutes
    python benchmarks/bench_deepxde.py --tools deepxde          # only DeepXDE's runs

Each problem is one of DeepXDE's ``examples/pinn_forward`` scripts. pdec trains the spec
``benchmarks/specs/deepxde/NAME.pde``, whose ``train:`` block sets only what the DeepXDE script sets (network,
activation, point counts, learning rate, Adam steps; no L-BFGS since none of these scripts runs it) and the loss
DeepXDE minimises, so that the table compares the implementations; pdec's own schedule and weighting are the
``pdec_own`` rows. DeepXDE trains the script's own model, rewritten below. DeepXDE evaluates the equation at its
boundary (and initial) points as well as its domain points, in one mean; the specs therefore also impose the equation
there (``bc ... on boundary``, ``ic``: terms of their own) with fixed weights that give every point of the equation
DeepXDE's share (16/18 on the interior's mean and 2/18 on the ends' for 16 + 2 points), and the conditions DeepXDE's
weights (1; 100 on soft Helmholtz's walls). Until 2026-12-07 the 1-D specs left the ends at weight 1 each (pdec's
default for conditions at isolated points), 8 to 35 times DeepXDE's share per point, and the 2-D specs spread all of
DeepXDE's equation points inside under pdec's default weighting; those rows (both tools', since rerun side by side)
are in results/deepxde_2026-12-07c.jsonl.

Both tools are scored on the same points: pdec's evaluation set (``eval_points`` = 10,000 scrambled Sobol points in
the box, fixed seed), against the exact solution; the error of a run is the largest relative L2 error over its
fields. Times are training only (pdec: ``metrics["wall_time"]``; DeepXDE: ``model.train``).

Every run is its own process (``nice -n 10`` unless ``--nice`` says otherwise; one torch thread,
``OMP_NUM_THREADS=1``), one at a time, in the order seed 0 of every problem for both tools, then seed 1, then
seed 2. Each result is appended to
benchmarks/results/deepxde.jsonl as it ends (a later invocation skips the (problem, tool, seed) triples already
there) and benchmarks/results/deepxde.md is rewritten after every run, missing runs shown as missing.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import math
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from _report import RESULTS, child_result, read_jsonl, write_result  # benchmarks/ is on sys.path as a script

import pdec

ROOT = Path(__file__).resolve().parent.parent
SPECS = Path(__file__).resolve().parent / "specs" / "deepxde"
LOG = RESULTS / "deepxde.jsonl"
EARLIER = RESULTS / "deepxde_2026-12-01.jsonl"  # the previous table's runs (pdec's best iterate, DeepXDE's last)
TOOLS = ("pdec", "deepxde")  # the protocol's table: both tools on the DeepXDE script's settings
OWN = "pdec_own"  # pdec as its users run it: the script's network, points and rate, pdec's default schedule
NET = "pdec_net"  # the protocol's spec with DeepXDE's network parametrisation too: raw inputs, Glorot-uniform weights
UNIFORM_LINE = "  init = glorot_uniform\n"  # appended to the train block, each spec's last
NET_LINES = "  inputs = raw\n" + UNIFORM_LINE
INPUTS_LINE = re.compile(r"^  inputs = \S+\n", re.MULTILINE)
OWN_UNIFORM = "pdec_own_uniform"  # pdec_own with Glorot-uniform weights: DeepXDE's draw under pdec's schedule
# the lines a `pdec_own` run drops: the schedule, and the weights that restate DeepXDE's loss (pdec's default then)
SCHEDULE_LINES = re.compile(r"^  (adam|lbfgs|weighting|weight\.\w+) = \S+\n", re.MULTILINE)
EVAL_POINTS = 10000


@dataclass(frozen=True)
class Case:
    """One DeepXDE example: its script, the box, the exact solution, the settings, and how to build its model."""

    script: str
    bounds: dict[str, tuple[float, float]]
    exact: object  # numpy [N, d] -> [N, fields]
    settings: str  # the shared settings, as shown in the table
    build: object  # (dde, torch) -> (model, iterations, lr, extra compile kwargs)
    pdec_spec: str = ""  # the problem whose pdec runs this DeepXDE variant shares (none: pdec runs its own)
    pdec_file: str = ""  # the spec stem pdec trains, when it differs from the problem name
    note: str = ""


# --- DeepXDE models, transcribed from examples/pinn_forward/*.py (DeepXDE 1.15) -----------------------------------


def _fnn(dde, inputs: int, widths: list[int], outputs: int, activation: str = "tanh"):
    """DeepXDE's fully connected net with the examples' Glorot-uniform initialiser."""
    return dde.nn.FNN([inputs, *widths, outputs], activation, "Glorot uniform")


def _poisson_sine(dde, torch, conditions):
    """-u'' = pi^2 sin(pi x) on [-1, 1] with the given conditions (Dirichlet and periodic scripts)."""
    geom = dde.geometry.Interval(-1, 1)

    def residual(x, u):
        return -dde.grad.hessian(u, x) - np.pi**2 * torch.sin(np.pi * x)

    data = dde.data.PDE(geom, residual, conditions(geom), 16, 2, solution=_sine, num_test=100)
    return dde.Model(data, _fnn(dde, 1, [50] * 3, 1)), 10000, 1e-3, {}


def _sine(x):
    return np.sin(np.pi * x[:, 0:1])


def _square(x):
    return (x[:, 0:1] + 1) ** 2


def _at(value):
    """A DeepXDE boundary predicate: the end of the interval at ``value``."""
    return lambda x, on_boundary: on_boundary and bool(np.isclose(x[0], value))


def poisson_dirichlet(dde, torch):
    """Poisson_Dirichlet_1d.py: u = sin(pi x) at both ends."""
    return _poisson_sine(dde, torch, lambda g: dde.icbc.DirichletBC(g, _sine, lambda _, on_b: on_b))


def poisson_periodic(dde, torch):
    """Poisson_periodic_1d.py: u(-1) = 0 and PeriodicBC on component 0, derivative order 0: u(1) = u(-1)."""

    def conditions(geom):
        return [dde.icbc.DirichletBC(geom, _sine, _at(-1)), dde.icbc.PeriodicBC(geom, 0, _at(1))]

    return _poisson_sine(dde, torch, conditions)


def _poisson_square(dde, right):
    """u'' = 2 on [-1, 1], u(-1) = 0, and the condition ``right(geom)`` at x = 1 (Neumann and Robin scripts)."""
    geom = dde.geometry.Interval(-1, 1)

    def residual(x, u):
        return dde.grad.hessian(u, x) - 2

    conditions = [dde.icbc.DirichletBC(geom, _square, _at(-1)), right(geom)]
    data = dde.data.PDE(geom, residual, conditions, 16, 2, solution=_square, num_test=100)
    return dde.Model(data, _fnn(dde, 1, [50] * 3, 1)), 10000, 1e-3, {}


def poisson_neumann(dde, torch):
    """Poisson_Neumann_1d.py: du/dn = 2 (x + 1) at x = 1."""
    return _poisson_square(dde, lambda g: dde.icbc.NeumannBC(g, lambda x: 2 * (x + 1), _at(1)))


def poisson_robin(dde, torch):
    """Poisson_Robin_1d.py: du/dn = u at x = 1."""
    return _poisson_square(dde, lambda g: dde.icbc.RobinBC(g, lambda x, u: u, _at(1)))


def _beam(x):
    x = x[:, 0:1]
    return -(x**4) / 24 + x**3 / 6 - x**2 / 4


def euler_beam(dde, torch):
    """Euler_beam.py: u'''' = -1 on [0, 1]; u = u' = 0 at 0, u'' = u''' = 0 at 1."""
    geom = dde.geometry.Interval(0, 1)

    def second(x, u):
        return dde.grad.hessian(u, x)

    def third(x, u):
        return dde.grad.jacobian(second(x, u), x)

    def residual(x, u):
        return dde.grad.hessian(second(x, u), x) + 1

    conditions = [
        dde.icbc.DirichletBC(geom, lambda x: 0, _at(0)),
        dde.icbc.NeumannBC(geom, lambda x: 0, _at(0)),
        dde.icbc.OperatorBC(geom, lambda x, u, _: second(x, u), _at(1)),
        dde.icbc.OperatorBC(geom, lambda x, u, _: third(x, u), _at(1)),
    ]
    data = dde.data.PDE(geom, residual, conditions, num_domain=10, num_boundary=2, solution=_beam, num_test=100)
    return dde.Model(data, _fnn(dde, 1, [20] * 3, 1)), 10000, 1e-3, {}


def _sin_cos(t):
    return np.hstack((np.sin(t[:, 0:1]), np.cos(t[:, 0:1])))


def ode_system(dde, torch):
    """ode_system.py: y1' = y2, y2' = -y1 on [0, 10], y1(0) = 0, y2(0) = 1."""
    geom = dde.geometry.TimeDomain(0, 10)

    def residual(t, y):
        return [dde.grad.jacobian(y, t, i=0) - y[:, 1:], dde.grad.jacobian(y, t, i=1) + y[:, 0:1]]

    initial = [
        dde.icbc.IC(geom, lambda t: 0, lambda _, on_initial: on_initial, component=0),
        dde.icbc.IC(geom, lambda t: 1, lambda _, on_initial: on_initial, component=1),
    ]
    data = dde.data.PDE(geom, residual, initial, 35, 2, solution=_sin_cos, num_test=100)
    return dde.Model(data, _fnn(dde, 1, [50] * 3, 2)), 20000, 1e-3, {}


def _decay(xt):
    return np.sin(np.pi * xt[:, 0:1]) * np.exp(-xt[:, 1:2])


def diffusion(dde, torch):
    """diffusion_1d.py: u_t = u_xx - exp(-t) (sin(pi x) - pi^2 sin(pi x)), exact values on the x ends and at t = 0."""
    domain = dde.geometry.GeometryXTime(dde.geometry.Interval(-1, 1), dde.geometry.TimeDomain(0, 1))

    def residual(xt, u):
        source = torch.exp(-xt[:, 1:]) * (1 - np.pi**2) * torch.sin(np.pi * xt[:, 0:1])
        return dde.grad.jacobian(u, xt, j=1) - dde.grad.hessian(u, xt, j=0) + source

    conditions = [
        dde.icbc.DirichletBC(domain, _decay, lambda _, on_boundary: on_boundary),
        dde.icbc.IC(domain, _decay, lambda _, on_initial: on_initial),
    ]
    data = dde.data.TimePDE(
        domain, residual, conditions, num_domain=40, num_boundary=20, num_initial=10, solution=_decay, num_test=10000
    )
    return dde.Model(data, _fnn(dde, 2, [32] * 3, 1)), 10000, 1e-3, {}


K0 = 4 * np.pi  # 2 pi n with n = 2


def _waves(xy):
    return np.sin(K0 * xy[:, 0:1]) * np.sin(K0 * xy[:, 1:2])


def _helmholtz(dde, torch, hard: bool):
    """Helmholtz_Dirichlet_2d.py (n = 2, 10 points per wavelength to train, 30 to test).

    ``hard``: the script's default, u = 0 imposed by the output transform x (1 - x) y (1 - y) u; otherwise its
    ``hard_constraint = False`` branch, a Dirichlet loss term with weight 100.
    """
    geom = dde.geometry.Rectangle([0, 0], [1, 1])

    def residual(xy, u):
        lap = dde.grad.hessian(u, xy, i=0, j=0) + dde.grad.hessian(u, xy, i=1, j=1)
        return -lap - K0**2 * u - K0**2 * torch.sin(K0 * xy[:, 0:1]) * torch.sin(K0 * xy[:, 1:2])

    nx_train, nx_test = int(1 / (0.5 / 10)), int(1 / (0.5 / 30))
    conditions = [] if hard else dde.icbc.DirichletBC(geom, lambda x: 0, lambda _, on_boundary: on_boundary)
    data = dde.data.PDE(
        geom,
        residual,
        conditions,
        num_domain=nx_train**2,
        num_boundary=4 * nx_train,
        solution=_waves,
        num_test=nx_test**2,
    )
    net = _fnn(dde, 2, [150] * 3, 1, "sin")
    if hard:
        net.apply_output_transform(lambda x, u: x[:, 0:1] * (1 - x[:, 0:1]) * x[:, 1:2] * (1 - x[:, 1:2]) * u)
    return dde.Model(data, net), 5000, 1e-3, {} if hard else {"loss_weights": [1, 100]}


def helmholtz_hard(dde, torch):
    """The Helmholtz script as shipped (hard_constraint = True)."""
    return _helmholtz(dde, torch, hard=True)


def helmholtz_soft(dde, torch):
    """The Helmholtz script with hard_constraint = False (boundary loss weight 100)."""
    return _helmholtz(dde, torch, hard=False)


ONE_D = "[50]x3 tanh, 16 interior + 2 ends (equation at all 18), 10k Adam"
CASES = {
    "poisson_dirichlet_1d": Case("Poisson_Dirichlet_1d.py", {"x": (-1, 1)}, _sine, ONE_D, poisson_dirichlet),
    "poisson_neumann_1d": Case("Poisson_Neumann_1d.py", {"x": (-1, 1)}, _square, ONE_D, poisson_neumann),
    "poisson_robin_1d": Case("Poisson_Robin_1d.py", {"x": (-1, 1)}, _square, ONE_D, poisson_robin),
    "poisson_periodic_1d": Case("Poisson_periodic_1d.py", {"x": (-1, 1)}, _sine, ONE_D, poisson_periodic),
    "euler_beam": Case(
        "Euler_beam.py", {"x": (0, 1)}, _beam, "[20]x3 tanh, 10 interior + 2 ends, 10k Adam", euler_beam
    ),
    "ode_system": Case(
        "ode_system.py",
        {"t": (0, 10)},
        _sin_cos,
        "[50]x3 tanh, 35 interior + t = 0, 10 (equations at all 37), 20k Adam",
        ode_system,
    ),
    "diffusion_1d": Case(
        "diffusion_1d.py",
        {"x": (-1, 1), "t": (0, 1)},
        _decay,
        "[32]x3 tanh, 40 interior, 20 boundary, 10 initial (equation at 70), 10k Adam",
        diffusion,
    ),
    "helmholtz_2d": Case(
        "Helmholtz_Dirichlet_2d.py",
        {"x": (0, 1), "y": (0, 1)},
        _waves,
        "[150]x3 sin, 400 interior, 80 boundary (equation at 480), 5k Adam",
        helmholtz_hard,
        pdec_file="helmholtz_2d_exact",
        note="DeepXDE: hard BC (the script's default, output times x(1-x)y(1-y)); pdec: the same construction, its "
        "`exact` walls (helmholtz_2d_exact.pde)",
    ),
    "helmholtz_2d_softbc": Case(
        "Helmholtz_Dirichlet_2d.py",
        {"x": (0, 1), "y": (0, 1)},
        _waves,
        "[150]x3 sin, 400 interior, 80 boundary (equation at 480), 5k Adam",
        helmholtz_soft,
        pdec_file="helmholtz_2d",
        note="DeepXDE: the script's hard_constraint = False (BC weight 100); pdec: the walls as a loss term of weight "
        "100 (helmholtz_2d.pde)",
    ),
}


# --- one run (in a child process) -------------------------------------------------------------------------------


def test_set(case: Case) -> tuple[np.ndarray, np.ndarray]:
    """pdec's evaluation points for the box and the exact values there (the same for both tools)."""
    from pdec.train.sampling import eval_points

    points = eval_points(case.bounds, EVAL_POINTS)
    return points, case.exact(points)


def relative_errors(predicted: np.ndarray, exact: np.ndarray) -> list[float]:
    """Relative L2 error of each output column."""
    return [
        float(np.linalg.norm(predicted[:, j] - exact[:, j]) / np.linalg.norm(exact[:, j]))
        for j in range(exact.shape[1])
    ]


def run_deepxde(name: str, seed: int) -> dict:
    """Train the DeepXDE script's model with ``seed``; its errors on the shared test set and training seconds."""
    os.environ["DDE_BACKEND"] = "pytorch"
    import deepxde as dde
    import torch

    torch.set_num_threads(1)
    dde.config.set_random_seed(seed)
    case = CASES[name]
    model, iterations, lr, extra = case.build(dde, torch)
    model.compile("adam", lr=lr, metrics=["l2 relative error"], **extra)
    best = keep_lowest(model, torch)
    with contextlib.redirect_stdout(io.StringIO()):
        started, cpu = time.perf_counter(), time.process_time()
        model.train(iterations=iterations)
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    points, exact = test_set(case)
    last = relative_errors(model.predict(points.astype(np.float32)), exact)
    with torch.no_grad():
        for p, kept in zip(model.net.parameters(), best["params"], strict=True):
            p.copy_(kept)
    errors = relative_errors(model.predict(points.astype(np.float32)), exact)
    row = {"errors": errors, "errors_last": last, "kept_step": best["step"], "loss": best["loss"]}
    return row | {"seconds": seconds, "cpu_seconds": cpu, "steps": iterations, "lr": lr, "iterate": "best"}


def keep_lowest(model, torch) -> dict:
    """Make DeepXDE's Adam keep its lowest-loss iterate, as pdec's ``keep_best`` does; the record it fills.

    ``Adam.step(closure)`` evaluates the closure (DeepXDE's weighted training loss and its backward) at the current
    parameters, then updates them. The wrapper does the same two things in the same order, and in between copies the
    parameters when that loss is the lowest so far: the trajectory is unchanged, and the kept iterate is chosen by
    the same rule as pdec's (the weighted training loss before each update).
    """
    opt, params = model.opt, list(model.net.parameters())
    best = {"loss": math.inf, "step": 0, "params": [p.detach().clone() for p in params], "steps": 0}
    step = opt.step

    def stepped(closure):
        with torch.enable_grad():
            loss = closure()
        value = float(loss.detach())
        if value < best["loss"]:
            best.update(loss=value, step=best["steps"])
            for kept, p in zip(best["params"], params, strict=True):
                kept.copy_(p.detach())
        best["steps"] += 1
        step()
        return loss

    opt.step = stepped
    return best


def spec_path(name: str) -> Path:
    """The pdec spec a problem's runs train (a DeepXDE variant may share another problem's, or name its own file)."""
    case = CASES[name]
    return SPECS / f"{case.pdec_file or case.pdec_spec or name}.pde"


def spec_text(name: str, tool: str) -> str:
    """The spec a pdec tool trains: the problem's as written (``pdec``), without its schedule and weights
    (``pdec_own``: pdec's defaults; ``pdec_own_uniform``: those with Glorot-uniform weights), or with DeepXDE's network
    parametrisation added (``pdec_net``)."""  # noqa: D205, D209
    text = spec_path(name).read_text()
    if tool in (OWN, OWN_UNIFORM):
        text = SCHEDULE_LINES.sub("", text)
        return text.rstrip("\n") + "\n" + UNIFORM_LINE if tool == OWN_UNIFORM else text
    if tool == NET:
        return INPUTS_LINE.sub("", text).rstrip("\n") + "\n" + NET_LINES
    return text


def run_pdec(name: str, seed: int, tool: str = "pdec") -> dict:
    """``pdec.fit`` on the problem's spec (:func:`spec_text`) with ``seed``; its errors (pdec's own evaluation)
    and training seconds.

    ``pdec_own``: the spec without its ``adam``, ``lbfgs`` and weight lines, so pdec's problem-sized default schedule
    and its default weighting train it (Adam, then 1,000 second-phase iterations in float64); the row then holds the
    error against training time too.
    """  # noqa: D205
    import torch

    torch.set_num_threads(1)
    compiled = pdec.compile(spec_text(name, tool))
    # what DeepXDE's timer leaves out too (`import deepxde` and `model.compile` run before it starts): the modules
    # pdec's trainer imports on first use (SciPy's qmc for the Sobol points among them) and torch's optimiser
    # machinery, which the first torch.optim optimiser of a process loads (torch._dynamo, about 2 s)
    from pdec.train import trainer  # noqa: F401
    torch.optim.Adam([torch.zeros(1, requires_grad=True)])
    with tempfile.TemporaryDirectory() as tmp:
        cpu = time.process_time()
        result = pdec.fit(compiled, seed=seed, quiet=True, plots=False, out=Path(tmp) / "run")
        cpu = time.process_time() - cpu  # training, plus the run directory and the final metrics
        curve = error_curve(Path(tmp) / "run" / "history.csv")
    m = result.metrics
    s = result.settings
    settings = {"layers": list(s.layers), "interior": s.interior, "boundary": s.boundary, "points": dict(s.points)}
    settings |= {"adam": s.adam, "optimizer": s.optimizer, "iterations": s.iterations, "lr": s.lr}
    settings |= {"weighting": s.weighting, "activation": s.activation}
    settings |= {"lowering": s.lowering, "keep_best": s.keep_best, "inputs": s.inputs, "init": s.init}
    points, exact = test_set(CASES[name])
    check = relative_errors(result.predict(points), exact)  # the shared test set, as for DeepXDE
    return {
        "errors": list(m["errors"].values()),
        "errors_shared": check,
        "seconds": m["wall_time"],
        "cpu_seconds": cpu,
        "steps": m["steps"],
        "kept_step": m["kept_step"],
        "weights": m["weights"],
        "losses": m["losses"],
        "settings": settings,
        "curve": curve,
    }


def error_curve(history: Path) -> list[list[float]]:
    """``[seconds, largest field error]`` at each evaluation of a run's history (pdec's ``eval_every``)."""
    import csv

    with history.open() as f:
        rows = list(csv.DictReader(f))
    curve = []
    for row in rows:
        errors = [float(v) for k, v in row.items() if k.startswith("error:") and v]
        if errors:
            curve.append([float(row["time"]), max(errors)])
    return curve


def one(name: str, tool: str, seed: int) -> None:
    """Child process: run one (problem, tool, seed) and print its result as the last stdout line."""
    try:
        row = run_deepxde(name, seed) if tool == "deepxde" else run_pdec(name, seed, tool)
    except Exception as exc:  # noqa: BLE001 - a failed run is a row of the table
        text = str(exc).strip()
        row = {"failure": f"{type(exc).__name__}: {text.splitlines()[0] if text else ''}", "detail": text}
    print("RESULT " + json.dumps(row), flush=True)


# --- the driver ----------------------------------------------------------------------------------------------------


def launch(name: str, tool: str, seed: int, timeout: float, nice: int = 10) -> dict:
    """Run one triple in a niced child process with one thread; the row to log."""
    command = ["nice", "-n", str(nice), sys.executable, str(Path(__file__).resolve()), "--one", name, tool, str(seed)]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "DDE_BACKEND": "pytorch"}
    base = {"problem": name, "tool": tool, "seed": seed, "date": time.strftime("%Y-%m-%d %H:%M")}
    started = time.perf_counter()
    try:
        done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {**base, "timed_out": timeout}
    base["process_seconds"] = time.perf_counter() - started
    return child_result(done, base)


def read_log() -> list[dict]:
    """Every run recorded so far."""
    return read_jsonl(LOG)


def _runs(log: list[dict], name: str, tool: str) -> dict[int, dict]:
    """The logged runs of one problem and tool by seed (pdec rows of a DeepXDE variant come from its spec's problem)."""
    if tool != "deepxde" and CASES[name].pdec_spec:
        name = CASES[name].pdec_spec
    return {r["seed"]: r for r in log if r["problem"] == name and r["tool"] == tool}


def _cell(runs: dict[int, dict], seeds: list[int]) -> tuple[str, float | None]:
    """``median (seed errors)`` with failures and missing seeds spelled out; the median or None."""
    done = [max(runs[s]["errors"]) for s in seeds if s in runs and "failure" not in runs[s]]
    parts = []
    for s in seeds:
        if s not in runs:
            parts.append(f"{s}: missing")
        elif "failure" in runs[s]:
            parts.append(f"{s}: failed")
        else:
            parts.append(f"{s}: {max(runs[s]['errors']):.2e}")
    median = statistics.median(done) if done else None
    head = f"{median:.2e}" if median is not None else "—"
    return f"{head} ({', '.join(parts)})", median


def _seconds(runs: dict[int, dict]) -> str:
    """Median wall seconds of training over the finished runs, and in brackets the median CPU seconds."""
    done = [r for r in runs.values() if "failure" not in r]
    if not done:
        return "—"
    cpu = [r["cpu_seconds"] for r in done if "cpu_seconds" in r]
    wall = f"{statistics.median(r['seconds'] for r in done):.0f}"
    return wall + (f" ({statistics.median(cpu):.0f})" if cpu else "")


def table(log: list[dict], names: list[str], seeds: list[int]) -> str:
    """The markdown comparison table, every requested problem shown (missing runs marked)."""
    lines = [
        "| problem | settings (net, points, Adam steps) | pdec error: median (per seed) "
        "| DeepXDE error: median (per seed) | ratio pdec/DeepXDE | pdec s | DeepXDE s | pdec <= DeepXDE |",
        "|---|---|---|---|---:|---:|---:|---|",
    ]
    notes = []
    for name in names:
        pdec_runs, dde_runs = _runs(log, name, "pdec"), _runs(log, name, "deepxde")
        pdec_cell, pdec_med = _cell(pdec_runs, seeds)
        dde_cell, dde_med = _cell(dde_runs, seeds)
        ratio = f"{pdec_med / dde_med:.2g}" if pdec_med is not None and dde_med else "—"
        if pdec_med is None or dde_med is None:
            verdict = "—"
        else:
            verdict = "yes" if pdec_med <= dde_med else "**NO**"
        failures = [
            f"{tool} failed: {r['failure']}"
            for tool, runs in (("pdec", pdec_runs), ("DeepXDE", dde_runs))
            for r in runs.values()
            if "failure" in r
        ]
        for text in dict.fromkeys(failures):  # each distinct failure once
            notes.append(f"- {name}: {text}")
        if CASES[name].note:
            notes.append(f"- {name}: {CASES[name].note}")
        label = f"{name} ({CASES[name].script})"
        lines.append(
            f"| {label} | {CASES[name].settings} | {pdec_cell} | {dde_cell} | {ratio} | {_seconds(pdec_runs)} "
            f"| {_seconds(dde_runs)} | {verdict} |"
        )
    return "\n".join(lines + ([""] + notes if notes else []))


PROTOCOL_SEEDS = [0, 1, 2]  # the protocol: the first table


def _reached(run: dict, error: float) -> float:
    """The CPU seconds at which a run's largest field error first fell to ``error`` (inf: never).

    The history holds wall seconds; they are scaled by the run's CPU seconds over its wall seconds (its share of a
    core, taken as even over the run; the CPU seconds also count writing the run directory, so this errs high).
    """
    share = min(1.0, run["cpu_seconds"] / run["seconds"])
    return next((share * t for t, e in run.get("curve", []) if e <= error), math.inf)


def own_table(log: list[dict], names: list[str], seeds: list[int]) -> str:
    """pdec with its own default schedule against DeepXDE's script: error, seconds, and the time to DeepXDE's error."""
    lines = [
        "| problem | pdec, default schedule: error median (per seed) | DeepXDE error: median | ratio "
        "| pdec s (CPU s) | DeepXDE s (CPU s) | pdec CPU s to DeepXDE's median error (per seed) "
        "| pdec <= DeepXDE (error; time to its error) |",
        "|---|---|---:|---:|---:|---:|---|---|",
    ]
    for name in names:
        own, dde = _runs(log, name, OWN), _runs(log, name, "deepxde")
        own_cell, own_med = _cell(own, seeds)
        _, dde_med = _cell(dde, seeds)
        if own_med is None or dde_med is None:
            continue
        reached = {s: _reached(own[s], dde_med) for s in seeds if s in own and "failure" not in own[s]}
        per_seed = ", ".join(f"{s}: {t:.1f}" if math.isfinite(t) else f"{s}: never" for s, t in reached.items())
        to_error = statistics.median(reached.values())
        cpu = [r["cpu_seconds"] for s, r in dde.items() if s in seeds and "failure" not in r]
        faster = to_error <= statistics.median(cpu)  # CPU seconds, both
        verdict = "yes" if own_med <= dde_med and faster else "**NO**"
        head = f"{to_error:.1f}" if math.isfinite(to_error) else "never"
        lines.append(
            f"| {name} | {own_cell} | {dde_med:.2e} | {own_med / dde_med:.2g} | {_seconds(own)} | {_seconds(dde)} "
            f"| {head} ({per_seed}) | {verdict} |"
        )
    return "\n".join(lines) if len(lines) > 2 else ""


def _errors(log: list[dict], name: str, tool: str) -> list[float]:
    """Every finished run's error (the largest over the fields) of one problem and tool."""
    return [max(r["errors"]) for r in _runs(log, name, tool).values() if "failure" not in r]


def _pooled(errors: list[float]) -> str:
    """``median [min, max]`` of several seeds' errors."""
    return f"{statistics.median(errors):.2e} [{min(errors):.1e}, {max(errors):.1e}]"


def spread_table(log: list[dict], names: list[str]) -> str:
    """Every logged seed of the problems that have more than the protocol's: median, range, and a rank test.

    The Mann-Whitney U test (two-sided, scipy) asks whether the two tools' errors differ at all; runs of the two tools
    share no random stream, so seeds are not paired.
    """
    from scipy.stats import mannwhitneyu

    lines = [
        "| problem | seeds (pdec, DeepXDE) | pdec error: median [min, max] | DeepXDE error: median [min, max] "
        "| ratio of medians | Mann-Whitney p | pdec <= DeepXDE |",
        "|---|---|---|---|---:|---:|---|",
    ]
    for name in names:
        mine, theirs = (_errors(log, name, tool) for tool in TOOLS)
        if min(len(mine), len(theirs)) <= len(PROTOCOL_SEEDS):
            continue
        cells = [_pooled(mine), _pooled(theirs)]
        ratio = statistics.median(mine) / statistics.median(theirs)
        p = mannwhitneyu(mine, theirs, alternative="two-sided").pvalue
        verdict = "yes" if ratio <= 1 else "**NO**"
        lines.append(
            f"| {name} | {len(mine)}, {len(theirs)} | {cells[0]} | {cells[1]} | {ratio:.2g} | {p:.2f} | {verdict} |"
        )
    return "\n".join(lines) if len(lines) > 2 else ""


def net_table(log: list[dict], names: list[str]) -> str:
    """pdec with DeepXDE's network parametrisation (``pdec_net``) against DeepXDE and pdec's own, every logged seed."""
    from scipy.stats import mannwhitneyu

    lines = [
        "| problem | seeds (DeepXDE's network, pdec's, DeepXDE) | pdec, DeepXDE's network: median [min, max] "
        "| pdec, its network: median | DeepXDE: median [min, max] | ratio (DeepXDE's network / DeepXDE) "
        "| Mann-Whitney p | pdec s (CPU s), DeepXDE's network | DeepXDE s (CPU s) |",
        "|---|---|---|---:|---|---:|---:|---:|---:|",
    ]
    for name in names:
        net, own, theirs = (_errors(log, name, tool) for tool in (NET, "pdec", "deepxde"))
        if not (net and own and theirs):
            continue
        p = mannwhitneyu(net, theirs, alternative="two-sided").pvalue
        ratio = statistics.median(net) / statistics.median(theirs)
        seconds = [_seconds(_runs(log, name, tool)) for tool in (NET, "deepxde")]
        lines.append(
            f"| {name} | {len(net)}, {len(own)}, {len(theirs)} | {_pooled(net)} | {statistics.median(own):.2e} "
            f"| {_pooled(theirs)} | {ratio:.2g} | {p:.2f} | {seconds[0]} | {seconds[1]} |"
        )
    return "\n".join(lines) if len(lines) > 2 else ""


def uniform_table(log: list[dict], names: list[str]) -> str:
    """pdec's default schedule with its own (Glorot-normal) and with Glorot-uniform weights, seed for seed."""
    head = "| problem | Glorot-normal (pdec's default): median (per seed) | Glorot-uniform: median (per seed) | ratio |"
    lines = [head, "|---|---|---|---:|"]
    for name in names:
        normal, uniform = _runs(log, name, OWN), _runs(log, name, OWN_UNIFORM)
        seeds = sorted(set(normal) & set(uniform))
        if not seeds:
            continue
        (a, a_med), (b, b_med) = _cell(normal, seeds), _cell(uniform, seeds)
        lines.append(f"| {name} | {a} | {b} | {b_med / a_med:.2g} |")
    return "\n".join(lines) if len(lines) > 2 else ""


def times_table(log: list[dict], names: list[str]) -> str:
    """Median training seconds (CPU seconds in brackets) of each tool, today's runs against the previous table's."""
    earlier = read_jsonl(EARLIER)
    lines = [
        "| problem | pdec s, 2026-12-01 | pdec s, now | DeepXDE s, 2026-12-01 | DeepXDE s, now "
        "| pdec <= DeepXDE (CPU s) |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for name in names:
        cells = [_seconds(_runs(runs, name, tool)) for tool in TOOLS for runs in (earlier, log)]
        cpu = [[r["cpu_seconds"] for r in _runs(log, name, tool).values() if "cpu_seconds" in r] for tool in TOOLS]
        verdict = "—" if not all(cpu) else "yes" if statistics.median(cpu[0]) <= statistics.median(cpu[1]) else "**NO**"
        lines.append(f"| {name} | {' | '.join(cells)} | {verdict} |")
    return "\n".join(lines)


def report(log: list[dict], names: list[str]) -> str:
    """The whole results page: the protocol's table (seeds 0-2), the times against the previous table's, the spread."""
    text = header(PROTOCOL_SEEDS, log) + table(log, names, PROTOCOL_SEEDS)
    own = own_table(log, names, PROTOCOL_SEEDS)
    if own:
        text += (
            "\n\n## pdec as its users run it: the same network, points and rate, pdec's default schedule\n\n"
            "The table above holds both tools to the DeepXDE script's optimiser (Adam only), which measures the "
            "implementations, not what a user of each gets. Here pdec trains the same specs with their `adam`, "
            "`lbfgs` and weight lines removed, so its problem-sized default schedule and its default weighting "
            "apply unchanged (since 2026-12-07: 1,000 Adam steps, 2,000 for several fields or a fourth "
            "derivative; then 2,000 second-phase iterations in float64, `optimizer = auto`: L-BFGS for these "
            "networks of over 5,000 parameters, self-scaled Broyden for the beam's 901; the rows of the schedule "
            "before, 5,000 or 10,000 Adam steps and 1,000 iterations, are in deepxde_2026-12-07c.jsonl). Nothing "
            "was chosen for these problems. DeepXDE's column is the table above's (its script as written). The time to "
            "DeepXDE's error is read from pdec's history (its error every 100 steps; the history's wall seconds "
            "times the run's CPU seconds over its wall seconds, so CPU seconds as the load allowed) and compared "
            "with DeepXDE's CPU seconds for its whole run (runs "
            f"`--tools {OWN}`).\n\n" + own
        )
    net = net_table(log, names)
    if net:
        text += (
            "\n\n## The same network as DeepXDE's: raw inputs, Glorot-uniform weights\n\n"
            "The first table's specs give pdec DeepXDE's widths, activation, points, loss and Adam steps, but pdec's "
            "own network parametrisation: it maps the box onto [-1, 1] (`inputs = auto`) and draws Glorot-normal "
            "weights, where DeepXDE's network takes the coordinates as they are and draws Glorot-uniform ones (the "
            "same variance). Here the same specs add `inputs = raw` and `init = glorot_uniform` (runs `--tools "
            f"{NET}`), so both tools train networks drawn from one distribution and differ only in their random "
            "draws and training points: a comparison of the implementations alone. Where the box is [-1, 1] "
            "(the four Poisson rows) `raw` is what `centred` does and only the draw differs. Every logged seed of "
            "each tool; the p-value compares this column with DeepXDE's.\n\n" + net
        )
    uniform = uniform_table(log, names)
    if uniform:
        text += (
            "\n\nUnder pdec's default schedule (the `pdec_own` runs above) the draw matters otherwise: the same "
            f"specs with `init = glorot_uniform` added (runs `--tools {OWN_UNIFORM}`, the inputs mapped as pdec's "
            "default does), against pdec's default draw on the same seeds.\n\n" + uniform
        )
    text += "\n\n## Training time against the previous table (2026-12-01)\n\n" + times_table(log, names)
    spread = spread_table(log, names)
    if spread:
        text += (
            "\n\n## Every seed run\n\nSingle runs scatter by 10x between seeds on both tools, so three seeds "
            "decide little. Where more seeds were run (`--seeds 3 4 ...`), this table pools them: median, smallest "
            "and largest error, and the two-sided Mann-Whitney U test's p-value (small: the two tools' errors "
            "differ; near 1: no evidence of a difference).\n\n" + spread
        )
    return text


def _cpu_medians(log: list[dict], name: str, seeds: range) -> str:
    """``pdec's against DeepXDE's`` median CPU seconds over ``seeds`` of one problem (— where none ran)."""
    cpu = {tool: [r["cpu_seconds"] for r in log if r.get("problem") == name and r.get("tool") == tool
                  and r.get("seed", 0) in seeds and "cpu_seconds" in r] for tool in TOOLS}  # fmt: skip
    return " against DeepXDE's ".join(f"{statistics.median(c):.1f}" if c else "—" for c in cpu.values())


def header(seeds: list[int], log: list[dict]) -> str:
    """What was run, where and when."""
    import torch

    epyc = _cpu_medians(log, "diffusion_1d", range(10, 20))
    today = {name: _cpu_medians(log, name, range(20, 25)) for name in ("diffusion_1d", "poisson_periodic_1d")}

    return (
        f"# pdec vs DeepXDE 1.15 (PyTorch) on DeepXDE's forward examples, on DeepXDE's settings and loss\n\n"
        f"Rewritten {time.strftime('%Y-%m-%d')}; torch {torch.__version__}, float32, one torch thread per run, "
        f"niced. Seeds {', '.join(map(str, seeds))} in the first table. **Both tools are scored on the same kind of "
        f"iterate: the one with the lowest training loss** (the weighted loss at the training points, taken before "
        f"each Adam update): pdec's default `keep_best`, and for DeepXDE the same rule wrapped around its Adam step "
        f"by this benchmark (its trajectory unchanged; its last iterate's error is logged too, `errors_last`). "
        f"Settings are DeepXDE's scripts' (network, points, learning rate, Adam steps, no L-BFGS), and pdec's specs "
        f"(benchmarks/specs/deepxde/*.pde) restate DeepXDE's loss: DeepXDE evaluates the equation at its boundary "
        f"and initial points too, in one mean, so the specs impose the equation there as well, with fixed weights "
        f"giving each point of the equation its share of that mean (16/18 on the interior's mean and 2/18 on the "
        f"ends' for 16 + 2 points) and the conditions DeepXDE's weights (1, and 100 on soft Helmholtz's walls). "
        f"The first table compares the implementations; pdec's own weighting and schedule are the second's. pdec "
        f"runs today's default otherwise (forward-mode lowering, fused Adam, evenly spaced equation points in one "
        f"variable, `inputs = auto`). Error: relative L2 against the exact solution on the same 10,000 Sobol points "
        f"for both tools (the largest over the fields for ode_system). Seconds: the median training wall time per "
        f"run, and in brackets the median CPU seconds of the training process; both timers leave out the imports "
        f"and the optimiser's set-up (DeepXDE's starts after `import deepxde` and `model.compile`, pdec's after its "
        f"trainer's modules and torch's optimiser machinery are loaded). '—' means no finished run; 'missing' seeds "
        f"were not run.\n\n"
        f"Where the runs come from (every log is in benchmarks/results/):\n\n"
        f"- The six 1-D and ODE rows, seeds 0-4, both tools: 2026-12-07 21:36-22:00 UTC on a 2-core AMD EPYC, the "
        f"two tools side by side (one run of each at a time, one per core), pdec with twin point sets in one call. "
        f"Their earlier runs (another 2-core machine, one run at a time, the code before) are in "
        f"deepxde_2026-12-07e.jsonl; with other machines' round-off single runs end elsewhere.\n"
        f"- Diffusion: seeds 0-4 on the earlier machine, one run at a time; 5-9 on the EPYC, one run at a time; "
        f"10-19 on the EPYC, the two tools side by side (2026-12-07 21:00 UTC). Its trajectories are the same with "
        f"and without twin point sets, so the errors pool; the seconds columns pool the machines. On the EPYC, "
        f"seeds 10-19 (before the twin point sets), pdec took {epyc} CPU s (medians).\n"
        f"- Diffusion and periodic Poisson, seeds 20-24, both tools side by side on the EPYC with today's code "
        f"(2026-12-08 02:45-02:52 UTC): pdec took {today['diffusion_1d']} CPU s on diffusion and "
        f"{today['poisson_periodic_1d']} on periodic Poisson (medians). Of pdec's, about 8% is its bookkeeping "
        f"(the error on 10,000 points every 100 steps, a checkpoint every 1,000, in-memory snapshots every 25 and the "
        f"lowest-loss iterate), where DeepXDE's script evaluates its test points every 1,000 steps.\n"
        f"- Helmholtz: seeds 0-2 on the earlier machine; hard walls' seeds 3-7 of pdec and 5-7 of DeepXDE on the "
        f"EPYC (pdec 98-107 s, DeepXDE 160-220 s there), and seeds 8-15 of both there, side by side "
        f"(2026-12-08 00:24-00:50 UTC, decided before they ran); soft walls' seeds 3-4 of pdec on the EPYC "
        f"(2026-12-07 23:48-23:54 UTC, beside a pdec run).\n"
        f"- pdec with DeepXDE's network (`{NET}`, the section below): 2026-12-07 23:22-23:56 UTC on the EPYC, two "
        f"pdec runs side by side, the code of the twin point sets; hard walls' seeds 5-15 on 2026-12-08 00:47-01:00 "
        f"UTC, the same way.\n"
        f"- Earlier tables: deepxde_2026-12-01.jsonl (pdec's lowest-loss iterate against DeepXDE's last; times "
        f"compared below), deepxde_earlier.jsonl (autograd lowering, Sobol points in one variable), "
        f"deepxde_2026-12-07c.jsonl (the specs before they restated DeepXDE's loss), deepxde_2026-12-07d.jsonl and "
        f"b.jsonl (the same runs timed with three other jobs beside them, or with the imports inside).\n"
        f"- Why the two rows above DeepXDE differ: benchmarks/deepxde_same_start.py trains pdec from DeepXDE's "
        f"initial weights and points. On diffusion it reproduces DeepXDE's errors seed for seed; on Helmholtz the "
        f"two tools' losses agree to 1e-7 for 200 steps, then float32 round-off grows apart "
        f"(results/deepxde_same_start.md). On diffusion the gap follows the initial network: with DeepXDE's initial "
        f"weights and pdec's own points pdec ends at DeepXDE's level (median 3.1e-3 against 3.0e-3, seeds 0-9), "
        f"with DeepXDE's points and pdec's own network at its own (4.5e-3 against 4.4e-3). With DeepXDE's network "
        f"parametrisation and pdec's own draws (the section below), no row is above DeepXDE's error beyond the "
        f"seeds' scatter.\n\n"
    )


def main() -> None:
    """Run the missing (problem, tool, seed) triples one at a time; rewrite the table after each."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+", choices=list(CASES), help="problem names (default: all)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    tools = (*TOOLS, OWN, NET, OWN_UNIFORM)
    parser.add_argument("--tools", nargs="+", choices=tools, default=[*TOOLS, OWN], help="these tools' rows")
    parser.add_argument("--budget", type=float, default=None, help="minutes after which no new run starts")
    parser.add_argument("--grace", type=float, default=10.0, help="minutes a run may go on past --budget")
    parser.add_argument("--report", action="store_true", help="only rewrite deepxde.md from the log")
    parser.add_argument("--nice", type=int, default=10, help="niceness of each run, added to the driver's")
    parser.add_argument("--one", nargs=3, metavar=("NAME", "TOOL", "SEED"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        name, tool, seed = args.one
        return one(name, tool, int(seed))
    names = args.only or list(CASES)
    if args.report:
        return print(write_result("deepxde", report(read_log(), names)).read_text())
    start = time.monotonic()
    deadline = start + 60 * args.budget if args.budget is not None else float("inf")
    RESULTS.mkdir(exist_ok=True)
    write_result("deepxde", report(read_log(), names))
    main_names = [n for n in names if not CASES[n].pdec_spec]
    variants = [n for n in names if CASES[n].pdec_spec]  # DeepXDE-only variants run after every seed of the rest
    order = [(s, n) for s in args.seeds for n in main_names] + [(s, n) for n in variants for s in args.seeds]
    for seed, name in order:
        for tool in args.tools:
            if tool != "deepxde" and CASES[name].pdec_spec:
                continue  # shares the pdec runs of its spec's problem
            if (name, tool, seed) in {(r["problem"], r["tool"], r["seed"]) for r in read_log()}:
                continue
            if time.monotonic() > deadline:
                print(f"budget spent: not starting {name} {tool} seed {seed}", flush=True)
                continue
            timeout = min(3600.0, deadline + 60 * args.grace - time.monotonic())
            row = launch(name, tool, seed, timeout, args.nice)
            if "timed_out" in row:  # stopped by the time limit: missing, not failed (a later invocation retries it)
                print(f"time limit: stopped {name} {tool} seed {seed} after {timeout:.0f} s", flush=True)
                continue
            with LOG.open("a") as f:
                f.write(json.dumps(row) + "\n")
            print(
                json.dumps({k: row.get(k) for k in ("problem", "tool", "seed", "errors", "seconds", "failure")}),
                flush=True,
            )
            write_result("deepxde", report(read_log(), names))
    print((RESULTS / "deepxde.md").read_text())


if __name__ == "__main__":
    main()
