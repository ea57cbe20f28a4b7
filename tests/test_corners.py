"""Exact conditions where faces meet (pdec.compiler.constraints.boolean_sum, corners): the network's part stays bounded.

A field ``u = G + D * N`` with exact conditions on several faces: for a smooth solution whose conditions agree at the
corners, ``N = (u - G) / D`` must stay bounded into every corner (``G`` the Boolean sum of the faces' values; the
inverse-distance blend used before made ``N`` grow like the inverse distance, 3e5 at 1e-6 from a corner here).
Where conditions disagree at a corner, ``pdec check`` says so and each condition still holds on its own face.
"""

from __future__ import annotations

import itertools
import math
import tempfile

import numpy as np
import pytest
import torch

import pdec
from pdec.compiler.constraints import CurvedPiece
from pdec.nn.networks import make_net
from pdec.train.sampling import region_points

LAPLACE = """var x in [0, 1]
var y in [0, 1]
field u(x, y)
eq: u_xx + u_yy = 0
bc left: u = sin(y) + 1 at x = 0 exact
bc right: u = exp(1)*sin(y) + y + 1 at x = 1 exact
bc bottom: u = 1 at y = 0 exact
bc top: u = exp(x)*sin(1) + x + 1 at y = 1 exact
exact: u = exp(x)*sin(y) + x*y + 1
"""

HEAT = """var x in [0, 1]
time t in [0, 1]
field u(x, t)
eq: u_t = u_xx
ic: u = sin(x + 1) + x + 2 exact
bc left: u = exp(-t)*sin(1) + 2 at x = 0 exact
bc right: u = exp(-t)*sin(2) + 3 at x = 1 exact
exact: u = exp(-t)*sin(x + 1) + x + 2
"""

BOX = """var x in [0, 1]
var y in [-1, 1]
var z in [0, 2]
field u(x, y, z)
eq: u_xx + u_yy + u_zz = 0
bc x0: u = exp(y)*cos(sqrt(2)*z) + 1 at x = 0 exact
bc x1: u = exp(1 + y)*cos(sqrt(2)*z) + y*z + 1 at x = 1 exact
bc y0: u = exp(x - 1)*cos(sqrt(2)*z) - x*z + 1 at y = -1 exact
bc y1: u = exp(x + 1)*cos(sqrt(2)*z) + x*z + 1 at y = 1 exact
bc z0: u = exp(x + y) + 1 at z = 0 exact
exact: u = exp(x + y)*cos(sqrt(2)*z) + x*y*z + 1
"""

LID = """var x in [0, 1]
var y in [0, 1]
field u(x, y), v(x, y)
eq: u_x + v_y = 0
eq: u_xx + u_yy = v
bc lid: u = 1 at y = 1 exact
bc walls: u = 0 on boundary(x) exact
bc bottom: u = 0 at y = 0 exact
bc still: v = 0 on boundary exact
"""

RAYS = (1e-1, 1e-2, 1e-3, 1e-4, 1e-5, 1e-6)


def _solution(compiled):
    return lambda x: compiled.exact(x)[:, :1]


def _network_part(compiled, points):
    """``N = (u - G) / D`` of the exact solution at ``points`` (``G``, ``D``: the constraints' factors)."""
    gs, ds = compiled.constraints.factors(points, 1)
    return (_solution(compiled)(points) - gs[0]) / ds[0]


def _rays(bounds, corner_faces, directions=3, smallest=1e-6):
    """Points at distance ``r`` (RAYS down to ``smallest``) from a corner, along ``directions`` rays into the box.

    ``corner_faces``: the columns the corner fixes, each at its ``lo`` or ``hi`` end; the other columns mid-way.
    """
    rng = np.random.default_rng(0)
    for ends in itertools.product((0, 1), repeat=len(corner_faces)):
        base = np.array([(lo + hi) / 2 for lo, hi in bounds])
        inward = np.zeros(len(bounds))
        for column, end in zip(corner_faces, ends, strict=True):
            base[column] = bounds[column][end]
            inward[column] = 1.0 if end == 0 else -1.0
        for _ in range(directions):
            direction = inward * (0.2 + rng.random(len(bounds)))
            direction /= np.linalg.norm(direction)
            for r in (r for r in RAYS if r >= smallest):
                yield base + r * direction


@pytest.mark.parametrize(
    "spec, corner_faces",
    [(LAPLACE, (0, 1)), (HEAT, (0,)), (BOX, (0, 1)), (BOX, (0, 2)), (BOX, (0, 1, 2))],
    ids=["laplace_2d", "heat_walls_and_initial_value", "box_edges_xy", "box_edges_xz", "box_corners"],
)
def test_the_network_part_stays_bounded_into_every_corner(spec, corner_faces):
    compiled = pdec.compile(spec, dtype="float64")
    bounds = [compiled.bounds[v] for v in compiled.variables]
    if spec is HEAT:  # the corners (x, t) = (0 or 1, 0): the initial value's face is t = 0
        points = [p for p in _rays(bounds, (0, 1)) if p[1] < 0.5]
    else:  # where three faces meet, D ~ r^3: below r = 1e-4 the round-off of G (1e-16 |u|) over D takes over
        points = list(_rays(bounds, corner_faces, smallest=1e-4 if len(corner_faces) == 3 else 1e-6))
    n = _network_part(compiled, torch.tensor(np.array(points)))
    assert torch.isfinite(n).all()
    assert float(n.abs().max()) < 10, float(n.abs().max())  # the inverse-distance blend: 3e5 (2-D, r = 1e-6)


