"""Geometry: shapes and their combinations -> membership, boundary pieces with exact normals, measures, points.

A domain is a tree of shapes (:class:`Box` for an interval, rectangle or box; :class:`Ball` for a disk or ball;
:class:`Ellipse`; :class:`Polygon`) joined by union, difference and intersection (:class:`Combination`). A shape's
boundary is a tuple of smooth segments (:class:`Segment`: an edge, a face, a circle), each with an exact outward
normal (sympy, for ``dn``; numpy, for the tests below), a measure, and a map from the unit cube onto it that is
uniform in arc length or area (for sampling).

:func:`domain_of` finds the pieces of a domain's boundary (:class:`BoundaryPiece`): each segment of each shape in the
tree, its normal flipped when the shape is subtracted, kept where it lies on the domain's boundary. A point ``p`` of a
segment with outward normal ``s * n`` (``s`` the flip) is on the boundary when ``p - eps s n`` is inside the domain
and ``p + eps s n`` is not; the fraction of a segment that passes this test is estimated with scrambled Sobol points.

Nothing here knows about spans or raises user errors: pdec/domains.py checks a spec's domains and reports.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import sympy
from scipy.stats import qmc

from pdec.errors import number

VOLUME_POINTS = 2**16  # scrambled Sobol points of a combination's volume estimate
SEGMENT_POINTS = 2**12  # points per segment for the fraction of it on the domain's boundary
EPS = 1e-7  # the offset of the on-boundary test, relative to the domain's diameter
ELLIPSE_TABLE = 4097  # angles of an ellipse's arc-length table


def sobol(n: int, dim: int, seed: int = 0) -> np.ndarray:
    """``n`` scrambled Sobol points in ``[0, 1]^dim`` (a fixed seed: estimates do not depend on the run)."""
    if dim == 0:
        return np.zeros((n, 0))
    try:
        engine = qmc.Sobol(dim, scramble=True, rng=np.random.default_rng(seed))
    except TypeError:  # scipy < 1.15
        engine = qmc.Sobol(dim, scramble=True, seed=np.random.default_rng(seed))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return engine.random(n)


@dataclass(frozen=True)
class Segment:
    """One smooth part of a shape's boundary.

    Attributes:
        suffix: what names it within its shape (``x=-0.5`` for a rectangle's edge, ``2`` for a polygon's second edge,
            ``""`` for the one curve of a disk or ellipse).
        what: the word for it (edge, face, circle, sphere, curve, end).
        measure: its length, area (or 1 for an end point of an interval).
        dim: the dimension of its parameters (``d - 1``).
        plane: ``(axis, value)`` when it lies in the plane ``x_axis = value`` (box faces, axis-aligned edges).
    """

    suffix: str
    what: str
    measure: float
    dim: int
    plane: tuple[int, float] | None = None


@dataclass(frozen=True)
class Shape:
    """A shape: its kind as written, its label (its domain name, or an automatic one) and parameters.

    ``exact`` holds the parameters as written (sympy numbers or constants), for the normals; subclasses hold floats.
    """

    kind: str
    label: str
    exact: tuple = field(repr=False, compare=False)
    names: tuple[str, ...] = ()

    @property
    def dim(self) -> int:
        """The dimension of the space it lives in."""
        raise NotImplementedError

    def contains(self, p: np.ndarray) -> np.ndarray:
        """Whether each point ``[N, d]`` is strictly inside."""
        raise NotImplementedError

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """Its bounding box ``(lo, hi)``."""
        raise NotImplementedError

    def volume(self) -> float:
        """Its area (2-D), volume (3-D) or length (1-D), exactly."""
        raise NotImplementedError

    def segments(self) -> tuple[Segment, ...]:
        """The smooth parts of its boundary."""
        raise NotImplementedError

    def on_segment(self, k: int, unit: np.ndarray) -> np.ndarray:
        """Points ``[N, d]`` of segment ``k`` from unit parameters ``[N, d - 1]`` (uniform in length or area)."""
        raise NotImplementedError

    def normal(self, k: int, symbols: Sequence[sympy.Symbol]) -> tuple[sympy.Expr, ...]:
        """The exact outward unit normal of segment ``k`` as sympy expressions of the coordinates ``symbols``."""
        raise NotImplementedError

    def normal_at(self, k: int, p: np.ndarray) -> np.ndarray:
        """The outward unit normal ``[N, d]`` of segment ``k`` at its points ``p``."""
        raise NotImplementedError


@dataclass(frozen=True)
class Box(Shape):
    """An interval, rectangle or box ``[lo_1, hi_1] x ... x [lo_d, hi_d]``; ``variables`` name its axes."""

    lo: tuple[float, ...] = ()
    hi: tuple[float, ...] = ()
    variables: tuple[str, ...] = ()

    @property
    def dim(self) -> int:
        """The dimension."""
        return len(self.lo)

    def contains(self, p: np.ndarray) -> np.ndarray:
        """Strictly inside every interval."""
        return np.all((p > np.array(self.lo)) & (p < np.array(self.hi)), axis=1)

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """The box itself."""
        return np.array(self.lo, dtype=float), np.array(self.hi, dtype=float)

    def volume(self) -> float:
        """The product of the side lengths."""
        return math.prod(hi - lo for lo, hi in zip(self.lo, self.hi, strict=True))

    def segments(self) -> tuple[Segment, ...]:
        """Two faces per axis (end points in 1-D, edges in 2-D), labelled ``x=lo``."""
        out = []
        what = {1: "end", 2: "edge"}.get(self.dim, "face")
        for axis, name in enumerate(self.variables):
            sides = [hi - lo for lo, hi in zip(self.lo, self.hi, strict=True)]
            others = math.prod(side for j, side in enumerate(sides) if j != axis)
            for value in (self.lo[axis], self.hi[axis]):
                out.append(Segment(f"{name}={number(value)}", what, others, self.dim - 1, (axis, float(value))))
        return tuple(out)

    def on_segment(self, k: int, unit: np.ndarray) -> np.ndarray:
        """The face's axis fixed, the others spread over their intervals."""
        axis, side = divmod(k, 2)
        lo, hi = self.bounds()
        out = np.empty((len(unit), self.dim))
        free = [j for j in range(self.dim) if j != axis]
        out[:, free] = lo[free] + unit * (hi[free] - lo[free])
        out[:, axis] = hi[axis] if side else lo[axis]
        return out

    def normal(self, k: int, symbols: Sequence[sympy.Symbol]) -> tuple[sympy.Expr, ...]:
        """``-e_axis`` on a lower face, ``+e_axis`` on an upper one."""
        axis, side = divmod(k, 2)
        return tuple(sympy.Integer((1 if side else -1) if j == axis else 0) for j in range(self.dim))

    def normal_at(self, k: int, p: np.ndarray) -> np.ndarray:
        """The constant normal, once per point."""
        axis, side = divmod(k, 2)
        out = np.zeros_like(p)
        out[:, axis] = 1.0 if side else -1.0
        return out


