"""The second phase's optimisers side by side: error against wall time, one thread per run.

Run from the repository root::

    python benchmarks/bench_optimizers.py                                   # every problem and method, seeds 0-2
    python benchmarks/bench_optimizers.py --only burgers --methods lm today # some of them
    python benchmarks/bench_optimizers.py --report                          # rewrite the table and plots only

Each run trains one problem's spec as written except for the second phase, which is one of the ``CONFIGS`` (today's
float32 L-BFGS, L-BFGS in float64, dense BFGS, self-scaled BFGS and Broyden, Levenberg-Marquardt; all but ``today``
switch to float64 after Adam), in its own process with one torch thread. The Adam phase is the same for every
method of a (problem, seed). Every evaluation (``eval_every`` steps) is logged with the training seconds so far, so
each run gives an error-versus-time curve: benchmarks/results/optimizers/<problem>-<config>-<seed>.jsonl. A run
stops at its iteration budget or at ``--budget`` seconds of training, whichever comes first.

The table (benchmarks/results/optimizers.md) gives, per problem and configuration, the median over the seeds of the
training seconds to reach relative L2 errors of 1e-3, 1e-4 and 1e-5 (the largest field's error; for inverse problems
the largest unknown's relative error) and of the final error; a plot per problem draws every configuration on one
axis (benchmarks/results/optimizers_<problem>.png).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

from _report import RESULTS, read_jsonl, write_result  # benchmarks/ is on sys.path when run as a script

import pdec

ROOT = Path(__file__).resolve().parent.parent
CURVES = RESULTS / "optimizers"
LOG = RESULTS / "optimizers.jsonl"
# Rows of the dense methods measured before their one-pass update and SciPy's first trial step (2026-12-06, earlier
# the same day; every line search began at the unit step), curves in optimizers/earlier/; kept as a second table.
EARLIER_LOG, EARLIER_CURVES = RESULTS / "optimizers_earlier.jsonl", CURVES / "earlier"
# Rows of `lm` before geodesic acceleration (2026-12-06 and -07), curves in optimizers/lm-plain/; a third table.
PLAIN_LM_LOG, PLAIN_LM_CURVES = RESULTS / "optimizers_lm_plain.jsonl", CURVES / "lm-plain"
# problem -> (spec, overrides shared by every configuration: the Adam phase and the points)
PROBLEMS = {
    "burgers": ("examples/burgers.pde", {}),
    "poisson2d": ("examples/poisson2d.pde", {}),
    "helmholtz": ("examples/helmholtz.pde", {}),
    "allen_cahn": ("examples/allen_cahn.pde", {}),
    "kovasznay": ("examples/kovasznay.pde", {}),
    "beam": ("benchmarks/specs/optimizers/beam.pde", {}),
    "lorenz_inverse": ("examples/lorenz_inverse.pde", {}),
    "burgers_inverse": ("examples/burgers_inverse.pde", {}),
}
# configuration -> overrides of the second phase
CONFIGS = {
    "today": {"optimizer": "lbfgs", "dtype": "float32"},
    "lbfgs64": {"optimizer": "lbfgs", "dtype": "auto"},
    "bfgs": {"optimizer": "bfgs", "dtype": "auto"},
    "ssbfgs": {"optimizer": "ssbfgs", "dtype": "auto"},
    "ssbroyden": {"optimizer": "ssbroyden", "dtype": "auto"},
    "lm": {"optimizer": "lm", "dtype": "auto"},
}
THRESHOLDS = (1e-3, 1e-4, 1e-5)


def child(problem: str, config: str, seed: int, budget: float, iterations: int | None, out: Path) -> None:
    """Train one run in this process, logging ``{step, phase, time, error}`` at every evaluation; print RESULT."""
    import torch


    torch.set_num_threads(1)
    spec, shared = PROBLEMS[problem]
    overrides = {**shared, **CONFIGS[config], "seed": seed}
    if iterations is not None:
        overrides["iterations"] = iterations
    compiled = pdec.compile(ROOT / spec)
    curve = CURVES / f"{problem}-{config}-{seed}.jsonl"
    curve.parent.mkdir(parents=True, exist_ok=True)
    curve.write_text("")
    inverse = bool(compiled.unknowns.specs)
    truth = {u.name: u.true for u in compiled.problem.unknowns if getattr(u, "true", None) is not None} if inverse \
        else {}

    def error(row) -> float | None:  # row: a pdec.run.history.Row
        if inverse:
            found = row.unknowns
            return max(abs(found[k] - v) / abs(v) for k, v in truth.items()) if truth and found else None
        return max(row.errors.values()) if row.errors else None

    def callback(trainer, row) -> None:
        e = error(row)
        if e is not None:
            with curve.open("a") as f:
                f.write(json.dumps({"step": row.step, "phase": row.phase, "time": row.time, "error": e}) + "\n")
        if row.time is not None and row.time > budget:
            raise KeyboardInterrupt

    eval_every = 10 if config == "lm" else 50
    result = pdec.fit(compiled, out=out, quiet=True, plots=False, callback=callback, eval_every=eval_every, **overrides)
    m = result.metrics
    final = max(m["unknown_errors"].values()) if inverse and m.get("unknown_errors") else max(m["errors"].values())
    with curve.open("a") as f:
        f.write(json.dumps({"step": m["steps"], "phase": "final", "time": m["wall_time"], "error": final}) + "\n")
    print("RESULT " + json.dumps({"final": final, "seconds": m["wall_time"], "steps": m["steps"],
                                  "interrupted": result.interrupted, "errors": m["errors"],
                                  "unknown_errors": m.get("unknown_errors", {})}), flush=True)


def run(problem: str, config: str, seed: int, budget: float, iterations: int | None, folder: Path) -> dict:
    """One run in a fresh process (one thread); its summary."""
    command = [sys.executable, __file__, "--child", problem, config, str(seed), "--budget", str(budget),
               "--out", str(folder / f"{problem}-{config}-{seed}")]
    if iterations is not None:
        command += ["--iterations", str(iterations)]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    base = {"problem": problem, "config": config, "seed": seed, "budget": budget, "date": time.strftime("%Y-%m-%d")}
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    if not lines:
        return {**base, "failure": " | ".join((done.stderr or done.stdout).strip().splitlines()[-3:])}
    return {**base, **json.loads(lines[-1][len("RESULT "):])}


def curve(problem: str, config: str, seed: int, folder: Path = CURVES) -> list[dict]:
    """The logged (time, error) points of one run."""
    return read_jsonl(folder / f"{problem}-{config}-{seed}.jsonl")


def time_to(points: list[dict], threshold: float) -> float | None:
    """The first training time at which the error is at or below ``threshold`` (None if never)."""
    return next((p["time"] for p in points if p["error"] is not None and p["error"] <= threshold), None)


def table(log: list[dict], folder: Path = CURVES) -> str:
    """Per problem and configuration: median seconds to each threshold (runs that got there), final error."""
    lines = ["| problem | second phase | seeds | s to 1e-3 | s to 1e-4 | s to 1e-5 | final error (median) | "
             "final per seed | seconds |", "|---|---|---|---:|---:|---:|---:|---|---:|"]
    for problem in PROBLEMS:
        for config in CONFIGS:
            rows = sorted((r for r in log if r["problem"] == problem and r["config"] == config and "final" in r),
                          key=lambda r: r["seed"])
            if not rows:
                continue
            cells = []
            for threshold in THRESHOLDS:
                times = [time_to(curve(problem, config, r["seed"], folder), threshold) for r in rows]
                reached = [t for t in times if t is not None]
                cells.append(f"{statistics.median(reached):.0f} ({len(reached)}/{len(rows)})" if reached else "-")
            finals = [r["final"] for r in rows]
            per_seed = ", ".join(f"{r['seed']}: {r['final']:.2e}" for r in rows)
            seconds = statistics.median(r["seconds"] for r in rows)
            lines.append(f"| {problem} | {config} | {len(rows)} | " + " | ".join(cells)
                         + f" | {statistics.median(finals):.2e} | {per_seed} | {seconds:.0f} |")
    return "\n".join(lines)


def plots(log: list[dict]) -> None:
    """One plot per problem: error against training seconds, every configuration and seed on one axis."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    for problem in PROBLEMS:
        rows = [r for r in log if r["problem"] == problem and "final" in r]
        if not rows:
            continue
        fig, ax = plt.subplots(figsize=(7, 4.5))
        for i, config in enumerate(CONFIGS):
            for r in (r for r in rows if r["config"] == config):
                points = [p for p in curve(problem, config, r["seed"]) if p["error"] is not None]
                if points:
                    ax.semilogy([p["time"] for p in points], [p["error"] for p in points], color=f"C{i}",
                                alpha=0.8, lw=1, label=config if r["seed"] == min(x["seed"] for x in rows
                                                                                  if x["config"] == config) else None)
        ax.set_xlabel("training seconds (one CPU thread)")
        ax.set_ylabel("relative error")
        ax.set_title(f"{problem}: error against time, every second-phase optimiser")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend()
        fig.tight_layout()
        fig.savefig(RESULTS / f"optimizers_{problem}.png", dpi=90)
        plt.close(fig)


