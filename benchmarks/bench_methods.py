"""Ablations of the modern PINN methods: pdec's best configuration, then each method removed in turn.

Run from the repository root::

    python benchmarks/bench_methods.py                         # full budget: every case, configuration, seeds 0-2
    python benchmarks/bench_methods.py --budget quick --seeds 0 # a smoke run: tiny networks, a few hundred steps
    python benchmarks/bench_methods.py --cases advection --configs=best,-causal
    python benchmarks/bench_methods.py --report                 # rewrite the table from methods.jsonl

Cases (specs in benchmarks/specs/methods/, each written in the best configuration):

- ``allen_cahn``: Allen-Cahn, reference examples/data/AC.mat (target: relative L2 error <= 5e-3);
- ``kuramoto_sivashinsky``: Kuramoto-Sivashinsky, reference examples/data/ks.npz (a Fourier spectral solution,
  ETDRK4, written by examples/data/make_ks.py);
- ``advection``: periodic advection at speed 30, exact solution (target <= 1e-2);
- ``burgers``: viscous Burgers, reference examples/data/burgers_shock.mat.

Configurations, as in the ablations of Wang et al. (2023), "An expert's guide to training PINNs":

- ``best``: exact conditions, Fourier features, the modified MLP, causal weights, RAD points, inverse Dirichlet;
- ``-exact``: the conditions as loss terms (the specs' ``exact`` keywords removed);
- ``-fourier``: no random Fourier features; ``-modified_mlp``: a plain MLP; ``-causal``: ``causal = 0``;
- ``-rad``: fixed Sobol points; ``-weighting``: fixed weights instead of inverse Dirichlet;
- ``plain``: every method off (pdec's defaults);
- ``+windows``: ``best`` with time marching over 10 windows (docs/training.md), the budget's Adam steps split over
  the windows, so that the total number of steps is ``best``'s; ``windows-causal``: the same with time marching in
  place of the causal weights (``causal = 0``).

Budgets: ``full`` trains each spec as written (20,000 Adam steps of a 4x128 network: hours per run on a CPU, meant for
a GPU); ``short`` uses 4x64 networks and 3,000 steps; ``quick`` 3x32 networks and 300 steps (a smoke test: the
errors say nothing about the methods at that budget). Each finished run is appended to
benchmarks/results/methods.jsonl (a rerun skips what is there) and benchmarks/results/methods.md is rewritten with
the median relative L2 error over seeds for every (case, configuration); pairs not run are marked "not run".
"""

from __future__ import annotations

import argparse
import io
import json
import re
import statistics
import tempfile
import time
from pathlib import Path

import torch
from _report import RESULTS, write_result  # benchmarks/ is on sys.path when run as a script

ROOT = Path(__file__).resolve().parent.parent
SPECS = ROOT / "benchmarks" / "specs" / "methods"
CASES = ("allen_cahn", "kuramoto_sivashinsky", "advection", "burgers")
TARGETS = {"allen_cahn": 5e-3, "advection": 1e-2}
BEST = {
    "fourier_features": 64,
    "network": "modified_mlp",
    "causal": 1.0,
    "sampler": "rad",
    "weighting": "inverse_dirichlet_grouped",
}
ABLATIONS = {
    "best": {},
    "-exact": {},
    "-fourier": {"fourier_features": 0},
    "-modified_mlp": {"network": "mlp"},
    "-causal": {"causal": 0.0},
    "-rad": {"sampler": "sobol", "resample": 0},
    "-weighting": {"weighting": "fixed"},
    "plain": {"fourier_features": 0, "network": "mlp", "causal": 0.0, "sampler": "sobol", "resample": 0},
    "+windows": {"windows": 10},
    "windows-causal": {"windows": 10, "causal": 0.0},
}
COMPILE_TIME = ("windows",)  # settings the compiler takes (pdec.compile(spec, windows=10)), not the trainer
BUDGETS = {
    "full": {},
    "short": {
        "layers": [64] * 4,
        "fourier_features": 32,
        "interior": 2000,
        "adam": 3000,
        "resample": 500,
        "decay_every": 500,
        "eval_points": 5000,
    },
    "quick": {
        "layers": [32] * 3,
        "fourier_features": 16,
        "interior": 500,
        "adam": 300,
        "resample": 100,
        "decay_every": 100,
        "eval_points": 2000,
    },
}
LOG = RESULTS / "methods.jsonl"


def spec_text(case: str, config: str) -> str:
    """The case's spec, without its ``exact`` keywords for the ``-exact`` and ``plain`` configurations."""
    text = (SPECS / f"{case}.pde").read_text(encoding="utf-8")
    if config in ("-exact", "plain"):
        text = re.sub(r"[ \t]+exact[ \t]*$", "", text, flags=re.MULTILINE)
    return text