@dataclass(frozen=True)
class Ball(Shape):
    """A disk (2-D) or ball (3-D): ``|p - centre| < radius``."""

    centre: tuple[float, ...] = ()
    radius: float = 1.0

    @property
    def dim(self) -> int:
        """The dimension."""
        return len(self.centre)

    def contains(self, p: np.ndarray) -> np.ndarray:
        """Strictly inside the sphere."""
        return np.sum((p - np.array(self.centre)) ** 2, axis=1) < self.radius**2

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """The centre plus or minus the radius."""
        c = np.array(self.centre, dtype=float)
        return c - self.radius, c + self.radius

    def volume(self) -> float:
        """``pi r^2`` or ``4/3 pi r^3``."""
        return math.pi * self.radius**2 if self.dim == 2 else 4 / 3 * math.pi * self.radius**3

    def segments(self) -> tuple[Segment, ...]:
        """One circle (``2 pi r``) or sphere (``4 pi r^2``)."""
        if self.dim == 2:
            return (Segment("", "circle", 2 * math.pi * self.radius, 1),)
        return (Segment("", "sphere", 4 * math.pi * self.radius**2, 2),)

    def on_segment(self, k: int, unit: np.ndarray) -> np.ndarray:
        """The angle uniform on a circle; Archimedes' map (height and azimuth uniform) on a sphere."""
        if self.dim == 2:
            angle = 2 * math.pi * unit[:, 0]
            direction = np.stack([np.cos(angle), np.sin(angle)], axis=1)
        else:
            z = 1 - 2 * unit[:, 0]
            angle = 2 * math.pi * unit[:, 1]
            rho = np.sqrt(np.clip(1 - z * z, 0, None))
            direction = np.stack([rho * np.cos(angle), rho * np.sin(angle), z], axis=1)
        return np.array(self.centre) + self.radius * direction

    def normal(self, k: int, symbols: Sequence[sympy.Symbol]) -> tuple[sympy.Expr, ...]:
        """``(p - c) / r``: a unit vector on the sphere."""
        *centre, radius = self.exact
        return tuple((s - c) / radius for s, c in zip(symbols, centre, strict=True))

    def normal_at(self, k: int, p: np.ndarray) -> np.ndarray:
        """``(p - c) / |p - c|``."""
        offset = p - np.array(self.centre)
        return offset / np.linalg.norm(offset, axis=1, keepdims=True)