def report() -> None:
    """Rewrite the table and the plots from the logs."""
    import torch

    log = read_jsonl(LOG)
    header = (
        f"Second-phase optimisers, error against training time: each run is the problem's spec with only the second "
        f"phase changed (benchmarks/bench_optimizers.py), one torch thread per run, {platform.machine()} CPU, torch "
        f"{torch.__version__}, {os.cpu_count()} cores shared by two runs at a time (read seconds as a ceiling). "
        f"Times are training seconds to the first evaluation at or below the threshold (median over the runs that "
        f"reached it; how many did in brackets). Generated {time.strftime('%Y-%m-%d')}.\n\n"
    )
    failures = [r for r in log if "failure" in r]
    text = header + table(log)
    if earlier := read_jsonl(EARLIER_LOG):
        text += ("\n\n## Earlier rows: the dense methods before their one-pass update\n\nThe same problems, measured "
                 "earlier on 2026-12-06 with every line search starting at the unit step and the dense matrix updated "
                 "by separate rank-one passes (curves in optimizers/earlier/).\n\n" + table(earlier, EARLIER_CURVES))
    if plain := read_jsonl(PLAIN_LM_LOG):
        text += ("\n\n## Earlier rows: Levenberg-Marquardt without geodesic acceleration\n\nThe `lm` rows as measured "
                 "on 2026-12-06 and 2026-12-07, before each step added its geodesic acceleration (curves in "
                 "optimizers/lm-plain/).\n\n" + table(plain, PLAIN_LM_CURVES))
    if failures:
        text += "\n\nFailed runs:\n" + "\n".join(f"- {r['problem']} {r['config']} seed {r['seed']}: {r['failure']}"
                                                  for r in failures)
    write_result("optimizers", text)
    plots(log)


