"""``pdec check``'s start-up: its wall time against importing sympy, numpy and lark, measured side by side.

Run from the repository root::

    python benchmarks/bench_check.py                 # examples/burgers.pde, 10 rounds
    python benchmarks/bench_check.py --rounds 20 --spec examples/heat.pde

Each round runs two fresh processes in alternating order: ``python -c "import sympy, numpy, lark"`` (the floor: what
any check must import) and ``python -m pdec check SPEC``. The table gives the medians and their ratio (issue #28:
at most 2), and the modules ``pdec check`` imports that the floor does not, by their own import time
(``python -X importtime``). Writes benchmarks/results/check.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path

from _report import write_result  # benchmarks/ is on sys.path when run as a script

ROOT = Path(__file__).resolve().parent.parent
FLOOR = [sys.executable, "-c", "import sympy, numpy, lark"]


def wall(command: list[str]) -> float:
    """Seconds a fresh process takes to run ``command`` from the repository root (it must succeed)."""
    start = time.perf_counter()
    subprocess.run(command, cwd=ROOT, capture_output=True, check=True)
    return time.perf_counter() - start


def heaviest(spec: str, count: int = 8) -> list[tuple[str, float]]:
    """The packages whose modules ``pdec check`` spends the most time importing beyond the floor (seconds, self time
    summed over each package's modules, minus the floor's, one ``-X importtime`` run each)."""

    def imported(command: list[str]) -> dict[str, float]:
        done = subprocess.run([command[0], "-X", "importtime", *command[1:]], cwd=ROOT, capture_output=True, text=True)
        out: dict[str, float] = {}
        for line in done.stderr.splitlines():
            if line.startswith("import time:") and line.count("|") == 2:
                own, _, name = line[len("import time:") :].split("|")
                if own.strip().isdigit():
                    package = name.strip().split(".")[0]
                    out[package] = out.get(package, 0.0) + int(own) / 1e6
        return out

    floor = imported(FLOOR)
    check = imported([sys.executable, "-m", "pdec", "check", spec])
    extra = {k: v - floor.get(k, 0.0) for k, v in check.items()}
    return sorted(extra.items(), key=lambda kv: -kv[1])[:count]


def main() -> None:
    """Alternate the two commands over rounds; write the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--spec", default="examples/burgers.pde")
    args = parser.parse_args()
    check = [sys.executable, "-m", "pdec", "check", args.spec]
    load = os.getloadavg()[0]
    times: dict[str, list[float]] = {"floor": [], "check": []}
    for r in range(args.rounds):
        for name in ("floor", "check") if r % 2 == 0 else ("check", "floor"):
            times[name].append(wall(FLOOR if name == "floor" else check))
        print(f"round {r + 1}: floor {times['floor'][-1]:.3f} s, check {times['check'][-1]:.3f} s", flush=True)
    floor, checked = statistics.median(times["floor"]), statistics.median(times["check"])
    lines = [
        f"{time.strftime('%Y-%m-%d')}: `pdec check {args.spec}` against `import sympy, numpy, lark`, fresh processes "
        f"alternating, {args.rounds} rounds (median); {os.cpu_count()} cores ({platform.machine()}), load average "
        f"{load:.1f} at the start, Python {platform.python_version()}, torch {metadata.version('torch')} (installed; "
        "`pdec check` does not import it).",
        "",
        "| command | seconds | ratio |",
        "|---|---:|---:|",
        f"| `python -c \"import sympy, numpy, lark\"` | {floor:.3f} | 1.00 |",
        f"| `python -m pdec check {args.spec}` | {checked:.3f} | {checked / floor:.2f} |",
        "",
        "Where `pdec check` spends its import time beyond the floor (one `-X importtime` run each; a package's",
        "modules' own times summed, the floor's subtracted):",
        "",
        "| package | seconds |",
        "|---|---:|",
        *(f"| {name} | {seconds:.3f} |" for name, seconds in heaviest(args.spec)),
    ]
    print(write_result("check", "\n".join(lines)).read_text())


if __name__ == "__main__":
    main()
