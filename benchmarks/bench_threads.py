"""Torch CPU threads: Adam steps per second at 1, 2, ... threads, measured side by side.

Run from the repository root::

    python benchmarks/bench_threads.py               # Burgers 8x20 / 10,000 points and Kovasznay 4x50 / 2,600 points
    python benchmarks/bench_threads.py --rounds 5

Each measurement is a fresh process (``torch.set_num_threads`` is process-wide) that trains ``--steps`` Adam steps
of the example as written and reports the seconds per step; the thread counts alternate within every round, so slow
spells of a shared machine hit them alike. The table gives the median per thread count and the ratio to one thread,
with the machine's load average at the start. Writes benchmarks/results/threads.md.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

from _report import write_result  # benchmarks/ is on sys.path when run as a script

ROOT = Path(__file__).resolve().parent.parent
CASES = ("burgers", "kovasznay")
CHILD = """
import json, sys, tempfile, torch
torch.set_num_threads(int(sys.argv[2]))
from pdec.compiler.driver import compile as compile_spec
from pdec import fit
with tempfile.TemporaryDirectory() as tmp:
    r = fit(compile_spec(sys.argv[1]), out=tmp + "/run", quiet=True, plots=False, adam=int(sys.argv[3]), lbfgs=0,
            eval_every=10**9, checkpoint_every=10**9)
print(json.dumps(r.metrics["wall_time"] / int(sys.argv[3])))
"""


def seconds_per_step(example: str, threads: int, steps: int) -> float:
    """Train ``steps`` Adam steps of examples/EXAMPLE.pde in a fresh process with ``threads`` threads."""
    spec = ROOT / "examples" / f"{example}.pde"
    env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(spec), str(threads), str(steps)],
        cwd=ROOT, env=env, capture_output=True, text=True, check=True,
    )
    return float(json.loads(done.stdout.strip().splitlines()[-1]))


def main() -> None:
    """Alternate thread counts over rounds; write the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=100)
    args = parser.parse_args()
    load = os.getloadavg()[0]
    times: dict[tuple[str, int], list[float]] = {}
    for r in range(args.rounds):
        order = args.threads if r % 2 == 0 else args.threads[::-1]
        for example in CASES:
            for n in order:
                times.setdefault((example, n), []).append(seconds_per_step(example, n, args.steps))
                print(example, n, f"{times[example, n][-1] * 1e3:.1f} ms/step", flush=True)
    lines = [
        f"Adam step time by torch thread count, {os.cpu_count()} cores, load average {load:.1f} at the start, "
        f"{args.rounds} rounds of {args.steps} steps (median).",
        "",
        "| example | threads | ms per step | ratio to 1 thread |",
        "|---|---:|---:|---:|",
    ]
    for example in CASES:
        one = statistics.median(times[example, args.threads[0]])
        for n in args.threads:
            med = statistics.median(times[example, n])
            lines.append(f"| {example} | {n} | {med * 1e3:.1f} | {med / one:.2f} |")
    print(write_result("threads", "\n".join(lines)).read_text())


if __name__ == "__main__":
    main()
