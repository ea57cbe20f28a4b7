"""Geometry: shapes (box, ball, ellipse, polygon), each with its smooth boundary segments, exact normals, points."""

from __future__ import annotations

import functools
import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import sympy

from pdec.core.errors import number

ELLIPSE_TABLE = 4097  # angles of an ellipse's arc-length table



def sobol(n: int, dim: int, seed: int = 0) -> np.ndarray:
    """``n`` scrambled Sobol points in ``[0, 1]^dim`` (a fixed seed: estimates do not depend on the run)."""
    if dim == 0:
        return np.zeros((n, 0))
    from scipy.stats import qmc  # 0.7 s to import: only a domain's measures and the trainer's points need it

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
