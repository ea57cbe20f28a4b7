"""A parametric family trained once against one training per parameter value, at the same network and budget.

Run from the repository root::

    python benchmarks/bench_parametric.py              # the parametric run, then one single-value run per held-out lam
    python benchmarks/bench_parametric.py --report     # rewrite parametric.md from parametric.jsonl

The family is the Bratu problem ``u'' + lam exp(u) = 0`` on [0, 1] with ``u(0) = u(1) = 0``, for ``lam`` in
[0.5, 3] (benchmarks/specs/parametric/bratu.pde: ``param lam in [0.5, 3]``; the lower branch, which exists up to
lam = 3.513...). It was chosen over Burgers for ``nu`` in [0.005, 0.05]/pi because the machine these rows were
measured on (2 cores shared with other jobs, a load of about 10) could not train six Burgers networks in the time
available; Bratu is nonlinear, has no elementary closed form, and its solution grows from 0.06 to 0.6 in amplitude
and steepens towards the fold over the range.

``parametric``: the spec as written, one network ``u(x, lam)``. ``single``: the same spec with ``param lam in [...]``
replaced by ``const lam = V``, one run per held-out value V (0.75, 1.25, 1.75, 2.25, 2.75): the same network, points,
Adam steps and second-phase iterations. ``parametric x5``: the parametric spec with five times the Adam steps and
second-phase iterations (the same network and points), the step budget of the five single-value runs together. Each
run is on one torch thread, one at a time, seed 0. Error: the relative L2 error at 201 evenly spaced x against the
reference.

References: ``scipy.integrate.solve_bvp`` (tol 1e-10, started from u = 0, so on the lower branch), checked against
the closed form ``u = -2 ln(cosh((x - 1/2) theta / 2) / cosh(theta / 4))`` with ``theta = sqrt(2 lam) cosh(theta /
4)`` (smallest root, scipy.optimize.brentq); the largest difference is written in the table.

Rows are appended to benchmarks/results/parametric.jsonl as runs end (a rerun skips what is there), and
benchmarks/results/parametric.md is rewritten. ``seconds`` is the training's wall time, ``cpu`` the process CPU time
(the fairer cost on a shared machine).
"""

from __future__ import annotations

import argparse
import json
import platform
import re
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from _report import RESULTS, read_jsonl, write_result  # benchmarks/ is on sys.path when run as a script

import pdec

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "benchmarks" / "specs" / "parametric" / "bratu.pde"
LOG = RESULTS / "parametric.jsonl"
HELD_OUT = (0.75, 1.25, 1.75, 2.25, 2.75)
GRID = np.linspace(0.0, 1.0, 201)
MACHINE = "2-core x86_64 shared with other jobs (load about 10), one torch thread, 2026-12-07"


def reference(lam: float) -> np.ndarray:
    """The lower-branch solution at GRID by scipy.integrate.solve_bvp (tol 1e-10, started from zero)."""
    from scipy.integrate import solve_bvp

    def rhs(x, y):
        return np.vstack([y[1], -lam * np.exp(y[0])])

    mesh = np.linspace(0.0, 1.0, 101)
    solved = solve_bvp(rhs, lambda a, b: np.array([a[0], b[0]]), mesh, np.zeros((2, len(mesh))), tol=1e-10,
                       max_nodes=100_000)
    if not solved.success:
        raise RuntimeError(f"solve_bvp failed for lam = {lam}: {solved.message}")
    return solved.sol(GRID)[0]


def closed_form(lam: float) -> np.ndarray:
    """Bratu's closed form on the lower branch (the smallest theta with theta = sqrt(2 lam) cosh(theta / 4))."""
    from scipy.optimize import brentq

    theta = brentq(lambda s: s - np.sqrt(2 * lam) * np.cosh(s / 4), 0.0, 4.79)  # 4.79: past the fold's theta
    return -2 * np.log(np.cosh((GRID - 0.5) * theta / 2) / np.cosh(theta / 4))


def spec_text(lam: float | None) -> str:
    """The benchmark's spec: parametric as written, or with ``lam`` fixed at one value."""
    text = SPEC.read_text(encoding="utf-8")
    if lam is None:
        return text
    return re.sub(r"param lam in \[[^\]]*\]", f"const lam = {lam!r}", text)


