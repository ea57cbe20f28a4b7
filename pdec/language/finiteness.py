"""Finiteness of known parts: warn when the field-free part of a residual is not finite where it is evaluated.

``bc: u = log(x) at x = 0`` checks cleanly but every residual on that face is infinite, so training can only roll
back. The *known part* of a residual is the sum of its terms without a field; this stage evaluates it (constants
and unknowns' initial values substituted) on a small grid of its location: the face for a condition piece, the
inside of the box for an equation; on a domain, points inside it or on the piece of its boundary. Python floats,
no torch: it runs at check time.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from collections.abc import Iterable, Iterator, Mapping, Sequence

import numpy as np
import sympy
from sympy.core.function import AppliedUndef

from pdec.core.errors import PdecWarning
from pdec.geometry import Domain, sobol
from pdec.language.problem import Condition, Equation, Periodic, Problem, Variable, symbol

FACE_FRACTIONS = (0.0, 0.25, 0.5, 0.75, 1.0)  # along a face, its edges included
INSIDE_FRACTIONS = (0.1, 0.3, 0.5, 0.7, 0.9)  # inside the box, where the interior points fall
DOMAIN_TRIALS = 256  # Sobol points tried inside a domain's bounding box (or along a piece of its boundary)
DOMAIN_POINTS = 25  # of which the first inside (on the boundary) are checked
LARGEST = {"float32": 3.4028234663852886e38, "auto": 3.4028234663852886e38, "float64": 1.7976931348623157e308}


HINT = "a residual that is infinite there cannot be trained; check the location"


def with_finiteness_warnings(problem: Problem) -> Problem:
    """``problem`` with a warning for each equation or condition piece whose known part is not finite."""
    values = {c.name: c.value for c in problem.constants} | {u.name: u.init for u in problem.unknowns}
    terms = [*problem.equations, *problem.conditions]
    found = not_finite_warnings(problem.variables, values, terms, problem.settings.dtype, problem.domain)
    extra = tuple(PdecWarning(message, span, HINT) for message, span in found)
    return dataclasses.replace(problem, warnings=problem.warnings + extra) if extra else problem


def known_part(residual: sympy.Expr) -> sympy.Expr:
    """The sum of the terms of ``residual`` that hold no field (nor a derivative of one)."""
    return sympy.Add(*(t for t in sympy.Add.make_args(residual) if not t.atoms(AppliedUndef, sympy.Derivative)))


def not_finite_warnings(
    variables: Sequence[Variable],
    values: Mapping[str, float],
    terms: Sequence[Equation | Condition | Periodic],
    dtype: str = "float32",
    domain: Domain | None = None,
) -> Iterator[tuple[str, object]]:
    """Yield ``(message, span)`` for each equation or condition piece whose known part is not finite.

    Args:
        variables: the problem's variables (their intervals give the grid).
        values: constant and unknown name -> value (unknowns at their initial guess).
        terms: the equations and conditions (periodic conditions have no known part worth checking).
        dtype: the training dtype; a value beyond its range counts as not finite.
        domain: the problem's domain (None: the box): points inside it, or on a piece of its boundary, replace the grid.
    """
    for term in terms:
        if isinstance(term, Equation):
            pieces = [(None, term.residual, None)]
        elif isinstance(term, Condition):
            pieces = [(p.region, p.residual, p.boundary) for p in term.pieces]
        else:
            continue
        for face, residual, boundary in pieces:
            grid = _grid(variables, face) if domain is None else _domain_grid(variables, face, domain, boundary)
            where = first_bad_point(known_part(residual), variables, values, grid, LARGEST[dtype])
            if where is not None:
                shown = ", ".join(f"{k} = {v:g}" for k, v in where.items())
                what = "equation" if face is None else "condition"
                yield f"the part of this {what} without fields is not finite at {shown}", term.span


def first_bad_point(
    expr: sympy.Expr,
    variables: Sequence[Variable],
    values: Mapping[str, float],
    grid: Iterable[tuple[float, ...]],
    largest: float,
) -> dict[str, float] | None:
    """The first point of ``grid`` (the location) where ``expr`` is NaN, infinite or beyond ``largest`` (None: none)."""
    expr = expr.xreplace({symbol(k): sympy.Float(v) for k, v in values.items()})
    if expr.is_zero or expr.atoms(AppliedUndef):
        return None  # nothing known, or a function pdec does not evaluate here
    names = [v.name for v in variables]
    try:
        fn = sympy.lambdify([symbol(n) for n in names], expr, modules="math")
    except (TypeError, ValueError, SyntaxError, NameError):
        return None
    for point in grid:
        try:
            value = complex(fn(*point))
        except (ArithmeticError, ValueError):
            value = complex(math.nan)
        except (TypeError, NameError, AttributeError):
            return None  # not evaluable with Python floats: no opinion
        if value.imag != 0 or not math.isfinite(value.real) or abs(value.real) > largest:
            return dict(zip(names, point, strict=True))
    return None


def _domain_grid(
    variables: Sequence[Variable], face: Mapping[str, float] | None, domain: Domain, boundary: str | None
) -> list[tuple[float, ...]]:
    """Points of a location on a domain: inside it, or on a piece of its boundary; time on its grid (or its face)."""
    if face and boundary is None and any(v in face for v in domain.variables):
        return list(_grid(variables, face))  # a point condition
    if boundary is None:  # the box's grid points inside the domain, and a few Sobol points
        lo, hi = domain.bounds()
        axes = [lo[j] + np.array(INSIDE_FRACTIONS) * (hi[j] - lo[j]) for j in range(len(lo))]
        grid = np.array(list(itertools.product(*axes)))
        trial = np.concatenate([grid, lo + sobol(DOMAIN_TRIALS, len(lo)) * (hi - lo)])
        spatial = trial[domain.contains(trial)][: DOMAIN_POINTS + len(grid)]
    else:
        piece = domain.piece(boundary)
        trial = piece.points(sobol(DOMAIN_TRIALS, piece.dim))
        spatial = trial[domain.on_boundary(piece, trial)][:DOMAIN_POINTS]
    others = [v for v in variables if v.name not in domain.variables]
    out = []
    for point in spatial:
        for extra in _grid(others, face):
            known = dict(zip(domain.variables, point, strict=True))
            known |= dict(zip([v.name for v in others], extra, strict=True))
            out.append(tuple(float(known[v.name]) for v in variables))
    return out


def _grid(variables: Sequence[Variable], face: Mapping[str, float] | None) -> Iterator[tuple[float, ...]]:
    """Points of the location: the face or point (its variables fixed, the others on FACE_FRACTIONS) or the inside."""
    axes = []
    for v in variables:
        if face is not None and v.name in face:
            axes.append((float(face[v.name]),))
        else:
            fractions = INSIDE_FRACTIONS if face is None else FACE_FRACTIONS
            axes.append(tuple(v.lo + f * (v.hi - v.lo) for f in fractions))
    return itertools.product(*axes)
