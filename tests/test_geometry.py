"""Geometry: shapes, exact normals against finite differences of their implicit forms, measures, boundary pieces."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.special
import sympy

from pdec import geometry
from pdec.geometry import Ball, Box, Combination, Ellipse, Polygon, domain_of, sobol

X, Y, Z = (sympy.Symbol(n, real=True) for n in "xyz")
R = sympy.Rational

DISK = Ball("disk", "d", (R(1, 5), R(-1, 10), R(1, 2)), centre=(0.2, -0.1), radius=0.5)
BALL = Ball("ball", "b", (R(1, 10), 0, R(-1, 5), R(3, 10)), centre=(0.1, 0.0, -0.2), radius=0.3)
ELLIPSE = Ellipse("ellipse", "e", (R(1, 10), R(1, 5), R(1, 2), R(1, 4)), centre=(0.1, 0.2), axes=(0.5, 0.25))
TRIANGLE = [(0.0, 0.0), (1.0, 0.2), (0.3, 0.9)]
POLYGON = Polygon("polygon", "p", tuple(sympy.nsimplify(c) for v in TRIANGLE for c in v), vertices=tuple(TRIANGLE))
CLOCKWISE = Polygon(
    "polygon", "q", tuple(sympy.nsimplify(c) for v in TRIANGLE[::-1] for c in v), vertices=tuple(TRIANGLE[::-1])
)
BOX = Box("box", "r", (), lo=(-1.0, 0.0, 2.0), hi=(1.0, 0.5, 3.0), variables=("x", "y", "z"))


def implicit(shape, k):
    """A function negative inside and zero on segment ``k`` (the shape's implicit form near that segment)."""
    if isinstance(shape, Ball):
        return lambda p: np.sum((p - np.array(shape.centre)) ** 2, axis=1) - shape.radius**2
    if isinstance(shape, Ellipse):
        return lambda p: np.sum(((p - np.array(shape.centre)) / np.array(shape.axes)) ** 2, axis=1) - 1
    if isinstance(shape, Polygon):
        (x0, y0), (x1, y1) = shape.edges()[k]
        s = shape.orientation
        return lambda p: s * ((p[:, 0] - x0) * (y1 - y0) - (p[:, 1] - y0) * (x1 - x0))
    axis, side = divmod(k, 2)
    return lambda p: (p[:, axis] - shape.hi[axis]) if side else (shape.lo[axis] - p[:, axis])


def finite_difference_normal(f, p, h=1e-6):
    grad = np.stack([(f(p + h * e) - f(p - h * e)) / (2 * h) for e in np.eye(p.shape[1])], axis=1)
    return grad / np.linalg.norm(grad, axis=1, keepdims=True)


@pytest.mark.parametrize("shape", [DISK, BALL, ELLIPSE, POLYGON, CLOCKWISE, BOX], ids=lambda s: s.label)
def test_normals_match_finite_differences_of_the_implicit_form(shape):
    symbols = (X, Y, Z)[: shape.dim]
    for k, segment in enumerate(shape.segments()):
        p = shape.on_segment(k, sobol(64, segment.dim, seed=3))
        f = implicit(shape, k)
        np.testing.assert_allclose(f(p), 0, atol=1e-12)  # the points lie on the segment
        expected = finite_difference_normal(f, p)
        normal = sympy.lambdify(symbols, list(shape.normal(k, symbols)), "numpy")(*p.T)
        symbolic = np.stack([np.broadcast_to(np.asarray(n, dtype=float), len(p)) for n in normal], axis=1)
        np.testing.assert_allclose(symbolic, expected, atol=1e-7)
        np.testing.assert_allclose(shape.normal_at(k, p), expected, atol=1e-7)


def test_measures():
    assert DISK.segments()[0].measure == pytest.approx(math.pi)
    assert BALL.segments()[0].measure == pytest.approx(4 * math.pi * 0.09)
    a, b = 0.5, 0.25
    assert ELLIPSE.segments()[0].measure == pytest.approx(4 * a * scipy.special.ellipe(1 - b**2 / a**2), rel=1e-12)
    assert [s.measure for s in POLYGON.segments()] == pytest.approx(
        [math.dist(TRIANGLE[k], TRIANGLE[(k + 1) % 3]) for k in range(3)]
    )
    assert [s.measure for s in BOX.segments()] == pytest.approx([0.5, 0.5, 2.0, 2.0, 1.0, 1.0])
    assert POLYGON.volume() == pytest.approx(0.5 * abs(1.0 * 0.9 - 0.2 * 0.3))
    assert BALL.volume() == pytest.approx(4 / 3 * math.pi * 0.027)


@pytest.mark.parametrize("shape", [DISK, ELLIPSE, BALL], ids=lambda s: s.label)
def test_points_on_a_curve_are_uniform_in_length(shape):
    """Equal steps of the parameter give equal arc lengths (or, on a sphere, equal areas by Archimedes)."""
    if shape.dim == 3:
        z = shape.on_segment(0, sobol(4096, 2))[:, 2]
        counts, _ = np.histogram(z, bins=8, range=(-0.5, 0.1))
        assert counts.min() > 0.9 * counts.max()
        return
    p = shape.on_segment(0, np.linspace(0, 1, 2001)[:, None])
    steps = np.linalg.norm(np.diff(p, axis=0), axis=1)
    np.testing.assert_allclose(steps, steps.mean(), rtol=1e-3)
    assert steps.sum() == pytest.approx(shape.segments()[0].measure, rel=1e-6)


def test_a_polygon_that_crosses_itself_is_found():
    assert geometry.crossing_edges([(0, 0), (1, 1), (1, 0), (0, 1)]) == (0, 2)
    assert geometry.crossing_edges(TRIANGLE) is None
    assert geometry.crossing_edges([(0, 0), (2, 0), (2, 2), (1, 0), (0, 2)]) is not None  # a vertex on an edge


def square(label="s", lo=(-1.0, -1.0), hi=(1.0, 1.0)):
    return Box("rectangle", label, (), lo=lo, hi=hi, variables=("x", "y"))


def disk(label, centre, radius):
    exact = (*(sympy.nsimplify(c) for c in centre), sympy.nsimplify(radius))
    return Ball("disk", label, exact, centre=centre, radius=radius)


def test_a_hole_flips_its_normal_and_keeps_its_whole_circle():
    domain = domain_of("plate", Combination("difference", square(), disk("hole", (0.2, 0.1), 0.3)), ("x", "y"))
    hole = domain.piece("hole")
    assert hole.sign == -1 and hole.fraction == 1.0 and hole.measure == pytest.approx(0.6 * math.pi)
    p = hole.points(sobol(16, 1))
    np.testing.assert_allclose(hole.normal_at(p), -(p - [0.2, 0.1]) / 0.3)  # into the hole: out of the plate
    assert [p.label for p in domain.pieces] == ["s:x=-1", "s:x=1", "s:y=-1", "s:y=1", "hole"]
    assert domain.volume == pytest.approx(4 - 0.09 * math.pi, rel=1e-14) and domain.exact_volume  # inside: exact


def test_a_notch_keeps_only_the_parts_on_the_boundary():
    """A disk centred on the right edge: half its circle and the edge outside it remain."""
    domain = domain_of("notched", Combination("difference", square(), disk("notch", (1.0, 0.0), 0.5)), ("x", "y"))
    notch, edge = domain.piece("notch"), domain.piece("s:x=1")
    assert notch.fraction == pytest.approx(0.5, abs=2e-3)
    assert edge.measure == pytest.approx(1.0, abs=2e-3)
    p = notch.points(sobol(256, 1))
    kept = domain.on_boundary(notch, p)
    assert np.all(p[kept, 0] <= 1.0 + 1e-12) and np.all(p[~kept, 0] >= 1.0 - 1e-12)


def test_union_and_intersection_keep_the_outer_arcs():
    a, b = disk("a", (0.0, 0.0), 1.0), disk("b", (1.0, 0.0), 1.0)
    union = domain_of("u", Combination("union", a, b), ("x", "y"))
    assert [p.fraction for p in union.pieces] == pytest.approx([2 / 3, 2 / 3], abs=2e-3)  # outside the other disk
    lens = domain_of("l", Combination("intersection", a, b), ("x", "y"))
    assert [p.fraction for p in lens.pieces] == pytest.approx([1 / 3, 1 / 3], abs=2e-3)
    assert all(p.sign == 1 for p in lens.pieces)
    assert lens.volume == pytest.approx(2 * math.pi / 3 - math.sqrt(3) / 2, rel=2e-3)


def test_a_hole_inside_a_removed_hole_is_not_on_the_boundary():
    root = Combination(
        "difference", Combination("difference", square(), disk("big", (0.0, 0.0), 0.5)), disk("small", (0, 0), 0.2)
    )
    domain = domain_of("d", root, ("x", "y"))
    assert "small" not in [p.label for p in domain.pieces]


def test_the_volume_of_a_single_shape_is_exact():
    assert geometry.volume(DISK) == (pytest.approx(0.25 * math.pi), True)


def estimate(node):
    """The quasi-Monte Carlo estimate the volume falls back on, for comparison with the exact value."""
    lo, hi = node.bounds()
    return float(np.mean(node.contains(lo + sobol(2**18, len(lo)) * (hi - lo))) * np.prod(hi - lo))


def minus(*parts):
    root = parts[0]
    for part in parts[1:]:
        root = Combination("difference", root, part)
    return root


HOLES = [disk(f"h{k}", c, 0.1) for k, c in enumerate([(0.3, 0.3), (-0.3, 0.3), (0.3, -0.3), (-0.3, -0.3)])]
STEP = Box("rectangle", "step", (), lo=(0.0, 0.0), hi=(0.5, 0.5), variables=("x", "y"))
CHANNEL = Box("rectangle", "channel", (), lo=(0.0, 0.0), hi=(4.0, 1.0), variables=("x", "y"))
NESTED = minus(square(), disk("big", (0.0, 0.0), 0.5), disk("small", (0.0, 0.0), 0.2))
CUBE = Box("box", "c", (), lo=(-1.0, -1.0, -1.0), hi=(1.0, 1.0, 1.0), variables=("x", "y", "z"))
TRI = Polygon("polygon", "t", (), vertices=((-1.0, -1.0), (1.0, -1.0), (0.0, 1.0)))


@pytest.mark.parametrize(
    "node, expected",
    [
        (minus(square(lo=(-0.5, -0.5), hi=(0.5, 0.5)), *HOLES), 1 - 4 * 0.01 * math.pi),  # PINNacle's Poisson2d-C
        (minus(CHANNEL, STEP), 4 - 0.25),  # a step in the channel's corner: it touches two edges
        (Combination("union", DISK, disk("far", (5.0, 5.0), 1.0)), 1.25 * math.pi),  # apart
        (Combination("union", square(), disk("in", (0.5, 0.5), 0.2)), 4.0),  # one inside the other
        (Combination("intersection", square(), disk("in", (0.5, 0.5), 0.2)), 0.04 * math.pi),
        (Combination("difference", disk("d", (0.0, 0.0), 0.2), square(lo=(1.0, 1.0), hi=(2.0, 2.0))), 0.04 * math.pi),
        (NESTED, 4 - 0.25 * math.pi),  # the small hole lies in the removed big one
        (minus(CUBE, BALL), 8 - 4 / 3 * math.pi * 0.027),
        (minus(TRI, disk("inc", (0.0, -0.2), 0.3)), 2 - 0.09 * math.pi),  # a disk inside a triangle's edges
    ],
    ids=[
        "plate-holes",
        "channel-step",
        "apart",
        "nested-union",
        "nested-intersection",
        "apart-difference",
        "hole-in-hole",
        "cube-ball",
        "triangle-disk",
    ],
)
def test_nested_or_disjoint_combinations_have_exact_volumes(node, expected):
    value, exact = geometry.volume(node)
    assert exact and value == pytest.approx(expected, rel=1e-12)
    assert estimate(node) == pytest.approx(expected, rel=1e-2)  # the shapes' membership agrees


@pytest.mark.parametrize(
    "node",
    [
        Combination("union", disk("a", (0.0, 0.0), 1.0), disk("b", (1.0, 0.0), 1.0)),  # overlapping
        Combination("difference", square(), disk("edge", (1.0, 0.0), 0.5)),  # a notch: half the disk is outside
        minus(TRI, disk("out", (0.0, -0.8), 0.3)),  # the disk crosses the triangle's base
        minus(
            Polygon("polygon", "l", (), vertices=((0, 0), (2, 0), (2, 1), (1, 1), (1, 2), (0, 2))),
            square(lo=(0.2, 0.2), hi=(0.6, 0.6)),
        ),  # inside, but the L is not convex: not proven, so estimated
    ],
    ids=["overlap", "notch", "crossing", "non-convex"],
)
def test_partly_overlapping_combinations_fall_back_to_the_estimate(node):
    value, exact = geometry.volume(node)
    assert not exact and value == pytest.approx(estimate(node), rel=2e-2)


def test_accepted_draws_a_longer_sequence_until_enough_pass():
    calls = []

    def draw(m):
        calls.append(m)
        return sobol(m, 1)

    rows, unit = geometry.accepted(100, draw, lambda u: u[:, 0] < 0.01, 0.5, 2**20)
    assert len(rows) >= 100 and np.all(unit[rows, 0] < 0.01)
    assert calls[0] == 256 and all(b == 2 * a for a, b in zip(calls, calls[1:], strict=False))
    assert geometry.accepted(100, draw, lambda u: u[:, 0] < 0, 0.5, 1024) is None


@pytest.mark.parametrize("sign", [1.0, -1.0], ids=["outer", "hole"])
@pytest.mark.parametrize("axes", [(0.5, 0.25), (0.2, 0.6), (0.4, 0.4)], ids=["wide", "tall", "circle"])
def test_the_ellipse_distance_is_normalised_to_first_order_at_every_angle(axes, sign):
    """``|grad d| = 1`` on the ellipse, ``grad d`` the inward (for a hole: outward) normal; smooth at the centre."""
    import torch

    from pdec.compiler.constraints import CurvedPiece

    centre = (0.1, -0.2)
    distance = geometry.Distance("ellipse", centre, axes, sign)
    angles = np.linspace(0, 2 * math.pi, 13)[:-1]  # every 30 degrees: the axes' ends and between them
    p = np.array(centre) + np.stack([axes[0] * np.cos(angles), axes[1] * np.sin(angles)], axis=1)
    np.testing.assert_allclose(distance(p), 0, atol=1e-15)
    h = 1e-6
    grad = np.stack([(distance(p + h * e) - distance(p - h * e)) / (2 * h) for e in np.eye(2)], axis=1)
    np.testing.assert_allclose(np.linalg.norm(grad, axis=1), 1, rtol=1e-6)
    normal = (p - np.array(centre)) / np.array(axes) ** 2
    normal /= np.linalg.norm(normal, axis=1, keepdims=True)
    np.testing.assert_allclose(grad, -sign * normal, atol=1e-6)
    assert distance(np.array([centre])) == pytest.approx(sign * max(axes) / 2)  # finite at the centre
    inside = np.array(centre) + 0.9 * (p - np.array(centre))
    assert np.all(sign * distance(inside) > 0)
    far = np.array(centre) + 50 * (p - np.array(centre))  # outside: finite, of the other sign
    assert np.all(np.isfinite(distance(far))) and np.all(sign * distance(far) < 0)
    piece = CurvedPiece("bc:b", 0, (0, 1), distance)  # the torch distance is the same function
    x = torch.as_tensor(np.vstack([p, inside, far]), dtype=torch.float64)
    np.testing.assert_allclose(piece.distance(x)[:, 0].numpy(), distance(x.numpy()), rtol=1e-12, atol=1e-15)
    if axes[0] == axes[1]:  # a circle: the ball's distance
        ball = geometry.Distance("ball", centre, axes, sign)
        np.testing.assert_allclose(distance(x.numpy()), ball(x.numpy()), rtol=1e-12, atol=1e-15)
