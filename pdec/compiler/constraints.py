"""Exact constraints: Problem -> Constraints (the conditions marked ``exact``, imposed by construction).

A Dirichlet condition or initial value ``u = g`` marked ``exact`` leaves the loss: the network's output for ``u``
becomes ``u = G + D * N``, where ``N`` is the network's raw output, ``D`` a distance function vanishing exactly on the
condition's faces, and ``G`` a function equal to each condition's value on its face. A periodic condition marked
``exact`` is imposed by the network's input map instead (a Fourier embedding of the variable, pdec.nn.embeddings), so
it only records the variable here.

``G`` on the faces of the box is the transfinite (Gordon-Coons) interpolant of the faces' values, the Boolean sum
``P_1 + P_2 - P_1 P_2 ...`` (:func:`boolean_sum`) of one projector per variable: the linear interpolant between two
opposite faces, the value on the face for one face alone (an initial value). Each face's value is evaluated on the
face (its variable set to the face's), so ``u - G`` vanishes on every face and, where faces meet, to the order of the
product of their distances: ``N = (u - G) / D`` stays bounded for a smooth solution whose conditions agree at the
corners. Where two conditions disagree at a corner (pdec.language.corners; ``pdec check`` warns), the corner's value
seen from each face is the other face's, so each condition still holds on its face; at the corner itself ``G`` is their
mean. A field whose pieces all share one value expression takes it everywhere (``G = g``), and a field with pieces of a
domain's boundary keeps the inverse-distance blend (:func:`blend`, Sukumar & Srivastava 2022).

Distances are built from one normalised distance per face (``(x - lo) / (hi - lo)`` at a ``lo`` face) joined by a
combination rule (:data:`JOINS`): the product (smooth, exact for boxes, the default) or the R-function conjunction
``a + b - sqrt(a^2 + b^2)`` (normalised to first order, the building block for non-box geometry; its second
derivatives are singular at corners). On a domain (``domain`` statements), a piece of its boundary has the distance
of its shape (:class:`CurvedPiece`, pdec.geometry.Distance): a circle's or an ellipse's implicit form, or the plane
of a flat piece, each positive inside the domain (the front end refuses a piece whose distance vanishes inside).
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import math
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sympy
import torch
from torch import nn

from pdec.compiler.codegen import load_source
from pdec.compiler.interpolation import binding_lines, substitute, tables_source
from pdec.compiler.lower import identifier, lower
from pdec.geometry import Distance, distance_of, ellipse_factor
from pdec.language.corners import agree, edge_points
from pdec.language.problem import Condition, Kind, Periodic, Problem, symbol, term_name


def product_join(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """The product of two distances: zero where either is, smooth everywhere."""
    return a * b


def r_join(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """The R-function conjunction ``a + b - sqrt(a^2 + b^2)``: zero where either is, normalised to first order.

    The ``tiny`` under the root keeps the gradient finite at a corner (both zero) without moving the zero set.
    """
    tiny = torch.finfo(a.dtype).tiny
    return a + b - torch.sqrt(a * a + b * b + tiny)


JOINS: Mapping[str, Callable[[torch.Tensor, torch.Tensor], torch.Tensor]] = {"product": product_join, "r": r_join}


@dataclass(frozen=True)
class ExactPiece:
    """One face of an exact condition: the field's output column, the face's column and end, and its term."""

    term: str
    field: int
    column: int
    value: float
    side: str  # "lo" or "hi"
    length: float  # hi - lo of the face's variable

    def distance(self, x: torch.Tensor) -> torch.Tensor:
        """The normalised distance ``[N, 1]`` to this face (0 on it, 1 on the opposite face)."""
        offset = x[:, self.column : self.column + 1] - self.value
        return (offset if self.side == "lo" else -offset) / self.length


@dataclass(frozen=True)
class CurvedPiece:
    """A piece of a domain's boundary in an exact condition: its field's column and its distance (pdec.geometry).

    ``columns`` are the spatial variables' columns of the points; ``distance`` vanishes on the piece and is positive
    inside the domain (a circle's or an ellipse's implicit form, or the plane of a flat piece).
    """

    term: str
    field: int
    columns: tuple[int, ...]
    shape: Distance
    label: str = ""  # the piece's label in the domain

    def distance(self, x: torch.Tensor) -> torch.Tensor:
        """The normalised distance ``[N, 1]`` to this piece, in torch (the formulas of ``geometry.Distance``)."""
        p = x[:, list(self.columns)]
        d = self.shape
        if d.kind == "plane":
            normal = torch.as_tensor(d.scale, dtype=x.dtype, device=x.device)
            return ((d.offset - p @ normal) / d.length)[:, None]
        centre = torch.as_tensor(d.centre, dtype=x.dtype, device=x.device)
        scale = torch.as_tensor(d.scale, dtype=x.dtype, device=x.device)
        squares = ((p - centre) / scale) ** 2
        phi = 1 - squares.sum(dim=1, keepdim=True)
        if d.kind == "ball":
            return d.sign * d.scale[0] / 2 * phi
        return d.sign * phi / torch.sqrt(ellipse_factor(squares[:, :1], squares[:, 1:2], d.scale))


@dataclass(frozen=True)
class Constraints:
    """The exact constraints of a problem.

    Attributes:
        pieces: the faces (and pieces of a domain's boundary) of the exact conditions (one each, in spec order).
        periodic: ``(column, lo, hi)`` per exactly periodic variable (the network embeds it, pdec.nn.embeddings).
        seams: the columns of those variables periodic in value only (no exact periodic condition lists a derivative
            in them): their embedding lets the slope jump across the seam (pdec.nn.embeddings).
        values: the generated ``values(X) -> [N, len(pieces)]``: each piece's condition value ``g`` at ``X``.
        source: that function's source.
        join: the distance combination rule (a key of :data:`JOINS`).
        keys: per piece, a key of its value function: pieces with equal keys have the same values (one expression);
            empty: each piece its own.
        disagree: the pairs of pieces ``(i, j)``, ``i < j``, whose values differ where their faces meet
            (pdec.language.corners): the Boolean sum gives such a corner each face's value on the other face.
    """

    pieces: tuple[ExactPiece | CurvedPiece, ...] = ()
    periodic: tuple[tuple[int, float, float], ...] = ()
    seams: tuple[int, ...] = ()
    values: Callable[[torch.Tensor], torch.Tensor] | None = dataclasses.field(default=None, repr=False)
    source: str = dataclasses.field(default="", repr=False)
    join: str = "product"
    keys: tuple[Hashable, ...] = ()
    disagree: frozenset[tuple[int, int]] = frozenset()

    @property
    def terms(self) -> tuple[str, ...]:
        """The names of the conditions imposed exactly (periodic ones included)."""
        return tuple(dict.fromkeys(p.term for p in self.pieces))

    def __bool__(self) -> bool:
        return bool(self.pieces or self.periodic)

    def fields(self) -> dict[int, list[int]]:
        """Each constrained field's column -> the indices of its pieces (spec order)."""
        out: dict[int, list[int]] = {}
        for i, p in enumerate(self.pieces):
            out.setdefault(p.field, []).append(i)
        return out

    def construction(self, index: Sequence[int]) -> str:
        """How a field with pieces ``index`` builds ``G``: "same", "sum" or "blend".

        "same": every piece has one value expression, which ``G`` takes everywhere. "sum": faces of the box, the
        Boolean sum of their values (:func:`boolean_sum`). "blend": pieces of a domain's boundary, or two pieces on one
        face: the inverse-distance blend (:func:`blend`).
        """
        keys = self.keys or tuple(range(len(self.pieces)))
        if len({keys[i] for i in index}) == 1:
            return "same"
        faces = [(p.column, p.side) for p in (self.pieces[i] for i in index) if isinstance(p, ExactPiece)]
        return "sum" if len(faces) == len(index) == len(set(faces)) else "blend"

    def factors(self, x: torch.Tensor, width: int) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
        """``g`` and ``d`` ``[N, 1]`` per output column, so that the constrained outputs are ``g + d * y``.

        A constrained field's ``g`` interpolates its pieces' values (:meth:`construction`) and ``d`` joins their
        distances; the other columns get ``0`` and ``1`` (``0 + 1 * y`` is ``y`` exactly). The values are evaluated
        in one call of ``values`` on the points and their projections onto the faces, stacked. The forward mode
        differentiates these (pdec/compiler/forward.py).
        """
        gs, ds = [torch.zeros_like(x[:, :1])] * width, [torch.ones_like(x[:, :1])] * width
        fields = self.fields()
        how = {field: self.construction(index) for field, index in fields.items()}
        keys: list[tuple[tuple[int, float], ...]] = []
        for field, index in fields.items():
            keys += [()] if how[field] != "sum" else [key for _, key in face_sets(self.pieces, index)]
        keys = list(dict.fromkeys(keys))
        at = dict(zip(keys, self.values_at(x, keys), strict=True))
        for field, index in fields.items():
            distances = [self.pieces[i].distance(x) for i in index]
            ds[field] = join_all(distances, JOINS[self.join])
            if how[field] == "same":
                gs[field] = at[()][:, index[0] : index[0] + 1]
            elif how[field] == "sum":
                gs[field] = boolean_sum(x, self.pieces, index, at, self.disagree)
            else:
                gs[field] = blend(distances, [at[()][:, i : i + 1] for i in index])
        return gs, ds

    def values_at(self, x: torch.Tensor, keys: Sequence[tuple[tuple[int, float], ...]]) -> list[torch.Tensor]:
        """The values ``[N, pieces]`` at ``x`` projected onto the faces of each key (:func:`project`), in one call.

        A key that fixes every column (a corner) has one point: it is evaluated once and broadcast.
        """
        rows = [project(x[:1] if len(key) == x.shape[1] else x, key) for key in keys]
        out = self.values(torch.cat(rows) if len(rows) > 1 else rows[0]).split([len(r) for r in rows])
        return [v.expand(len(x), -1) if len(r) != len(x) else v for v, r in zip(out, rows, strict=True)]

    def apply(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """``y`` with each constrained field's column replaced by ``G + D * y`` (``x`` the points ``[N, d]``)."""
        if not self.pieces:
            return y
        gs, ds = self.factors(x, y.shape[1])
        return torch.cat([g + d * n for g, d, n in zip(gs, ds, y.split(1, dim=1), strict=True)], dim=1)


def project(x: torch.Tensor, key: tuple[tuple[int, float], ...]) -> torch.Tensor:
    """The points ``x`` with each ``(column, value)`` of ``key`` set: their projection onto those faces."""
    if not key:
        return x
    mask = torch.zeros(1, x.shape[1], dtype=torch.bool, device=x.device)
    fill = torch.zeros(1, x.shape[1], dtype=x.dtype, device=x.device)
    for column, value in key:
        mask[0, column], fill[0, column] = True, value
    return torch.where(mask, fill, x)


def face_sets(
    pieces: Sequence[ExactPiece | CurvedPiece], index: Sequence[int]
) -> list[tuple[tuple[int, ...], tuple[tuple[int, float], ...]]]:
    """Every nonempty set of the faces ``index``, at most one per variable, smallest first, with its projection.

    A set is ``(pieces, key)``: the pieces' indices and ``key`` the ``(column, value)`` of their faces (sorted).
    """
    columns: dict[int, list[int]] = {}
    for i in index:
        columns.setdefault(pieces[i].column, []).append(i)
    found = []
    for choice in itertools.product(*([None, *faces] for faces in columns.values())):
        chosen = tuple(i for i in choice if i is not None)
        if chosen:
            found.append((chosen, tuple(sorted((pieces[i].column, pieces[i].value) for i in chosen))))
    return sorted(found, key=lambda item: len(item[0]))


def boolean_sum(
    x: torch.Tensor,
    pieces: Sequence[ExactPiece | CurvedPiece],
    index: Sequence[int],
    at: Mapping[tuple[tuple[int, float], ...], torch.Tensor],
    disagree: frozenset[tuple[int, int]] = frozenset(),
) -> torch.Tensor:
    """The transfinite (Gordon-Coons) interpolant ``[N, 1]`` of the faces ``index``' values: a Boolean sum.

    One projector per variable with faces: ``P g = ((b - x) g(a) + (x - a) g(b)) / (b - a)`` between two opposite
    faces ``x = a`` and ``x = b``, ``P g = g(c)`` for one face ``x = c``; their Boolean sum
    ``P_1 + P_2 - P_1 P_2 + ...`` (``I - prod (I - P_j)``) sums, over every set ``F`` of faces (at most one per
    variable), ``(-1)^(|F| + 1)`` times the product of the faces' weights and the value at the faces' intersection:
    the values ``at`` the points projected onto all of them (``at[key]`` ``[N, pieces]``, :func:`face_sets`).

    At an intersection the faces' values agree (one is taken: the first piece's), unless a pair there is in
    ``disagree``: then the value is ``sum_f d_f g_f / sum_f d_f`` (``d_f`` the faces' distances), the other faces'
    values on each face, so each face still gets its own; their mean on the intersection itself.
    """
    columns: dict[int, list[int]] = {}
    for i in index:
        columns.setdefault(pieces[i].column, []).append(i)
    weights = {}
    for column, faces in columns.items():
        if len(faces) == 2:
            lo, hi = sorted(faces, key=lambda i: pieces[i].side != "lo")
            a, b, xs = pieces[lo].value, pieces[hi].value, x[:, column : column + 1]
            weights[lo], weights[hi] = (b - xs) / (b - a), (xs - a) / (b - a)
    total = None
    for chosen, key in face_sets(pieces, index):
        term = corner_value(x, pieces, chosen, at[key], disagree)
        for i in chosen:
            if i in weights:
                term = term * weights[i]
        total = term if total is None else total + term if len(chosen) % 2 else total - term
    return total


def corner_value(
    x: torch.Tensor,
    pieces: Sequence[ExactPiece | CurvedPiece],
    chosen: Sequence[int],
    values: torch.Tensor,
    disagree: frozenset[tuple[int, int]],
) -> torch.Tensor:
    """The value ``[N, 1]`` at the intersection of the faces ``chosen`` (``values``: all pieces' there).

    The first piece's where the faces' values agree; where a pair disagrees, ``sum_f d_f g_f / sum_f d_f`` with the
    distances ``d_f`` at ``x`` (on face ``f`` the others' values, as the Boolean sum needs there), and their mean
    where every distance vanishes (the intersection itself).
    """
    if not any(pair in disagree for pair in itertools.combinations(sorted(chosen), 2)):
        first = min(chosen)
        return values[:, first : first + 1]
    distances = [pieces[i].distance(x) for i in chosen]
    data = [values[:, i : i + 1] for i in chosen]
    total = sum(distances)
    at_corner = total.abs() < torch.finfo(total.dtype).tiny
    smooth = sum(d * g for d, g in zip(distances, data, strict=True)) / torch.where(at_corner, 1.0, total)
    return torch.where(at_corner, sum(data) / len(data), smooth)


def join_all(distances: list[torch.Tensor], join: Callable) -> torch.Tensor:
    """The distances joined pairwise left to right (one distance is returned as it is)."""
    out = distances[0]
    for d in distances[1:]:
        out = join(out, d)
    return out


def blend(distances: list[torch.Tensor], values: list[torch.Tensor]) -> torch.Tensor:
    """Inverse-distance interpolation ``sum_i w_i g_i`` with ``w_i = prod_{k != i} d_k / sum_m prod_{k != m} d_k``.

    For pieces of a domain's boundary (:meth:`Constraints.construction`). Where two pieces with different values
    meet, ``u - G`` vanishes only to the first order in the distance, so ``N = (u - G) / D`` grows like the inverse
    distance to the corner; the Boolean sum (:func:`boolean_sum`) avoids that on the faces of the box.

    On piece ``i`` (``d_i = 0``) every other weight vanishes and ``w_i = 1``: the blend equals ``g_i`` there exactly.
    Where two pieces meet (a corner: two distances zero, or the products underflow) every weight vanishes; there the
    blend is the mean of the values of the nearest pieces, which is the corner's data when the pieces agree on it.
    """
    if len(values) == 1:
        return values[0]
    others = [math.prod(d for k, d in enumerate(distances) if k != i) for i in range(len(distances))]
    total = sum(others)
    at_corner = total.abs() < torch.finfo(total.dtype).tiny
    smooth = sum(w * g for w, g in zip(others, values, strict=True)) / torch.where(at_corner, 1.0, total)
    nearest = torch.stack(torch.broadcast_tensors(*distances)).abs()
    nearest = (nearest <= nearest.min(0).values).to(smooth.dtype)  # [pieces, N, 1]: the pieces that meet there
    corner = (nearest * torch.stack(torch.broadcast_tensors(*values))).sum(0) / nearest.sum(0)
    return torch.where(at_corner, corner, smooth)


class Constrained(nn.Module):
    """A network whose outputs satisfy the exact constraints: ``forward(x) = constraints.apply(x, net(x))``.

    ``head``, ``fields`` and ``scale_outputs`` are the inner network's, so the trainer treats it like any network.
    """

    def __init__(self, net: nn.Module, constraints: Constraints) -> None:
        super().__init__()
        self.net = net
        self.constraints = constraints

    @property
    def head(self) -> nn.Module:
        """The inner network's output layer."""
        return self.net.head

    @property
    def fields(self) -> tuple[str, ...]:
        """The output names."""
        return self.net.fields

    def scale_outputs(self, shift: Any, gain: Any) -> None:
        """Scale the inner network's outputs (before the constraints apply)."""
        self.net.scale_outputs(shift, gain)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The constrained fields at ``x`` ``[N, d]``."""
        return self.constraints.apply(x, self.net(x))

    def forward_mode_layers(self) -> dict | None:
        """The inner network's description for the forward mode (compiler/forward.py) with the constraints, or None.

        The constraint is ``X -> (g columns, d columns)`` (:meth:`Constraints.factors`); None where the inner network
        has no description or a subclass changes ``forward``.
        """
        describe = getattr(self.net, "forward_mode_layers", None)
        if type(self).forward is not Constrained.forward or not callable(describe):
            return None
        layers = describe()
        if layers is None or layers["constraint"] is not None:
            return None
        return {**layers, "constraint": functools.partial(self.constraints.factors, width=len(self.fields))}


def constraints_of(problem: Problem, join: str = "product") -> Constraints:
    """The exact constraints of ``problem`` (empty when no condition is marked ``exact``)."""
    variables = [v.name for v in problem.variables]
    fields = [f.name for f in problem.fields]
    periodic = tuple(
        (variables.index(c.variable), float(problem.variable(c.variable).lo), float(problem.variable(c.variable).hi))
        for c in problem.conditions
        if isinstance(c, Periodic) and c.exact
    )
    seams = seam_columns(problem)
    pieces, exprs = [], []
    for c in problem.conditions:
        if not (isinstance(c, Condition) and c.exact):
            continue
        term, field = term_name(Kind(c.kind), c.name), fields.index(type(c.lhs).__name__)
        for piece in c.pieces:
            exprs.append(c.rhs)
            if piece.boundary is not None:  # a piece of a domain's boundary: its shape's distance
                domain = problem.domain
                columns = tuple(variables.index(v) for v in domain.variables)
                distance = distance_of(domain, domain.piece(piece.boundary))
                pieces.append(CurvedPiece(term, field, columns, distance, piece.boundary))
                continue
            var = problem.variable(piece.face.variable)
            face = piece.face
            length = float(var.hi - var.lo)
            pieces.append(ExactPiece(term, field, variables.index(var.name), face.value, face.side, length))
    if not pieces:
        return Constraints(periodic=tuple(dict.fromkeys(periodic)), seams=seams, join=join)
    source = values_source(problem, exprs)
    function = load_source(source, problem.source.path + " (exact constraints)")["values"]
    exprs = [sympy.sympify(e) for e in exprs]
    keys = tuple(exprs.index(e) for e in exprs)  # the first piece with the same value expression
    bounds = [(float(v.lo), float(v.hi)) for v in problem.variables]
    disagree = disagreements(function, pieces, keys, bounds)
    return Constraints(tuple(pieces), tuple(dict.fromkeys(periodic)), seams, function, source, join, keys, disagree)


def seam_columns(problem: Problem) -> tuple[int, ...]:
    """The columns of the variables whose network gets a seam column (periodic conditions marked ``seam``)."""
    variables = [v.name for v in problem.variables]
    seamed = (c.variable for c in problem.conditions if isinstance(c, Periodic) and c.seam)
    return tuple(dict.fromkeys(variables.index(v) for v in seamed))


def disagreements(
    values: Callable[[torch.Tensor], torch.Tensor],
    pieces: Sequence[ExactPiece | CurvedPiece],
    keys: Sequence[Hashable],
    bounds: Sequence[tuple[float, float]],
) -> frozenset[tuple[int, int]]:
    """The pairs of faces ``(i, j)`` of one field whose ``values`` differ where they meet (language/corners, float64).

    Faces of one variable never meet; pieces with the same value expression (``keys``) agree everywhere.
    """
    found = set()
    for (i, a), (j, b) in itertools.combinations(enumerate(pieces), 2):
        if not (isinstance(a, ExactPiece) and isinstance(b, ExactPiece)):
            continue
        if a.field != b.field or a.column == b.column or keys[i] == keys[j]:
            continue
        points = torch.tensor(edge_points(bounds, {a.column: a.value, b.column: b.value}), dtype=torch.float64)
        with torch.no_grad():
            g = values(points).double()
        if not all(agree(float(u), float(v)) for u, v in zip(g[:, i], g[:, j], strict=True)):
            found.add((i, j))
    return frozenset(found)


def values_source(problem: Problem, exprs: list[sympy.Expr]) -> str:
    """Source of ``values(X) -> [N, len(exprs)]``: each condition's value at the points (constants folded).

    A tabulated coefficient in a value is interpolated at the points (pdec.compiler.interpolation), as in the residuals.
    """
    constants = {symbol(c.name): sympy.Float(c.value) for c in problem.constants}
    exprs, uses = [sympy.sympify(e).xreplace(constants) for e in exprs], {}
    for i, e in enumerate(exprs):
        exprs[i], found = substitute(e, problem)
        uses.update(found)
    names = {symbol(v.name): identifier(v.name) for v in problem.variables}
    names.update({sym: identifier(sym.name) for sym in uses})
    cse_lines, sources = lower(exprs, names, [None] * len(exprs))
    used = set().union(*(e.free_symbols for e in exprs))
    tables = tables_source(problem, {name for name, _ in uses.values()})
    lines = ["import torch", "", "", *([tables, "", ""] if tables else [])]
    lines += ["def values(X):", '    """Each exact condition\'s value at X [N, d]."""']
    for i, v in enumerate(problem.variables):
        if symbol(v.name) in used:
            lines.append(f"    {identifier(v.name)} = X[:, {i}:{i + 1}]")
    lines += binding_lines(uses, used) + cse_lines
    columns = [f"({src}) + torch.zeros_like(X[:, :1])" for src in sources]
    return "\n".join([*lines, "    return torch.cat([" + ", ".join(columns) + "], 1)", ""])


def without_exact(problem: Problem) -> Problem:
    """The problem whose loss terms are the conditions not imposed exactly."""
    kept = tuple(c for c in problem.conditions if not c.exact)
    return problem if len(kept) == len(problem.conditions) else dataclasses.replace(problem, conditions=kept)


__all__ = [
    "JOINS",
    "Constrained",
    "Constraints",
    "CurvedPiece",
    "ExactPiece",
    "constraints_of",
    "without_exact",
]
