"""Non-dimensionalisation, Problem -> Problem: the variables and fields of a spec with units on scales of order one.

``scaled(problem)`` chooses a characteristic scale for every variable and field (:func:`choose`), substitutes
``x = x0 + L * x'`` and ``u = u0 + U * u'`` into every residual in sympy (:func:`substitute`: a derivative of order
``n`` in ``x`` gains ``U / L**n``), divides each residual by its largest term (:func:`residual_scale`), and maps the
data, the reference and the exact solutions alike. The scaled problem keeps the names: ``x`` now stands for ``x'``
on ``[0, 1]``; ``Problem.scaling`` records the maps back to the user's units (predictions, errors, plots).

Scales (in the user's units, stated by ``pdec check`` and in the run's ``scales.json``):

- a variable on ``[lo, hi]``: ``x0 = lo``, ``L = hi - lo`` (with a ``domain``, variables keep their units: the
  network maps them to [-1, 1] itself, and the domain's shapes stay as written);
- a field: the range ``[m, M]`` of the values the spec gives it, ``u0 = (m + M) / 2`` and ``U = (M - m) / 2``:
  first its value conditions (``ic``/``bc`` of the form ``u = g``, sampled over the box) and data; when those give
  none, its reference data and exact solution; a single value ``m = M`` gives ``u0 = m``, ``U = |m|``.

Numbers inside expressions are SI; the substitution goes through SI too (``x_SI = offset + factor * x``, from
``Problem.units``), so ``mm`` or ``degC`` variables and fields are consistent. With ``scale = false`` only that unit
conversion is applied (nothing at all when every unit is SI).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping

import numpy as np
import sympy
from sympy.core.function import AppliedUndef

from pdec.language.expressions import tree_size
from pdec.language.problem import (
    Coefficient,
    Condition,
    DataSet,
    Equation,
    Face,
    Learned,
    Periodic,
    Problem,
    Scaling,
    Tabulated,
    UnknownFunction,
    Variable,
    frozen,
    is_field,
    symbol,
    term_name,
)

SAMPLES = 2048  # points of the box where condition values and exact solutions are sampled for the field scales
MAX_EXPANDED = 20_000  # nodes of an expanded residual beyond which its scale is not estimated (1)
Affine = tuple[float, float]  # (offset, scale): value = offset + scale * scaled


def needed(problem: Problem) -> bool:
    """Whether ``problem`` has units to scale or convert (a spec without units is never touched)."""
    return problem.units is not None and problem.scaling is None


def scaled(problem: Problem) -> Problem:
    """The problem on scales of order one (``scale = true``), or converted to SI only (``scale = false``)."""
    if not needed(problem):
        return problem
    scale = problem.settings.scale
    variables = {v.name: (v.lo, v.hi - v.lo) if scale and problem.domain is None else (0.0, 1.0)
                 for v in problem.variables}
    fields, sources = choose(problem) if scale else ({f.name: (0.0, 1.0) for f in problem.fields}, {})
    functions = {f.name: (0.0, _size(f.init) if scale else 1.0) for f in problem.functions}
    maps = Maps(problem, variables, fields, functions)
    if maps.identity:
        return problem
    equations = tuple(_equation(maps, e, scale) for e in problem.equations)
    conditions = tuple(_condition(maps, c, scale) for c in problem.conditions)
    residuals = {term_name("pde", e.name): s for e, (_, s) in zip(problem.equations, equations, strict=True)}
    residuals |= {term_name(c.kind, c.name): s for c, (_, s) in zip(problem.conditions, conditions, strict=True)}
    record = Scaling(frozen(variables), frozen(fields), frozen(sources), frozen(residuals), problem.units.units,
                     frozen(functions))
    return dataclasses.replace(
        problem,
        variables=tuple(_variable(v, variables[v.name]) for v in problem.variables),
        coefficients=tuple(maps.tables.values()),
        functions=tuple(_function(maps, f) for f in problem.functions),
        equations=tuple(e for e, _ in equations),
        conditions=tuple(c for c, _ in conditions),
        data=tuple(_dataset(d, variables, fields) for d in problem.data),
        reference=None if problem.reference is None else _dataset(problem.reference, variables, fields),
        exact=None if problem.exact is None else frozen({k: maps.field_value(k, e) for k, e in problem.exact.items()}),
        scaling=record,
    )


class Maps:
    """The affine maps from the scaled symbols to SI values: ``x_SI = A + B * x'``, ``u_SI = C + D * u'``."""

    def __init__(self, problem: Problem, variables: Mapping[str, Affine], fields: Mapping[str, Affine],
                 functions: Mapping[str, Affine] | None = None) -> None:
        units = problem.units
        self.chosen = dict(variables)  # user = offset + scale * scaled
        self.variables = {name: _compose(units.si(name), a) for name, a in variables.items()}
        self.fields = {name: _compose(units.si(name), a) for name, a in fields.items()}
        self.values = {symbol(c.name): sympy.Float(c.value) for c in problem.constants}
        self.values |= {symbol(u.name): sympy.Float(u.init) for u in problem.unknowns}
        # a tabulated coefficient keeps its values in its unit and is read on the scaled variables' coordinates
        self.coefficients = {c.name: _compose(units.si(c.name), (0.0, 1.0)) for c in problem.coefficients}
        self.tables = {c.name: _coefficient(c, variables) for c in problem.coefficients}
        # an unknown function's values are SI (like its initial value): k_SI = scale * k' (the scale from the start)
        self.functions = dict(functions or {})

    @property
    def identity(self) -> bool:
        """Every map is ``x_SI = x'`` (SI units, nothing to scale)."""
        maps = (*self.variables.values(), *self.fields.values(), *self.coefficients.values(),
                *self.functions.values())
        return all(a == (0.0, 1.0) for a in maps)

    def substitute(self, expr: sympy.Expr) -> sympy.Expr:
        """``expr`` (SI, of the user's symbols) in the scaled symbols: variables, fields and their derivatives."""
        expr = sympy.sympify(expr)
        replace: dict = {}
        for d in expr.atoms(sympy.Derivative):
            name = type(d.expr).__name__
            values = self._values(d.expr)
            if name in values:
                lengths = (self.variables[v.name][1] ** int(n) for v, n in d.variable_count)
                factor = values[name][1] / math.prod(lengths)
                replace[d] = sympy.Float(factor) * d
        for f in expr.atoms(AppliedUndef):
            name = type(f).__name__
            values = self._values(f)
            if name in values:  # the whole application: the variables inside stay the scaled ones
                offset, scale = values[name]
                replace[f] = _affine(offset, scale, f)
        for name, (offset, scale) in self.variables.items():
            replace[symbol(name)] = _affine(offset, scale, symbol(name))
        return expr.xreplace(replace)

    def _values(self, f: sympy.Expr) -> Mapping[str, Affine]:
        """The value maps of ``f``'s kind: fields, tabulated coefficients or unknown functions."""
        if is_field(f):
            return self.fields
        return self.coefficients if isinstance(f, Tabulated) else self.functions if isinstance(f, Learned) else {}

    def sizes(self, expr: sympy.Expr) -> dict[sympy.Expr, sympy.Float]:
        """Each tabulated coefficient's value or partial in ``expr`` -> its largest size on its (scaled) table, and
        each unknown function's -> 1 (its scaled values start at order one), so that a residual's scale counts
        their magnitudes (:func:`residual_scale`)."""  # noqa: D205, D209
        sizes = {}
        for atom in (*expr.atoms(sympy.Derivative), *expr.atoms(AppliedUndef)):
            f = atom.expr if isinstance(atom, sympy.Derivative) else atom
            if isinstance(f, Learned):
                sizes[atom] = sympy.Float(1.0)
                continue
            if not isinstance(f, Tabulated) or type(f).__name__ not in self.tables:
                continue
            table = self.tables[type(f).__name__]
            grid = table.values
            if isinstance(atom, sympy.Derivative):
                for v, n in atom.variable_count:
                    k = table.args.index(v.name)
                    for _ in range(int(n)):
                        grid = np.gradient(grid, table.axes[k], axis=k)
            sizes[atom] = sympy.Float(float(np.max(np.abs(grid))))
        return sizes

    def scaled_variable(self, name: str, value: float) -> float:
        """A value of variable ``name`` in the user's unit, as the scaled variable's."""
        offset, scale = self.chosen[name]
        return (value - offset) / scale

    def field_value(self, name: str, expr: sympy.Expr) -> sympy.Expr:
        """A value of field ``name`` (SI, of the user's symbols), as the scaled field's value."""
        offset, scale = self.fields[name]
        return (self.substitute(expr) - offset) / scale


