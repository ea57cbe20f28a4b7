"""One full Adam step (residuals + loss + backward + update): pdec against hand-written PyTorch.

Run from the repository root::

    python benchmarks/bench_step.py            # all problems, 4x20 and 8x20 nets
    python benchmarks/bench_step.py --quick    # fewer repetitions

For each problem (viscous Burgers, Kuramoto-Sivashinsky, Kovasznay) and net, every method gets its own copy of the
same initial net and its own Adam optimiser on the same fixed points; steps are timed one at a time, the methods
interleaved in a shuffled order on every round so that machine noise hits all of them alike; the table reports the
median step time. Methods:

- ``hand``: a careful hand-written step (one backward pass per parent derivative, gradients sliced by column);
- ``pdec``: ``pdec.compile(problem).evaluate`` (eager);
- ``naive``: a fresh autograd chain from the network output for every derivative (what printing each derivative
  separately, as sympy's torch printer would, gives);
- ``pdec+compile``: ``pdec.compile(problem, compile=True)`` (torch.compile with traced autograd.grad), with its
  one-off compile time;
- ``deepxde``: DeepXDE's own Burgers step (PyTorch backend), when ``deepxde`` is importable.

The forward-mode table (``--forward`` runs only it, and replaces its section in the results file) runs every method
on pdec's own MLP (input map to [-1, 1], tanh), nets 4x20, 8x20 and 4x50: ``hand``, pdec with ``lowering =
autograd``, and pdec with ``lowering = forward`` (the partials propagated through the layers). Its memory columns are
the peak memory of the tensors one step allocates (the torch profiler's allocation events, CPU).

``--examples`` times pdec's two lowerings on allen_cahn.pde, kuramoto_sivashinsky.pde and advection.pde as written:
their own networks (modified MLP, Fourier features, exact periodicity and initial values), their interior point
counts, the loss without causal weights; its section of the results file is replaced.

``--layout`` times the two ways of writing a layer's product in the forward mode (``p @ W.T`` against
``(W @ p.T).T``), alone and inside a whole Burgers step, in float32 and float64; its section is replaced.

The markdown table is printed and written to benchmarks/results/step.md.
"""

from __future__ import annotations

import argparse
import copy
import math
import os
import platform
import random
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import sympy
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import pdec.compiler.driver as pc  # noqa: E402
from pdec.core.source import Source  # noqa: E402
from pdec.language.problem import (  # noqa: E402
    Condition,
    Constant,
    Equation,
    Face,
    Field,
    Periodic,
    Piece,
    Problem,
    Variable,
    field_function,
    symbol,
)
from pdec.nn.networks import build_net  # noqa: E402

D = sympy.Derivative
N_INTERIOR, N_BOUNDARY, N_INITIAL = 2540, 80, 160


# ----------------------------------------------------------------------------------------------------------------------
# Problems (built by hand, as the front end would)
# ----------------------------------------------------------------------------------------------------------------------


def burgers_problem() -> Problem:
    x, t = symbol("x"), symbol("t")
    u = field_function("u")(x, t)
    nu = symbol("nu")
    return Problem(
        source=Source("", "burgers"),
        variables=(Variable("x", -1.0, 1.0), Variable("t", 0.0, 1.0, True)),
        fields=(Field("u", ("x", "t")),),
        constants=(Constant("nu", 0.01 / math.pi, sympy.Rational(1, 100) / sympy.pi),),
        equations=(Equation("burgers", D(u, t) + u * D(u, x), nu * D(u, (x, 2))),),
        conditions=(
            Condition("initial", "ic", (Piece(Face("t", 0.0, "lo"), u + sympy.sin(sympy.pi * x)),), u, u),
            Condition("left", "bc", (Piece(Face("x", -1.0, "lo"), u),), u, sympy.S.Zero),
            Condition("right", "bc", (Piece(Face("x", 1.0, "hi"), u),), u, sympy.S.Zero),
        ),
    )


def ks_problem() -> Problem:
    x, t = symbol("x"), symbol("t")
    u = field_function("u")(x, t)
    a, b, g = symbol("alpha"), symbol("beta"), symbol("gamma")
    residual = D(u, t) + a * u * D(u, x) + b * D(u, (x, 2)) + g * D(u, (x, 4))
    return Problem(
        source=Source("", "ks"),
        variables=(Variable("x", 0.0, 2 * math.pi), Variable("t", 0.0, 1.0, True)),
        fields=(Field("u", ("x", "t")),),
        constants=(
            Constant("alpha", 100 / 16, sympy.Integer(100) / 16),
            Constant("beta", 100 / 16**2, sympy.Integer(100) / 16**2),
            Constant("gamma", 100 / 16**4, sympy.Integer(100) / 16**4),
        ),
        equations=(Equation("ks", residual, sympy.S.Zero),),
        conditions=(
            Condition("initial", "ic", (Piece(Face("t", 0.0, "lo"), u - sympy.cos(x) * (1 + sympy.sin(x))),), u, u),
            Periodic("ends", "x", (u, D(u, x), D(u, (x, 2)), D(u, (x, 3)))),
        ),
    )


