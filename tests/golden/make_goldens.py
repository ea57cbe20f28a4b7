"""Golden training trajectories: a few small runs, 50 Adam steps each, every history column but the wall time.

Regenerate (after a change meant to alter the numbers) with::

    OMP_NUM_THREADS=1 python tests/golden/make_goldens.py

``tests/test_golden.py`` reruns every case and compares each value to 1e-12 (relative).
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
OUT = HERE / "trajectories"

SMALL = dict(layers=[12, 12], interior=64, boundary=8, adam=50, lbfgs=0, eval_points=256, eval_every=10)

# name -> (spec path relative to the repository root, overrides)
CASES: dict[str, tuple[str, dict]] = {
    "forward_heat": ("examples/heat.pde", dict(SMALL, lbfgs=5)),
    "inverse_heat": ("examples/heat_inverse.pde", dict(SMALL, fit_unknowns=20)),
    "staged_heat": ("tests/golden/trajectories/staged.pde", dict(SMALL, resample=20, sampler="random")),
    "point_conditions_euler_beam": ("tests/golden/trajectories/euler_beam.pde", dict(SMALL, interior=16)),
}
WEIGHTINGS = ("inverse_dirichlet_grouped", "inverse_dirichlet", "fixed", "max_avg", "max_avg_unweighted", "relobralo")
for _w in WEIGHTINGS:
    CASES[f"weighting_{_w}"] = ("examples/poisson1d.pde", dict(SMALL, weighting=_w, update_every=3, alpha=0.5))


def trajectory(name: str, lowering: str = "autograd", **compile_options) -> list[dict]:
    """Train case ``name`` (one torch thread, quiet, no plots) and return its history rows without the wall time.

    The goldens pin the autograd lowering (nested backward passes) in float64; the forward mode agrees to round-off.
    float64 because float32 trajectories differ between CPUs in their last bits (the vector width changes the order
    of sums): goldens made on one machine failed on another at 5e-8 (relative) with the code unchanged.
    """
    compile_options.setdefault("dtype", "float64")
    import torch

    import pdec
    from pdec import fit

    torch.set_num_threads(1)
    path, overrides = CASES[name]
    compiled = pdec.compile(ROOT / path, lowering=lowering, **compile_options)
    with tempfile.TemporaryDirectory() as tmp:
        result = fit(compiled, out=Path(tmp) / "run", quiet=True, plots=False, **overrides)
    return [{k: v for k, v in row.items() if k != "time"} for row in result.history.rows]


def golden_path(name: str) -> Path:
    """The file holding case ``name``'s trajectory."""
    return OUT / f"{name}.json"


def main(names: list[str]) -> None:
    """Write the trajectories of ``names`` (every case when empty)."""
    for name in names or CASES:
        rows = trajectory(name)
        golden_path(name).write_text(json.dumps(rows, indent=1) + "\n")
        print(f"{name}: {len(rows)} rows", file=sys.stderr)


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main(sys.argv[1:])