def _compose(si: tuple[float, float], chosen: Affine) -> Affine:
    """``SI = o + f * user`` and ``user = a + b * scaled`` -> ``SI = (o + f * a) + (f * b) * scaled``."""
    (factor, offset), (a, b) = si, chosen
    return offset + factor * a, factor * b


def _affine(offset: float, scale: float, x: sympy.Expr) -> sympy.Expr:
    """``offset + scale * x`` (exact where they are 0 and 1)."""
    out = x if scale == 1 else sympy.Float(scale) * x
    return out if offset == 0 else sympy.Float(offset) + out


def residual_scale(maps: Maps, expr: sympy.Expr) -> float:
    """The largest coefficient of a term with a field in ``expr`` (expanded, constants and unknowns valued); 1 when
    there is none, or the expansion is too large."""  # noqa: D205, D209
    expr = sympy.sympify(expr)
    expanded = sympy.expand(expr.xreplace(maps.sizes(expr)).xreplace(maps.values))
    if tree_size(expanded, MAX_EXPANDED) > MAX_EXPANDED:
        return 1.0
    coefficients = []
    for term in sympy.Add.make_args(expanded):
        if any(is_field(f) and type(f).__name__ != "dn" for f in term.atoms(AppliedUndef)):
            coefficient, _ = term.evalf().as_coeff_Mul()
            if coefficient.is_Number and float(coefficient) != 0:
                coefficients.append(abs(float(coefficient)))
    return max(coefficients) if coefficients else 1.0


