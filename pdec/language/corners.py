"""Corners of exact conditions: where two exact faces of one field meet, and whether their values agree there.

Two conditions marked ``exact`` on faces of different variables (``u = 1 at y = 1 exact`` and ``u = 0 at x = 0
exact``) meet on the faces' intersection: a corner in 2-D, an edge in 3-D (or a corner line in time, where an
initial value meets a wall). The field built by pdec.compiler.constraints takes each condition on its own face; where
two conditions give different values at their meeting point the field must jump there, so the construction treats such
a pair apart (pdec.compiler.constraints) and ``pdec check`` warns about it (:func:`with_corner_warnings`).

The values are compared on a small grid of the intersection (the other variables at :data:`FRACTIONS` of their
intervals), to :data:`RTOL`. Python floats and sympy only, no torch: it runs at check time.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import sympy
from sympy.core.function import AppliedUndef

from pdec.core.errors import PdecWarning
from pdec.language.problem import Condition, Periodic, Problem, symbol

FRACTIONS = (0.0, 0.25, 0.5, 0.75, 1.0)  # of each other variable's interval, on the intersection of two faces
RTOL = 1e-8  # values closer than RTOL * max(1, |a|, |b|) agree

HINT = (
    "each condition holds on its own face and the field jumps where they meet: at the corner itself it takes the "
    'mean of the two values (docs/training.md, "Exact conditions"); give both the same value there if the solution '
    "is continuous"
)


def agree(a: float, b: float) -> bool:
    """Whether two values at a corner agree (to :data:`RTOL`); a value that is not finite gives no opinion (True)."""
    if not (math.isfinite(a) and math.isfinite(b)):
        return True
    return abs(a - b) <= RTOL * max(1.0, abs(a), abs(b))


def edge_points(bounds: Sequence[tuple[float, float]], fixed: dict[int, float]) -> list[tuple[float, ...]]:
    """Points of the intersection of faces: columns in ``fixed`` at their values, the others on :data:`FRACTIONS`."""
    axes = [
        (fixed[j],) if j in fixed else tuple(lo + f * (hi - lo) for f in FRACTIONS) for j, (lo, hi) in enumerate(bounds)
    ]
    return list(itertools.product(*axes))


def first_disagreement(
    a: Callable[[Sequence[float]], float], b: Callable[[Sequence[float]], float], points: Sequence[tuple[float, ...]]
) -> tuple[tuple[float, ...], float, float] | None:
    """The first point where ``a`` and ``b`` disagree, with both values (None: they agree at every point)."""
    for point in points:
        va, vb = float(a(point)), float(b(point))
        if not agree(va, vb):
            return point, va, vb
    return None


@dataclass(frozen=True)
class Meeting:
    """Two exact conditions of one field that disagree where their faces meet (``first`` before ``second``)."""

    field: str
    first: Condition
    second: Condition
    corner: tuple[tuple[str, float], ...]  # the faces' variables and values, in the problem's variable order
    point: tuple[tuple[str, float], ...]  # the other variables at the first point where the values differ
    values: tuple[float, float]

    @property
    def message(self) -> str:
        """The warning's text: the corner, the two conditions and their values there."""
        where = ", ".join(f"{name} = {value:g}" for name, value in self.corner)
        at = f" (first at {', '.join(f'{n} = {v:g}' for n, v in self.point)})" if self.point else ""
        va, vb = self.values
        return (
            f"exact conditions {self.first.name} and {self.second.name} give {self.field} different values at the "
            f"corner {where}{at}: {self.field} = {va:g} against {self.field} = {vb:g}"
        )


