"""Golden training trajectories: every loss, weight, unknown and error of 50-step runs, to 1e-5 (relative) or 1e-8 of
the largest value the quantity takes in the run.

The runs are float64. The last bits that differ between CPUs (summation order, the BLAS's kernels) grow along a
trajectory: on an AMD EPYC the goldens written on an Intel CPU differ by up to 2e-6 (relative) after 47 steps, in the
loss of a condition at one point once it has fallen to 3.6e-7 (6.9e-13 in absolute terms, where that loss started
near 6e-2), and by 1.4e-6 in a weight that divides by such a loss. The tolerance leaves room for that and still
catches any change to the method, which moves these numbers by far more.

Regenerate with ``OMP_NUM_THREADS=1 python tests/golden/make_goldens.py`` (see that file).
"""

import json
import math
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent / "golden"))
from make_goldens import CASES, golden_path, trajectory  # noqa: E402


def _close(a, b, scale):
    if isinstance(a, float) and isinstance(b, float):
        if math.isnan(a) or math.isnan(b):
            return math.isnan(a) and math.isnan(b)
        return a == b or abs(a - b) <= 1e-5 * max(abs(a), abs(b)) + 1e-8 * scale
    return a == b


def _scales(rows):
    """Each quantity's largest magnitude over the run (0 for one that is not a number)."""
    return {k: max((abs(r[k]) for r in rows if isinstance(r[k], float) and math.isfinite(r[k])), default=0.0)
            for k in rows[0]}


@pytest.mark.parametrize("name", list(CASES))
def test_trajectory_unchanged(name):
    expected = json.loads(golden_path(name).read_text())
    found = json.loads(json.dumps(trajectory(name)))
    assert len(found) == len(expected)
    scales = _scales(expected)
    for step, (row, want) in enumerate(zip(found, expected, strict=True)):
        assert row.keys() == want.keys(), f"row {step}"
        bad = {k: (row[k], want[k]) for k in want if not _close(row[k], want[k], scales.get(k, 0.0))}
        assert not bad, f"{name}, row {step}: {bad}"


@pytest.mark.parametrize("name", ["forward_heat", "point_conditions_euler_beam", "weighting_relobralo"])
def test_forward_mode_follows_the_autograd_trajectory(name):
    """50 steps with the forward mode (float64) stay on the autograd run's losses to 1e-6 (relative)."""
    forward = trajectory(name, "forward", dtype="float64")
    autograd = trajectory(name, "autograd", dtype="float64")
    for step, (row, want) in enumerate(zip(forward, autograd, strict=True)):
        for key in (k for k in want if k.startswith("loss")):
            a, b = row[key], want[key]
            assert abs(a - b) <= 1e-6 * max(abs(a), abs(b), 1e-300), f"{name}, row {step}, {key}: {a} != {b}"