@functools.lru_cache(maxsize=64)
def _arc_table(a: float, b: float) -> tuple[np.ndarray, np.ndarray]:
    """The angles ``[M]`` and cumulative arc length ``[M]`` of the ellipse ``(a cos t, b sin t)``, t in [0, 2 pi]."""
    angle = np.linspace(0.0, 2 * math.pi, ELLIPSE_TABLE)
    speed = np.hypot(a * np.sin(angle), b * np.cos(angle))
    steps = (speed[1:] + speed[:-1]) / 2 * np.diff(angle)  # trapezoids: exponentially accurate for a periodic speed
    return angle, np.concatenate([[0.0], np.cumsum(steps)])


@dataclass(frozen=True)
class Ellipse(Shape):
    """An axis-aligned ellipse ``((x - cx) / a)^2 + ((y - cy) / b)^2 < 1``."""

    centre: tuple[float, float] = (0.0, 0.0)
    axes: tuple[float, float] = (1.0, 1.0)

    @property
    def dim(self) -> int:
        """Two."""
        return 2

    def contains(self, p: np.ndarray) -> np.ndarray:
        """Inside the implicit form."""
        return np.sum(((p - np.array(self.centre)) / np.array(self.axes)) ** 2, axis=1) < 1

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """The centre plus or minus the semi-axes."""
        c, a = np.array(self.centre, dtype=float), np.array(self.axes, dtype=float)
        return c - a, c + a

    def volume(self) -> float:
        """``pi a b``."""
        return math.pi * self.axes[0] * self.axes[1]

    def segments(self) -> tuple[Segment, ...]:
        """One curve; its perimeter from the arc-length table."""
        return (Segment("", "curve", float(_arc_table(*self.axes)[1][-1]), 1),)

    def on_segment(self, k: int, unit: np.ndarray) -> np.ndarray:
        """Uniform in arc length: the angle by inverting the arc-length table."""
        angle, length = _arc_table(*self.axes)
        t = np.interp(unit[:, 0] * length[-1], length, angle)
        (cx, cy), (a, b) = self.centre, self.axes
        return np.stack([cx + a * np.cos(t), cy + b * np.sin(t)], axis=1)

    def normal(self, k: int, symbols: Sequence[sympy.Symbol]) -> tuple[sympy.Expr, ...]:
        """The normalised gradient of the implicit form: ``((x - cx) / a^2, (y - cy) / b^2) / |...|``."""
        cx, cy, a, b = self.exact
        x, y = symbols
        gx, gy = (x - cx) / a**2, (y - cy) / b**2
        norm = sympy.sqrt(gx**2 + gy**2)
        return gx / norm, gy / norm

    def normal_at(self, k: int, p: np.ndarray) -> np.ndarray:
        """The same, numerically."""
        g = (p - np.array(self.centre)) / np.array(self.axes) ** 2
        return g / np.linalg.norm(g, axis=1, keepdims=True)