def _scaled_residual(maps: Maps, expr: sympy.Expr, scale: bool) -> tuple[sympy.Expr, float]:
    """A residual in the scaled symbols, divided by its scale (``scale = false``: by 1)."""
    substituted = maps.substitute(expr)
    factor = residual_scale(maps, substituted) if scale else 1.0
    return (substituted if factor == 1 else sympy.expand(substituted / sympy.Float(factor))), factor


def _equation(maps: Maps, eq: Equation, scale: bool) -> tuple[Equation, float]:
    residual, factor = _scaled_residual(maps, eq.residual, scale)
    return dataclasses.replace(eq, lhs=residual, rhs=sympy.Integer(0)), factor


def _condition(maps: Maps, c: Condition | Periodic, scale: bool) -> tuple[Condition | Periodic, float]:
    if isinstance(c, Periodic):
        found = [_scaled_residual(maps, e, scale) for e in c.exprs]
        return dataclasses.replace(c, exprs=tuple(e for e, _ in found)), max(f for _, f in found)
    pieces, factors = [], []
    for p in c.pieces:
        residual, factor = _scaled_residual(maps, p.residual, scale)
        pieces.append(dataclasses.replace(p, residual=residual, face=_face(maps, p.face), fixed=_fixed(maps, p.fixed)))
        factors.append(factor)
    if isinstance(c.lhs, AppliedUndef) and is_field(c.lhs):  # u = g: g in the scaled field's values (exact, display)
        lhs, rhs = c.lhs, maps.field_value(type(c.lhs).__name__, c.rhs)
    else:
        lhs, rhs = maps.substitute(c.lhs), maps.substitute(c.rhs)
    return dataclasses.replace(c, pieces=tuple(pieces), lhs=lhs, rhs=rhs), max(factors, default=1.0)


