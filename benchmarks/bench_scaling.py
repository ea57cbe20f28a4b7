"""Data-parallel scaling: Adam steps of viscous Burgers on 1, 2, 4 ranks (torch.distributed, gloo on the CPU).

Run from the repository root::

    python benchmarks/bench_scaling.py                       # weak and strong scaling, 1, 2 and 4 ranks
    python benchmarks/bench_scaling.py --quick               # fewer points and steps (a smoke test)
    python benchmarks/bench_scaling.py --device cuda         # NCCL, one GPU per rank (ranks <= GPUs)

Each configuration starts its ranks with ``torch.multiprocessing`` (one torch thread each), trains the Burgers spec
below through ``pdec.train.trainer`` (the default inverse-Dirichlet weighting, no evaluation set), and times the Adam
steps after a warm-up on rank 0. Throughput is collocation points (all ranks, interior and conditions) times steps per
second.

- weak scaling: the points per rank are fixed, the total grows with the ranks; efficiency = throughput(n) /
  (n throughput(1)).
- strong scaling: the total is fixed, each rank holds 1/n of it; efficiency = time(1) / (n time(n)), the same formula.

On a machine with fewer cores than ranks the ranks share cores: the figures then measure contention, not scaling.
The markdown table is printed and written to benchmarks/results/scaling.md (``scaling_quick.md`` with --quick).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import torch
import torch.distributed as dist
import torch.multiprocessing as mp

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _report import write_result  # noqa: E402

SPEC = """var x in [-1, 1]
time t in [0, 1]
field u(x, t)
const nu = 0.01/pi
eq burgers: u_t + u*u_x = nu * u_xx
ic initial: u = -sin(pi*x)
bc left: u = 0 at x = -1
bc right: u = 0 at x = 1
"""


def settings(interior: int, boundary: int, steps: int) -> dict:
    """The run's settings: an 8x20 tanh net, no L-BFGS, no evaluation during the timed steps."""
    return dict(layers=[20] * 8, interior=interior, boundary=boundary, adam=steps, lbfgs=0, eval_every=10**9)


def rank_main(rank: int, world: int, tmp: str, config: dict) -> None:
    """One rank: join the group, train, and (rank 0) write the seconds per Adam step after the warm-up."""
    import pdec
    from pdec import fit

    torch.set_num_threads(1)
    device = config["device"]
    if device == "cuda":
        torch.cuda.set_device(rank)
    backend = "nccl" if device == "cuda" else "gloo"
    dist.init_process_group(backend, init_method=f"file://{tmp}/rendezvous", rank=rank, world_size=world)
    stamps: list[float] = []
    points: list[int] = []

    def clock(trainer, row) -> None:
        if device == "cuda":
            torch.cuda.synchronize()
        stamps.append(time.perf_counter())
        points[:] = [sum(plan.count for plan in trainer.sampler.plans.values())]  # every point set, all ranks

    try:
        compiled = pdec.compile(SPEC)
        run = settings(config["interior"], config["boundary"], config["warmup"] + config["steps"])
        fit(compiled, out=Path(tmp) / "run", quiet=True, plots=False, callback=clock, device=device, **run)
        if rank == 0:
            seconds = (stamps[-1] - stamps[config["warmup"] - 1]) / config["steps"]
            Path(tmp, "result.json").write_text(json.dumps({"seconds": seconds, "points": points[0]}))
    finally:
        dist.destroy_process_group()


def measure(world: int, interior: int, boundary: int, args: argparse.Namespace) -> dict:
    """Seconds per Adam step and points (all point sets, all ranks) of one configuration (``world`` ranks)."""
    config = dict(device=args.device, interior=interior, boundary=boundary, steps=args.steps, warmup=args.warmup)
    with tempfile.TemporaryDirectory() as tmp:
        mp.spawn(rank_main, args=(world, tmp, config), nprocs=world)
        return json.loads(Path(tmp, "result.json").read_text())


def table(args: argparse.Namespace) -> list[dict]:
    """Every (mode, ranks) row: points, seconds per step, throughput, efficiency."""
    rows = []
    for mode in ("weak", "strong"):
        base = None
        for world in args.ranks:
            interior = args.per_rank * world if mode == "weak" else args.total
            boundary = max(3, interior // 20)  # per condition (3 of them)
            found = measure(world, interior, boundary, args)
            seconds, points = found["seconds"], found["points"]
            throughput = points / seconds
            base = base or throughput
            rows.append(
                dict(
                    mode=mode,
                    ranks=world,
                    points=points,
                    ms=1e3 * seconds,
                    throughput=throughput,
                    efficiency=throughput / (world * base),
                )
            )
            print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
    return rows


def report(rows: list[dict], args: argparse.Namespace) -> str:
    """The markdown table, with the machine it ran on."""
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    device = (
        torch.cuda.get_device_name(0) if args.device == "cuda" else f"{platform.machine()} CPU, {os.cpu_count()} cores"
    )
    lines = [
        f"Data-parallel scaling of viscous Burgers (8x20 tanh net, Adam, default weighting), {args.device} "
        f"({'NCCL' if args.device == 'cuda' else 'gloo'}), {device}, torch {torch.__version__}, one torch thread per "
        f"rank, load average {load:.1f} at the end; {args.steps} timed steps after {args.warmup} warm-up steps. "
        "Points are collocation points over all ranks (interior and conditions); efficiency = throughput(n) / "
        "(n throughput(1)).",
        "",
        "| scaling | ranks | points | ms per step | points/s | efficiency |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['mode']} | {r['ranks']} | {r['points']} | {r['ms']:.1f} | {r['throughput']:.0f} | "
            f"{100 * r['efficiency']:.0f}% |"
        )
    cores = os.cpu_count() or 1
    if args.device == "cpu" and max(args.ranks) > cores:
        lines += [
            "",
            f"This machine has {cores} cores for up to {max(args.ranks)} ranks, and other jobs ran on it (load "
            f"average {load:.1f}): ranks beyond the free cores share them, so these rows are a smoke test of the "
            "distributed path and measure contention, not scaling.",
        ]
    if args.device == "cpu":
        lines += ["", "GPU rows: missing. `python benchmarks/bench_scaling.py --device cuda` on a machine with GPUs."]
    return "\n".join(lines)


def main() -> None:
    """Parse the options, measure, print and write the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ranks", type=lambda s: [int(v) for v in s.split(",")], default=[1, 2, 4])
    parser.add_argument("--per-rank", type=int, default=4000, help="interior points per rank (weak scaling)")
    parser.add_argument("--total", type=int, default=8000, help="interior points in all (strong scaling)")
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    parser.add_argument("--quick", action="store_true", help="1000 points per rank, 2000 in all, 15 steps")
    args = parser.parse_args()
    if args.quick:
        args.per_rank, args.total, args.steps = 1000, 2000, 15
    text = report(table(args), args)
    print(text)
    print(f"wrote {write_result('scaling', text, args.quick)}", file=sys.stderr)


if __name__ == "__main__":
    main()
