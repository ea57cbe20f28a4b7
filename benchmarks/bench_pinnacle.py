"""PINNacle's 2-D Poisson and Navier-Stokes cases: pdec under PINNacle's protocol, and as its example specs are written.

Run from the repository root::

    python benchmarks/bench_pinnacle.py                                  # 4 cases x 2 configurations x seeds 0-2
    python benchmarks/bench_pinnacle.py --steps 1000 --points 0.25 --seeds 0   # a CPU smoke run (minutes)
    python benchmarks/bench_pinnacle.py --cases lid_driven_cavity --configs pinnacle
    python benchmarks/bench_pinnacle.py --report                         # rewrite the table from pinnacle.jsonl

Cases (examples/NAME.pde, each reading PINNacle's COMSOL reference from examples/data/; Hao et al., "PINNacle",
NeurIPS 2024 Datasets and Benchmarks):

- ``poisson_holes``: Poisson2d-C, Laplace on a square with four holes;
- ``poisson_boltzmann``: Poisson2d-CG, -lap(u) + k^2 u = f on a square with four holes of different sizes;
- ``lid_driven_cavity``: NS2d-C, steady Navier-Stokes at Re = 100, pressure pinned at a corner;
- ``backward_step``: NS2d-CG, steady Navier-Stokes over a backward-facing step.

Configurations:

- ``pinnacle``: PINNacle's protocol. Every condition is a loss term (the specs' ``exact`` keywords removed), a 5x100
  tanh network, Adam at lr 1e-3 for 20,000 steps, no L-BFGS, 8,192 interior points and 2,048 boundary points. DeepXDE
  (which PINNacle runs on) draws the 2,048 points over the whole boundary and each condition keeps those on its part,
  so each condition here gets 2,048 times its share of the boundary's length (a condition at one point, the pressure
  gauge, keeps its one row). Everything else is pdec's default, the loss weighting above all.
- ``spec``: the spec as written ("pdec's best settings": exact conditions, its network, points, Adam and L-BFGS).

Budget: ``--steps N`` sets the Adam steps of both configurations (a spec's L-BFGS steps are scaled by the same
factor); ``--points F`` multiplies every point count (interior, boundary, ``points.NAME``). Each row of the table
states the settings it ran with; rows of different budgets are kept apart.

Score, as PINNacle's: the relative L2 error over every output column pooled, ``||pred - ref|| / ||ref||`` with the
norms taken over all nodes and fields together (u, v and p for Navier-Stokes), at the reference's nodes, from
``Result.predict``. The error curve comes from the run's history: pdec records each field's relative error at the
reference nodes every ``eval_every`` steps (``error:u``, ...), pooled here with the reference's column norms
(``sqrt(sum_f e_f^2 |ref_f|^2 / sum_f |ref_f|^2)``, the same number).

Every run is its own process (``nice -n 10``, one torch thread), one at a time. Each result is appended to
benchmarks/results/pinnacle.jsonl as it ends (a later invocation skips the runs already there) and
benchmarks/results/pinnacle.md is rewritten after every run.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
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

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
LOG = RESULTS / "pinnacle.jsonl"
CONFIGS = ("pinnacle", "spec")
PROTOCOL = {"layers": [100] * 5, "activation": "tanh", "lr": 1e-3, "adam": 20000, "lbfgs": 0, "interior": 8192}
PROTOCOL_BOUNDARY = 2048
FULL_STEPS = 20000


@dataclass(frozen=True)
class Case:
    """A PINNacle case: its name there, and the errors PINNacle reports (vanilla PINN, best method; None if not)."""

    pinnacle: str
    vanilla: float | None
    best: float | None
    best_method: str = ""


# The errors of PINNacle's paper, approximate (as collected from secondary sources).
CASES = {
    "poisson_holes": Case("Poisson2d-C", 0.69, 1.2e-2, "NTK weighting"),
    "poisson_boltzmann": Case("Poisson2d-CG", 0.64, 1.4e-2, "NTK weighting"),
    "lid_driven_cavity": Case("NS2d-C", 4.7e-2, 3.6e-2),
    "backward_step": Case("NS2d-CG", None, None),
}


# --- one run (in a child process) ----------------------------------------------------------------------------------


def spec_text(case: str, config: str) -> str:
    """The case's spec; for the ``pinnacle`` configuration without its ``exact`` keywords."""
    text = (EXAMPLES / f"{case}.pde").read_text(encoding="utf-8")
    if config == "pinnacle":
        text = re.sub(r"[ \t]+exact[ \t]*(#.*)?$", "", text, flags=re.MULTILINE)
    return text