@pytest.mark.parametrize("spec", [LAPLACE, HEAT, BOX, LID], ids=["laplace_2d", "heat", "box", "lid"])
def test_each_condition_holds_on_its_face_to_round_off(spec):
    compiled = pdec.compile(spec, dtype="float64", layers=[8, 8])
    net = make_net(compiled, compiled.settings, torch.device("cpu"), torch.float64)
    constraints = compiled.constraints
    bounds = dict(compiled.bounds)
    for i, piece in enumerate(constraints.pieces):
        assert not isinstance(piece, CurvedPiece)
        face = {compiled.variables[piece.column]: piece.value}
        x = torch.as_tensor(region_points(200, bounds, face, "random", i, None))
        wanted = constraints.values(x)[:, i]
        got = net(x)[:, piece.field].detach()
        assert float((got - wanted).abs().max()) <= 1e-12 * (1 + float(wanted.abs().max())), piece


def test_the_construction_is_the_boolean_sum_of_the_faces_values():
    """Laplace: ``G = P_x g + P_y g - P_x P_y g``, written out by hand."""
    compiled = pdec.compile(LAPLACE, dtype="float64")
    x = torch.rand(50, 2, dtype=torch.float64)
    X, Y = x[:, :1], x[:, 1:]
    e = math.e
    left, right = torch.sin(Y) + 1, e * torch.sin(Y) + Y + 1
    bottom, top = torch.ones_like(X), torch.exp(X) * math.sin(1) + X + 1
    corners = (1 - X) * (1 - Y) * 1 + X * (1 - Y) * 1 + (1 - X) * Y * (math.sin(1) + 1) + X * Y * (e * math.sin(1) + 2)
    want = (1 - X) * left + X * right + (1 - Y) * bottom + Y * top - corners
    gs, ds = compiled.constraints.factors(x, 1)
    assert torch.allclose(gs[0], want, rtol=1e-13, atol=1e-13)
    assert torch.allclose(ds[0], X * (1 - X) * Y * (1 - Y), rtol=1e-13, atol=0)
    assert compiled.constraints.construction([0, 1, 2, 3]) == "sum" and not compiled.constraints.disagree


def test_one_expression_on_every_face_is_taken_everywhere():
    spec = LAPLACE.split("bc left")[0] + "bc walls: u = exp(x)*sin(y) + x*y + 1 on boundary exact\n"
    compiled = pdec.compile(spec, dtype="float64")
    x = torch.rand(20, 2, dtype=torch.float64)
    gs, _ = compiled.constraints.factors(x, 1)
    assert compiled.constraints.construction(range(4)) == "same"
    assert torch.equal(gs[0], torch.exp(x[:, :1]) * torch.sin(x[:, 1:]) + x[:, :1] * x[:, 1:] + 1)


def test_disagreeing_corners_are_stated_by_pdec_check(tmp_path, capsys):
    from pdec.cli import main

    problem = pdec.load(LID)
    messages = [w.message for w in problem.warnings]
    assert len(messages) == 2, messages
    assert "lid and walls" in messages[0] and "corner x = 0, y = 1" in messages[0]
    assert "u = 1 against u = 0" in messages[0]
    assert "corner x = 1, y = 1" in messages[1]
    path = tmp_path / "lid.pde"
    path.write_text(LID)
    assert main(["check", str(path)]) == 0
    err = capsys.readouterr().err
    assert err.count("warning: exact conditions lid and walls") == 2 and "mean of the two values" in err


def test_agreeing_corners_give_no_warning():
    for spec in (LAPLACE, HEAT, BOX, LID.replace("u = 1 at y = 1", "u = 4*x*(1 - x) at y = 1")):
        assert not pdec.load(spec).warnings


def test_a_disagreeing_corner_keeps_each_condition_on_its_face_and_the_mean_at_the_corner():
    compiled = pdec.compile(LID, dtype="float64")
    constraints = compiled.constraints
    assert constraints.disagree == {(0, 1), (0, 2)}  # the lid with each wall
    points = torch.tensor(
        [[1e-9, 1.0], [0.5, 1.0], [1 - 1e-9, 1.0], [0.0, 1 - 1e-9], [1.0, 1 - 1e-9], [0.0, 1.0], [1.0, 1.0]],
        dtype=torch.float64,
        requires_grad=True,
    )
    gs, _ = constraints.factors(points, 2)
    u = gs[0][:, 0]
    assert torch.allclose(u[:3], torch.ones(3, dtype=torch.float64), rtol=0, atol=1e-15)  # on the lid
    assert torch.equal(u[3:5], torch.zeros(2, dtype=torch.float64))  # on the walls, just below the lid
    assert torch.equal(u[5:], torch.full((2,), 0.5, dtype=torch.float64))  # the corners themselves: the mean
    (grad,) = torch.autograd.grad(u.sum(), points)
    assert torch.isfinite(grad).all()


