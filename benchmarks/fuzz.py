"""A long fuzz run: load, compile and evaluate many generated specs; count what is not a PdecError.

Run from the repository root (one thread, low priority, as long as you like)::

    nice -n 10 python benchmarks/fuzz.py --n 100000
    python benchmarks/fuzz.py --n 2000 --quick     # a few minutes; writes results/fuzz_quick.md

Inputs come from tests/fuzz_inputs.py (the same generators and harness as the bounded fuzz tests of the suite):
mostly mutated example specs, spec-like token soup and arbitrary text, each taken through ``pdec.load``,
``pdec.compile`` and ``evaluate`` on a tiny network. The report counts the inputs, how far they got, every exception
that is not a PdecError (with the input that raised it) and every input over ``--slow`` seconds (5 by default);
an input still running after ``--limit`` seconds (60) is stopped and counted as slow. Writes
benchmarks/results/fuzz.md.
"""

from __future__ import annotations

import argparse
import collections
import platform
import random
import signal
import sys
import time
import warnings
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from _report import write_result  # noqa: E402
from fuzz_inputs import exercise, random_input  # noqa: E402

SHOWN = 10  # failures and slow inputs listed in full


class Stopped(Exception):
    """An input ran past the hard limit."""


def _stop(signum, frame):
    raise Stopped


def run(n: int, seed: int, slow: float, limit: int) -> dict:
    """Exercise ``n`` inputs; return the counts, the failures and the slow inputs."""
    rng = random.Random(seed)
    stages: collections.Counter = collections.Counter()
    failures, slow_inputs = [], []
    signal.signal(signal.SIGALRM, _stop)
    started = time.perf_counter()
    done = 0
    try:
        for i in range(n):
            text, name = random_input(rng)
            t0 = time.perf_counter()
            signal.alarm(limit)
            try:
                stages[exercise(text, name)] += 1
            except Stopped:
                stages["stopped"] += 1
            except Exception as exc:  # noqa: BLE001 - counting them is the point
                stages["bug"] += 1
                failures.append((i, name, f"{type(exc).__name__}: {str(exc)[:300]}", text))
            finally:
                signal.alarm(0)
            done += 1
            took = time.perf_counter() - t0
            if took > slow:
                slow_inputs.append((i, name, took, text))
            if done % 5000 == 0:
                print(f"{done} inputs, {dict(stages)}, {len(slow_inputs)} slow", file=sys.stderr, flush=True)
    except KeyboardInterrupt:  # Ctrl-C: report the inputs done so far
        print(f"interrupted after {done} inputs", file=sys.stderr)
    seconds = time.perf_counter() - started
    return {"n": done, "stages": stages, "failures": failures, "slow": slow_inputs, "seconds": seconds}


def report(n: int, seed: int, slow: float, result: dict) -> str:
    """The markdown report (``n`` asked for; ``result["n"]`` done, fewer after a Ctrl-C)."""
    stages, failures, slow_inputs = result["stages"], result["failures"], result["slow"]
    done = result["n"]
    stopped = "" if done == n else f" Stopped by hand after {done} of the {n} inputs asked for."
    lines = [
        "# Fuzz run",
        "",
        f"`python benchmarks/fuzz.py --n {n} --seed {seed}`, {time.strftime('%Y-%m-%d')}, "
        f"torch {torch.__version__}, Python {platform.python_version()}, {torch.get_num_threads()} thread(s); "
        f"{result['seconds']:.0f} s ({1000 * result['seconds'] / max(done, 1):.1f} ms per input).{stopped}",
        "",
        "| inputs | rejected (PdecError) | loaded, compile refused (PdecError) | compiled and evaluated | "
        f"not a PdecError | over {slow:g} s |",
        "|---:|---:|---:|---:|---:|---:|",
        f"| {done} | {stages['rejected']} | {stages['loaded']} | {stages['evaluated']} | {stages['bug']} | "
        f"{len(slow_inputs)} |",
    ]
    for title, rows in (("Exceptions that are not a PdecError", failures), (f"Inputs over {slow:g} s", slow_inputs)):
        if rows:
            lines += ["", f"## {title}", ""]
            for i, name, what, text in rows[:SHOWN]:
                shown = what if isinstance(what, str) else f"{what:.1f} s"
                lines += [f"- input {i} ({name or 'generated'}): {shown}", "", "```", text[:2000], "```", ""]
    return "\n".join(lines)


def main() -> None:
    """Parse the arguments, run, print and write the report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000, help="number of inputs (default 100000)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the input generator")
    parser.add_argument("--slow", type=float, default=5.0, help="seconds above which an input counts as slow")
    parser.add_argument("--limit", type=int, default=60, help="seconds after which an input is stopped")
    parser.add_argument("--quick", action="store_true", help="write results/fuzz_quick.md")
    args = parser.parse_args()
    torch.set_num_threads(1)
    warnings.simplefilter("ignore")  # PdecWarnings of mutated specs
    result = run(args.n, args.seed, args.slow, args.limit)
    text = report(args.n, args.seed, args.slow, result)
    print(text)
    print(f"wrote {write_result('fuzz', text, args.quick)}", file=sys.stderr)


if __name__ == "__main__":
    main()