def load(case: str, config: str):
    """The compiled problem of one case and configuration (data paths resolve against examples/)."""
    from pdec.compiler.driver import compile as compile_spec

    spec = io.StringIO(spec_text(case, config))
    spec.name = str(EXAMPLES / f"{case}.pde")
    return compile_spec(spec)


def condition_lengths(problem) -> dict[str, float]:
    """Each condition's length of boundary (0 for a condition at a point), and ``""``: the whole boundary's length."""
    spatial = [v for v in problem.variables if not v.is_time]
    domain = problem.domain
    if domain is not None:
        total = sum(p.measure for p in domain.pieces)
    else:  # the box: each face's measure is the product of the other sides
        sides = [v.hi - v.lo for v in spatial]
        total = 2 * sum(np.prod(sides) / s for s in sides)
    out = {"": float(total)}
    for condition in problem.conditions:
        length = 0.0
        for piece in getattr(condition, "pieces", ()):
            if piece.boundary is not None:
                length += domain.piece(piece.boundary).measure
            elif len(piece.region) < len(spatial):
                length += float(np.prod([v.hi - v.lo for v in spatial if v.name not in piece.region]))
        out[condition.name] = length
    return out


def settings_for(case: str, config: str, steps: int | None, points: float, compiled) -> dict:
    """The training overrides of one run: the protocol (or the spec's own), then the budget."""
    written = compiled.settings
    if config == "pinnacle":
        out = dict(PROTOCOL)
        lengths = condition_lengths(compiled.problem)
        for name, length in lengths.items():
            if name and length > 0:
                out[f"points.{name}"] = max(1, round(PROTOCOL_BOUNDARY * length / lengths[""]))
    else:
        out = {"layers": list(written.layers), "interior": written.interior, "boundary": written.boundary}
        out["adam"] = written.adam
        out |= {"lbfgs": written.lbfgs, **{f"points.{k}": v for k, v in written.points.items()}}
    if steps is not None:
        out["lbfgs"] = round(out["lbfgs"] * steps / out["adam"])
        out["adam"] = steps
    for key in [k for k in out if k in ("interior", "boundary") or k.startswith("points.")]:
        out[key] = max(1, round(out[key] * points))
    return out


def pooled(errors: dict[str, float], norms: dict[str, float]) -> float:
    """Per-field relative errors pooled into the relative error over every column."""
    num = sum((errors[f] * norms[f]) ** 2 for f in norms)
    return float(np.sqrt(num / sum(n**2 for n in norms.values())))


def run_one(case: str, config: str, seed: int, steps: int | None, points: float, eval_every: int) -> dict:
    """Train one (case, configuration, seed) on one thread; its pooled and per-field errors, curve, seconds."""
    import torch

    from pdec import fit

    torch.set_num_threads(1)
    compiled = load(case, config)
    settings = settings_for(case, config, steps, points, compiled)
    reference = compiled.reference
    fields = list(reference.fields)
    norms = {f: float(np.linalg.norm(reference.values[:, j])) for j, f in enumerate(fields)}
    with tempfile.TemporaryDirectory() as tmp:
        cpu = time.process_time()
        result = fit(
            compiled, out=Path(tmp) / "run", quiet=True, plots=False, seed=seed, eval_every=eval_every, **settings
        )
        cpu = time.process_time() - cpu
    predicted = result.predict(reference.points)[:, [list(result.fields).index(f) for f in fields]]
    error = float(np.linalg.norm(predicted - reference.values) / np.linalg.norm(reference.values))
    curve = [
        [int(row["step"]), pooled({f: row[f"error:{f}"] for f in fields}, norms)]
        for row in result.history.rows
        if all(f"error:{f}" in row for f in fields)
    ]
    m = result.metrics
    exact = [c.name for c in compiled.problem.conditions if getattr(c, "exact", False)]
    return {
        "error": error,
        "exact": exact,
        "errors": m["errors"],
        "curve": curve,
        "settings": settings,
        "steps": m["steps"],
        "seconds": m["wall_time"],
        "cpu_seconds": cpu,
        "weights": m["weights"],
        "losses": m["losses"],
    }