def kovasznay_problem() -> Problem:
    x, y = symbol("x"), symbol("y")
    u, v, p = (field_function(n)(x, y) for n in "uvp")
    re, lam = 20.0, 20.0 / 2 - math.sqrt(20.0**2 / 4 + 4 * math.pi**2)
    Re, Lam = symbol("Re"), symbol("lam")
    ue = 1 - sympy.exp(Lam * x) * sympy.cos(2 * sympy.pi * y)
    ve = Lam / (2 * sympy.pi) * sympy.exp(Lam * x) * sympy.sin(2 * sympy.pi * y)
    faces = [Face("x", -0.5, "lo"), Face("x", 1.0, "hi"), Face("y", -0.5, "lo"), Face("y", 1.5, "hi")]
    return Problem(
        source=Source("", "kovasznay"),
        variables=(Variable("x", -0.5, 1.0), Variable("y", -0.5, 1.5)),
        fields=tuple(Field(n, ("x", "y")) for n in "uvp"),
        constants=(Constant("Re", re, sympy.Integer(20)), Constant("lam", lam, sympy.Float(lam))),
        equations=(
            Equation("momentum_x", u * D(u, x) + v * D(u, y) + D(p, x), (D(u, (x, 2)) + D(u, (y, 2))) / Re),
            Equation("momentum_y", u * D(v, x) + v * D(v, y) + D(p, y), (D(v, (x, 2)) + D(v, (y, 2))) / Re),
            Equation("continuity", D(u, x) + D(v, y), sympy.S.Zero),
        ),
        conditions=(
            Condition("wall_u", "bc", tuple(Piece(f, u - ue) for f in faces), u, ue),
            Condition("wall_v", "bc", tuple(Piece(f, v - ve) for f in faces), v, ve),
            Condition(
                "outlet_p", "bc", (Piece(faces[1], p - (1 - sympy.exp(2 * Lam)) / 2),), p, (1 - sympy.exp(2 * Lam)) / 2
            ),
        ),
    )


# ----------------------------------------------------------------------------------------------------------------------
# Hand-written steps: what a careful engineer writes for each problem
# ----------------------------------------------------------------------------------------------------------------------