def meetings(problem: Problem) -> Iterator[Meeting]:
    """Every pair of exact conditions of one field whose values differ where their faces meet (spec order)."""
    names = [v.name for v in problem.variables]
    bounds = [(float(v.lo), float(v.hi)) for v in problem.variables]
    constants = {symbol(c.name): sympy.Float(c.value) for c in problem.constants}
    faces = []  # (field, condition, column, value, its value as a function of a point, or None)
    for c in problem.conditions:
        if not (isinstance(c, Condition) and c.exact and isinstance(c.lhs, AppliedUndef)):
            continue
        function = _function(sympy.sympify(c.rhs).xreplace(constants), names)
        for p in c.pieces:
            if p.face is not None and p.boundary is None and not p.fixed and p.face.side in ("lo", "hi"):
                faces.append((type(c.lhs).__name__, c, names.index(p.face.variable), float(p.face.value), function))
    for (field, c1, j1, v1, f1), (other, c2, j2, v2, f2) in itertools.combinations(faces, 2):
        if field != other or j1 == j2 or f1 is None or f2 is None or sympy.sympify(c1.rhs) == sympy.sympify(c2.rhs):
            continue
        found = first_disagreement(f1, f2, edge_points(bounds, {j1: v1, j2: v2}))
        if found is not None:
            point, va, vb = found
            corner = tuple((names[j], v) for j, v in sorted([(j1, v1), (j2, v2)]))
            rest = tuple((n, x) for j, (n, x) in enumerate(zip(names, point, strict=True)) if j not in (j1, j2))
            yield Meeting(field, c1, c2, corner, rest, (va, vb))


def _function(expr: sympy.Expr, names: Sequence[str]) -> Callable[[Sequence[float]], float] | None:
    """``expr`` as a function of a point (a value per variable), or None where Python floats cannot evaluate it."""
    if expr.atoms(AppliedUndef):
        return None  # a tabulated coefficient: not evaluated here
    try:
        fn = sympy.lambdify([symbol(n) for n in names], expr, modules="math")
    except (TypeError, ValueError, SyntaxError, NameError):
        return None

    def value(point: Sequence[float]) -> float:
        try:
            out = complex(fn(*point))
        except (ArithmeticError, ValueError, TypeError, NameError, AttributeError):
            return math.nan
        return out.real if out.imag == 0 else math.nan

    return value


PERIODIC_ORDERS = 3  # derivatives 0, 1, 2 of an exact value compared at both ends of an exactly periodic variable
PERIODIC_HINT = (
    "an exactly periodic variable enters the network through cos and sin, so the field and every derivative in it "
    "take equal values at both ends, while the exact condition fixes them to values that differ there: the network "
    "cannot represent the solution near the seam. Where only the slope (or a higher derivative) differs, keep only "
    "the value in the exact periodic condition and make the slope a loss term (`periodic: u in x exact` and "
    "`periodic: u_x in x`): the network then keeps values equal at both ends and lets the slope jump across the seam "
    "where the data ask for it. Otherwise drop `exact` from this condition (it is then learned like the other terms)"
)


@dataclass(frozen=True)
class Seam:
    """An exact condition whose value is not periodic (to ``order`` derivatives) in an exactly periodic variable."""

    condition: Condition
    periodic: Periodic
    order: int
    point: tuple[tuple[str, float], ...]  # the variable at its lower end, the others at the first disagreement
    values: tuple[float, float]  # the derivative at the lower end and at the upper end

    @property
    def message(self) -> str:
        """The warning's text."""
        v, field = self.periodic.variable, type(self.condition.lhs).__name__
        what = field if self.order == 0 else f"{field}_{v * self.order}"
        va, vb = self.values
        at = ", ".join(f"{n} = {x:g}" for n, x in self.point[1:])
        return (
            f"exact condition {self.condition.name} gives {what} = {va:g} at {v} = {self.point[0][1]:g} and {vb:g} at "
            f"the other end{f' ({at})' if at else ''}, but {v} is exactly periodic ({self.periodic.name})"
        )


def seams(problem: Problem) -> Iterator[Seam]:
    """Exact conditions on a face of another variable whose value is not periodic in an exactly periodic variable.

    The value and its first :data:`PERIODIC_ORDERS` - 1 derivatives in the periodic variable are compared at its two
    ends, on the face's other variables at :data:`FRACTIONS` (e.g. the initial value ``x^2 cos(pi x)`` on [-1, 1]
    has equal values but derivatives 2 and -2 at the ends). A slope (or higher) jump in a seam variable
    (:func:`seam_variables`) is left out: that network carries it.
    """
    seamed = seam_variables(problem)
    for seam in _disagreements(problem, exact_only=True):
        if not (seam.order >= 1 and seam.periodic.variable in seamed):
            yield seam