def one(args: list[str]) -> None:
    """Child process: run one and print its result as the last stdout line."""
    case, config, seed, steps, points, eval_every = args
    try:
        row = run_one(case, config, int(seed), int(steps) if steps != "-" else None, float(points), int(eval_every))
    except Exception as exc:  # noqa: BLE001 - a failed run is a row of the table
        text = str(exc).strip()
        row = {"failure": f"{type(exc).__name__}: {text.splitlines()[0] if text else ''}"}
    print("RESULT " + json.dumps(row), flush=True)


# --- the driver ----------------------------------------------------------------------------------------------------


def budget_label(steps: int | None, points: float) -> str:
    """``full``, or the reduced budget in words (``1000 steps, points x0.25``)."""
    if steps is None and points == 1:
        return "full"
    parts = [f"{steps} steps" if steps is not None else "steps as configured"]
    if points != 1:
        parts.append(f"points x{points:g}")
    return ", ".join(parts)


def launch(case: str, config: str, seed: int, steps: int | None, points: float, eval_every: int) -> dict:
    """Run one in a niced child process with one thread; the row to log."""
    flags = [case, config, str(seed), str(steps) if steps is not None else "-", str(points), str(eval_every)]
    command = ["nice", "-n", "10", sys.executable, str(Path(__file__).resolve()), "--one", *flags]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    base = {"case": case, "config": config, "seed": seed, "budget": budget_label(steps, points)}
    base |= {"date": time.strftime("%Y-%m-%d %H:%M"), "eval_every": eval_every}
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    return child_result(done, base)


def read_log() -> list[dict]:
    """Every run recorded so far."""
    return read_jsonl(LOG)


def describe(config: str, settings: dict, exact: list[str]) -> str:
    """A row's settings in words: network, Adam and L-BFGS steps, points, the conditions built into the network."""
    layers = settings["layers"]
    net = f"{len(layers)}x{layers[0]}" if len(set(layers)) == 1 else "x".join(map(str, layers))
    boundary = {k[len("points.") :]: v for k, v in settings.items() if k.startswith("points.")}
    where = f"{settings['boundary']} per condition" if "boundary" in settings else ""
    if boundary:
        where += (", " if where else "") + "per condition " + ", ".join(f"{k} {v}" for k, v in boundary.items())
    built = f"exact: {', '.join(exact)}" if exact else "every condition a loss term"
    return (
        f"{net}, Adam {settings['adam']} + L-BFGS {settings['lbfgs']}, {settings['interior']} interior, {where}; "
        f"{built}"
    )


def _reported(case: Case) -> str:
    """PINNacle's reported errors: vanilla / best."""
    if case.best is None:
        return "not collected"
    best = f"{case.best:.2g}" + (f" ({case.best_method})" if case.best_method else "")
    return f"vanilla {case.vanilla:.2g}; best {best}"


def table(log: list[dict]) -> str:
    """One row per (case, configuration, budget) with runs; each with its settings, errors and seconds."""
    lines = [
        "| case | PINNacle reported (20k steps) | config | budget | settings | pdec error: median (per seed) "
        "| per field (median) | seconds (CPU) |",
        "|---|---|---|---|---|---|---|---:|",
    ]
    groups = dict.fromkeys((r["case"], r["config"], r["budget"]) for r in log)
    order = {name: i for i, name in enumerate(CASES)}
    for group in sorted(groups, key=lambda g: (order[g[0]], g[2], CONFIGS.index(g[1]))):
        rows = sorted((r for r in log if (r["case"], r["config"], r["budget"]) == group), key=lambda r: r["seed"])
        lines.append(_row(*group, rows))
    return "\n".join(lines)


def _row(case: str, config: str, budget: str, rows: list[dict]) -> str:
    """The table row of one (case, configuration, budget): medians over the finished seeds, failures named."""
    done = [r for r in rows if "failure" not in r]
    per_seed = ", ".join(f"{r['seed']}: " + (f"{r['error']:.2e}" if "failure" not in r else "failed") for r in rows)
    head = f"| {case} ({CASES[case].pinnacle}) | {_reported(CASES[case])} | {config} | {budget} |"
    if not done:
        return f"{head} — | — ({per_seed}) | — | — |"
    median = statistics.median(r["error"] for r in done)
    fields = ", ".join(f"{f} {statistics.median(r['errors'][f] for r in done):.2e}" for f in done[0]["errors"])
    seconds = (
        f"{statistics.median(r['seconds'] for r in done):.0f} ({statistics.median(r['cpu_seconds'] for r in done):.0f})"
    )
    settings = describe(config, done[0]["settings"], done[0].get("exact", []))
    return f"{head} {settings} | {median:.2e} ({per_seed}) | {fields} | {seconds} |"


