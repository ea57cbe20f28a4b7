"""Weighting strategies side by side on short runs of problems where the choice decides success or failure.

Run from the repository root::

    python benchmarks/bench_weighting.py                       # every case, seeds 0-2, three strategies (~1.5 h)
    python benchmarks/bench_weighting.py --seeds 0 --jobs 2    # one seed

Cases (specs in benchmarks/specs/weighting/ unless named otherwise), each trained with the same seed and settings
under every strategy; only ``weighting`` differs:

- ``burgers_short``: examples/burgers.pde with a 4x20 network, 2,000 interior points, 2,000 Adam steps, no L-BFGS
  (the configuration where per-term inverse Dirichlet collapses to u = 0);
- ``wave_short``: examples/wave.pde with 2,000 Adam steps and no L-BFGS;
- ``poisson_k4``: the multi-scale Poisson problem at k = 4 (1,500 Adam steps), where fixed weights fail;
- ``beam``: the Euler beam, u'''' = -1 with four conditions at single points (10,000 Adam steps);
- ``kovasznay_short``: Kovasznay flow, 4x50, 1,000 interior points, 2,000 Adam steps;
- ``advection``: periodic linear advection, 3,000 Adam steps.

Each finished run is appended to benchmarks/results/weighting.jsonl (a rerun skips what is there) and the table
benchmarks/results/weighting.md is rewritten: the relative L2 error per field, median over seeds.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

import torch
from _report import RESULTS, write_result  # benchmarks/ is on sys.path when run as a script

ROOT = Path(__file__).resolve().parent.parent
SPECS = ROOT / "benchmarks" / "specs" / "weighting"
SHORT = {"adam": 2000, "lbfgs": 0}
CASES = {
    "burgers_short": (ROOT / "examples" / "burgers.pde", dict(SHORT, layers=[20] * 4, interior=2000)),
    "wave_short": (ROOT / "examples" / "wave.pde", SHORT),
    "poisson_k4": (SPECS / "poisson_k4.pde", {}),
    "beam": (SPECS / "beam.pde", {}),
    "kovasznay_short": (SPECS / "kovasznay_short.pde", {}),
    "advection": (SPECS / "advection.pde", {}),
}
STRATEGIES = ("fixed", "inverse_dirichlet", "inverse_dirichlet_grouped")
LOG = RESULTS / "weighting.jsonl"


def run(case: str, weighting: str, seed: int) -> dict:
    """Train one (case, strategy, seed) on one thread; the final errors and weights."""
    from pdec import fit
    from pdec.compiler.driver import compile as compile_spec

    torch.set_num_threads(1)
    spec, overrides = CASES[case]
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        result = fit(
            compile_spec(spec), out=Path(tmp) / "run", quiet=True, plots=False, weighting=weighting, seed=seed,
            **overrides,
        )
    m = result.metrics
    row = {"case": case, "weighting": weighting, "seed": seed, "seconds": time.perf_counter() - started}
    return {**row, "errors": m["errors"], "weights": m["weights"]}


def table(rows: list[dict]) -> str:
    """Median relative L2 error per field over the seeds, one column per strategy."""
    lines = ["| case | " + " | ".join(STRATEGIES) + " |", "|---|" + "---|" * len(STRATEGIES)]
    for case in CASES:
        cells = []
        for weighting in STRATEGIES:
            found = [r for r in rows if r["case"] == case and r["weighting"] == weighting]
            if not found:
                cells.append("-")
                continue
            fields = found[0]["errors"]
            med = ", ".join(f"{statistics.median(r['errors'][f] for r in found):.2g}" for f in fields)
            cells.append(f"{med} ({len(found)} seeds)")
        lines.append(f"| {case} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    """Run the missing (case, strategy, seed) triples; rewrite the table after each."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+", choices=list(CASES))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    RESULTS.mkdir(exist_ok=True)
    seen = [json.loads(line) for line in LOG.read_text().splitlines()] if LOG.is_file() else []
    done = {(r["case"], r["weighting"], r["seed"]) for r in seen}
    todo = [
        (c, w, s) for s in args.seeds for c in (args.only or CASES) for w in STRATEGIES if (c, w, s) not in done
    ]
    header = (
        f"Weighting strategies, relative L2 error (median over seeds), one thread per run, {args.jobs} at a time on "
        f"{os.cpu_count()} cores, torch {torch.__version__}, {time.strftime('%Y-%m-%d')}.\n\n"
    )
    with ProcessPoolExecutor(args.jobs) as pool:
        for future in as_completed([pool.submit(run, *job) for job in todo]):
            row = future.result()
            seen.append(row)
            with LOG.open("a") as f:
                f.write(json.dumps(row) + "\n")
            print(json.dumps(row), flush=True)
            write_result("weighting", header + table(seen))


if __name__ == "__main__":
    main()
