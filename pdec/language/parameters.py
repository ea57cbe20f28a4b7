"""Parameters: ``param nu in [lo, hi]`` -> variables marked ``is_parameter`` (a family of problems, trained once).

A parameter is an input of the network like a variable: every point set (the interior, each condition's faces, the
data) samples it uniformly over its interval, and equations, conditions and exact solutions may use it. It is never
a place: it has no faces (``at``, ``on boundary``, ``periodic``), ``lap`` and ``dn`` leave it out, and a ``domain``
is spatial. Fields depend on every parameter without listing it (``field u(x, t)`` is ``u(x, t, nu)``), so the spec
may differentiate in it (``d(u, nu)``), and nothing else does. Parameters come after the variables in the columns
of points.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping

import numpy as np
import sympy

from pdec.core.errors import PdecDataError, PdecSemanticError
from pdec.core.intervals import spread
from pdec.core.source import Span
from pdec.language import syntax as ast
from pdec.language.data import read_statement
from pdec.language.declarations import interval
from pdec.language.expressions import Expressions
from pdec.language.problem import DataSet, Variable
from pdec.language.scope import Scope

MAX_PARAMETERS = 3


def declare_parameters(scope: Scope, ex: Expressions) -> None:
    """``param nu in [lo, hi]``: at most MAX_PARAMETERS, finite constant bounds with lo < hi; after the variables."""
    for decl in scope.statements(ast.ParamDecl):
        scope.current = decl.span
        name = decl.name.name
        if sum(v.is_parameter for v in scope.variables.values()) == MAX_PARAMETERS:
            raise PdecSemanticError(
                f"too many parameters: at most {MAX_PARAMETERS} are supported",
                decl.span,
                "each parameter is an input of the network; fix the others with `const`",
            )
        lo, hi = interval(scope, ex, decl.lo, decl.hi, f"parameter '{name}'", decl.span)
        if decl.log and not lo > 0:
            raise PdecSemanticError(
                f"parameter '{name}' is declared `log` but its interval starts at {lo:g}",
                decl.span,
                "a log scale needs 0 < lo < hi; drop `log` for an interval that reaches zero or below",
            )
        scope.variables[name] = Variable(name, lo, hi, False, decl.span, is_parameter=True, log=decl.log)


def not_a_place(scope: Scope, name: str, span: Span | None, where: str) -> None:
    """Raise at ``name`` when it is a parameter where a place is needed (``at nu = 1``, ``on boundary(nu)``)."""
    variable = scope.variables.get(name)
    if variable is not None and variable.is_parameter:
        raise PdecSemanticError(
            f"'{name}' is a parameter, not a place: {where} cannot use it",
            span,
            f"a parameter has no faces; every condition holds for all {name} in "
            f"[{variable.lo:g}, {variable.hi:g}] (it may use {name} in its expressions)",
        )


def check_parameters_used(scope: Scope, residuals: list[sympy.Expr]) -> None:
    """Every parameter must appear in some equation or condition (beyond a field's arguments), or it changes nothing."""
    used = set().union(*(_uses(expr) for expr in residuals))
    for variable in scope.variables.values():
        if variable.is_parameter and variable.name not in used:
            raise PdecSemanticError(
                f"parameter '{variable.name}' appears in no equation or condition",
                variable.span,
                f"use {variable.name} in an eq or a condition (e.g. as a coefficient), or declare it with "
                f"`const {variable.name} = ...`",
            )


def check_log_derivatives(scope: Scope, statements: Iterable[tuple[sympy.Expr, Span | None]]) -> None:
    """No partial in a ``log`` parameter: the forward mode carries the network's partials in the variables it reads,
    and the network reads ``log(nu)``, not ``nu`` (``statements``: residuals with the span of their line)."""  # noqa: D205, D209
    logged = {v.name for v in scope.variables.values() if v.is_parameter and v.log}
    for expr, span in statements:
        for d in expr.atoms(sympy.Derivative):
            found = sorted(logged & {v.name for v, _ in d.variable_count})
            if found:
                raise PdecSemanticError(
                    f"a partial derivative in '{found[0]}', a parameter declared `log`",
                    span,
                    f"declare it without `log` (`param {found[0]} in [lo, hi]`) to differentiate in it",
                )


def _uses(expr: sympy.Expr) -> set[str]:
    """The names ``expr`` uses outside the arguments of fields (and other applied functions): symbols and the
    variables of its derivatives."""  # noqa: D205, D209
    derivatives = expr.atoms(sympy.Derivative)
    names = {v.name for d in derivatives for v, _ in d.variable_count}
    bare = expr.xreplace({d: sympy.Dummy() for d in derivatives})
    bare = bare.xreplace({f: sympy.Dummy() for f in bare.atoms(sympy.core.function.AppliedUndef)})
    return names | {s.name for s in bare.free_symbols}


def dataset(
    scope: Scope,
    stmt: ast.DataStmt,
    name: str,
    convert: Mapping[str, Callable[[np.ndarray], np.ndarray]] | None = None,
) -> DataSet:
    """A ``data`` or ``reference`` statement whose file may leave parameters out.

    A data set that maps a parameter reads its values from the file. One that does not holds for every value of it:
    each row gets a value drawn uniformly over the parameter's interval, or over its logarithm's for a ``log`` one
    (seeded by the statement's ``seed``). A reference must map every parameter: errors are measured where the
    solution is known. ``convert``: the columns with a unit of their own, converted as they are read
    (pdec.language.data.read_statement).
    """
    mapped = {m.target.name for m in stmt.mappings}
    free = [v for v in scope.variables.values() if v.is_parameter and v.name not in mapped]
    if free and stmt.is_reference:
        names = ", ".join(v.name for v in free)
        raise PdecDataError(
            f"the reference does not map parameter {names}",
            stmt.span,
            f"map a column of {names} values (e.g. `{free[0].name} = {free[0].name}`): a reference solution is "
            "known at given parameter values",
        )
    variables = tuple(v for v in scope.variables.values() if v not in free)
    found = read_statement(stmt, name, variables, tuple(scope.fields.values()), scope.source.directory, convert)
    if not free:
        return found
    seed = next((int(o.value.text) for o in stmt.options if o.key == "seed" and o.value.text.isdigit()), 0)
    rng = np.random.default_rng([seed, 0x9A7A])
    columns = {v.name: found.points[:, i] for i, v in enumerate(variables)}
    columns |= {v.name: spread(v.interval, rng.random(len(found))) for v in free}
    order = tuple(scope.variables)
    points = np.stack([columns[v] for v in order], axis=1)
    return dataclasses.replace(found, variables=order, points=points)
