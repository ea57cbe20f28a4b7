"""Golden training trajectories: every loss, weight, unknown and error of 50-step runs, to 1e-9 (relative).

The runs are float64; 1e-9 leaves room for the last bits that differ between CPUs (summation order) and still catches
any change to the method, which moves these numbers by far more.

Regenerate with ``OMP_NUM_THREADS=1 python tests/golden/make_goldens.py`` (see that file).
"""

import json
import math
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent / "golden"))
from make_goldens import CASES, golden_path, trajectory  # noqa: E402


def _close(a, b):
    if isinstance(a, float) and isinstance(b, float):
        if math.isnan(a) or math.isnan(b):
            return math.isnan(a) and math.isnan(b)
        return a == b or abs(a - b) <= 1e-9 * max(abs(a), abs(b))
    return a == b


@pytest.mark.parametrize("name", list(CASES))
def test_trajectory_unchanged(name):
    expected = json.loads(golden_path(name).read_text())
    found = json.loads(json.dumps(trajectory(name)))
    assert len(found) == len(expected)
    for step, (row, want) in enumerate(zip(found, expected, strict=True)):
        assert row.keys() == want.keys(), f"row {step}"
        bad = {k: (row[k], want[k]) for k in want if not _close(row[k], want[k])}
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
