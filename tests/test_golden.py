"""Golden training trajectories: every loss, weight, unknown and error of 50-step runs, to 1e-12 (relative).

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
        return a == b or abs(a - b) <= 1e-12 * max(abs(a), abs(b))
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