def main() -> None:
    """Run the missing (problem, configuration, seed) triples, two at a time; rewrite the report after each."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+", choices=list(PROBLEMS), help="problems (default: all)")
    parser.add_argument("--methods", nargs="+", choices=list(CONFIGS), help="configurations (default: all)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--jobs", type=int, default=2, help="runs at a time, one thread each (default 2)")
    parser.add_argument("--budget", type=float, default=600.0, help="training seconds per run at most")
    parser.add_argument("--iterations", type=int, help="second-phase iterations (default: the spec's)")
    parser.add_argument("--report", action="store_true", help="only rewrite the table and plots")
    parser.add_argument("--child", nargs=3, metavar=("PROBLEM", "CONFIG", "SEED"), help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        problem, config, seed = args.child
        child(problem, config, int(seed), args.budget, args.iterations, Path(args.out))
        return
    if not args.report:
        done = {(r["problem"], r["config"], r["seed"]) for r in read_jsonl(LOG) if "failure" not in r}
        todo = [(p, c, s) for s in args.seeds for p in (args.only or PROBLEMS) for c in (args.methods or CONFIGS)
                if (p, c, s) not in done]
        with tempfile.TemporaryDirectory() as tmp, ThreadPoolExecutor(args.jobs) as pool:
            jobs = [pool.submit(run, *job, args.budget, args.iterations, Path(tmp)) for job in todo]
            for future in as_completed(jobs):
                row = future.result()
                RESULTS.mkdir(exist_ok=True)
                with LOG.open("a") as f:
                    f.write(json.dumps(row) + "\n")
                print(json.dumps(row), flush=True)
                report()
    report()
    print((RESULTS / "optimizers.md").read_text())


if __name__ == "__main__":
    main()