def overrides(config: str, budget: str, spec_adam: int = 0) -> dict:
    """The settings of one configuration under one budget (the budget's sizes, then the ablation).

    ``spec_adam``: the spec's Adam steps (the full budget's), split over the windows of ``+windows``.
    """
    sized = dict(BUDGETS[budget])
    ablation = ABLATIONS[config]
    if ablation.get("fourier_features") == 0:
        sized.pop("fourier_features", None)
    if ablation.get("resample") == 0:
        sized.pop("resample", None)
    settings = {**sized, **ablation}
    if settings.get("windows", 1) > 1:  # equal total budget: each window trains its share of the steps
        settings["adam"] = max(1, settings.get("adam", spec_adam) // settings["windows"])
    return settings


def run(case: str, config: str, seed: int, budget: str) -> dict:
    """Train one (case, configuration, seed) on one thread; the final errors, loss and time."""
    from pdec import fit
    from pdec.compiler.driver import compile as compile_spec

    torch.set_num_threads(1)
    spec = io.StringIO(spec_text(case, config))
    spec.name = str(SPECS / f"{case}.pde")  # data paths resolve against the spec's folder
    compiled = compile_spec(spec)
    settings = overrides(config, budget, compiled.settings.adam)
    fixed = {k: settings.pop(k) for k in COMPILE_TIME if k in settings}
    if fixed:
        spec.seek(0)
        compiled = compile_spec(spec, **fixed)
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        result = fit(compiled, out=Path(tmp) / "run", quiet=True, plots=False, seed=seed, **settings)
    m = result.metrics
    row = {"case": case, "config": config, "seed": seed, "budget": budget, "seconds": time.perf_counter() - started}
    return {**row, "settings": {**settings, **fixed}, "errors": m["errors"], "loss": m.get("loss")}


def cell(rows: list[dict], case: str, config: str, best: float | None) -> str:
    """The median error over seeds (and its ratio to the best configuration's), or 'not run'."""
    found = [r["errors"].get("u") for r in rows if r["case"] == case and r["config"] == config]
    found = [e for e in found if e is not None]
    if not found:
        return "not run"
    median = statistics.median(found)
    ratio = f" ({median / best:.2g}x)" if best and config != "best" else ""
    return f"{median:.2e}{ratio} [{len(found)} seed{'s' if len(found) > 1 else ''}]"


def table(rows: list[dict], budget: str) -> str:
    """The ablation table of one budget: one row per case, one column per configuration."""
    rows = [r for r in rows if r["budget"] == budget]
    seconds = sum(r["seconds"] for r in rows)
    lines = [
        f"## Budget `{budget}`: {describe(budget)} ({len(rows)} runs, {seconds / 60:.1f} min on one CPU thread)",
        "",
        "Relative L2 error of u, median over seeds (ratio to `best` in brackets; > 1 means removing the method "
        "hurt), from `python benchmarks/bench_methods.py`. Targets: Allen-Cahn <= 5e-3, advection <= 1e-2.",
        "",
        "| case | target | " + " | ".join(f"`{c}`" for c in ABLATIONS) + " |",
        "|---|---|" + "---|" * len(ABLATIONS),
    ]
    for case in CASES:
        best = [r["errors"].get("u") for r in rows if r["case"] == case and r["config"] == "best"]
        best_median = statistics.median(best) if best else None
        target = f"{TARGETS[case]:g}" if case in TARGETS else "-"
        cells = [cell(rows, case, config, best_median) for config in ABLATIONS]
        lines.append(f"| {case} | {target} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def report(rows: list[dict]) -> str:
    """The tables of every budget that has runs, the longest budget first."""
    tables = [table(rows, budget) for budget in BUDGETS]  # a budget without runs shows every pair 'not run'
    head = (
        "# Methods ablation\n\nEach budget's table lists every (case, configuration); those without a run say "
        "'not run'. The budgets are too short for the targets: read the errors as a smoke test of the pipeline, not "
        "as the methods' gains, unless the budget says otherwise. When every condition of a case is exact, its loss "
        "has one term and `-weighting` trains exactly like `best`."
    )
    return "\n\n".join([head, *tables])


def describe(budget: str) -> str:
    """The budget in words."""
    if budget == "full":
        return "each spec as written: 4x128 networks, 20,000 Adam steps"
    b = BUDGETS[budget]
    return f"{len(b['layers'])}x{b['layers'][0]} networks, {b['adam']} Adam steps, {b['interior']} interior points"


def main() -> None:
    """Run the missing (case, configuration, seed) triples of the budget; rewrite the table after each."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", choices=tuple(BUDGETS), default="full")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--cases", default=",".join(CASES))
    parser.add_argument("--configs", default=",".join(ABLATIONS))
    parser.add_argument("--report", action="store_true", help="only rewrite methods.md from methods.jsonl")
    args = parser.parse_args()
    done = [json.loads(line) for line in LOG.read_text().splitlines()] if LOG.is_file() else []
    if args.report:
        write_result("methods", report(done))
        return
    have = {(r["case"], r["config"], r["seed"], r["budget"]) for r in done}
    for case in args.cases.split(","):
        for config in args.configs.split(","):
            for seed in (int(s) for s in args.seeds.split(",")):
                if (case, config, seed, args.budget) in have:
                    continue
                row = run(case, config, seed, args.budget)
                done.append(row)
                LOG.parent.mkdir(exist_ok=True)
                with LOG.open("a") as f:
                    f.write(json.dumps(row) + "\n")
                print(
                    f"{case} {config} seed {seed}: u {row['errors'].get('u', float('nan')):.3e} "
                    f"({row['seconds']:.0f} s)",
                    flush=True,
                )
                write_result("methods", report(done))


if __name__ == "__main__":
    main()