def train(config: str, lam: float | None) -> dict:
    """Train one configuration (``parametric``, ``parametric x5``, or ``single`` at ``lam``); its errors at HELD_OUT."""
    torch.set_num_threads(1)
    compiled = pdec.compile(spec_text(lam))
    if config == "parametric x5":
        compiled = pdec.compile(spec_text(lam), adam=5 * compiled.settings.adam,
                                iterations=5 * compiled.settings.iterations)
    with tempfile.TemporaryDirectory() as tmp:
        wall, cpu = time.perf_counter(), time.process_time()
        result = pdec.fit(compiled, out=Path(tmp) / "run", quiet=True, plots=False, vtu=False, seed=0)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    values = HELD_OUT if lam is None else (lam,)
    errors = {}
    for v in values:
        ref = reference(v)
        predicted = (result.predict(GRID[:, None], lam=v) if lam is None else result.predict(GRID[:, None]))[:, 0]
        errors[repr(v)] = float(np.linalg.norm(predicted - ref) / np.linalg.norm(ref))
    s = compiled.settings
    settings = {"layers": list(s.layers), "interior": s.interior, "boundary": s.boundary, "adam": s.adam,
                "iterations": s.iterations, "optimizer": result.metrics.get("optimizer")}
    return {"config": config, "lam": lam, "seconds": wall, "cpu": cpu, "errors": errors, "settings": settings,
            "torch": torch.__version__, "machine": MACHINE, "platform": platform.platform()}


def report(rows: list[dict]) -> str:
    """The markdown table: per held-out value, the parametric and single errors and their ratio; then the costs."""
    parametric = next((r for r in rows if r["config"] == "parametric"), None)
    larger = next((r for r in rows if r["config"] == "parametric x5"), None)
    singles = {r["lam"]: r for r in rows if r["config"] == "single"}
    check = max(float(np.abs(reference(v) - closed_form(v)).max()) for v in HELD_OUT)
    lines = [
        "# A parametric family trained once (benchmarks/bench_parametric.py)",
        "",
        f"Machine: {MACHINE}. The Bratu problem `u'' + lam exp(u) = 0`, `u(0) = u(1) = 0`, `lam` in [0.5, 3] "
        "(benchmarks/specs/parametric/bratu.pde), trained once as `param lam in [0.5, 3]`, against one training per "
        "held-out value with `const lam = V`: the same network, points, Adam steps and second-phase iterations, "
        "seed 0.",
        f"Reference: scipy.integrate.solve_bvp (tol 1e-10, lower branch); it agrees with Bratu's closed form to "
        f"{check:.1e} at every held-out value. Error: relative L2 at 201 evenly spaced x.",
        "",
    ]
    if parametric is not None:
        s = parametric["settings"]
        lines += [f"Settings of every run: layers {s['layers']}, {s['interior']} interior and {s['boundary']} boundary "
                  f"points, {s['adam']} Adam steps, {s['iterations']} iterations of {s['optimizer']}.", ""]
    lines += ["| lam | parametric (one run) | parametric x5 (one run) | single-value run | ratio (parametric / single) "
              "| single run's seconds (CPU) |",
              "|---|---|---|---|---|---|"]
    for v in HELD_OUT:
        p = parametric["errors"].get(repr(v)) if parametric else None
        p5 = larger["errors"].get(repr(v)) if larger else None
        single = singles.get(v)
        e = single["errors"][repr(v)] if single else None
        ratio = f"{p / e:.3g}" if p is not None and e else "-"
        cost = f"{single['seconds']:.0f} ({single['cpu']:.1f})" if single else "-"
        lines.append(f"| {v} | {_fmt(p)} | {_fmt(p5)} | {_fmt(e)} | {ratio} | {cost} |")
    if parametric is not None and len(singles) == len(HELD_OUT):
        wall = sum(r["seconds"] for r in singles.values())
        cpu = sum(r["cpu"] for r in singles.values())
        worst = max(parametric["errors"][repr(v)] / singles[v]["errors"][repr(v)] for v in HELD_OUT)
        lines += [
            "",
            f"Cost: the parametric run took {parametric['seconds']:.0f} s ({parametric['cpu']:.1f} s CPU); the five "
            f"single-value runs {wall:.0f} s ({cpu:.1f} s CPU) together: {parametric['cpu'] / cpu:.2f} of their CPU "
            f"time. The worst ratio of errors is {worst:.3g} (the issue's target: within 2x).",
        ]
        if larger is not None:
            lines.append(f"The parametric x5 run took {larger['seconds']:.0f} s ({larger['cpu']:.1f} s CPU).")
    return "\n".join(lines)


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.2e}"


def main() -> None:
    """Run what the log lacks, one training at a time; rewrite the table after each."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--report", action="store_true", help="only rewrite parametric.md from parametric.jsonl")
    args = parser.parse_args()
    rows = read_jsonl(LOG)
    if not args.report:
        todo = [("parametric", None)] + [("single", v) for v in HELD_OUT] + [("parametric x5", None)]
        for config, lam in todo:
            if any(r["config"] == config and r["lam"] == lam for r in rows):
                continue
            row = train(config, lam)
            rows.append(row)
            with open(LOG, "a") as f:
                f.write(json.dumps(row) + "\n")
            print(json.dumps(row), flush=True)
            write_result("parametric", report(rows))
    print(write_result("parametric", report(rows)).read_text())


if __name__ == "__main__":
    main()
