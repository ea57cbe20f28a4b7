"""Geometry: distance functions that vanish on a boundary piece (for conditions imposed exactly)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from pdec.geometry.csg import VOLUME_POINTS
from pdec.geometry.domain import BoundaryPiece, Domain
from pdec.geometry.shapes import Ball, Ellipse, sobol

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
