"""Point conditions: `bc pin: u = c at x = 0, y = 0` (a corner or any point of the box)."""

from __future__ import annotations

import math

import pytest
import torch

from pdec.compiler.driver import compile
from pdec.language.display import describe, latex
from pdec.language.frontend import load, parse_spec, read
from pdec.language.syntax import AtPoint, unparse
from pdec.train.sampling import Sampler

NEUMANN = """\
var x in [0, 1]
var y in [0, 1]
field u(x, y)
eq: lap(u) = -2*pi^2*cos(pi*x)*cos(pi*y)
bc walls: dn(u) = 0 on boundary
bc pin: u = 1.5 at x = 0, y = 0
exact: u = cos(pi*x)*cos(pi*y) + 0.5
"""


def parse_text(text: str):
    return parse_spec(read(text))


def test_a_point_parses_and_prints_back():
    spec = parse_text(NEUMANN)
    pin = spec.statements[-2]
    assert isinstance(pin.location, AtPoint)
    assert [i.variable.name for i in pin.location.items] == ["x", "y"]
    assert unparse(pin) == "bc pin: u = 1.5 at x = 0, y = 0"
    assert unparse(parse_text(unparse(spec))) == unparse(spec)


def test_a_point_is_one_isolated_row_with_its_hand_derived_residual():
    compiled = compile(NEUMANN.replace("1.5 at x = 0, y = 0", "x*y + 2 at x = 0.25, y = 1"), dtype="float64")
    term = compiled.terms["bc:pin"]
    assert term.isolated and not compiled.terms["bc:walls"].isolated
    (where,) = term.point_sets
    assert dict(compiled.point_sets[where].region) == {"x": 0.25, "y": 1.0}
    points = Sampler(compiled, compiled.settings).draw(0)
    assert points[where].shape == (1, 2)
    assert points[where].tolist() == [[0.25, 1.0]]

    def net(X):  # u = x^2 + 3y: at (0.25, 1) the residual is u - (x*y + 2) = 0.0625 + 3 - 2.25
        return X[:, :1] ** 2 + 3 * X[:, 1:2]

    residual = compiled.evaluate(net, {where: torch.tensor([[0.25, 1.0]], dtype=torch.float64)})["bc:pin"]
    assert residual.shape == (1, 1)
    assert float(residual) == pytest.approx(0.0625 + 3 - 2.25, abs=1e-12)


def test_dn_at_a_point_on_one_face_uses_that_face_normal():
    problem = load(
        NEUMANN.replace("bc pin: u = 1.5", "bc flux: dn(u) = 0").replace("0, y = 0", "0, y = 0.5")
        + "bc pin: u = 1.5 at x = 0, y = 0\n"
    )
    (piece,) = next(c for c in problem.conditions if c.name == "flux").pieces
    assert piece.region == {"x": 0.0, "y": 0.5}
    assert str(piece.residual) == "-Derivative(u(x, y), x)"


def test_a_point_is_sampled_as_one_row_whatever_the_count():
    compiled = compile(NEUMANN + "train:\n  points.pin = 4\n")
    (where,) = compiled.terms["bc:pin"].point_sets
    assert Sampler(compiled, compiled.settings).draw(0)[where].tolist() == [[0.0, 0.0]]


def test_check_shows_the_point():
    problem = load(NEUMANN)
    assert "bc pin: u = 3/2  at point (x = 0, y = 0)" in describe(problem)
    assert "x = 0,\\ y = 0" in latex(problem)


def test_a_point_in_space_stays_a_line_in_time():
    spec = (
        "var x in [0, 1]\nvar y in [0, 1]\ntime t in [0, 1]\nfield u(x, y, t)\neq: u_t = lap(u)\n"
        "ic: u = 0\nbc: dn(u) = 0 on boundary\nbc pin: u = 0 at x = 0.5, y = 0.5\n"
    )
    compiled = compile(spec)
    assert not compiled.terms["bc:pin"].isolated  # x and y fixed, t free: a line in time
    (where,) = compiled.terms["bc:pin"].point_sets
    assert dict(compiled.point_sets[where].region) == {"x": 0.5, "y": 0.5}
    compiled = compile(spec.replace("bc pin: u = 0 at x = 0.5", "ic pin: u = 1 at t = 0, x = 0.5"))
    assert compiled.terms["ic:pin"].isolated


def test_pure_neumann_pinned_at_a_corner_reaches_the_exact_solution(tmp_path):
    from pdec import fit

    torch.set_num_threads(1)
    spec = NEUMANN + (
        "train:\n  layers = [24, 24]\n  interior = 256\n  boundary = 64\n  adam = 500\n  lr = 5e-3\n"
        "  lbfgs = 300\n  seed = 0\n"
    )
    result = fit(compile(spec), out=tmp_path / "run", quiet=True, plots=False)
    assert result.metrics["weights"]["bc:pin"] == 1.0
    assert result.metrics["errors"]["u"] < 5e-2
    x = torch.linspace(0, 1, 5, dtype=torch.float64)
    grid = torch.cartesian_prod(x, x).numpy()
    exact = torch.cos(math.pi * torch.tensor(grid[:, 0])) * torch.cos(math.pi * torch.tensor(grid[:, 1])) + 0.5
    assert abs(result.predict(grid)[:, 0] - exact.numpy()).max() < 0.1  # the constant is the pinned one