def curves(log: list[dict]) -> str:
    """Each finished run's pooled error every ``eval_every`` steps."""
    lines = []
    order = {name: i for i, name in enumerate(CASES)}
    for r in sorted(log, key=lambda r: (order[r["case"]], r["budget"], CONFIGS.index(r["config"]), r["seed"])):
        if "failure" in r or not r.get("curve"):
            continue
        points = ", ".join(f"{step}: {err:.2e}" for step, err in r["curve"])
        lines.append(f"- {r['case']} / {r['config']} / {r['budget']} / seed {r['seed']}: {points}")
    return "\n".join(lines)


def report(log: list[dict]) -> str:
    """The whole markdown page."""
    import torch

    failures = [f"- {r['case']} / {r['config']} / seed {r['seed']}: {r['failure']}" for r in log if "failure" in r]
    head = (
        "# PINNacle's 2-D Poisson and Navier-Stokes cases\n\n"
        f"From `python benchmarks/bench_pinnacle.py`; {platform.machine()} CPU ({os.cpu_count()} cores shared with "
        f"other jobs), one run at a time, one torch thread (`nice -n 10`), torch {torch.__version__}, float32; "
        f"written {time.strftime('%Y-%m-%d')}. `pinnacle`: PINNacle's protocol (5x100 tanh, Adam lr 1e-3, no L-BFGS, "
        "8,192 interior and 2,048 boundary points spread over the conditions by length, every condition a loss term, "
        "pdec's default weighting); `spec`: examples/NAME.pde as written. Error: relative L2 over every output column "
        "pooled (u, v, p together for Navier-Stokes) at the reference's nodes, as PINNacle scores. PINNacle's numbers "
        "are at its full budget (20,000 Adam steps, 8,192 / 2,048 points) and approximate (collected from secondary "
        "sources); a row at a reduced budget is a smoke result, not a comparison with them. Seconds: median training "
        "wall time, in brackets CPU seconds of the run's process (including compilation).\n\n"
    )
    text = head + table(log)
    if failures:
        text += "\n\nFailures:\n\n" + "\n".join(failures)
    text += "\n\n## Error curves\n\nPooled relative L2 error at the reference nodes by step (Adam steps, then L-BFGS "
    text += "iterations).\n\n" + curves(log)
    return text


def main() -> None:
    """Run the missing (case, configuration, seed) triples of the budget; rewrite the table after each."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", default=",".join(CASES), help="comma-separated (default: all four)")
    parser.add_argument("--configs", default=",".join(CONFIGS), help="pinnacle, spec (default: both)")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--steps", type=int, default=None, help="Adam steps (default: 20,000 / the spec's)")
    parser.add_argument("--points", type=float, default=1.0, help="multiply every point count (default 1)")
    parser.add_argument("--eval-every", type=int, default=100, help="steps between points of the error curve")
    parser.add_argument("--report", action="store_true", help="only rewrite pinnacle.md from pinnacle.jsonl")
    parser.add_argument("--one", nargs=6, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        return one(args.one)
    if args.report:
        return print(write_result("pinnacle", report(read_log())))
    cases, configs = args.cases.split(","), args.configs.split(",")
    unknown = [c for c in cases if c not in CASES] + [c for c in configs if c not in CONFIGS]
    if unknown:
        parser.error(f"unknown case or configuration: {', '.join(unknown)}")
    RESULTS.mkdir(exist_ok=True)
    budget = budget_label(args.steps, args.points)
    for seed in (int(s) for s in args.seeds.split(",")):
        for case in cases:
            for config in configs:
                done = {(r["case"], r["config"], r["seed"], r["budget"]) for r in read_log()}
                if (case, config, seed, budget) in done:
                    continue
                row = launch(case, config, seed, args.steps, args.points, args.eval_every)
                with LOG.open("a") as f:
                    f.write(json.dumps(row) + "\n")
                shown = f"{row['error']:.3e}" if "error" in row else row.get("failure")
                print(f"{case} {config} seed {seed} ({budget}): {shown}", flush=True)
                write_result("pinnacle", report(read_log()))
    write_result("pinnacle", report(read_log()))
    print((RESULTS / "pinnacle.md").read_text())


if __name__ == "__main__":
    main()
