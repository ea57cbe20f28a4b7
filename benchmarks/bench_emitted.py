"""One Adam step of the generated residual code at a git revision against today's, interleaved in one process.

For each spec, ``pdec emit`` writes the residual module twice: with the code at ``--against REV`` (a git worktree)
and with today's. One process loads both, builds one network and one draw of the spec's points, checks that the two
modules give the same residuals, and times full Adam steps (residuals, mean squares, backward, fused Adam) of each in
turn, ``--reps`` rounds of ``--steps`` steps, so that a busy machine slows both alike. Reports the median time per
step and the ratio, today's over REV's, and the tensor operations one step dispatches with each (a count no busy
machine moves).

    python benchmarks/bench_emitted.py --against 093c3b2~1            # the specs below; results/emitted.md
    python benchmarks/bench_emitted.py --against HEAD~3 --specs examples/heat.pde
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
from _report import RESULTS, read_jsonl, write_result  # noqa: E402
from bench_examples import worktree  # noqa: E402 - benchmarks/ is on sys.path as a script

LOG = RESULTS / "emitted.jsonl"
SPECS = [
    "benchmarks/specs/deepxde/diffusion_1d.pde",  # the equation on 40 interior, 20 wall and 10 initial points
    "benchmarks/specs/deepxde/poisson_neumann_1d.pde",
    "benchmarks/specs/deepxde/ode_system.pde",
    "benchmarks/specs/deepxde/euler_beam.pde",
    "benchmarks/specs/deepxde/poisson_periodic_1d.pde",
    "examples/heat.pde",
    "examples/kovasznay.pde",
]


def emit(tree: Path, spec: Path, out: Path) -> None:
    """``pdec emit`` of ``spec`` with the code in ``tree``."""
    subprocess.run([sys.executable, "-m", "pdec", "emit", str(spec), "-o", str(out)], cwd=tree, check=True,
                   capture_output=True)  # fmt: skip


def load(path: Path, name: str):  # noqa: ANN201 - a generated module
    """The generated module at ``path``."""
    found = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(found)
    found.loader.exec_module(module)
    return module


def time_steps(spec: Path, old: Path, new: Path, steps: int, reps: int) -> dict:
    """Milliseconds per Adam step with each module (medians over ``reps`` interleaved rounds), and their residuals'
    largest difference."""  # noqa: D205, D209
    import torch

    import pdec
    from pdec.nn.networks import make_net
    from pdec.train.sampling import make_sampler

    torch.set_num_threads(1)
    compiled = pdec.compile(spec)
    modules = [load(old, "before").residuals, load(new, "today").residuals]
    net = make_net(compiled, compiled.settings, torch.device("cpu"), torch.float32)
    sampler = make_sampler(compiled, compiled.settings)
    points = {k: torch.tensor(v, dtype=torch.float32) for k, v in sampler.draw(0).items()}
    targets = {k: torch.tensor(v, dtype=torch.float32) for k, v in sampler.targets().items()}
    theta = compiled.unknowns.values()
    a, b = (f(net, points, theta, targets) for f in modules)
    assert list(a) == list(b), (list(a), list(b))
    difference = max(float((a[k] - b[k]).abs().max()) for k in a)
    adam = torch.optim.Adam(net.parameters(), lr=1e-4, fused=True)

    def step(residuals) -> None:  # noqa: ANN001
        for p in net.parameters():
            p.grad = None
        found = residuals(net, points, theta, targets)
        sum(r.pow(2).mean() for r in found.values()).backward()
        adam.step()

    operations = [count_operations(lambda f=f: step(f)) for f in modules]
    times: list[list[float]] = [[], []]
    for f in modules:
        for _ in range(max(steps // 10, 3)):
            step(f)
    for _ in range(reps):
        for i, f in enumerate(modules):
            started = time.perf_counter()
            for _ in range(steps):
                step(f)
            times[i].append((time.perf_counter() - started) / steps * 1e3)
    before, today = (statistics.median(t) for t in times)
    found = {"before_ms": before, "today_ms": today, "ratio": today / before, "largest_difference": difference}
    return found | {"before_operations": operations[0], "today_operations": operations[1]}


def count_operations(step) -> int:  # noqa: ANN001 - a callable
    """The tensor operations (ATen calls, forward and backward and the update) one call of ``step`` dispatches."""
    from torch.utils._python_dispatch import TorchDispatchMode

    class Count(TorchDispatchMode):
        calls = 0

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):  # noqa: ANN001, ANN204
            Count.calls += 1
            return func(*args, **(kwargs or {}))

    with Count():
        step()
    return Count.calls


def report() -> None:
    """results/emitted.md from the log."""
    lines = [
        "# The generated residual code against an earlier revision's",
        "",
        "`python benchmarks/bench_emitted.py --against REV`: one process per spec loads both modules, builds one "
        "network and one draw of the spec's points, and times full Adam steps (residuals, mean squares, backward, "
        "fused Adam) of each in turn; medians of the rounds; one torch thread, float32. Ratio: today's over REV's.",
        "",
        "| date | machine | spec | REV | today | ms per step, REV | today | ratio | operations a step, REV | today | "
        "largest residual difference |",
        "|---|---|---|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in read_jsonl(LOG):
        counts = f"{r['before_operations']} | {r['today_operations']}" if "today_operations" in r else " | "
        lines.append(
            f"| {r['date']} | {r['machine']} | {r['spec']} | {r['against']} | {r['today']} | {r['before_ms']:.3f} | "
            f"{r['today_ms']:.3f} | {r['ratio']:.3f} | {counts} | {r['largest_difference']:.1e} |"
        )
    write_result("emitted", "\n".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--against", help="the git revision to compare with")
    parser.add_argument("--specs", nargs="+", default=SPECS)
    parser.add_argument("--steps", type=int, default=200, help="steps a round (the large examples take fewer)")
    parser.add_argument("--reps", type=int, default=7)
    parser.add_argument("--report", action="store_true", help="only rewrite results/emitted.md")
    parser.add_argument("--one", nargs=4, help=argparse.SUPPRESS)  # child: spec, old module, new module, steps
    args = parser.parse_args()
    if args.one:
        spec, old, new, steps = args.one
        print("RESULT " + json.dumps(time_steps(Path(spec), Path(old), Path(new), int(steps), args.reps)))
        return
    if not args.report:
        run(args)
    report()


def run(args: argparse.Namespace) -> None:
    """Emit each spec at REV and today, time them in a child process each, append the rows to the log."""
    rev = subprocess.run(["git", "rev-parse", "--short", args.against], cwd=ROOT, check=True, capture_output=True,
                         text=True).stdout.strip()  # fmt: skip
    today = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, check=True, capture_output=True,
                           text=True).stdout.strip()  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        try:
            earlier = worktree(args.against, Path(tmp))
            for spec in args.specs:
                old, new = Path(tmp) / "before.py", Path(tmp) / "today.py"
                emit(earlier, ROOT / spec, old)
                emit(ROOT, ROOT / spec, new)
                big = "examples/" in spec  # thousands of points: fewer steps a round
                steps = max(args.steps // 10, 10) if big else args.steps
                child = [sys.executable, __file__, "--reps", str(args.reps), "--one", str(ROOT / spec), str(old),
                         str(new), str(steps)]  # fmt: skip
                done = subprocess.run(child, capture_output=True, text=True, check=True)
                found = json.loads(done.stdout.strip().splitlines()[-1].removeprefix("RESULT "))
                row = {"date": time.strftime("%Y-%m-%d %H:%M"), "machine": machine(), "spec": spec}
                row |= {"against": rev, "today": today + "+" if dirty() else today} | found
                with LOG.open("a") as f:
                    f.write(json.dumps(row) + "\n")
                print(f"{spec}: {found['ratio']:.3f} ({found['before_ms']:.3f} -> {found['today_ms']:.3f} ms)")
        finally:
            subprocess.run(["git", "worktree", "prune"], cwd=ROOT, check=False)


def machine() -> str:
    """The CPU's model name (Linux's /proc/cpuinfo) and its cores, or the architecture."""
    import os

    info = Path("/proc/cpuinfo")
    lines = info.read_text().splitlines() if info.is_file() else []
    names = [line.split(":", 1)[1].strip() for line in lines if line.startswith("model name")]
    return f"{names[0]}, {os.cpu_count()} cores" if names else platform.machine()


def dirty() -> bool:
    """Whether the code differs from HEAD (then today's is HEAD plus changes: marked ``+``); results do not count."""
    found = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "--", ".", ":!benchmarks/results"],
                           cwd=ROOT, capture_output=True, text=True)  # fmt: skip
    return bool(found.stdout.strip())


if __name__ == "__main__":
    main()