def test_windows_carry_the_initial_value_with_exact_walls():
    """With time windows, window k's initial value (window k - 1's solution) meets the walls where they agree."""
    compiled = pdec.compile(HEAT + "train:\n  windows = 2\n", dtype="float64", layers=[8, 8])
    with tempfile.TemporaryDirectory() as tmp:
        result = pdec.fit(compiled, adam=20, lbfgs=0, interior=64, out=tmp + "/run", quiet=True, plots=False)
    walls = np.array([[0.0, 0.2], [0.0, 0.7], [1.0, 0.5], [1.0, 0.9]])
    want = np.exp(-walls[:, 1]) * np.sin(walls[:, 0] + 1) + walls[:, 0] + 2
    assert np.abs(result.predict(walls)[:, 0] - want).max() < 1e-12


def test_the_face_by_face_laplace_problem_trains_like_the_whole_boundary():
    """Measured: 6.5e-7 error, 7.0e-8 equation loss at fresh points (the inverse-distance blend: 1.6e-5 and 0.32)."""
    compiled = pdec.compile(LAPLACE, dtype="float64", layers=[20, 20, 20])
    with tempfile.TemporaryDirectory() as tmp:
        result = pdec.fit(compiled, adam=500, lbfgs=300, interior=512, seed=0, out=tmp + "/run", quiet=True,
                          plots=False)
    fresh = torch.as_tensor(np.random.default_rng(1).random((2048, 2)))
    residual = compiled.evaluate(result.net, {"interior": fresh})
    fresh_loss = float(sum((r.detach() ** 2).mean() for r in residual.values()))
    assert result.metrics["errors"]["u"] < 3e-6
    assert fresh_loss < 1e-5


PERIODIC_IC = """var x in [-1, 1]
time t in [0, 1]
field u(x, t)
eq: u_t - 0.0001*u_xx + 5*u^3 - 5*u = 0
ic: u = {ic} exact
periodic: u, u_x in x exact
"""


@pytest.mark.parametrize(
    ("ic", "order", "values"),
    [
        ("x^2 * cos(pi*x)", 1, (2.0, -2.0)),  # the Allen-Cahn initial value: equal values, slopes 2 and -2
        ("x", 0, (-1.0, 1.0)),
        ("x*(x^2 - 1)^2", 2, (-8.0, 8.0)),  # value and slope 0 at both ends; second derivative -8 and 8
    ],
)
def test_an_exact_value_that_is_not_periodic_in_an_exactly_periodic_variable_is_stated(ic, order, values):
    from pdec.language.corners import seams

    found = list(seams(pdec.load(PERIODIC_IC.format(ic=ic))))
    assert len(found) == 1
    assert found[0].order == order and found[0].values == pytest.approx(values)
    assert f"x = -1 and {values[1]:g} at the other end" in found[0].message


def test_a_periodic_exact_value_gives_no_seam_warning():
    for ic in ("cos(pi*x)", "sin(pi*x)^2 + 1", "0.5"):
        assert not pdec.load(PERIODIC_IC.format(ic=ic)).warnings
    # not exact: nothing is built into the network, so nothing to state
    assert not pdec.load(PERIODIC_IC.format(ic="x^2 * cos(pi*x)").replace(" exact\nperiodic", "\nperiodic")).warnings


def test_a_slope_jump_in_the_initial_value_gives_a_seam_where_only_the_value_is_exactly_periodic():
    from pdec.language.corners import seam_variables

    value_only = PERIODIC_IC.replace("periodic: u, u_x in x exact", "periodic: u in x exact")
    for exact in (" exact", ""):  # the initial value exact or a loss term: the solution carries the jump either way
        problem = pdec.load(value_only.format(ic="x^2 * cos(pi*x)").replace(" exact\nperiodic", exact + "\nperiodic"))
        assert seam_variables(problem) == ("x",)
        assert not problem.warnings  # the network carries the slope jump: nothing to warn about
    assert seam_variables(pdec.load(PERIODIC_IC.format(ic="x^2 * cos(pi*x)"))) == ()  # u_x listed: equal slopes
    assert seam_variables(pdec.load(value_only.format(ic="cos(pi*x)"))) == ()  # nothing jumps
    found = pdec.load(value_only.format(ic="x"))  # a value jump: no network carries it
    assert seam_variables(found) == () and len(found.warnings) == 1