@dataclass(frozen=True)
class Polygon(Shape):
    """A simple polygon (vertices in either order); edge ``k`` runs from vertex ``k`` to vertex ``k + 1``."""

    vertices: tuple[tuple[float, float], ...] = ()

    @property
    def dim(self) -> int:
        """Two."""
        return 2

    @property
    def orientation(self) -> int:
        """+1 for counter-clockwise vertices, -1 for clockwise (the sign of the shoelace area)."""
        return 1 if signed_area(self.vertices) > 0 else -1

    def contains(self, p: np.ndarray) -> np.ndarray:
        """The even-odd rule: a ray to the right crosses the boundary an odd number of times."""
        x, y = p[:, 0], p[:, 1]
        inside = np.zeros(len(p), dtype=bool)
        for (x0, y0), (x1, y1) in self.edges():
            crosses = (y0 > y) != (y1 > y)
            with np.errstate(divide="ignore", invalid="ignore"):
                at = x0 + (y - y0) * (x1 - x0) / (y1 - y0)
            inside ^= crosses & (x < at)
        return inside

    def edges(self) -> list[tuple[tuple[float, float], tuple[float, float]]]:
        """The edges as vertex pairs."""
        v = self.vertices
        return [(v[k], v[(k + 1) % len(v)]) for k in range(len(v))]

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """The vertices' extent."""
        v = np.array(self.vertices, dtype=float)
        return v.min(axis=0), v.max(axis=0)

    def volume(self) -> float:
        """The shoelace formula."""
        return abs(signed_area(self.vertices))

    def segments(self) -> tuple[Segment, ...]:
        """One segment per edge, labelled by its number from 1; axis-aligned edges know their plane."""
        out = []
        for k, ((x0, y0), (x1, y1)) in enumerate(self.edges()):
            plane = (0, float(x0)) if x0 == x1 else (1, float(y0)) if y0 == y1 else None
            out.append(Segment(str(k + 1), "edge", math.hypot(x1 - x0, y1 - y0), 1, plane))
        return tuple(out)

    def on_segment(self, k: int, unit: np.ndarray) -> np.ndarray:
        """``v_k + u (v_{k+1} - v_k)``."""
        start, end = (np.array(v, dtype=float) for v in self.edges()[k])
        return start + unit[:, :1] * (end - start)

    def normal(self, k: int, symbols: Sequence[sympy.Symbol]) -> tuple[sympy.Expr, ...]:
        """The edge's direction turned outwards, ``(dy, -dx) / length`` for counter-clockwise vertices."""
        n = len(self.vertices)
        x0, y0, x1, y1 = (*self.exact[2 * k : 2 * k + 2], *self.exact[2 * ((k + 1) % n) : 2 * ((k + 1) % n) + 2])
        dx, dy = x1 - x0, y1 - y0
        length = sympy.sqrt(dx**2 + dy**2)
        return self.orientation * dy / length, -self.orientation * dx / length

    def normal_at(self, k: int, p: np.ndarray) -> np.ndarray:
        """The constant normal, once per point."""
        (x0, y0), (x1, y1) = self.edges()[k]
        n = self.orientation * np.array([y1 - y0, x0 - x1]) / math.hypot(x1 - x0, y1 - y0)
        return np.tile(n, (len(p), 1))


def signed_area(vertices: Sequence[tuple[float, float]]) -> float:
    """The shoelace area: positive for counter-clockwise vertices."""
    v = np.array(vertices, dtype=float)
    x, y = v[:, 0], v[:, 1]
    return 0.5 * float(np.sum(x * np.roll(y, -1) - np.roll(x, -1) * y))


def crossing_edges(vertices: Sequence[tuple[float, float]]) -> tuple[int, int] | None:
    """The first pair of non-adjacent edges that meet (0-based; a polygon that is not simple), or None."""
    v = [np.array(p, dtype=float) for p in vertices]
    n = len(v)
    for i in range(n):
        for j in range(i + 1, n):
            if j == i + 1 or (i == 0 and j == n - 1):
                continue
            if _segments_meet(v[i], v[(i + 1) % n], v[j], v[(j + 1) % n]):
                return i, j
    return None


def _segments_meet(a: np.ndarray, b: np.ndarray, c: np.ndarray, d: np.ndarray) -> bool:
    """Whether the closed segments ab and cd share a point."""

    def cross(o, p, q):
        return (p[0] - o[0]) * (q[1] - o[1]) - (p[1] - o[1]) * (q[0] - o[0])

    def between(o, p, q):  # q on the line through o and p: is it within the segment?
        return min(o[0], p[0]) <= q[0] <= max(o[0], p[0]) and min(o[1], p[1]) <= q[1] <= max(o[1], p[1])

    d1, d2, d3, d4 = cross(c, d, a), cross(c, d, b), cross(a, b, c), cross(a, b, d)
    if ((d1 > 0) != (d2 > 0)) and ((d3 > 0) != (d4 > 0)) and 0 not in (d1, d2, d3, d4):
        return True
    touching = ((d1, c, d, a), (d2, c, d, b), (d3, a, b, c), (d4, a, b, d))
    return any(value == 0 and between(o, p, q) for value, o, p, q in touching)


# ---------------------------------------------------------------------------------------------------- combinations

OPERATIONS = {"+": "union", "|": "union", "-": "difference", "&": "intersection"}


