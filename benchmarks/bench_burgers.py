"""Viscous Burgers (nu = 0.01/pi) against the reference solution of Raissi et al. (examples/data/burgers_shock.mat).

Run from the repository root::

    python benchmarks/bench_burgers.py                     # 3 seeds, 15 min budget each (about 45 min)
    python benchmarks/bench_burgers.py --quick             # 1 seed, 2 min budget: checks the pipeline only

Setup (Raissi, Perdikaris & Karniadakis 2019, section 3.1): 8 hidden layers of 20 tanh units, 100 initial and
boundary points (50 on the initial line, 25 on each wall), 10,000 collocation points (Sobol), then Adam
(``--adam`` steps) followed by L-BFGS (``--lbfgs`` iterations, strong Wolfe) until convergence or the wall-clock
budget (``--budget`` seconds per seed, the trainer stopped cleanly through its callback). The error is the relative
L2 error over the 25,600 reference points. Target: median over seeds <= 1e-3 within 15 minutes per seed on 2 CPU
cores. The table is printed and written to benchmarks/results/burgers.md.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import tempfile
import time
from pathlib import Path

import torch
from _report import write_result  # benchmarks/ is on sys.path when run as a script

from pdec import fit
from pdec.compiler.driver import compile as compile_spec

ROOT = Path(__file__).resolve().parent.parent


def run_seed(compiled, seed: int, args: argparse.Namespace, folder: Path) -> dict:
    """Train one seed within the budget; return its error, steps and time."""
    started = time.perf_counter()

    def budget(trainer, row):
        if time.perf_counter() - started > args.budget:
            raise KeyboardInterrupt  # the trainer saves and returns a Result with final metrics

    overrides = {
        "layers": [20] * 8,
        "interior": 10000,
        "points.initial": 50,
        "points.left": 25,
        "points.right": 25,
        "adam": args.adam,
        "lbfgs": args.lbfgs,
        "lr": args.lr,
        "weighting": args.weighting,
        "dtype": args.dtype,
        "seed": seed,
        "eval_every": 500,
        "checkpoint_every": 10**6,
    }
    result = fit(
        compiled, out=folder / f"seed{seed}", quiet=not args.progress, callback=budget, plots=False, **overrides
    )
    return {
        "seed": seed,
        "error": result.metrics["errors"]["u"],
        "steps": result.metrics["steps"],
        "adam": result.metrics["adam_steps"],
        "lbfgs": result.metrics["second_steps"],
        "seconds": time.perf_counter() - started,
        "loss": result.metrics["loss"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--budget", type=float, default=900.0, help="wall-clock seconds per seed")
    parser.add_argument("--adam", type=int, default=2000)
    parser.add_argument("--lbfgs", type=int, default=20000)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--weighting", default="fixed", help="fixed (Raissi's setup) or an adaptive strategy")
    parser.add_argument("--dtype", default="float32")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--progress", action="store_true", help="show the progress bar")
    parser.add_argument("--quick", action="store_true", help="one seed, 120 s budget, 300 Adam steps")
    args = parser.parse_args()
    if args.quick:
        args.seeds, args.budget, args.adam = [0], 120.0, 300
    torch.set_num_threads(args.threads)
    compiled = compile_spec(ROOT / "examples" / "burgers.pde")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for seed in args.seeds:
            rows.append(run_seed(compiled, seed, args, Path(tmp)))
            r = rows[-1]
            print(
                f"seed {seed}: rel L2 {r['error']:.3e} after {r['adam']} Adam + {r['lbfgs']} L-BFGS steps, "
                f"{r['seconds']:.0f} s",
                flush=True,
            )
    median = statistics.median(r["error"] for r in rows)
    lines = [
        "# Viscous Burgers vs burgers_shock.mat (8x20 tanh, 100 initial+boundary points, 10,000 collocation points)",
        "",
        f"machine: {platform.processor() or platform.machine()}, torch {torch.__version__}, {args.threads} thread(s); "
        f"weighting {args.weighting}, {args.dtype}, Adam {args.adam} (lr {args.lr}) then L-BFGS <= {args.lbfgs}, "
        f"budget {args.budget:.0f} s per seed; {time.strftime('%Y-%m-%d %H:%M')}",
        "",
        "| seed | rel. L2 error | Adam steps | L-BFGS iterations | seconds | final loss |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    lines += [
        f"| {r['seed']} | {r['error']:.3e} | {r['adam']} | {r['lbfgs']} | {r['seconds']:.0f} | {r['loss']:.3e} |"
        for r in rows
    ]
    verdict = "meets" if median <= 1e-3 else "misses"
    lines += ["", f"median relative L2 error: {median:.3e} ({verdict} the 1e-3 target)"]
    text = "\n".join(lines)
    print(text)
    write_result("burgers", text, args.quick)


if __name__ == "__main__":
    main()
