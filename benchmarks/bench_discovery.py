"""Equation discovery: the terms kept and the coefficients found, against the truth.

Run from the repository root (one torch thread per run)::

    python benchmarks/bench_discovery.py burgers --seeds 0 1 2 --noise 0 0.01   # examples/burgers_discovery.pde
    python benchmarks/bench_discovery.py fisher --seeds 0 1 2 --noise 0 0.01    # benchmarks/specs/fisher_discovery.pde

Burgers: readings of examples/data/burgers_shock.mat (Raissi et al. 2019); truth u_t = -u*u_x + (0.01/pi)*u_xx.
Fisher-KPP: readings of examples/data/fisher.npz (examples/data/make_fisher.py: scipy BDF, method of lines); truth
u_t = 0.1*u_xx + u - u^2. The seed draws the 2,000 readings and their noise, and seeds the network. A row passes when
exactly the true terms are kept and every coefficient is within ``--tolerance`` (1% clean, 5% noisy by default).
Tables are printed and written to benchmarks/results/discovery_<case>.md.
"""

from __future__ import annotations

import argparse
import math
import platform
import tempfile
import time
from pathlib import Path

import torch
from _report import write_result  # benchmarks/ is on sys.path when run as a script

from pdec import fit
from pdec.compiler.driver import compile as compile_spec

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"

# case -> (the equation's name, truth: candidate as written -> coefficient)
CASES = {
    "burgers": ("burgers", {"u*u_x": -1.0, "u_xx": 0.01 / math.pi}),
    "fisher": ("fisher", {"u_xx": 0.1, "u": 1.0, "u^2": -1.0}),
}


def spec_text(case: str, seed: int, noise: float) -> str:
    """The case's spec with an absolute data path, the readings' seed and noise, and the network's seed."""
    if case == "burgers":
        text = (EXAMPLES / "burgers_discovery.pde").read_text()
        text = text.replace('"data/burgers_shock.mat"', f'"{EXAMPLES / "data" / "burgers_shock.mat"}"')
    else:
        text = (ROOT / "benchmarks" / "specs" / "fisher_discovery.pde").read_text()
        text = text.replace('"DATA"', f'"{EXAMPLES / "data" / "fisher.npz"}"')
    return text.replace("sample 2000 seed 1234", f"sample 2000 seed {seed} noise {noise}")


def row(case: str, seed: int, noise: float, result, seconds: float, tolerance: float) -> str:
    """A markdown row: noise, seed, terms kept, each true coefficient's value and error, rounds, pass, seconds."""
    equation, truth = CASES[case]
    found = result.discovery[equation]
    kept = {t.term: t for t in found.kept}
    errors = {k: abs(kept[k].value - v) / abs(v) if k in kept else math.inf for k, v in truth.items()}
    cells = [f"{k} = {kept[k].value:.6g} ({100 * e:.3g}%)" if k in kept else f"{k} dropped" for k, e in
             errors.items()]
    exact = set(kept) == set(truth)
    ok = exact and max(errors.values()) <= tolerance
    spurious = ", ".join(sorted(set(kept) - set(truth))) or "none"
    rounds = len(result.discovery.rounds)
    return (f"| {noise:g} | {seed} | {', '.join(kept)} | spurious: {spurious} | " + " | ".join(cells)
            + f" | {rounds} | {'yes' if ok else 'no'} | {seconds:.0f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("case", choices=sorted(CASES))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--noise", type=float, nargs="+", default=[0.0, 0.01])
    args = parser.parse_args()
    torch.set_num_threads(1)
    lines = [f"# Equation discovery: {args.case}", "",
             f"machine: {platform.machine()}, 1 torch thread, torch {torch.__version__}; "
             f"{time.strftime('%Y-%m-%d %H:%M')}",
             "", "| noise | seed | kept | | true coefficients (relative error) | | | rounds | pass | seconds |",
             "|---|---:|---|---|---|---|---|---:|---|---:|"]
    for noise in args.noise:
        for seed in args.seeds:
            tolerance = 0.01 if noise == 0 else 0.05
            with tempfile.TemporaryDirectory() as tmp:
                started = time.perf_counter()
                compiled = compile_spec(spec_text(args.case, seed, noise), seed=seed)
                result = fit(compiled, out=Path(tmp) / "run", quiet=True, plots=False, vtu=False)
                lines.append(row(args.case, seed, noise, result, time.perf_counter() - started, tolerance))
            print(lines[-1], flush=True)
    write_result(f"discovery_{args.case}", "\n".join(lines))


if __name__ == "__main__":
    main()
