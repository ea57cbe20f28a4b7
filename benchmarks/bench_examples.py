"""Every example verified as written: ``pdec run examples/NAME.pde`` for seeds 0, 1, 2, one thread per run.

Run from the repository root::

    python benchmarks/bench_examples.py                    # every example, seeds 0-2, two runs at a time
    python benchmarks/bench_examples.py --only burgers     # some examples
    python benchmarks/bench_examples.py --jobs 1           # one run at a time
    python benchmarks/bench_examples.py --code HEAD~1 --only heat --seeds 0   # earlier code beside today's

Each run is the command a user types, ``pdec run examples/NAME.pde --seed S --threads 1 --quiet``, in its own
process, with nothing else overridden. Its final metrics are appended to benchmarks/results/examples.jsonl as it ends
(a later invocation skips the runs already there, so an interrupted table resumes), and the table
benchmarks/results/examples.md is rewritten after every run: per example the median over the seeds of the relative
L2 error of each field (forward examples) or of the relative error of each unknown (inverse examples), the seconds
per run, and whether the target is met:

- forward examples: every field's relative L2 error at most 1e-2 (``burgers``: at most 1e-3);
- inverse examples: every unknown within 1% (``conductivity_inverse``: its unknown function k(x) within 5%, relative
  L2 on a grid).
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

import torch
from _report import RESULTS, read_jsonl, write_result  # benchmarks/ is on sys.path when run as a script

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
LOG = RESULTS / "examples.jsonl"
# Rows measured before the forward mode became the default lowering (2026-11-30): the same specs and seeds, nested
# autograd for the derivatives; kept as a second table (the two lowerings agree to round-off, not bitwise).
AUTOGRAD_LOG = RESULTS / "examples_autograd.jsonl"
# Rows measured before the second phase became self-scaled Broyden in float64 (2026-12-06): the examples' specs then
# ran float32 L-BFGS (`lbfgs = N`; burgers: 8x20, 5,000 Adam steps, 6,000 L-BFGS); kept beside the new rows.
LBFGS_LOG = RESULTS / "examples_2026-12-01.jsonl"
# Rows measured with the float64 second phase before its one-pass dense update and SciPy's first trial step
# (2026-12-06, earlier the same day): every line search started at the unit step.
UNIT_STEP_LOG = RESULTS / "examples_2026-12-06a.jsonl"
# ``--before REV``: each example's spec as it was at REV (from git, run with ``--dtype float32``: float32 L-BFGS
# after float32 Adam, as before the float64 second phase) and today's spec, both with today's code, one after the
# other; rows tagged "spec": "before" / "now".
BEFORE_LOG = RESULTS / "examples_before.jsonl"
# ``--code REV``: today's specs run with the code at REV (a git worktree) and with today's code, side by side; rows
# tagged "code": "before" / "now".
CODE_LOG = RESULTS / "examples_code.jsonl"
# Examples scored by another benchmark: a discovery run's metrics are per round (benchmarks/bench_discovery.py).
ELSEWHERE = ("burgers_discovery",)
TARGETS = {"burgers": 1e-3, "conductivity_inverse": 5e-2}  # conductivity_inverse: k(x)'s relative L2 error
# The README's first command first, then the cheapest examples, so that a table cut short covers the most rows.
ORDER = (
    "burgers",
    "poisson1d",
    "heat_inverse",
    "poisson2d",
    "heat",
    "lorenz_inverse",
    "burgers_inverse",
    "wave",
    "helmholtz",
    "kovasznay",
    "allen_cahn",
    "kuramoto_sivashinsky",
    "advection",
    "poisson_coefficient",
    "poisson_holes",
    "poisson_boltzmann",
    "lid_driven_cavity",
    "backward_step",
    "conductivity_inverse",
)
FORWARD_TARGET = 1e-2
INVERSE_TARGET = 1e-2


def _commit() -> str:
    """The checked-out commit, short, with "+" when tracked files differ from it ("" outside a git checkout)."""
    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    dirty = subprocess.run(["git", "diff", "--quiet", "HEAD", "--", "pdec", "grammar"], cwd=ROOT).returncode
    return head.stdout.strip() + ("+" if dirty else "")


COMMIT = _commit()


def run(name: str, seed: int, folder: Path, before: str | None = None, tree: Path = ROOT) -> dict:
    """``pdec run examples/NAME.pde --seed SEED --threads 1 --quiet`` in a fresh process; its metrics.

    ``before``: a git revision; the spec as it was there (beside a link to examples/data), with ``--dtype float32``.
    ``tree``: the checkout whose code runs (a worktree of another revision for ``--code``).
    """
    folder.mkdir(parents=True, exist_ok=True)
    out = folder / f"{name}-{seed}"
    spec = EXAMPLES / f"{name}.pde"
    if before:
        old = folder / f"before-{name}-{seed}"
        old.mkdir()
        (old / "data").symlink_to(EXAMPLES / "data")
        spec = old / f"{name}.pde"
        text = subprocess.run(["git", "show", f"{before}:examples/{name}.pde"], cwd=ROOT, capture_output=True)
        spec.write_bytes(text.stdout)
    command = [sys.executable, "-m", "pdec.cli", "run", str(spec), "--seed", str(seed)]
    command += ["--threads", "1", "--quiet", "--out", str(out)] + (["--dtype", "float32"] if before else [])
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    log = folder / f"{name}-{seed}.log"
    started = time.perf_counter()
    with log.open("w") as sink:  # os.wait4: this child's own CPU seconds, whatever else runs beside it
        child = subprocess.Popen(command, cwd=tree, env=env, stdout=sink, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - started
    code = os.waitstatus_to_exitcode(status)
    row = {"example": name, "seed": seed, "seconds": seconds, "cpu_seconds": usage.ru_utime + usage.ru_stime}
    row["commit"] = COMMIT  # the code that ran (a "+" when the tree had uncommitted changes)
    row["exit"] = code
    metrics = out / "metrics.json"
    if code or not metrics.is_file():
        return {**row, "failure": log.read_text().strip().splitlines()[-3:]}
    found = json.loads(metrics.read_text())
    return {**row, **{k: found[k] for k in ("errors", "unknown_errors", "unknowns", "steps", "wall_time", "warnings")}}


def worktree(rev: str, folder: Path) -> Path:
    """A detached checkout of ``rev`` under ``folder`` (git worktree; removed with the folder, pruned by git)."""
    tree = folder / f"code-{rev}"
    subprocess.run(["git", "worktree", "add", "--detach", str(tree), rev], cwd=ROOT, check=True, capture_output=True)
    return tree


def judge(name: str, rows: list[dict]) -> tuple[dict[str, float], float, bool]:
    """Median errors over the seeds (per field or per unknown), the median seconds, and whether the target is met."""
    done = [r for r in rows if "failure" not in r]
    if not done:
        return {}, statistics.median(r["seconds"] for r in rows), False
    key = "unknown_errors" if done[0]["unknown_errors"] else "errors"
    medians = {k: statistics.median(r[key][k] for r in done) for k in done[0][key]}
    target = TARGETS.get(name, INVERSE_TARGET if key == "unknown_errors" else FORWARD_TARGET)
    met = len(done) == len(rows) and all(v <= target for v in medians.values())
    return medians, statistics.median(r["seconds"] for r in rows), met


def table(log: list[dict], names: list[str]) -> str:
    """The markdown table of every example with at least one finished run."""
    lines = [
        "| example | kind | median error (seeds) | per seed | target | met | seconds per run | CPU s per run |",
        "|---|---|---|---|---|---|---:|---:|",
    ]
    for name in names:
        rows = sorted((r for r in log if r["example"] == name), key=lambda r: r["seed"])
        if not rows:
            lines.append(f"| {name} | | not run | | | **NO** (not run) | | |")
            continue
        medians, seconds, met = judge(name, rows)
        inverse = any(r.get("unknown_errors") for r in rows)
        key = "unknown_errors" if inverse else "errors"
        fmt = (lambda v: f"{100 * v:.3g}%") if inverse else (lambda v: f"{v:.2e}")
        shown = ", ".join(f"{k} {fmt(v)}" for k, v in medians.items()) or "failed"
        per_seed = "; ".join(
            f"{r['seed']}: " + (", ".join(fmt(v) for v in r[key].values()) if "failure" not in r else "failed")
            for r in rows
        )
        target = TARGETS.get(name, INVERSE_TARGET if inverse else FORWARD_TARGET)
        target = f"{100 * target:g}%" if inverse else f"{target:g}"
        mark = ("yes" if met else "**NO**") + ("" if len(rows) >= 3 else f" ({len(rows)} of 3 seeds run)")
        kind = "inverse" if inverse else "forward"
        cpus = [r["cpu_seconds"] for r in rows if "cpu_seconds" in r]  # measured from 2026-12-07 on
        cpu = (
            f"{statistics.median(cpus):.0f}" + ("" if len(cpus) == len(rows) else f" ({len(cpus)} of {len(rows)})")
            if cpus
            else "-"
        )
        lines.append(
            f"| {name} | {kind} | {shown} | {per_seed} ({len(rows)} seed{'s' * (len(rows) > 1)}) | {target} | {mark} | "
            f"{seconds:.0f} | {cpu} |"
        )
    return "\n".join(lines)


def side_by_side(before: list[dict], now: list[dict], names: list[str]) -> str:
    """Per example: median error and CPU seconds of the earlier spec and of today's, over the seeds run both ways."""
    lines = [
        "| example | seeds | error before | error now | before / now | CPU s before | CPU s now | now / before |",
        "|---|---|---|---|---:|---:|---:|---:|",
    ]
    for name in names:
        runs = [{r["seed"]: r for r in log if r["example"] == name} for log in (before, now)]
        seeds = sorted(set(runs[0]) & set(runs[1]))
        if not seeds or any("failure" in runs[i][s] for i in (0, 1) for s in seeds):
            continue
        key = "unknown_errors" if runs[1][seeds[0]]["unknown_errors"] else "errors"
        worst = [statistics.median(max(runs[i][s][key].values()) for s in seeds) for i in (0, 1)]
        cpu = [statistics.median(runs[i][s]["cpu_seconds"] for s in seeds) for i in (0, 1)]
        fmt = (lambda v: f"{100 * v:.3g}%") if key == "unknown_errors" else (lambda v: f"{v:.2e}")
        lines.append(
            f"| {name} | {', '.join(map(str, seeds))} | {fmt(worst[0])} | {fmt(worst[1])} | {worst[0] / worst[1]:.3g} "
            f"| {cpu[0]:.0f} | {cpu[1]:.0f} | {cpu[1] / cpu[0]:.2f} |"
        )
    return "\n".join(lines)