def d(y: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    return torch.autograd.grad(y, x, torch.ones_like(y), create_graph=True)[0]


def hand_burgers(net, pts):
    nu = 0.01 / math.pi
    x = pts["interior"].detach().requires_grad_(True)
    u = net(x)
    g = d(u, x)
    u_x, u_t = g[:, 0:1], g[:, 1:2]
    u_xx = d(u_x, x)[:, 0:1]
    r = u_t + u * u_x - nu * u_xx
    x0, xl, xr = pts["ic:initial@t=0"], pts["bc:left@x=-1"], pts["bc:right@x=1"]
    r0, rl, rr = net(torch.cat([x0, xl, xr])).split([x0.shape[0], xl.shape[0], xr.shape[0]])  # one call
    r0 = r0 + torch.sin(math.pi * x0[:, 0:1])
    return r.pow(2).mean() + r0.pow(2).mean() + rl.pow(2).mean() + rr.pow(2).mean()


def hand_ks(net, pts):
    a, b, g4 = 100 / 16, 100 / 16**2, 100 / 16**4
    x = pts["interior"].detach().requires_grad_(True)
    u = net(x)
    g = d(u, x)
    u_x, u_t = g[:, 0:1], g[:, 1:2]
    u_xx = d(u_x, x)[:, 0:1]
    u_xxx = d(u_xx, x)[:, 0:1]
    u_xxxx = d(u_xxx, x)[:, 0:1]
    r = u_t + a * u * u_x + b * u_xx + g4 * u_xxxx
    x0 = pts["ic:initial@t=0"]
    r0 = net(x0) - torch.cos(x0[:, 0:1]) * (1 + torch.sin(x0[:, 0:1]))
    lo = pts["bc:ends@x=0"]
    hi = torch.cat([torch.full_like(lo[:, :1], 2 * math.pi), lo[:, 1:]], 1)
    xb = torch.cat([lo, hi]).detach().requires_grad_(True)
    ub = net(xb)
    ub_x = d(ub, xb)[:, 0:1]
    ub_xx = d(ub_x, xb)[:, 0:1]
    ub_xxx = d(ub_xx, xb)[:, 0:1]
    n = lo.shape[0]
    rb = torch.cat([ub, ub_x, ub_xx, ub_xxx], 1)
    rb = rb[:n] - rb[n:]
    return r.pow(2).mean() + r0.pow(2).mean() + rb.pow(2).mean()


def kovasznay_boundary_loss(net, pts, lam):
    """Kovasznay's Dirichlet losses, by hand: one network call for every boundary point (u walls, v walls, p outlet)."""
    wu = [k for k in pts if k.startswith("bc:wall_u")]
    wv = [k for k in pts if k.startswith("bc:wall_v")]
    xu, xv, xo = torch.cat([pts[k] for k in wu]), torch.cat([pts[k] for k in wv]), pts["bc:outlet_p@x=1"]
    ob = net(torch.cat([xu, xv, xo]))
    nu_, nv_ = xu.shape[0], xv.shape[0]
    ou, ov, oo = ob[:nu_], ob[nu_ : nu_ + nv_], ob[nu_ + nv_ :]
    ru = ou[:, 0:1] - (1 - torch.exp(lam * xu[:, 0:1]) * torch.cos(2 * math.pi * xu[:, 1:2]))
    rv = ov[:, 1:2] - lam / (2 * math.pi) * torch.exp(lam * xv[:, 0:1]) * torch.sin(2 * math.pi * xv[:, 1:2])
    rp = oo[:, 2:3] - (1 - math.exp(2 * lam)) / 2
    return ru.pow(2).mean() + rv.pow(2).mean() + rp.pow(2).mean()


def hand_kovasznay(net, pts):
    re = 20.0
    lam = re / 2 - math.sqrt(re**2 / 4 + 4 * math.pi**2)
    x = pts["interior"].detach().requires_grad_(True)
    out = net(x)
    u, v, p = out[:, 0:1], out[:, 1:2], out[:, 2:3]
    gu, gv, gp = d(u, x), d(v, x), d(p, x)
    u_x, u_y, v_x, v_y, p_x, p_y = gu[:, 0:1], gu[:, 1:2], gv[:, 0:1], gv[:, 1:2], gp[:, 0:1], gp[:, 1:2]
    u_xx, u_yy = d(u_x, x)[:, 0:1], d(u_y, x)[:, 1:2]
    v_xx, v_yy = d(v_x, x)[:, 0:1], d(v_y, x)[:, 1:2]
    r1 = u * u_x + v * u_y + p_x - (u_xx + u_yy) / re
    r2 = u * v_x + v * v_y + p_y - (v_xx + v_yy) / re
    r3 = u_x + v_y
    loss = r1.pow(2).mean() + r2.pow(2).mean() + r3.pow(2).mean()
    return loss + kovasznay_boundary_loss(net, pts, lam)


HAND = {"burgers": hand_burgers, "ks": hand_ks, "kovasznay": hand_kovasznay}


# ----------------------------------------------------------------------------------------------------------------------
# The naive step: every derivative from its own fresh chain of autograd calls, one column per call
# ----------------------------------------------------------------------------------------------------------------------


def nd(y: torch.Tensor, x: torch.Tensor, *columns: int) -> torch.Tensor:
    """One derivative from its own chain: differentiate ``y`` once per column, from scratch."""
    for c in columns:
        y = torch.autograd.grad(y, x, torch.ones_like(y), create_graph=True)[0][:, c : c + 1]
    return y


def naive_burgers(net, pts):
    nu = 0.01 / math.pi
    x = pts["interior"].detach().requires_grad_(True)
    u = net(x)
    r = nd(u, x, 1) + u * nd(u, x, 0) - nu * nd(u, x, 0, 0)
    x0, xl, xr = pts["ic:initial@t=0"], pts["bc:left@x=-1"], pts["bc:right@x=1"]
    r0, rl, rr = net(torch.cat([x0, xl, xr])).split([x0.shape[0], xl.shape[0], xr.shape[0]])
    r0 = r0 + torch.sin(math.pi * x0[:, 0:1])
    return r.pow(2).mean() + r0.pow(2).mean() + rl.pow(2).mean() + rr.pow(2).mean()


def naive_ks(net, pts):
    a, b, g4 = 100 / 16, 100 / 16**2, 100 / 16**4
    x = pts["interior"].detach().requires_grad_(True)
    u = net(x)
    r = nd(u, x, 1) + a * u * nd(u, x, 0) + b * nd(u, x, 0, 0) + g4 * nd(u, x, 0, 0, 0, 0)
    x0 = pts["ic:initial@t=0"]
    r0 = net(x0) - torch.cos(x0[:, 0:1]) * (1 + torch.sin(x0[:, 0:1]))
    lo = pts["bc:ends@x=0"]
    hi = torch.cat([torch.full_like(lo[:, :1], 2 * math.pi), lo[:, 1:]], 1)
    xb = torch.cat([lo, hi]).detach().requires_grad_(True)
    ub = net(xb)
    rb = torch.cat([ub, nd(ub, xb, 0), nd(ub, xb, 0, 0), nd(ub, xb, 0, 0, 0)], 1)
    n = lo.shape[0]
    rb = rb[:n] - rb[n:]
    return r.pow(2).mean() + r0.pow(2).mean() + rb.pow(2).mean()


def naive_kovasznay(net, pts):
    re = 20.0
    lam = re / 2 - math.sqrt(re**2 / 4 + 4 * math.pi**2)
    x = pts["interior"].detach().requires_grad_(True)
    out = net(x)
    u, v, p = out[:, 0:1], out[:, 1:2], out[:, 2:3]
    r1 = u * nd(u, x, 0) + v * nd(u, x, 1) + nd(p, x, 0) - (nd(u, x, 0, 0) + nd(u, x, 1, 1)) / re
    r2 = u * nd(v, x, 0) + v * nd(v, x, 1) + nd(p, x, 1) - (nd(v, x, 0, 0) + nd(v, x, 1, 1)) / re
    r3 = nd(u, x, 0) + nd(v, x, 1)
    loss = r1.pow(2).mean() + r2.pow(2).mean() + r3.pow(2).mean()
    return loss + kovasznay_boundary_loss(net, pts, lam)


NAIVE = {"burgers": naive_burgers, "ks": naive_ks, "kovasznay": naive_kovasznay}
PROBLEMS = {"burgers": burgers_problem, "ks": ks_problem, "kovasznay": kovasznay_problem}


# ----------------------------------------------------------------------------------------------------------------------
# Points, nets, steps, timing
# ----------------------------------------------------------------------------------------------------------------------


def make_points(compiled: pc.CompiledProblem, dtype=torch.float32) -> dict[str, torch.Tensor]:
    """Fixed random points: interior in the box; boundary points split over boundary faces; initial on t = lo."""
    g = torch.Generator().manual_seed(0)
    lo = torch.tensor([compiled.bounds[v][0] for v in compiled.variables], dtype=dtype)
    hi = torch.tensor([compiled.bounds[v][1] for v in compiled.variables], dtype=dtype)
    faces = [n for n, ps in compiled.point_sets.items() if ps.region]
    initial = [n for n in faces if n.startswith("ic:")]
    boundary = [n for n in faces if not n.startswith("ic:")]
    pts = {}
    for name in compiled.point_sets:
        count = N_INTERIOR if name == "interior" else None
        if name in initial:
            count = N_INITIAL // len(initial)
        elif name in boundary:
            count = max(1, N_BOUNDARY // len(boundary))
        x = lo + (hi - lo) * torch.rand(count, len(lo), generator=g, dtype=dtype)
        for var, value in compiled.point_sets[name].region.items():
            x[:, compiled.variables.index(var)] = value
        pts[name] = x
    return pts


def make_net(d: int, m: int, depth: int, width: int = 20, seed: int = 0) -> torch.nn.Module:
    torch.manual_seed(seed)
    layers: list[torch.nn.Module] = []
    n_in = d
    for _ in range(depth):
        layers += [torch.nn.Linear(n_in, width), torch.nn.Tanh()]
        n_in = width
    layers.append(torch.nn.Linear(n_in, m))
    return torch.nn.Sequential(*layers)


def pdec_mlp(compiled: pc.CompiledProblem, depth: int, width: int, seed: int = 0) -> torch.nn.Module:
    """pdec's own network (input map to [-1, 1], tanh): the one the forward mode recognises."""
    return build_net(compiled.variables, compiled.bounds, compiled.fields, [width] * depth, "tanh", seed)


def pdec_loss(compiled: pc.CompiledProblem):
    def loss(net, pts):
        return sum(r.pow(2).mean() for r in compiled.evaluate(net, pts).values())

    return loss


class Stepper:
    """A net, its Adam optimiser and a loss function: one ``step()`` is one full training step."""

    def __init__(self, loss_fn, net: torch.nn.Module, pts: dict[str, torch.Tensor]) -> None:
        self.loss_fn, self.net, self.pts = loss_fn, copy.deepcopy(net), pts
        self.opt = torch.optim.Adam(self.net.parameters(), lr=1e-3)

    def step(self) -> float:
        self.opt.zero_grad(set_to_none=True)
        loss = self.loss_fn(self.net, self.pts)
        loss.backward()
        self.opt.step()
        return float(loss.detach())


def paired(steppers: dict[str, Stepper], rounds: int, base: str = "hand", warmup: int = 5):
    """Median step time of each stepper and the median over rounds of its time / the base's time in that round.

    Steps are timed one at a time; every round runs each stepper once, in a fresh shuffled order, so slow spells of
    a shared machine hit all of them alike and cancel in the per-round ratio.
    """
    for s in steppers.values():
        for _ in range(warmup):
            s.step()
    times: dict[str, list[float]] = {k: [] for k in steppers}
    order = list(steppers)
    rng = random.Random(0)
    for _ in range(rounds):
        rng.shuffle(order)
        for k in order:
            t0 = time.perf_counter()
            steppers[k].step()
            times[k].append(time.perf_counter() - t0)
    medians = {k: statistics.median(v) for k, v in times.items()}
    ratios = {k: statistics.median(a / b for a, b in zip(v, times[base], strict=True)) for k, v in times.items()}
    return medians, ratios


# ----------------------------------------------------------------------------------------------------------------------
# DeepXDE (optional) and spec-to-callable compile times
# ----------------------------------------------------------------------------------------------------------------------


def deepxde_stepper(depth: int):
    """DeepXDE 1.15's own Burgers step (PyTorch backend, same point counts, its own sampling), or None."""
    os.environ.setdefault("DDE_BACKEND", "pytorch")
    try:
        import deepxde as dde
    except Exception:  # noqa: BLE001 - optional dependency: any import failure means "not available"
        return None
    geomtime = dde.geometry.GeometryXTime(dde.geometry.Interval(-1, 1), dde.geometry.TimeDomain(0, 1))

    def pde(x, y):
        dy_x = dde.grad.jacobian(y, x, i=0, j=0)
        dy_t = dde.grad.jacobian(y, x, i=0, j=1)
        dy_xx = dde.grad.hessian(y, x, i=0, j=0)
        return dy_t + y * dy_x - 0.01 / math.pi * dy_xx

    bc = dde.icbc.DirichletBC(geomtime, lambda x: 0, lambda _, on_boundary: on_boundary)
    ic = dde.icbc.IC(geomtime, lambda x: -np.sin(np.pi * x[:, 0:1]), lambda _, on_initial: on_initial)
    data = dde.data.TimePDE(
        geomtime, pde, [bc, ic], num_domain=N_INTERIOR, num_boundary=N_BOUNDARY, num_initial=N_INITIAL
    )
    model = dde.Model(data, dde.nn.FNN([2] + [20] * depth + [1], "tanh", "Glorot normal"))
    model.compile("adam", lr=1e-3)
    model.train_state.set_data_train(*data.train_next_batch(None))
    state = model.train_state

    def step():  # the body of DeepXDE's training loop, without its periodic test evaluation
        model._train_step(state.X_train, state.y_train, state.train_aux_vars)

    return step


def spec_compile_times() -> list[tuple[str, float, float, int]]:
    """(example, front-end seconds, compiler seconds, backward passes) for every examples/*.pde (needs the front end).

    Each example is loaded once first, so one-off costs (reading the grammar, importing) are not counted.
    """
    try:
        from pdec.language.frontend import load
    except ImportError:
        return []
    out = []
    for path in sorted((Path(__file__).resolve().parents[1] / "examples").glob("*.pde")):
        try:
            load(str(path))
            t0 = time.perf_counter()
            problem = load(str(path))
            t1 = time.perf_counter()
            compiled = pc.compile(problem)
            out.append((path.name, t1 - t0, time.perf_counter() - t1, compiled.plan.passes))
        except Exception as e:  # noqa: BLE001 - report, do not stop the benchmark
            out.append((f"{path.name} ({type(e).__name__}: {str(e).splitlines()[0][:60]})", math.nan, math.nan, 0))
    return out


# ----------------------------------------------------------------------------------------------------------------------
# Main
# ----------------------------------------------------------------------------------------------------------------------


def run(rounds: int, depths: tuple[int, ...], with_compile: bool, with_deepxde: bool) -> str:
    lines = [
        f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}, "
        f"{torch.get_num_threads()} threads, float32; {rounds} interleaved rounds; median step (ms) and median of "
        "per-round ratios to `hand`.",
        "",
        "| problem | net | hand ms | pdec ms | pdec/hand | naive ms | naive/hand | passes |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, build in PROBLEMS.items():
        for depth in depths:
            t0 = time.perf_counter()
            compiled = pc.compile(build(), lowering="autograd")
            compile_s = time.perf_counter() - t0
            pts = make_points(compiled)
            net = make_net(len(compiled.variables), len(compiled.fields), depth)
            steppers = {
                "hand": Stepper(HAND[name], net, pts),
                "pdec": Stepper(pdec_loss(compiled), net, pts),
                "naive": Stepper(NAIVE[name], net, pts),
            }
            med, ratio = paired(steppers, rounds)
            lines.append(
                f"| {name} | {depth}x20 | {med['hand'] * 1e3:.2f} | {med['pdec'] * 1e3:.2f} | {ratio['pdec']:.3f} | "
                f"{med['naive'] * 1e3:.2f} | {ratio['naive']:.2f} | {compiled.plan.passes} |"
            )
            print(lines[-1], f"(compile {compile_s * 1e3:.0f} ms)", flush=True)
    lines += ["", forward_section(rounds, SHAPES if len(depths) > 1 else SHAPES[:1]), ""]
    if with_deepxde:
        lines += ["", deepxde_section(rounds)]
    if with_compile:
        lines += ["", compile_section(max(10, rounds // 4)), "", forward_compile_section(max(10, rounds // 4))]
    times = spec_compile_times()
    if times:
        lines += ["", "| example | front end s | compiler s | spec -> callable s | passes |", "|---|---|---|---|---|"]
        lines += [f"| {n} | {a:.3f} | {b:.3f} | {a + b:.3f} | {p} |" for n, a, b, p in times]
    return "\n".join(lines) + "\n"


FORWARD_TITLE = "## The forward mode (`lowering = forward`) on pdec's MLP"
SHAPES = ((4, 20), (8, 20), (4, 50))


def forward_section(rounds: int, shapes=SHAPES) -> str:
    """Hand-written, pdec autograd and pdec forward steps on pdec's MLP: median ms, ratio to hand, peak step memory."""
    lines = [
        FORWARD_TITLE,
        "",
        f"{torch.get_num_threads()} thread(s), float32, {rounds} interleaved rounds; median step (ms), median of "
        "per-round ratios to `hand`; peak memory of the tensors one step allocates (MiB, torch profiler).",
        "",
        "| problem | net | hand ms | autograd ms | autograd/hand | forward ms | forward/hand | "
        "hand MiB | autograd MiB | forward MiB |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, build in PROBLEMS.items():
        autograd = pc.compile(build(), lowering="autograd")
        forward = pc.compile(build(), lowering="forward")
        pts = make_points(autograd)
        for depth, width in shapes:
            net = pdec_mlp(autograd, depth, width)
            steppers = {
                "hand": Stepper(HAND[name], net, pts),
                "autograd": Stepper(pdec_loss(autograd), net, pts),
                "forward": Stepper(pdec_loss(forward), net, pts),
            }
            med, ratio = paired(steppers, rounds)
            mib = {k: peak_step_mib(s.step) for k, s in steppers.items()}
            lines.append(
                f"| {name} | {depth}x{width} | {med['hand'] * 1e3:.2f} | {med['autograd'] * 1e3:.2f} | "
                f"{ratio['autograd']:.3f} | {med['forward'] * 1e3:.2f} | {ratio['forward']:.3f} | "
                f"{mib['hand']:.1f} | {mib['autograd']:.1f} | {mib['forward']:.1f} |"
            )
            print(lines[-1], flush=True)
    return "\n".join(lines)


EXAMPLES_TITLE = "## The forward mode on the examples' own networks"
EXAMPLES = ("allen_cahn", "kuramoto_sivashinsky", "advection")


def example_points(compiled: pc.CompiledProblem) -> dict[str, torch.Tensor]:
    """Fixed random points of a spec as written: ``interior`` points inside, ``boundary`` points on each face set."""
    from pdec.train.sampling import box_points

    counts = {True: compiled.settings.interior, False: compiled.settings.boundary}
    return {
        name: torch.as_tensor(
            box_points(counts[not ps.region], dict(compiled.bounds), ps.region, "random", seed=i), dtype=torch.float32
        )
        for i, (name, ps) in enumerate(compiled.point_sets.items())
    }


def examples_section(rounds: int) -> str:
    """Autograd and forward steps on examples whose networks use the input maps, the modified MLP, exact conditions."""
    from pdec.nn.networks import make_net as pdec_make_net

    lines = [
        EXAMPLES_TITLE,
        "",
        f"{torch.get_num_threads()} thread(s), float32, {rounds} interleaved rounds; each spec as written (its "
        "network, its interior point count; the loss without causal weights); median step (ms), median of per-round "
        "ratios forward/autograd; peak memory of the tensors one step allocates (MiB, torch profiler).",
        "",
        "| example | network | points | autograd ms | forward ms | forward/autograd | autograd MiB | forward MiB |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name in EXAMPLES:
        path = str(Path(__file__).resolve().parents[1] / "examples" / f"{name}.pde")
        autograd, forward = (pc.compile(path, lowering=lowering) for lowering in ("autograd", "forward"))
        net = pdec_make_net(forward, forward.settings, torch.device("cpu"), torch.float32)
        pts = example_points(forward)
        steppers = {k: Stepper(pdec_loss(c), net, pts) for k, c in (("autograd", autograd), ("forward", forward))}
        med, ratio = paired(steppers, rounds, base="autograd")
        mib = {k: peak_step_mib(s.step) for k, s in steppers.items()}
        s = forward.settings
        network = f"{s.network} {'x'.join(map(str, s.layers))}" + (
            f", {s.fourier_features} Fourier features" if s.fourier_features else ""
        )
        lines.append(
            f"| {name} | {network} | {sum(len(p) for p in pts.values())} | {med['autograd'] * 1e3:.1f} | "
            f"{med['forward'] * 1e3:.1f} | {ratio['forward']:.3f} | {mib['autograd']:.1f} | {mib['forward']:.1f} |"
        )
        print(lines[-1], flush=True)
    return "\n".join(lines)


LAYOUT_TITLE = "## Layout of the layer products"


def median_ms(fn, rounds: int) -> float:
    """Median wall time of ``fn()`` over ``rounds`` calls (after two warm-up calls), in ms."""
    for _ in range(2):
        fn()
    times = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1e3


def dense_row_major(jet, weight, bias=None):
    """The forward mode's layer product as it was before 2026-12-07: p @ weight.T, the result point-major by rows."""
    value = jet[0] @ weight.mT if bias is None else torch.addmm(bias, jet[0], weight.mT)
    return (value, *(None if p is None else p @ weight.mT for p in jet[1:]))


def product_times(p: torch.Tensor, grad: torch.Tensor, W: torch.Tensor, rounds: int) -> list[float]:
    """Median ms of a layer's three products (forward, input gradient, weight gradient), each in both layouts."""
    pt, gt = p.mT.contiguous(), grad.mT.contiguous()  # the same matrices stored the other way
    pairs = ((p @ W.mT, W @ pt), (grad @ W, W.mT @ gt), (grad.mT @ p, gt @ pt.mT))
    for rows, columns in pairs:  # the same values both ways
        assert torch.allclose(rows, columns.mT if rows.shape != columns.shape else columns)
    products = (
        lambda: p @ W.mT,
        lambda: W @ pt,
        lambda: grad @ W,
        lambda: W.mT @ gt,
        lambda: grad.mT @ p,
        lambda: gt @ pt.mT,
    )
    return [median_ms(f, rounds) for f in products]


def layout_section(rounds: int) -> str:
    """The two ways of writing a layer's product, alone and inside a whole Burgers step, float32 and float64."""
    lines = [
        LAYOUT_TITLE,
        "",
        f"{torch.get_num_threads()} thread(s); median ms over {rounds} calls. `rows`: `p @ W.T` (the result [N, w] "
        "row-major); `columns`: `(W @ p.T).T`, pdec's form since 2026-12-07 (the same values, the result [w, N] "
        "row-major, read transposed). The three products of a layer's forward and backward pass, alone:",
        "",
        "| dtype | N x w | forward rows | forward columns | input gradient rows | columns | weight gradient rows "
        "| columns |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for dtype in (torch.float32, torch.float64):
        for n, w in ((10_000, 20), (10_000, 50), (2_000, 20)):
            g = torch.Generator().manual_seed(0)
            p, grad, W = (torch.randn(*shape, generator=g, dtype=dtype) for shape in ((n, w), (n, w), (w, w)))
            cells = product_times(p, grad, W, rounds)
            lines.append(f"| {str(dtype)[6:]} | {n} x {w} | " + " | ".join(f"{c:.3f}" for c in cells) + " |")
            print(lines[-1], flush=True)
    lines += [
        "",
        "A whole step (residuals, loss, backward) of examples/burgers.pde's residual on pdec's 4x20 MLP at "
        "its 10,000 interior points, the generated module's `dense` swapped between the two forms in "
        "interleaved rounds:",
        "",
        "| dtype | rows ms | columns ms | columns / rows |",
        "|---|---|---|---|",
    ]
    spec = Path(__file__).resolve().parents[1] / "examples" / "burgers.pde"
    compiled = pc.compile(str(spec))
    module = compiled._residuals.__globals__  # the generated module's namespace
    forms = {"rows": dense_row_major, "columns": module["dense"]}
    for dtype in (torch.float32, torch.float64):
        net = pdec_mlp(compiled, 4, 20).to(dtype)
        lo, hi = (torch.tensor([compiled.bounds[v][i] for v in compiled.variables], dtype=dtype) for i in (0, 1))
        unit = torch.rand(10_000, 2, generator=torch.Generator().manual_seed(0), dtype=dtype)
        pts = {"interior": lo + (hi - lo) * unit}
        times: dict[str, list[float]] = {k: [] for k in forms}
        for _ in range(rounds):
            for name, form in random.sample(list(forms.items()), 2):
                module["dense"] = form
                t0 = time.perf_counter()
                pdec_loss(compiled)(net, pts).backward()
                times[name].append(time.perf_counter() - t0)
        module["dense"] = forms["columns"]
        rows, columns = (statistics.median(times[k]) * 1e3 for k in forms)
        lines.append(f"| {str(dtype)[6:]} | {rows:.2f} | {columns:.2f} | {columns / rows:.2f} |")
        print(lines[-1], flush=True)
    return "\n".join(lines)


def peak_step_mib(step) -> float:
    """The peak memory of the tensors a step allocates (MiB), from the torch profiler's allocation events (CPU)."""
    from torch.profiler import ProfilerActivity, profile

    step()
    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        step()
    events = sorted((e.start_ns(), e.nbytes()) for e in prof.profiler.kineto_results.events() if e.name() == "[memory]")
    live = peak = 0
    for _, nbytes in events:
        live += nbytes
        peak = max(peak, live)
    return peak / 2**20


def deepxde_section(rounds: int) -> str:
    compiled = pc.compile(burgers_problem())
    pts = make_points(compiled)
    step = deepxde_stepper(4)
    if step is None:
        return "DeepXDE: not importable (pip install deepxde==1.15.0, DDE_BACKEND=pytorch)."
    hand = Stepper(HAND["burgers"], make_net(2, 1, 4), pts)
    times = {"hand": [], "deepxde": []}
    for _ in range(5):
        step()
        hand.step()
    for _ in range(rounds):
        for k, f in (("hand", hand.step), ("deepxde", step)):
            t0 = time.perf_counter()
            f()
            times[k].append(time.perf_counter() - t0)
    ratio = statistics.median(a / b for a, b in zip(times["deepxde"], times["hand"], strict=True))
    return (
        f"DeepXDE 1.15 Burgers 4x20: {statistics.median(times['deepxde']) * 1e3:.2f} ms/step, "
        f"hand {statistics.median(times['hand']) * 1e3:.2f} ms, deepxde/hand {ratio:.2f}"
    )


def compile_section(rounds: int) -> str:
    """pdec with settings.compile (torch.compile, autograd.grad traced): compile time and step time, Burgers 4x20."""
    compiled = pc.compile(burgers_problem(), compile=True)
    eager = pc.compile(burgers_problem())
    pts = make_points(eager)
    net = make_net(2, 1, 4)
    fast = Stepper(pdec_loss(compiled), net, pts)
    t0 = time.perf_counter()
    try:
        fast.step()
        fast.step()
    except Exception as e:  # noqa: BLE001 - report what torch.compile does on this machine
        return f"torch.compile path: failed ({type(e).__name__}: {str(e).splitlines()[0][:200]})"
    first = time.perf_counter() - t0
    same = float(pdec_loss(compiled)(net, pts).detach()), float(pdec_loss(eager)(net, pts).detach())
    if not math.isclose(*same, rel_tol=1e-5):
        return f"torch.compile path: wrong loss {same[0]} != eager {same[1]}"
    steppers = {"hand": Stepper(HAND["burgers"], net, pts), "pdec": Stepper(pdec_loss(eager), net, pts)}
    steppers["compiled"] = fast
    med, ratio = paired(steppers, rounds)
    return (
        "| torch.compile (Burgers 4x20) | first two steps (compile) s | step ms | /hand | pdec eager ms |\n"
        "|---|---|---|---|---|\n"
        f"| trace_autograd_ops=True, inductor | {first:.1f} | {med['compiled'] * 1e3:.2f} | {ratio['compiled']:.3f} | "
        f"{med['pdec'] * 1e3:.2f} |"
    )


def splice(text: str, section: str, title: str = FORWARD_TITLE) -> str:
    """``text`` with its section ``title`` (up to the next ``## `` heading) replaced by ``section``, or appended."""
    head, found, rest = text.partition(title)
    after = rest.split("\n## ", 1)[1] if found and "\n## " in rest else ""
    return head.rstrip("\n") + "\n\n" + section + "\n" + ("\n## " + after if after else "")


def forward_compile_section(rounds: int) -> str:
    """The forward mode under ``torch.compile`` on pdec's MLP, Burgers 4x20: compile time and step time."""
    eager = pc.compile(burgers_problem(), lowering="forward")
    fast = pc.compile(burgers_problem(), lowering="forward", compile=True)
    pts = make_points(eager)
    net = pdec_mlp(eager, 4, 20)
    steppers = {"hand": Stepper(HAND["burgers"], net, pts), "forward": Stepper(pdec_loss(eager), net, pts)}
    steppers["compiled"] = Stepper(pdec_loss(fast), net, pts)
    t0 = time.perf_counter()
    try:
        steppers["compiled"].step()
        steppers["compiled"].step()
    except Exception as e:  # noqa: BLE001 - report what torch.compile does on this machine
        return f"forward mode under torch.compile: failed ({type(e).__name__}: {str(e).splitlines()[0][:200]})"
    first = time.perf_counter() - t0
    med, ratio = paired(steppers, rounds)
    return (
        "| forward mode + torch.compile (Burgers 4x20, pdec's MLP) | first two steps (compile) s | step ms | /hand | "
        "forward eager ms |\n|---|---|---|---|---|\n"
        f"| inductor | {first:.1f} | {med['compiled'] * 1e3:.2f} | {ratio['compiled']:.3f} | "
        f"{med['forward'] * 1e3:.2f} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds, 4x20 only, no torch.compile")
    parser.add_argument("--rounds", type=int, default=100)
    parser.add_argument("--no-compile", action="store_true", help="skip the torch.compile path")
    parser.add_argument("--no-deepxde", action="store_true", help="skip DeepXDE even if importable")
    parser.add_argument("--forward", action="store_true", help="only the forward-mode table (its section replaced)")
    parser.add_argument(
        "--examples", action="store_true", help="only the forward mode on the examples' networks (section replaced)"
    )
    parser.add_argument("--layout", action="store_true", help="only the layer products' layout (section replaced)")
    args = parser.parse_args()
    rounds = 30 if args.quick else args.rounds
    out = Path(__file__).resolve().parent / "results" / "step.md"
    if args.layout:
        torch.set_num_threads(1)  # as `pdec run` trains
        section = layout_section(rounds)
        old = out.read_text() if out.is_file() else "# One Adam step: pdec vs hand-written PyTorch\n"
        out.write_text(splice(old, section, LAYOUT_TITLE))
        return
    if args.examples:
        section = examples_section(rounds)
        print(section)
        old = out.read_text() if out.is_file() else "# One Adam step: pdec vs hand-written PyTorch\n"
        out.write_text(splice(old, section, EXAMPLES_TITLE))
        return
    if args.forward:
        section = forward_section(rounds, SHAPES[:1] if args.quick else SHAPES)
        print(section)
        old = out.read_text() if out.is_file() else "# One Adam step: pdec vs hand-written PyTorch\n"
        out.write_text(splice(old, section))
        return
    depths = (4,) if args.quick else (4, 8)
    table = run(rounds, depths, not (args.quick or args.no_compile), not args.no_deepxde)
    print(table)
    out.parent.mkdir(exist_ok=True)
    out.write_text("# One Adam step: pdec vs hand-written PyTorch\n\n" + table)


if __name__ == "__main__":
    main()