def seam_variables(problem: Problem) -> tuple[str, ...]:
    """The exactly periodic variables whose network gets a seam column (pdec.nn.embeddings): a slope that may jump.

    A variable qualifies when its exact periodic conditions list the value only (``periodic: u in x exact``, no
    derivative in ``x``) and a condition's value on another variable's face (an initial value, exact or not) has
    equal values but a different slope (or higher derivative) at the two ends, as Allen-Cahn's ``x^2 cos(pi x)``
    does: the solution then carries that jump across the seam, and a network periodic in every derivative cannot.
    Listing ``u_x`` asks for equal slopes, and keeps the smooth embedding.
    """
    exact = [c for c in problem.conditions if isinstance(c, Periodic) and c.exact]
    smooth = {
        c.variable
        for c in exact
        if any(symbol(c.variable) in d.variables for e in c.exprs for d in sympy.sympify(e).atoms(sympy.Derivative))
    }
    jumps = {s.periodic.variable for s in _disagreements(problem, exact_only=False) if s.order >= 1}
    return tuple(dict.fromkeys(c.variable for c in exact if c.variable not in smooth and c.variable in jumps))


def _disagreements(problem: Problem, exact_only: bool) -> Iterator[Seam]:
    """Conditions on another variable's face whose value differs (to some order) at an exactly periodic one's ends."""
    names = [v.name for v in problem.variables]
    bounds = {v.name: (float(v.lo), float(v.hi)) for v in problem.variables}
    constants = {symbol(c.name): sympy.Float(c.value) for c in problem.constants}
    for per in (p for p in problem.conditions if isinstance(p, Periodic) and p.exact):
        j, (lo, hi) = names.index(per.variable), bounds[per.variable]
        for c in problem.conditions:
            if not (isinstance(c, Condition) and (c.exact or not exact_only) and isinstance(c.lhs, AppliedUndef)):
                continue
            faces = [p.face for p in c.pieces if p.face is not None and p.boundary is None and not p.fixed]
            if not faces or any(f.variable == per.variable for f in faces):
                continue
            found = _first_seam(sympy.sympify(c.rhs).xreplace(constants), names, j, (lo, hi), bounds, faces[0])
            if found is not None:
                order, point, values = found
                yield Seam(c, per, order, point, values)


def _first_seam(expr, names, j, ends, bounds, face) -> tuple[int, tuple, tuple[float, float]] | None:
    """The lowest derivative order of ``expr`` in variable ``j`` that differs at its ends, with where and the values."""
    fixed = {names.index(face.variable): float(face.value), j: ends[0]}
    points = edge_points([bounds[n] for n in names], fixed)
    derivative = expr
    for order in range(PERIODIC_ORDERS):
        f = _function(derivative, names)
        if f is None:
            return None
        g = _function(derivative.subs(symbol(names[j]), ends[1]), names)
        found = first_disagreement(f, g, points)
        if found is not None:
            point, va, vb = found
            rest = tuple((n, x) for i, (n, x) in enumerate(zip(names, point, strict=True)) if i != j and i not in fixed)
            return order, ((names[j], ends[0]),) + rest, (va, vb)
        derivative = sympy.diff(derivative, symbol(names[j]))
    return None


def with_corner_warnings(problem: Problem) -> Problem:
    """``problem`` with warnings where exact conditions cannot all hold, and its seams marked.

    One warning for each corner where two exact conditions of one field disagree, and one for each exact value that
    is not periodic in an exactly periodic variable. Exact periodic conditions of a seam variable
    (:func:`seam_variables`) get ``seam = True``: the network lets the slope jump there (pdec.nn.embeddings).
    """
    extra = tuple(PdecWarning(m.message, m.second.span, HINT) for m in meetings(problem))
    extra += tuple(PdecWarning(s.message, s.condition.span, PERIODIC_HINT) for s in seams(problem))
    seamed = seam_variables(problem)
    conditions = tuple(
        dataclasses.replace(c, seam=True) if isinstance(c, Periodic) and c.exact and c.variable in seamed else c
        for c in problem.conditions
    )
    if not extra and not seamed:
        return problem
    return dataclasses.replace(problem, warnings=problem.warnings + extra, conditions=conditions)


__all__ = [
    "HINT",
    "PERIODIC_HINT",
    "Meeting",
    "Seam",
    "agree",
    "edge_points",
    "first_disagreement",
    "meetings",
    "seam_variables",
    "seams",
    "with_corner_warnings",
]
