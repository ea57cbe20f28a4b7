"""The generated code is pinned by golden files: ``tests/golden/emit/NAME.py`` is ``pdec emit`` of a spec under the
default forward-mode lowering, ``NAME.autograd.py`` under ``lowering = autograd``.

Regenerate with ``PDEC_UPDATE_GOLDEN=1 pytest tests/test_codegen.py`` and review the diff.
"""

import os
from pathlib import Path

import pytest

from pdec.compiler.driver import compile as compile_spec
from pdec.compiler.driver import emit

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = Path(__file__).parent / "golden" / "emit"
SPECS = {
    "heat": ROOT / "examples" / "heat.pde",  # a time-dependent equation, an ic and a two-face bc, exact solution
    "burgers_inverse": ROOT / "examples" / "burgers_inverse.pde",  # unknowns and a data set
    "kovasznay": ROOT / "examples" / "kovasznay.pde",  # several fields
    "poisson_periodic_1d": ROOT / "benchmarks" / "specs" / "deepxde" / "poisson_periodic_1d.pde",  # periodic
    "euler_beam": ROOT / "benchmarks" / "specs" / "deepxde" / "euler_beam.pde",  # fourth order, point conditions
}


@pytest.mark.parametrize("lowering", ["forward", "autograd"])
@pytest.mark.parametrize("name", sorted(SPECS))
def test_generated_code_matches_golden(name, lowering):
    source = emit(compile_spec(SPECS[name], lowering=lowering))
    golden = GOLDEN / (f"{name}.py" if lowering == "forward" else f"{name}.{lowering}.py")
    if os.environ.get("PDEC_UPDATE_GOLDEN"):
        golden.write_text(source, encoding="utf-8")
    assert source == golden.read_text(encoding="utf-8")
    assert str(ROOT) not in source, "the generated code names the spec by its file name only"
