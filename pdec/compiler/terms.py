"""Collecting the loss terms: Problem -> typed Term and PointSet records (the trainer's view of the problem).

``collect(problem)`` returns the terms in spec order and one :class:`Site` per point set (what one generated function
evaluates). Each :class:`Term` carries everything later stages need (its kind, bare name, fields, unknowns, point
sets and observations), so the trainer never reads the symbolic problem or parses a term's name.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import sympy
import torch
from sympy.core.function import AppliedUndef

from pdec.core.source import Span
from pdec.language.problem import DataSet, Kind, Periodic, Piece, Problem, frozen, term_name

INTERIOR = "interior"


class Observations(NamedTuple):
    """Fixed points ``[N, d]`` and observed values ``[N, k]`` of a data set (CPU tensors in the problem's dtype)."""

    points: torch.Tensor
    targets: torch.Tensor


@dataclass(frozen=True)
class Readings:
    """Observed or reference values in float64: points ``[N, d]`` (the problem's variable order), values ``[N, k]``.

    ``fields`` names the ``k`` value columns.
    """

    fields: tuple[str, ...]
    points: np.ndarray = dataclasses.field(repr=False, compare=False)
    values: np.ndarray = dataclasses.field(repr=False, compare=False)


@dataclass(frozen=True)
class PointSet:
    """Where residuals are evaluated.

    ``region`` is ``{}`` for the interior (and for data sets), ``{var: value}`` for a face; ``terms`` are the
    term names evaluated there; ``data`` holds the fixed points and targets of a data set (None otherwise).
    ``boundary`` names a piece of the domain's boundary (``CompiledProblem.domain``; None elsewhere): the points lie
    on it, and the interior and the faces of time are the domain, not the box, when the problem has one.
    """

    name: str
    region: Mapping[str, float]
    terms: tuple[str, ...]
    data: Observations | None = None
    boundary: str | None = None


@dataclass(frozen=True)
class Term:
    """One loss term: its residual expressions (one column each) and the point sets whose rows it spans.

    Attributes:
        name: the full name, keying losses and weights (``pde:burgers``, ``bc:left``; periodic conditions are ``bc``).
        kind: what the term is (:class:`pdec.language.problem.Kind`, a ``str`` enum).
        point_sets: the names of its point sets.
        exprs: the residual expressions (the compiler's; later stages use the fields below).
        span: where the spec states it.
        bare: the name in the spec (``burgers``): what ``points.NAME``, ``weight.NAME`` and stages use.
        fields: the fields its residual involves.
        unknowns: the unknowns its residual involves (unknown functions too).
        readings: for a data term, the observations in float64 (``readings.fields`` are the observed fields).
        isolated: every point set fixes every variable: a condition at isolated points (``u(0) = 0`` in 1-D).
    """

    name: str
    kind: Kind
    point_sets: tuple[str, ...]
    exprs: tuple[sympy.Expr, ...]
    span: Span | None = None
    bare: str = ""
    fields: tuple[str, ...] = ()
    unknowns: tuple[str, ...] = ()
    readings: Readings | None = None
    isolated: bool = False

    @property
    def columns(self) -> int:
        """Columns of the residual."""
        return len(self.exprs)

    @property
    def observed(self) -> tuple[str, ...]:
        """The fields a data term observes (none for other terms)."""
        return () if self.readings is None else self.readings.fields


@dataclass(frozen=True)
class Site:
    """What one generated function evaluates: per term, its expressions (and how to finish the residual)."""

    point_set: str
    terms: tuple[tuple[str, tuple[sympy.Expr, ...], Span | None], ...]
    region: Mapping[str, float] = dataclasses.field(default_factory=dict)
    periodic: tuple[int, float] | None = None  # (column, hi) of a periodic condition
    data: bool = False
    boundary: str | None = None  # a piece of the domain's boundary


def collect(problem: Problem) -> tuple[dict[str, Term], list[Site]]:
    """Gather every term's residual expressions and the point set each is evaluated on, in spec order."""
    terms: dict[str, Term] = {}
    sites: list[Site] = []
    for eq in problem.equations:
        term = _term(problem, Kind.PDE, eq.name, (INTERIOR,), (eq.residual,), eq.span)
        terms[term.name] = term
    if problem.equations:
        sites.append(Site(INTERIOR, tuple((t.name, t.exprs, t.span) for t in terms.values())))
    for cond in problem.conditions:
        name = term_name(cond.kind, cond.name)
        if isinstance(cond, Periodic):
            var = problem.variable(cond.variable)
            region = {var.name: float(var.lo)}
            where = f"{name}@{var.name}={var.lo:g}"
            column = [v.name for v in problem.variables].index(var.name)
            sites.append(Site(where, ((name, tuple(cond.exprs), cond.span),), region, (column, float(var.hi))))
            regions, wheres, exprs, labels = [region], [where], tuple(cond.exprs), [None]
        else:
            labels = [piece.boundary for piece in cond.pieces]
            regions = [piece.region for piece in cond.pieces]
            wheres = [f"{name}@" + _where(piece) for piece in cond.pieces]
            for piece, region, where in zip(cond.pieces, regions, wheres, strict=True):
                sites.append(Site(where, ((name, (piece.residual,), cond.span),), region, boundary=piece.boundary))
            exprs = (cond.lhs - cond.rhs,)
        isolated = bool(regions) and all(_isolated(problem, r, b) for r, b in zip(regions, labels, strict=True))
        terms[name] = _term(problem, Kind(cond.kind), cond.name, tuple(wheres), exprs, cond.span, isolated)
    for data in problem.data:
        name = term_name(Kind.DATA, data.name)
        exprs = tuple(problem.field(f).applied for f in data.fields)
        terms[name] = _term(problem, Kind.DATA, data.name, (name,), exprs, data.span, readings=readings(data, problem))
        sites.append(Site(name, ((name, exprs, data.span),), data=True))
    return terms, sites


def _isolated(problem: Problem, region: Mapping[str, float], boundary: str | None) -> bool:
    """Whether a point set fixes every variable: a point of the box, or an end of an interval domain without time."""
    if boundary is not None:
        return problem.domain.piece(boundary).dim == 0 and problem.time is None and not problem.parameters
    return set(region) == {v.name for v in problem.variables}


def _where(piece: Piece) -> str:
    """What follows ``@`` in a piece's point-set name: ``x=-1``, ``x=0,y=0``, or a domain piece's label (``hole``)."""
    if piece.boundary is not None:
        return piece.boundary
    return ",".join(f"{k}={v:g}" for k, v in piece.region.items())


def _term(
    problem: Problem,
    kind: Kind,
    bare: str,
    point_sets: tuple[str, ...],
    exprs: tuple[sympy.Expr, ...],
    span: Span | None,
    isolated: bool = False,
    readings: Readings | None = None,
) -> Term:
    """A Term record, with the fields and unknowns its expressions involve (in declaration order)."""
    symbols = {a.name for e in exprs for a in sympy.sympify(e).atoms(sympy.Symbol)}
    applied = {a.func.__name__ for e in exprs for a in sympy.sympify(e).atoms(AppliedUndef)}
    return Term(
        term_name(kind, bare),
        kind,
        point_sets,
        exprs,
        span,
        bare=bare,
        fields=tuple(f.name for f in problem.fields if f.name in applied),
        unknowns=tuple(u.name for u in problem.unknowns if u.name in symbols)
        + tuple(f.name for f in problem.functions if f.name in applied),
        readings=readings,
        isolated=isolated,
    )


def readings(data: DataSet, problem: Problem) -> Readings:
    """A data set's (or the reference's) points, reordered to the problem's variables, and values, in float64."""
    order = [list(data.variables).index(v.name) for v in problem.variables]
    points = np.asarray(data.points, dtype=float)[:, order]
    values = np.asarray(data.values, dtype=float).reshape(len(points), -1)
    return Readings(tuple(data.fields), points, values)


def point_sets(problem: Problem, sites: list[Site], dtype: torch.dtype) -> dict[str, PointSet]:
    """Describe each site as a PointSet: its region (a face, or the interior), its piece of the domain's boundary
    and, for a data set, its observations."""  # noqa: D205, D209
    data = {term_name(Kind.DATA, d.name): d for d in problem.data}
    out = {}
    for site in sites:
        names = tuple(t for t, _, _ in site.terms)
        obs = None
        if site.data:
            d = data[site.point_set]
            obs = Observations(
                torch.as_tensor(np.asarray(d.points, dtype=float), dtype=dtype),
                torch.as_tensor(np.asarray(d.values, dtype=float), dtype=dtype).reshape(len(d.points), -1),
            )
        out[site.point_set] = PointSet(site.point_set, frozen(site.region), names, obs, site.boundary)
    return out


__all__ = ["INTERIOR", "Observations", "PointSet", "Readings", "Site", "Term", "collect", "point_sets", "readings"]
