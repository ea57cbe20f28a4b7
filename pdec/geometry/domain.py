"""Geometry: a domain -> the pieces of its boundary (:class:`BoundaryPiece`), membership, points inside."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import sympy

from pdec.geometry.csg import Node, leaves, volume
from pdec.geometry.shapes import Shape, sobol

SEGMENT_POINTS = 2**12  # points per segment for the fraction of it on the domain's boundary
EPS = 1e-7  # the offset of the on-boundary test, relative to the domain's diameter



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
