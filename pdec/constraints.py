"""Exact constraints: Problem -> Constraints (the conditions marked ``exact``, imposed by construction).

A Dirichlet condition or initial value ``u = g`` marked ``exact`` leaves the loss: the network's output for ``u``
becomes ``u = G + D * N``, where ``N`` is the network's raw output, ``D`` a distance function vanishing exactly on the
condition's faces, and ``G`` the condition values blended between the faces (transfinite interpolation, Sukumar &
Srivastava 2022). A periodic condition marked ``exact`` is imposed by the network's input map instead (a Fourier
embedding of the variable, pdec.embeddings), so it only records the variable here.

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
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import sympy
import torch
from torch import nn

from pdec.codegen import load_source
from pdec.geometry import Distance, distance_of
from pdec.interpolation import binding_lines, substitute, tables_source
from pdec.lower import identifier, lower
from pdec.problem import Condition, Kind, Periodic, Problem, symbol, term_name


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
        factor = d.scale[0] / 2 if d.kind == "ball" else min(d.scale) / 2
        return d.sign * factor * (1 - (((p - centre) / scale) ** 2).sum(dim=1, keepdim=True))


@dataclass(frozen=True)
class Constraints:
    """The exact constraints of a problem.

    Attributes:
        pieces: the faces (and pieces of a domain's boundary) of the exact conditions (one each, in spec order).
        periodic: ``(column, lo, hi)`` per exactly periodic variable (the network embeds it, pdec.embeddings).
        values: the generated ``values(X) -> [N, len(pieces)]``: each piece's condition value ``g`` at ``X``.
        source: that function's source.
        join: the distance combination rule (a key of :data:`JOINS`).
    """

    pieces: tuple[ExactPiece | CurvedPiece, ...] = ()
    periodic: tuple[tuple[int, float, float], ...] = ()
    values: Callable[[torch.Tensor], torch.Tensor] | None = dataclasses.field(default=None, repr=False)
    source: str = dataclasses.field(default="", repr=False)
    join: str = "product"

    @property
    def terms(self) -> tuple[str, ...]:
        """The names of the conditions imposed exactly (periodic ones included)."""
        return tuple(dict.fromkeys(p.term for p in self.pieces))

    def __bool__(self) -> bool:
        return bool(self.pieces or self.periodic)

    def factors(self, x: torch.Tensor, width: int) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
        """``g`` and ``d`` ``[N, 1]`` per output column, so that the constrained outputs are ``g + d * y``.

        A constrained field's ``g`` blends its pieces' values and ``d`` joins their distances; the other columns get
        ``0`` and ``1`` (``0 + 1 * y`` is ``y`` exactly). The forward mode differentiates these (pdec/forward.py).
        """
        g = self.values(x)
        gs, ds = [torch.zeros_like(x[:, :1])] * width, [torch.ones_like(x[:, :1])] * width
        for field in sorted({p.field for p in self.pieces}):
            index = [i for i, p in enumerate(self.pieces) if p.field == field]
            distances = [self.pieces[i].distance(x) for i in index]
            gs[field] = blend(distances, [g[:, i : i + 1] for i in index])
            ds[field] = join_all(distances, JOINS[self.join])
        return gs, ds

    def apply(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """``y`` with each constrained field's column replaced by ``G + D * y`` (``x`` the points ``[N, d]``)."""
        if not self.pieces:
            return y
        gs, ds = self.factors(x, y.shape[1])
        return torch.cat([g + d * n for g, d, n in zip(gs, ds, y.split(1, dim=1), strict=True)], dim=1)


def join_all(distances: list[torch.Tensor], join: Callable) -> torch.Tensor:
    """The distances joined pairwise left to right (one distance is returned as it is)."""
    out = distances[0]
    for d in distances[1:]:
        out = join(out, d)
    return out


def blend(distances: list[torch.Tensor], values: list[torch.Tensor]) -> torch.Tensor:
    """Transfinite interpolation ``sum_i w_i g_i`` with ``w_i = prod_{k != i} d_k / sum_m prod_{k != m} d_k``.

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
        """The inner network's description for the forward mode (pdec/forward.py) with the constraints, or None.

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
        return Constraints(periodic=tuple(dict.fromkeys(periodic)), join=join)
    source = values_source(problem, exprs)
    function = load_source(source, problem.source.path + " (exact constraints)")["values"]
    return Constraints(tuple(pieces), tuple(dict.fromkeys(periodic)), function, source, join)


def values_source(problem: Problem, exprs: list[sympy.Expr]) -> str:
    """Source of ``values(X) -> [N, len(exprs)]``: each condition's value at the points (constants folded).

    A tabulated coefficient in a value is interpolated at the points (pdec.interpolation), as in the residuals.
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
