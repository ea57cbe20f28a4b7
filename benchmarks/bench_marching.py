"""Time marching against one window at an equal budget.

Run from the repository root::

    python benchmarks/bench_marching.py                          # advection and allen_cahn, seed 0
    python benchmarks/bench_marching.py --cases advection --seeds 0 1 2
    python benchmarks/bench_marching.py --report                 # rewrite marching.md from marching.jsonl

Each case is a spec that sets ``windows = N`` (examples/advection.pde; benchmarks/specs/marching/allen_cahn.pde, the
Allen-Cahn example as it was while it marched), trained two ways on one thread: ``windows``, the spec as written;
``one window``, the same spec with ``windows = 1`` and N times the Adam and L-BFGS steps, so both train the same
total number of steps. The rows are appended to
benchmarks/results/marching.jsonl as each run ends (a rerun skips what is there) and benchmarks/results/marching.md
is rewritten. The ``windows`` runs of advection are the examples table's (bench_examples.py, examples.jsonl: ``pdec
run examples/advection.pde --seed S --threads 1``, the same training), so by default only ``one window`` runs here;
Allen-Cahn's were run the same way while the example marched, and moved to marching.jsonl.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import torch
from _report import RESULTS, read_jsonl, write_result  # benchmarks/ is on sys.path when run as a script

import pdec

ROOT = Path(__file__).resolve().parent.parent
CASES = ("advection", "allen_cahn")
SPECS = {  # each case's marched spec: advection's is the example; Allen-Cahn's example trains one window now
    "advection": ROOT / "examples" / "advection.pde",
    "allen_cahn": ROOT / "benchmarks" / "specs" / "marching" / "allen_cahn.pde",
}
LOG = RESULTS / "marching.jsonl"
EXAMPLES = RESULTS / "examples.jsonl"


def example_rows() -> list[dict]:
    """The examples table's runs of the marching examples, as ``windows`` rows."""
    rows = []
    for r in read_jsonl(EXAMPLES):
        if r.get("example") in CASES and SPECS[r["example"]].parent.name == "examples" and r.get("errors"):
            settings = _settings(r["example"])
            rows.append({"case": r["example"], "config": "windows", "seed": r["seed"], "seconds": r["seconds"],
                         "settings": settings, "errors": r["errors"], "steps": r.get("steps")})
    return rows


def _settings(case: str) -> dict:
    """The example's windows and steps per window, as written."""

    s = pdec.load(SPECS[case]).settings
    return {"windows": s.windows, "adam": s.adam, "lbfgs": s.lbfgs}


def run(case: str, config: str, seed: int) -> dict:
    """Train one (case, configuration, seed); the errors, the settings and the seconds."""

    torch.set_num_threads(1)
    path = SPECS[case]
    marched = pdec.compile(path)
    windows = marched.settings.windows
    compiled, overrides = marched, {}
    if config == "one window":
        compiled = pdec.compile(path, windows=1)
        overrides = {"adam": marched.settings.adam * windows, "lbfgs": marched.settings.lbfgs * windows}
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        result = pdec.fit(compiled, out=Path(tmp) / "run", quiet=True, plots=False, seed=seed, **overrides)
    settings = {"windows": compiled.settings.windows, "adam": overrides.get("adam", compiled.settings.adam),
                "lbfgs": overrides.get("lbfgs", compiled.settings.lbfgs)}
    row = {"case": case, "config": config, "seed": seed, "seconds": time.perf_counter() - started}
    return {**row, "settings": settings, "errors": result.metrics["errors"], "steps": result.metrics["steps"]}


def report(rows: list[dict]) -> str:
    """One row per (case, configuration): median error over seeds, per seed, steps, seconds."""
    lines = [
        "# Time marching against one window, equal total steps",
        "",
        "From `python benchmarks/bench_marching.py` (one CPU thread per run, x86_64, torch 2.13.0+cpu; the machine "
        "shared with other runs, so read the seconds as ceilings). `windows`: the marched spec as written "
        "(examples/advection.pde; benchmarks/specs/marching/allen_cahn.pde); `one window`: the same spec with "
        "`windows = 1` and the windows' total Adam and L-BFGS steps. Relative L2 error of u. Allen-Cahn's example "
        "now trains the `one window` configuration.",
        "",
        "| case | configuration | settings | median error | per seed | seconds per run |",
        "|---|---|---|---|---|---:|",
    ]
    for case in CASES:
        for config in ("windows", "one window"):
            found = [r for r in rows if r["case"] == case and r["config"] == config]
            if not found:
                lines.append(f"| {case} | {config} | | not run | | |")
                continue
            s = found[0]["settings"]
            settings = f"windows = {s['windows']}, adam = {s['adam']}, lbfgs = {s['lbfgs']}"
            errors = [r["errors"]["u"] for r in found]
            per_seed = "; ".join(f"{r['seed']}: {r['errors']['u']:.2e}" for r in found)
            seconds = statistics.median(r["seconds"] for r in found)
            lines.append(f"| {case} | {config} | {settings} | {statistics.median(errors):.2e} | {per_seed} | "
                         f"{seconds:.0f} |")
    return "\n".join(lines)


def main() -> None:
    """Run the missing (case, configuration, seed) triples; rewrite the table after each."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", nargs="+", default=list(CASES), choices=CASES)
    parser.add_argument("--configs", nargs="+", default=["one window"], choices=["windows", "one window"])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--report", action="store_true", help="only rewrite marching.md from marching.jsonl")
    args = parser.parse_args()
    done = read_jsonl(LOG)
    done += [r for r in example_rows() if (r["case"], r["config"], r["seed"]) not in
             {(d["case"], d["config"], d["seed"]) for d in done}]
    if not args.report:
        have = {(r["case"], r["config"], r["seed"]) for r in done}
        for case in args.cases:
            for config in args.configs:
                for seed in args.seeds:
                    if (case, config, seed) in have:
                        continue
                    row = run(case, config, seed)
                    done.append(row)
                    LOG.parent.mkdir(exist_ok=True)
                    with LOG.open("a") as f:
                        f.write(json.dumps(row) + "\n")
                    print(f"{case} {config} seed {seed}: u {row['errors']['u']:.3e} ({row['seconds']:.0f} s)",
                          flush=True)
                    write_result("marching", report(done))
    write_result("marching", report(done))


if __name__ == "__main__":
    main()