@dataclass(frozen=True)
class Combination:
    """``left op right``: op is ``union``, ``difference`` or ``intersection``; ``names`` are its domain names."""

    op: str
    left: Node
    right: Node
    names: tuple[str, ...] = ()

    @property
    def dim(self) -> int:
        """The dimension of its parts."""
        return self.left.dim

    def contains(self, p: np.ndarray) -> np.ndarray:
        """Membership by the set operation."""
        a, b = self.left.contains(p), self.right.contains(p)
        return {"union": a | b, "difference": a & ~b, "intersection": a & b}[self.op]

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """A box holding it: the union's, the left part's (a difference), or the overlap (an intersection)."""
        (alo, ahi), (blo, bhi) = self.left.bounds(), self.right.bounds()
        if self.op == "union":
            return np.minimum(alo, blo), np.maximum(ahi, bhi)
        if self.op == "difference":
            return alo, ahi
        return np.maximum(alo, blo), np.minimum(ahi, bhi)


Node = Shape | Combination


def named(node: Node, name: str) -> Node:
    """The node with one more domain name."""
    return dataclasses.replace(node, names=(*node.names, name))


def leaves(node: Node, sign: int = 1, names: tuple[str, ...] = ()) -> Iterator[tuple[Shape, int, tuple[str, ...]]]:
    """Every shape of the tree with its sign (-1 when subtracted an odd number of times) and enclosing names."""
    names = names + node.names
    if isinstance(node, Shape):
        yield node, sign, names
        return
    yield from leaves(node.left, sign, names)
    yield from leaves(node.right, -sign if node.op == "difference" else sign, names)


def volume(node: Node) -> tuple[float, bool]:
    """The area or volume of a tree and whether it is exact or a quasi-Monte Carlo estimate.

    Exact for a shape, and for a combination whose parts are provably nested or disjoint (:func:`exact_volume`: a
    plate minus holes inside it and apart, a channel minus a step); otherwise estimated.
    """
    exact = exact_volume(node)
    if exact is not None:
        return exact, True
    lo, hi = node.bounds()
    if np.any(hi <= lo):
        return 0.0, False
    points = lo + sobol(VOLUME_POINTS, len(lo)) * (hi - lo)
    return float(np.mean(node.contains(points)) * np.prod(hi - lo)), False


def exact_volume(node: Node) -> float | None:
    """The volume of a tree from its shapes' volumes when nesting or disjointness decides each set operation.

    ``B`` inside ``A``: ``A - B`` has ``|A| - |B|``; ``A`` and ``B`` apart: ``A + B`` has ``|A| + |B|``; and so on.
    None when some operation is not decided: the tests (:func:`inside`, :func:`apart`) are sufficient, not
    necessary, so parts that overlap partly, or whose relation they cannot prove, give None and the caller estimates.
    """
    if isinstance(node, Shape):
        return node.volume()
    a, b = exact_volume(node.left), exact_volume(node.right)
    if a is None or b is None:
        return None
    left, right = node.left, node.right
    if node.op == "union":
        return a + b if apart(left, right) else a if inside(right, left) else b if inside(left, right) else None
    if node.op == "difference":
        return a - b if inside(right, left) else a if apart(left, right) else 0.0 if inside(left, right) else None
    return b if inside(right, left) else a if inside(left, right) else 0.0 if apart(left, right) else None


