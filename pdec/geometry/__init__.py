"""Geometry (below the language): shapes and their combinations -> membership, boundary pieces, normals, measures.

A domain is a tree of shapes (:class:`Box` for an interval, rectangle or box; :class:`Ball` for a disk or ball;
:class:`Ellipse`; :class:`Polygon`) joined by union, difference and intersection (:class:`Combination`). A shape's
boundary is a tuple of smooth segments (:class:`Segment`: an edge, a face, a circle), each with an exact outward
normal (sympy, for ``dn``; numpy, for the tests below), a measure, and a map from the unit cube onto it that is
uniform in arc length or area (for sampling).

:func:`domain_of` finds the pieces of a domain's boundary (:class:`BoundaryPiece`): each segment of each shape in the
tree, its normal flipped when the shape is subtracted, kept where it lies on the domain's boundary. A point ``p`` of a
segment with outward normal ``s * n`` (``s`` the flip) is on the boundary when ``p - eps s n`` is inside the domain
and ``p + eps s n`` is not; the fraction of a segment that passes this test is estimated with scrambled Sobol points.

Nothing here knows about spans or raises user errors: pdec/language/domains.py checks a spec's domains and reports.

Modules: shapes.py (the shapes and their segments), csg.py (combinations, measures), domain.py (boundary pieces,
membership, points), distances.py (distance functions for exact conditions). Their public names are re-exported
here, so ``geometry.Box`` and ``from pdec.geometry import Domain`` read as before.
"""

from pdec.geometry.csg import (
    OPERATIONS,
    VOLUME_POINTS,
    Combination,
    Node,
    apart,
    convex,
    exact_volume,
    inside,
    leaves,
    named,
    volume,
)
from pdec.geometry.distances import Distance, distance_holds, distance_of, ellipse_factor
from pdec.geometry.domain import EPS, SEGMENT_POINTS, BoundaryPiece, Domain, Subdomain, accepted, domain_of, on_boundary
from pdec.geometry.shapes import (
    ELLIPSE_TABLE,
    Ball,
    Box,
    Ellipse,
    Polygon,
    Segment,
    Shape,
    crossing_edges,
    signed_area,
    sobol,
)

__all__ = [
    "ELLIPSE_TABLE",
    "EPS",
    "OPERATIONS",
    "SEGMENT_POINTS",
    "VOLUME_POINTS",
    "Ball",
    "BoundaryPiece",
    "Box",
    "Combination",
    "Distance",
    "Domain",
    "Ellipse",
    "Node",
    "Polygon",
    "Segment",
    "Shape",
    "Subdomain",
    "accepted",
    "apart",
    "convex",
    "crossing_edges",
    "distance_holds",
    "distance_of",
    "domain_of",
    "ellipse_factor",
    "exact_volume",
    "inside",
    "leaves",
    "named",
    "on_boundary",
    "signed_area",
    "sobol",
    "volume",
]