def _face(maps: Maps, face: Face | None) -> Face | None:
    if face is None:
        return None
    return dataclasses.replace(face, value=maps.scaled_variable(face.variable, face.value))


def _fixed(maps: Maps, fixed: tuple[tuple[str, float], ...]) -> tuple[tuple[str, float], ...]:
    return tuple((name, maps.scaled_variable(name, value)) for name, value in fixed)


def _coefficient(c: Coefficient, variables: Mapping[str, Affine]) -> Coefficient:
    """A tabulated coefficient on the scaled variables' coordinates (its values stay in their unit)."""
    axes = tuple((np.asarray(a) - variables[v][0]) / variables[v][1] for v, a in zip(c.args, c.axes, strict=True))
    return dataclasses.replace(c, axes=axes)


def _size(value: float) -> float:
    """The scale of an unknown function's values: its initial value's size (1 when it starts at 0)."""
    return abs(float(value)) if value != 0 and math.isfinite(value) else 1.0


def _function(maps: Maps, f: UnknownFunction) -> UnknownFunction:
    """An unknown function on the scaled variables, its values (start, bounds, truth) divided by its scale."""
    scale = maps.functions[f.name][1]
    divided = (lambda v: None if v is None else v / scale)  # noqa: E731
    true = None if f.true is None else sympy.expand(maps.substitute(f.true) / sympy.Float(scale))
    return dataclasses.replace(f, init=f.init / scale, lower=divided(f.lower), upper=divided(f.upper), true=true)


def _variable(v: Variable, chosen: Affine) -> Variable:
    offset, scale = chosen
    return dataclasses.replace(v, lo=(v.lo - offset) / scale, hi=(v.hi - offset) / scale)


def _dataset(data: DataSet, variables: Mapping[str, Affine], fields: Mapping[str, Affine]) -> DataSet:
    """Observations in the scaled variables and fields (the columns are in the user's units)."""
    points = np.column_stack([(data.points[:, j] - variables[v][0]) / variables[v][1]
                              for j, v in enumerate(data.variables)])
    values = np.column_stack([(data.values[:, k] - fields[f][0]) / fields[f][1] for k, f in enumerate(data.fields)])
    return dataclasses.replace(data, points=points.reshape(data.points.shape), values=values.reshape(data.values.shape))


# ---------------------------------------------------------------------------------------------------- scales


def choose(problem: Problem) -> tuple[dict[str, Affine], dict[str, str]]:
    """Each field's ``(offset, scale)`` in its unit and where it came from (see the module docstring)."""
    samples = box_samples(problem)
    fields, sources = {}, {}
    for f in problem.fields:
        found = [("conditions", condition_values(problem, f.name, samples)), ("data", data_values(problem, f.name))]
        if not any(len(v) for _, v in found):
            found = [("reference", reference_values(problem, f.name)),
                     ("exact solution", exact_values(problem, f.name, samples))]
        used = [name for name, v in found if len(v)]
        values = np.concatenate([v for _, v in found]) if used else np.array([])
        fields[f.name] = _range_scale(values)
        sources[f.name] = " and ".join(used) if used else "no values in the spec: its unit"
    return fields, sources


def _range_scale(values: np.ndarray) -> Affine:
    """``((m + M) / 2, (M - m) / 2)`` of the finite values; ``(m, |m|)`` for one value; ``(0, 1)`` for none."""
    values = values[np.isfinite(values)]
    if not len(values):
        return 0.0, 1.0
    lo, hi = float(values.min()), float(values.max())
    if hi - lo > 1e-9 * max(abs(lo), abs(hi)):
        return _rounded((lo + hi) / 2, (hi - lo) / 2)
    return _rounded(lo, abs(lo) if lo != 0 else 1.0)


