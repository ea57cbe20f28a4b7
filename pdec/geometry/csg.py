"""Geometry: shapes joined by union, difference and intersection (a tree of :class:`Combination`), its measures."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from pdec.geometry.shapes import Ball, Box, Ellipse, Polygon, Shape, sobol

VOLUME_POINTS = 2**16  # scrambled Sobol points of a combination's volume estimate



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
