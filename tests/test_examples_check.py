"""Every example spec checks cleanly, and its symbolic form is pinned by a golden file.

The golden file of ``examples/NAME.pde`` is ``tests/golden/examples/NAME.txt``: the ``describe()`` text, then the
``srepr`` of every residual (equations, condition pieces, periodic expressions) and exact solution.
Regenerate with ``PDEC_UPDATE_GOLDEN=1 pytest tests/test_examples_check.py`` and review the diff.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import sympy

import pdec
from pdec.language.display import describe
from pdec.language.problem import Periodic

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = sorted((ROOT / "examples").glob("*.pde"))
GOLDEN = Path(__file__).parent / "golden" / "examples"
UPDATE = os.environ.get("PDEC_UPDATE_GOLDEN") == "1"

# examples whose warnings are expected (inverse problems lean on data instead of initial/boundary conditions)
EXPECTED_WARNINGS = {"burgers_inverse": 2, "burgers_discovery": 2}


def symbolic_form(problem: pdec.Problem) -> str:
    lines = [describe(problem), "", "residuals:"]
    for eq in problem.equations:
        lines.append(f"pde:{eq.name} = {sympy.srepr(eq.residual)}")
    for c in problem.conditions:
        if isinstance(c, Periodic):
            lines += [f"bc:{c.name} in {c.variable} [{i}] = {sympy.srepr(e)}" for i, e in enumerate(c.exprs)]
        else:
            lines += [f"{c.kind}:{c.name} @ {_where(p)} = {sympy.srepr(p.residual)}" for p in c.pieces]
    for name, expr in (problem.exact or {}).items():
        lines.append(f"exact:{name} = {sympy.srepr(expr)}")
    return "\n".join(lines) + "\n"


def _where(piece) -> str:
    if piece.boundary is not None:  # a piece of a domain's boundary
        return piece.boundary
    return f"{piece.face.variable}={piece.face.value!r} ({piece.face.side})"


@pytest.fixture(scope="module")
def problems():
    cwd = os.getcwd()
    os.chdir(ROOT)
    try:
        return {p.stem: pdec.load(Path("examples") / p.name) for p in EXAMPLES}
    finally:
        os.chdir(cwd)


def test_there_are_examples():
    assert len(EXAMPLES) >= 10


@pytest.mark.parametrize("name", [p.stem for p in EXAMPLES])
def test_example_checks_cleanly(name, problems):
    problem = problems[name]
    assert problem.equations
    assert len(problem.warnings) == EXPECTED_WARNINGS.get(name, 0), [str(w) for w in problem.warnings]


@pytest.mark.parametrize("name", [p.stem for p in EXAMPLES])
def test_example_symbolic_form_is_golden(name, problems):
    text = symbolic_form(problems[name])
    golden = GOLDEN / f"{name}.txt"
    if UPDATE:
        golden.write_text(text, encoding="utf-8")
    assert golden.exists(), f"no golden file for {name}: run with PDEC_UPDATE_GOLDEN=1"
    assert text == golden.read_text(encoding="utf-8")


def test_cli_checks_every_example():
    from pdec.cli import main

    cwd = os.getcwd()
    os.chdir(ROOT)
    try:
        assert main(["check", *(f"examples/{p.name}" for p in EXAMPLES)]) == 0
    finally:
        os.chdir(cwd)


def test_known_examples_resolve_as_expected(problems):
    burgers = problems["burgers"]
    x, t = sympy.symbols("x t", real=True)
    u = sympy.Function("u", real=True)(x, t)
    nu = sympy.Symbol("nu", real=True)
    assert burgers.equations[0].residual == u.diff(t) + u * u.diff(x) - nu * u.diff(x, 2)
    assert burgers.term_names() == ("pde:burgers", "ic:initial", "bc:left", "bc:right")
    assert burgers.reference is not None and burgers.reference.fields == ("u",)
    wave = problems["wave"]
    assert [c.name for c in wave.conditions] == ["shape", "rest", "ends"]
    assert [p.face.value for p in wave.conditions[2].pieces] == [0.0, 1.0]
    lorenz = problems["lorenz_inverse"]
    assert [u.name for u in lorenz.unknowns] == ["sigma", "rho", "beta"]
    assert all(u.positive for u in lorenz.unknowns)
    assert lorenz.data[0].fields == ("x", "y", "z")


@pytest.mark.parametrize("name", [p.stem for p in EXAMPLES])
def test_example_latex(name, problems):
    from pdec.language.display import latex

    text = latex(problems[name])
    assert text.startswith("$$\\begin{aligned}") and text.endswith("\\end{aligned}$$")
    assert text.count("\\\\") == len(problems[name].equations) + len(problems[name].conditions) - 1


def test_the_readme_shows_examples_burgers_as_it_is():
    """The README's spec is the file its first command trains (comments and blank lines aside)."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = readme.split("# Viscous Burgers equation (examples/burgers.pde)\n", 1)[1].split("```", 1)[0]

    def lines(text: str) -> list[str]:
        return [line.rstrip() for line in text.splitlines() if line.strip() and not line.startswith("#")]

    assert lines(block) == lines((ROOT / "examples" / "burgers.pde").read_text(encoding="utf-8"))