def read_log(path: Path = LOG) -> list[dict]:
    """Every run recorded so far."""
    return read_jsonl(path)


def report(header: str) -> str:
    """The table of the runs under the default lowering, then the side-by-side timings and the earlier tables."""
    names = list(ORDER) + sorted({r["example"] for r in read_log()} - set(ORDER) - set(ELSEWHERE))
    text = header + table(read_log(), names)
    if BEFORE_LOG.is_file():
        text += (
            "\n\n## Side by side: the specs before the float64 second phase, with today's code (CPU seconds)\n\n"
            "Each example's spec as it was before the float64 second phase (git revision in the log; float32 "
            "L-BFGS after float32 Adam, `--dtype float32`), run with today's code on the same machine as today's "
            "spec, so the CPU seconds (each run's own, os.wait4) compare where the wall seconds of the tables below, "
            "measured under other loads, do not. The seeds are those run both ways.\n\n"
            + side_by_side(*[[r for r in read_log(BEFORE_LOG) if r["spec"] == k] for k in ("before", "now")], names)
        )
    if CODE_LOG.is_file():
        code = read_log(CODE_LOG)
        revisions = ", ".join(sorted({r["rev"] for r in code if "rev" in r}))
        text += (
            f"\n\n## Side by side: today's specs with the code at {revisions} and with today's code (CPU seconds)\n\n"
            "`--code REV`: each run of the earlier code (a git worktree of REV) beside the same example and seed with "
            "today's code, two at a time, so the two share the machine's load. Round-off differs between the two, "
            "so a seed's error may move either way.\n\n"
            + side_by_side(*[[r for r in code if r["code"] == k] for k in ("before", "now")], names)
        )
    if UNIT_STEP_LOG.is_file():
        text += (
            "\n\n## Earlier rows: the float64 second phase with unit first steps (2026-12-06)\n\n"
            "The same specs, measured earlier the same day, before the dense methods' one-pass update and SciPy's "
            "first trial step in their line searches (every search began at the unit step).\n\n"
            + table(read_log(UNIT_STEP_LOG), list(ORDER))
        )
    if LBFGS_LOG.is_file():
        text += (
            "\n\n## Earlier rows: float32 L-BFGS as the second phase (2026-12-01)\n\n"
            "The same examples before the second phase became self-scaled Broyden in float64 (`lbfgs = N` in every "
            "spec; burgers 8x20 with 5,000 Adam steps and 6,000 L-BFGS iterations).\n\n"
            + table(read_log(LBFGS_LOG), list(ORDER))
        )
    if AUTOGRAD_LOG.is_file():
        text += (
            "\n\n## Earlier rows: the same runs with `lowering = autograd`\n\n"
            "Measured before the forward mode became the default; the specs of allen_cahn and "
            "kuramoto_sivashinsky were plain networks then and were not run.\n\n"
            + table(read_log(AUTOGRAD_LOG), [n for n in ORDER if n not in ("allen_cahn", "kuramoto_sivashinsky")])
        )
    return text