def corners(lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """The ``2^d`` corners of the box ``[lo, hi]``."""
    return np.array([np.where(bits, hi, lo) for bits in np.ndindex(*([2] * len(lo)))], dtype=float)


def hull_points(node: Node) -> np.ndarray:
    """Points whose convex hull holds ``node``: a polygon's or box's vertices, else its bounding box's corners."""
    if isinstance(node, Polygon):
        return np.array(node.vertices, dtype=float)
    return corners(*node.bounds())


def in_closure(shape: Shape, p: np.ndarray) -> bool:
    """Whether every point of ``p`` lies in the closed shape (a relative 1e-12 of slack for round-off)."""
    lo, hi = shape.bounds()
    tol = 1e-12 * max(1.0, float(np.max(hi - lo)))
    if isinstance(shape, Box):
        return bool(np.all((p >= lo - tol) & (p <= hi + tol)))
    if isinstance(shape, Ball):
        return bool(np.all(np.linalg.norm(p - np.array(shape.centre), axis=1) <= shape.radius + tol))
    if isinstance(shape, Ellipse):
        q = (p - np.array(shape.centre)) / np.array(shape.axes)
        return bool(np.all(np.sum(q * q, axis=1) <= 1 + tol))
    return False


def convex(shape: Shape) -> bool:
    """Boxes, balls, ellipses, and polygons that turn one way at every vertex."""
    if not isinstance(shape, Polygon):
        return True
    v = np.array(shape.vertices, dtype=float)
    d = np.roll(v, -1, axis=0) - v
    turns = d[:, 0] * np.roll(d, -1, axis=0)[:, 1] - d[:, 1] * np.roll(d, -1, axis=0)[:, 0]
    return bool(np.all(turns >= 0) or np.all(turns <= 0))


def inside(b: Node, a: Node) -> bool:
    """A sufficient test of ``b`` lying in the closure of ``a``."""
    if isinstance(b, Combination):
        if b.op == "union":
            return inside(b.left, a) and inside(b.right, a)
        if b.op == "difference":
            return inside(b.left, a)
        return inside(b.left, a) or inside(b.right, a)
    if isinstance(a, Combination):
        if a.op == "union":
            return inside(b, a.left) or inside(b, a.right)
        if a.op == "difference":
            return inside(b, a.left) and apart(b, a.right)
        return inside(b, a.left) and inside(b, a.right)
    if isinstance(a, Ball) and isinstance(b, Ball):
        return float(np.linalg.norm(np.subtract(b.centre, a.centre))) + b.radius <= a.radius * (1 + 1e-12)
    if isinstance(a, Box) and not isinstance(b, Polygon):
        return in_closure(a, corners(*b.bounds()))  # a box holds a shape exactly when it holds its bounding box
    if isinstance(a, Polygon):
        if not convex(a):
            return False
        p = hull_points(b)
        v = np.array(a.vertices, dtype=float)
        e = np.roll(v, -1, axis=0) - v
        side = e[None, :, 0] * (p[:, None, 1] - v[None, :, 1]) - e[None, :, 1] * (p[:, None, 0] - v[None, :, 0])
        tol = 1e-12 * max(1.0, float(np.max(np.abs(v))))
        return bool(np.all(a.orientation * side >= -tol))
    return in_closure(a, hull_points(b))  # a convex shape holds the hull of points it holds


def apart(a: Node, b: Node) -> bool:
    """A sufficient test of ``a`` and ``b`` sharing no interior point."""
    for one, other in ((a, b), (b, a)):
        if isinstance(one, Combination):
            if one.op == "union":
                return apart(one.left, other) and apart(one.right, other)
            if one.op == "difference":
                return apart(one.left, other) or inside(other, one.right)
            return apart(one.left, other) or apart(one.right, other)
    if isinstance(a, Ball) and isinstance(b, Ball):
        return float(np.linalg.norm(np.subtract(a.centre, b.centre))) >= (a.radius + b.radius) * (1 - 1e-12)
    (alo, ahi), (blo, bhi) = a.bounds(), b.bounds()
    return bool(np.any((ahi <= blo) | (bhi <= alo)))  # bounding boxes at most touching


# ---------------------------------------------------------------------------------------------------- the domain


@dataclass(frozen=True)
class BoundaryPiece:
    """A piece of a domain's boundary: segment ``segment`` of ``shape``, the part of it on the boundary.

    Attributes:
        label: its name in point sets and displays (``hole``, ``rectangle:x=-0.5``, ``tri:2``).
        shape, segment: the shape and which segment of it.
        sign: +1 when the shape's outward normal points out of the domain, -1 when flipped (a hole).
        names: the domain names that hold it (what ``on boundary(NAME)`` selects).
        fraction: the fraction of the segment on the domain's boundary (1: all of it; else an estimate).
        measure: the length (area) of that part.
    """

    label: str
    shape: Shape = field(repr=False)
    segment: int
    sign: int
    names: frozenset[str]
    fraction: float
    measure: float

    @property
    def dim(self) -> int:
        """The dimension of its parameters."""
        return self.shape.segments()[self.segment].dim

    @property
    def what(self) -> str:
        """The word for its segment (edge, circle, ...)."""
        return self.shape.segments()[self.segment].what

    @property
    def plane(self) -> tuple[int, float] | None:
        """``(axis, value)`` when it lies in an axis-aligned plane."""
        return self.shape.segments()[self.segment].plane

    def points(self, unit: np.ndarray) -> np.ndarray:
        """Points of the whole segment from unit parameters (some may not be on the domain's boundary)."""
        return self.shape.on_segment(self.segment, unit)

    def normal(self, symbols: Sequence[sympy.Symbol]) -> tuple[sympy.Expr, ...]:
        """The outward unit normal of the domain on this piece, as sympy expressions of ``symbols``."""
        return tuple(self.sign * n for n in self.shape.normal(self.segment, symbols))

    def normal_at(self, p: np.ndarray) -> np.ndarray:
        """The outward unit normal of the domain at points ``p`` of this piece."""
        return self.sign * self.shape.normal_at(self.segment, p)


@dataclass(frozen=True)
class Subdomain:
    """A named domain of the spec, for display: its name, its expression as written, and its area or volume."""

    name: str
    text: str
    volume: float
    exact: bool


@dataclass(frozen=True)
class Domain:
    """The problem's domain: a tree of shapes over the spatial ``variables``, with its boundary pieces.

    ``volume`` is exact when ``exact_volume`` (a single shape), else a quasi-Monte Carlo estimate.
    """

    name: str
    root: Node = field(repr=False)
    variables: tuple[str, ...]
    pieces: tuple[BoundaryPiece, ...]
    volume: float
    exact_volume: bool
    text: str = ""
    subdomains: tuple[Subdomain, ...] = ()

    def contains(self, p: np.ndarray) -> np.ndarray:
        """Whether each point ``[N, d]`` (spatial columns) is inside."""
        return self.root.contains(np.asarray(p, dtype=float))

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """A box holding the domain."""
        return self.root.bounds()

    @property
    def fill(self) -> float:
        """The fraction of the bounding box the domain fills."""
        lo, hi = self.bounds()
        return self.volume / float(np.prod(hi - lo))

    def piece(self, label: str) -> BoundaryPiece:
        """The boundary piece called ``label``."""
        return next(p for p in self.pieces if p.label == label)

    def on_boundary(self, piece: BoundaryPiece, p: np.ndarray) -> np.ndarray:
        """Whether points ``p`` of ``piece``'s segment lie on the domain's boundary with the piece's normal."""
        return on_boundary(self.root, piece, p, self.eps)

    @property
    def eps(self) -> float:
        """The offset of the on-boundary test."""
        lo, hi = self.bounds()
        return EPS * float(np.linalg.norm(hi - lo))


def on_boundary(root: Node, piece: BoundaryPiece, p: np.ndarray, eps: float) -> np.ndarray:
    """Inside just behind the point (against the outward normal) and outside just in front of it."""
    if len(p) == 0:
        return np.zeros(0, dtype=bool)
    step = eps * piece.normal_at(p)
    return root.contains(p - step) & ~root.contains(p + step)


def domain_of(
    name: str, root: Node, variables: tuple[str, ...], text: str = "", subdomains: tuple[Subdomain, ...] = ()
) -> Domain:
    """The domain ``root`` with its boundary pieces: every shape's segments that lie (partly) on its boundary."""
    lo, hi = root.bounds()
    eps = EPS * float(np.linalg.norm(hi - lo))
    grouped: dict[tuple[str, int], tuple[Shape, frozenset[str]]] = {}
    for shape, sign, names in leaves(root):
        key = (shape.label, sign)
        previous = grouped.get(key, (shape, frozenset()))[1]
        grouped[key] = (shape, previous | set(names) | {shape.label})
    pieces = []
    for (label, sign), (shape, names) in grouped.items():
        flipped = (label, -sign) in grouped and sign < 0
        for k, segment in enumerate(shape.segments()):
            suffix = ":".join(s for s in (label, segment.suffix, "flipped" if flipped else "") if s)
            trial = BoundaryPiece(suffix, shape, k, sign, names, 1.0, segment.measure)
            kept = on_boundary(root, trial, trial.points(sobol(_count(segment.dim), segment.dim)), eps)
            fraction = float(np.mean(kept))
            if fraction > 0:
                pieces.append(BoundaryPiece(suffix, shape, k, sign, names, fraction, fraction * segment.measure))
    value, exact = volume(root)
    return Domain(name, root, variables, tuple(pieces), value, exact, text, subdomains)


def _count(dim: int) -> int:
    """Test points per segment: one for an end point."""
    return SEGMENT_POINTS if dim else 1


def accepted(
    n: int, draw: Callable[[int], np.ndarray], keep: Callable[[np.ndarray], np.ndarray], fraction: float, most: int
) -> tuple[np.ndarray, np.ndarray] | None:
    """Indices of ``n`` accepted rows of ``draw(m)``, drawing a longer sequence until ``n`` pass ``keep``.

    ``m`` starts at the power of two above ``n / fraction`` and doubles up to ``most``; the draw must give the same
    first rows for a longer sequence (a scrambled Sobol or Halton sequence, or independent points). Returns the
    rows' indices and the draw, or None when ``most`` rows are not enough.
    """
    m = 2 ** max(0, math.ceil(math.log2(max(1.0, 1.05 * n / max(fraction, 1e-6)))))
    while m <= most:
        unit = draw(m)
        rows = np.flatnonzero(keep(unit))
        if len(rows) >= n:
            return rows, unit
        m *= 2
    return None


# ---------------------------------------------------------------------------------------------------- distances


@dataclass(frozen=True)
class Distance:
    """A function vanishing on a boundary piece and positive inside the domain (for conditions imposed exactly).

    ``kind`` is ``ball`` (``sign (r^2 - |p - c|^2) / (2 r)``), ``ellipse`` (:func:`ellipse_factor`: the implicit
    form ``phi = 1 - X^2 - Y^2``, ``X = (x - cx) / a``, ``Y = (y - cy) / b``, over ``sqrt(|grad phi|^2 + 4 phi /
    m^2)``, ``m = max(a, b)``) or ``plane`` (``(offset - n . p) / length``, ``n`` the domain's outward normal there).
    The ball's and the ellipse's are normalised to first order on their piece (``|grad d| = 1`` there; the ellipse's
    is the ball's when ``a = b``); the plane's is scaled by the domain's extent along ``n``. ``centre`` and ``scale``
    hold the centre and radius (axes), or the normal.
    """

    kind: str
    centre: tuple[float, ...]
    scale: tuple[float, ...]
    sign: float = 1.0
    offset: float = 0.0
    length: float = 1.0

    def __call__(self, p: np.ndarray) -> np.ndarray:
        """The distance at points ``p`` ``[N, d]`` (spatial columns), in numpy."""
        if self.kind == "plane":
            return (self.offset - p @ np.array(self.scale)) / self.length
        scaled = (p - np.array(self.centre)) / np.array(self.scale)
        phi = 1 - np.sum(scaled**2, axis=1)
        if self.kind == "ball":
            return self.sign * phi * self.scale[0] / 2
        return self.sign * phi / np.sqrt(ellipse_factor(scaled[:, 0] ** 2, scaled[:, 1] ** 2, self.scale))


def ellipse_factor(xx: Any, yy: Any, axes: Sequence[float]) -> Any:
    """The square of the ellipse distance's denominator, ``|grad phi|^2 + 4 phi / m^2``, ``m = max(a, b)``.

    ``phi = 1 - X^2 - Y^2`` is the implicit form (``xx = X^2``, ``yy = Y^2``: numpy arrays or torch tensors); the
    factor is ``4 (1 / m^2 + X^2 (1/a^2 - 1/m^2) + Y^2 (1/b^2 - 1/m^2))``. It is at least ``4 / m^2`` everywhere (so
    ``phi / sqrt(...)`` is smooth, inside and outside the ellipse), equals ``|grad phi|^2`` on the ellipse (so the
    distance's gradient there is the unit normal), and is the constant ``4 / r^2`` for a circle (the distance is then
    the ball's ``(r^2 - |p - c|^2) / (2 r)``).
    """
    a, b = (float(v) for v in axes)
    m2 = max(a, b) ** 2
    return 4 * (1 / m2 + xx * (1 / a**2 - 1 / m2) + yy * (1 / b**2 - 1 / m2))


def distance_of(domain: Domain, piece: BoundaryPiece) -> Distance:
    """The distance function of a piece: the shape's implicit form (curves) or the piece's plane (flat pieces)."""
    shape = piece.shape
    if isinstance(shape, Ball):
        return Distance("ball", shape.centre, (shape.radius,) * shape.dim, float(piece.sign))
    if isinstance(shape, Ellipse):
        return Distance("ellipse", shape.centre, shape.axes, float(piece.sign))
    start = piece.points(np.zeros((1, piece.dim)))
    normal = piece.normal_at(start)[0]
    lo, hi = domain.bounds()
    scale = tuple(float(n) for n in normal)
    return Distance("plane", (), scale, 1.0, float(normal @ start[0]), float(np.abs(normal) @ (hi - lo)))


def distance_holds(domain: Domain, distance: Distance) -> bool:
    """Whether a distance is positive inside the domain (it vanishes on its piece and nowhere inside)."""
    lo, hi = domain.bounds()
    points = lo + sobol(VOLUME_POINTS, len(lo), seed=1) * (hi - lo)
    inside = points[domain.contains(points)]
    return bool(np.all(distance(inside) > -domain.eps))
