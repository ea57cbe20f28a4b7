"""Cost of inverse-Dirichlet weighting over fixed weights, per Adam step, on viscous Burgers.

Run from the repository root::

    python benchmarks/bench_id_overhead.py           # 8x20 tanh, 10,000 points, 60 chunks x 10 steps per config
    python benchmarks/bench_id_overhead.py --quick   # 1,000 points, 20 chunks (under a minute)

The problem is examples/burgers.pde (four terms: pde, ic, left, right). Each configuration has its own Trainer from the
same seed (same initial net, same points); chunks of ``--chunk`` Adam steps (``Trainer.adam_step``: losses, weighting,
backward, update) are timed with the configurations interleaved in a shuffled order every round, so machine noise
hits all alike; the table reports the median time per step over chunks. Configurations:

- ``fixed``: constant weights, one backward pass per step;
- ``id/10``: inverse Dirichlet updated every 10 steps (the default): on update steps, one ``autograd.grad`` per term
  combined into the step's gradient, no further backward pass;
- ``id/1``: inverse Dirichlet updated every step;
- ``max_avg/10``: learning-rate annealing every 10 steps.

Target (the issue): ``id/10`` within 5% of ``fixed``. The table is printed and written to
benchmarks/results/id_overhead.md.
"""

from __future__ import annotations

import argparse
import platform
import random
import statistics
import tempfile
import time
from pathlib import Path

import torch
from _report import write_result  # benchmarks/ is on sys.path when run as a script

from pdec.compiler.driver import compile as compile_spec
from pdec.train.trainer import Trainer

ROOT = Path(__file__).resolve().parent.parent
CONFIGS = {
    "fixed": {"weighting": "fixed"},
    "id/10": {"weighting": "inverse_dirichlet", "update_every": 10},
    "id/1": {"weighting": "inverse_dirichlet", "update_every": 1},
    "max_avg/10": {"weighting": "max_avg", "update_every": 10},
}


def make_trainers(compiled, interior: int, folder: Path) -> dict[str, Trainer]:
    """One trainer per configuration, all from the same seed (same initial net, same points)."""
    base = compiled.problem.settings
    trainers = {}
    for name, overrides in CONFIGS.items():
        settings = base.replace(layers=[20] * 8, interior=interior, **overrides)
        trainers[name] = Trainer(compiled, settings, folder / name.replace("/", "-"), quiet=True, plots=False)
    return trainers


def timed_chunk(trainer: Trainer, steps: int) -> float:
    """Run ``steps`` more Adam steps; return seconds per step."""
    started = time.perf_counter()
    for _ in range(steps):
        trainer.state.step += 1
        trainer.adam_step(trainer.state.step)
    return (time.perf_counter() - started) / steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chunk", type=int, default=10, help="steps per timed chunk (one ID update each at /10)")
    parser.add_argument("--rounds", type=int, default=60, help="timed chunks per configuration")
    parser.add_argument("--interior", type=int, default=10000)
    parser.add_argument("--threads", type=int, default=1, help="torch threads (1 is fastest on a shared 2-core box)")
    parser.add_argument("--quick", action="store_true", help="1,000 points, 20 rounds")
    args = parser.parse_args()
    if args.quick:
        args.rounds, args.interior = 20, 1000
    torch.set_num_threads(args.threads)
    compiled = compile_spec(ROOT / "examples" / "burgers.pde")
    times: dict[str, list[float]] = {name: [] for name in CONFIGS}
    order = list(CONFIGS)
    rng = random.Random(0)
    with tempfile.TemporaryDirectory() as tmp:
        trainers = make_trainers(compiled, args.interior, Path(tmp))
        for trainer in trainers.values():
            timed_chunk(trainer, 10)  # warm up (allocator, first update step)
        for _ in range(args.rounds):
            rng.shuffle(order)
            for name in order:
                times[name].append(timed_chunk(trainers[name], args.chunk))
    base = statistics.median(times["fixed"])
    lines = [
        f"# Inverse-Dirichlet overhead (Burgers, 8x20 tanh, {args.interior} collocation points; median over"
        f" {args.rounds} interleaved chunks of {args.chunk} Adam steps)",
        "",
        f"machine: {platform.processor() or platform.machine()}, torch {torch.__version__}, "
        f"{torch.get_num_threads()} thread(s), {time.strftime('%Y-%m-%d %H:%M')}",
        "",
        "| weighting | ms / step | vs fixed |",
        "|---|---:|---:|",
    ]
    for name in CONFIGS:
        t = statistics.median(times[name])
        lines.append(f"| {name} | {t * 1e3:.2f} | {t / base:.3f}x |")
    overhead = statistics.median(times["id/10"]) / base - 1
    lines += ["", f"inverse Dirichlet (default update period) overhead: {overhead * 100:+.1f}% (target <= 5%)"]
    text = "\n".join(lines)
    print(text)
    write_result("id_overhead", text, args.quick)


if __name__ == "__main__":
    main()