def main() -> None:
    """Run the missing (example, seed) pairs, two at a time; rewrite the table after each."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+", help="example names (default: every examples/*.pde)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--jobs", type=int, default=2, help="runs at a time, one thread each (default 2)")
    parser.add_argument("--skip", nargs="+", default=[], metavar="NAME:SEED", help="runs to leave out")
    parser.add_argument("--before", metavar="REV", help="time the specs at git REV against today's, side by side")
    parser.add_argument("--code", metavar="REV", help="time the code at git REV against today's, side by side")
    args = parser.parse_args()
    rank = {n: i for i, n in enumerate(ORDER)}
    found = (p.stem for p in EXAMPLES.glob("*.pde") if p.stem not in ELSEWHERE)
    names = args.only or sorted(found, key=lambda n: (rank.get(n, len(ORDER)), n))
    RESULTS.mkdir(exist_ok=True)
    for option in ("before", "code"):  # the revision's hash, logged with each row
        if given := getattr(args, option):
            rev = subprocess.run(["git", "rev-parse", "--short", given], cwd=ROOT, capture_output=True, text=True)
            setattr(args, option, rev.stdout.strip() or parser.error(f"--{option}: no git revision {given!r}"))
    log, tag = (BEFORE_LOG, "spec") if args.before else (CODE_LOG, "code") if args.code else (LOG, "spec")
    done = {(r["example"], r["seed"], r.get(tag)) for r in read_log(log)}
    done |= {(name, int(seed), k) for name, _, seed in (i.partition(":") for i in args.skip) for k in (None, "now")}
    specs = ("before", "now") if args.before or args.code else (None,)  # None: today's spec, into the main table
    todo = [(n, s, k) for n in names for s in args.seeds for k in specs if (n, s, k) not in done]
    header = (
        f"Every example run as written (`pdec run examples/NAME.pde --seed S --threads 1`, the default forward-mode "
        f"lowering), {platform.machine()} "
        f"CPU, torch {torch.__version__}, {os.cpu_count()} cores shared by the runs and other jobs (read the "
        f"wall seconds as a ceiling; the CPU seconds, the run's own from os.wait4, measured from 2026-12-07 on, are "
        f"what an idle machine takes), {time.strftime('%Y-%m-%d')}. Rows missing below were not run.\n\n"
    )
    try:
        with tempfile.TemporaryDirectory() as tmp, ThreadPoolExecutor(args.jobs) as pool:
            earlier = worktree(args.code, Path(tmp)) if args.code and todo else ROOT
            trees = {"now": ROOT, None: ROOT, "before": earlier}
            jobs = {
                pool.submit(run, n, s, Path(tmp) / (k or "now"), args.before if k == "before" else None, trees[k]): k
                for n, s, k in todo
            }
            for future in as_completed(jobs):
                k = jobs[future]
                row = future.result() | ({tag: k, "rev": args.before or args.code} if k else {})
                with log.open("a") as f:
                    f.write(json.dumps(row) + "\n")
                print(json.dumps(row), flush=True)
                write_result("examples", report(header))
    finally:
        if args.code:  # the worktree's folder went with the temporary directory, also on Ctrl-C
            subprocess.run(["git", "worktree", "prune"], cwd=ROOT, check=False)
    write_result("examples", report(header))  # also when nothing was left to run: the table from the logs
    print((RESULTS / "examples.md").read_text())


if __name__ == "__main__":
    main()