def _rounded(offset: float, scale: float) -> Affine:
    """The scale to two significant digits, the offset to a hundredth of it (sampling leaves 24.99999 for 25)."""
    scale = float(f"{scale:.2g}")
    step = scale / 100
    return round(offset / step) * step + 0.0, scale


def box_samples(problem: Problem) -> dict[str, np.ndarray]:
    """``SAMPLES`` seeded uniform points of the box, in the user's units, by variable."""
    rng = np.random.default_rng(0)
    return {v.name: v.lo + (v.hi - v.lo) * rng.random(SAMPLES) for v in problem.variables}


def _user_values(problem: Problem, name: str, expr: sympy.Expr, points: dict[str, np.ndarray]) -> np.ndarray:
    """An SI expression of the user's variables, evaluated at ``points`` (user units), in field ``name``'s unit."""
    units = problem.units
    values = {symbol(c.name): sympy.Float(c.value) for c in problem.constants}
    expr = sympy.sympify(expr).xreplace(values)
    if expr.atoms(AppliedUndef) or any(s.name not in points for s in expr.free_symbols):
        return np.array([])
    names = sorted(points)
    si = {n: units.si(n)[1] + units.si(n)[0] * points[n] for n in names}
    function = sympy.lambdify([symbol(n) for n in names], expr, modules="numpy")
    with np.errstate(all="ignore"):
        out = np.broadcast_to(np.asarray(function(*(si[n] for n in names)), dtype=float), (SAMPLES,))
    factor, offset = units.si(name)
    return (out - offset) / factor


def condition_values(problem: Problem, name: str, samples: dict[str, np.ndarray]) -> np.ndarray:
    """The values ``u = g`` conditions give field ``name`` on their faces."""
    found = []
    for c in problem.conditions:
        if isinstance(c, Condition) and isinstance(c.lhs, AppliedUndef) and type(c.lhs).__name__ == name:
            for p in c.pieces:
                points = dict(samples) | {k: np.full(SAMPLES, v) for k, v in p.region.items()}
                found.append(_user_values(problem, name, c.rhs, points))
    return np.concatenate(found) if found else np.array([])


def data_values(problem: Problem, name: str) -> np.ndarray:
    """Field ``name``'s observations."""
    found = [d.values[:, d.fields.index(name)] for d in problem.data if name in d.fields]
    return np.concatenate(found) if found else np.array([])


def reference_values(problem: Problem, name: str) -> np.ndarray:
    """Field ``name``'s reference values."""
    ref = problem.reference
    return ref.values[:, ref.fields.index(name)] if ref is not None and name in ref.fields else np.array([])


def exact_values(problem: Problem, name: str, samples: dict[str, np.ndarray]) -> np.ndarray:
    """Field ``name``'s exact solution over the box."""
    exact = problem.exact or {}
    return _user_values(problem, name, exact[name], samples) if name in exact else np.array([])


def describe(problem: Problem) -> list[str]:
    """The scales, as ``pdec check`` states them (lines)."""
    record = problem.scaling
    if record is None:
        return []
    units = record.units
    lines = ["scales (training sees the scaled x', u'; results are in the units below):"]
    lines += [f"  {n} = {o:.6g} + {s:.6g} * {n}'  [{units.get(n, '1')}]" for n, (o, s) in record.variables.items()]
    lines += [f"  {n} = {o:.6g} + {s:.6g} * {n}'  [{units.get(n, '1')}]  (from {record.sources.get(n, '')})"
              for n, (o, s) in record.fields.items()]
    lines += [f"  {n} = {s:.6g} * {n}'  [SI]  (from its initial value)" for n, (_, s) in record.functions.items()]
    lines += [f"  {term} divided by {s:.4g}" for term, s in record.residuals.items()]
    return lines
