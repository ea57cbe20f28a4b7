"""Declarations: the spec's names -> the Scope (variables, fields, constants, unknowns, definitions, term names).

Each function takes the Scope it fills and, where values are computed, the Expressions builder.
"""

from __future__ import annotations

from collections.abc import Callable

import sympy

from pdec.core.errors import PdecNameError, PdecSemanticError, number, short
from pdec.core.source import Span
from pdec.language import syntax as ast
from pdec.language.dimensions import Dimensions, declared
from pdec.language.dimensions import interval as unit_interval
from pdec.language.expressions import Expressions
from pdec.language.parse import KEYWORDS
from pdec.language.problem import Constant, Definition, Field, Unknown, UnknownFunction, Variable
from pdec.language.scope import Context, Decl, Scope
from pdec.language.vocabulary import RESERVED

MAX_VARIABLES = 4


def declare_names(scope: Scope) -> None:
    """Register every declared name; reject reserved and duplicate names."""
    kinds = {
        ast.VarDecl: "variable",
        ast.ParamDecl: "parameter",
        ast.FieldDecl: "field",
        ast.ConstDecl: "constant",
        ast.UnknownDecl: "unknown",
        ast.LetDecl: "definition",
        ast.CoefDecl: "coefficient",
        ast.DomainStmt: "domain",
    }
    for stmt in scope.statements(*kinds):
        scope.current = stmt.span
        ident = stmt.name
        check_new_name(ident, "name")
        if ident.name in scope.decls:
            first = scope.decls[ident.name]
            raise PdecNameError(
                f"'{ident.name}' is already declared as a {first.kind} (line {first.span.line})",
                ident.span,
                "each variable, field, constant, unknown and definition needs its own name",
            )
        function = isinstance(stmt, ast.UnknownDecl) and stmt.args is not None
        kind = "unknown function" if function else kinds[type(stmt)]
        scope.decls[ident.name] = Decl(kind, stmt.span)


def name_terms(scope: Scope) -> None:
    """Give every equation, condition and data set its bare name: written, or eq1, ic1, bc1, periodic1, data1."""
    kinds = (ast.EquationStmt, ast.ConditionStmt, ast.PeriodicStmt, ast.DataStmt)
    terms = [s for s in scope.statements(*kinds) if not (isinstance(s, ast.DataStmt) and s.is_reference)]
    taken: dict[str, ast.Ident] = {}
    for stmt in terms:
        if stmt.name is not None:
            check_new_name(stmt.name, "term name")
            if stmt.name.name in taken:
                first = taken[stmt.name.name].span.line
                raise PdecNameError(
                    f"duplicate term name '{stmt.name.name}' (first used on line {first})",
                    stmt.name.span,
                    "equations, conditions and data sets need distinct names",
                )
            taken[stmt.name.name] = stmt.name
    counters: dict[str, int] = {}
    for stmt in terms:
        prefix = _term_prefix(stmt)
        counters[prefix] = counters.get(prefix, 0) + 1
        if stmt.name is not None:
            scope.term_names[id(stmt)] = stmt.name.name
            continue
        count = counters[prefix]
        while f"{prefix}{count}" in taken:
            count += 1
        name = f"{prefix}{count}"
        taken[name] = ast.Ident(name, stmt.span)
        scope.term_names[id(stmt)] = name


def constant(scope: Scope, ex: Expressions, stmt: ast.ConstDecl) -> Constant:
    """``const nu = expr``: an expression of numbers, pi, e and earlier constants."""
    scope.current = stmt.span
    ctx = Context("const", consts=frozenset(scope.const_values))
    expr = ex.expr(stmt.expr, ctx)
    value = ex.value(stmt.expr, f"constant '{stmt.name.name}'")
    scope.const_values[stmt.name.name] = value
    if scope.dimensions is not None:
        scope.dimensions[stmt.name.name] = Dimensions(scope, ex).of(stmt.expr, ctx)
    return Constant(stmt.name.name, value, expr, stmt.span)


def declare_variables(scope: Scope, ex: Expressions) -> None:
    """``var``/``time`` declarations: at most one time, 1 to 4 variables, finite intervals with lo < hi."""
    decls = scope.statements(ast.VarDecl)
    if not decls:
        raise PdecSemanticError(
            "the spec declares no variables", _first_span(scope.spec), "declare one, e.g. `var x in [0, 1]`"
        )
    time_decl = None
    for decl in decls:
        scope.current = decl.span
        if len(scope.variables) == MAX_VARIABLES:
            raise PdecSemanticError(
                f"too many variables: at most {MAX_VARIABLES} are supported",
                decl.span,
                "pdec handles problems in up to 4 dimensions (time included)",
            )
        if decl.is_time and time_decl is not None:
            raise PdecSemanticError(
                "more than one time variable",
                decl.span,
                f"'{time_decl.name.name}' is already the time variable (line {time_decl.span.line}); use var",
            )
        time_decl = decl if decl.is_time else time_decl
        lo, hi = interval(scope, ex, decl.lo, decl.hi, f"'{decl.name.name}'", decl.span)
        if scope.dimensions is not None:
            declared(scope, decl.name.name, decl.unit)
            lo, hi = unit_interval(Dimensions(scope, ex), decl, lo, hi)
        scope.variables[decl.name.name] = Variable(decl.name.name, lo, hi, decl.is_time, decl.span)


def interval(
    scope: Scope, ex: Expressions, lo_node: ast.Expr, hi_node: ast.Expr, what: str, span: Span | None
) -> tuple[float, float]:
    """Evaluate ``[lo, hi]`` (constant expressions) and check lo < hi."""
    ctx = Context("const", consts=frozenset(scope.const_values))
    ex.expr(lo_node, ctx)
    ex.expr(hi_node, ctx)
    lo = ex.value(lo_node, f"the lower end of {what}")
    hi = ex.value(hi_node, f"the upper end of {what}")
    if not lo < hi:
        raise PdecSemanticError(
            f"empty interval [{number(lo)}, {number(hi)}] for {what}",
            (lo_node.span or span) | (hi_node.span or span),
            "write [lo, hi] with lo < hi",
        )
    return lo, hi


def declare_fields(scope: Scope) -> None:
    """``field u(x, t)``: arguments are distinct declared variables; bare ``field u`` takes them all."""
    order = list(scope.variables)
    for decl in scope.statements(ast.FieldDecl):
        scope.current = decl.span
        if decl.args is None:
            args = tuple(order)
        else:
            name = decl.name.name
            args = scope.listed_variables(decl.args, decl.span, f"field '{name}'", f"field {name}")
            args = tuple(v for v in order if v in args or scope.variables[v].is_parameter)  # a family's parameters
        scope.fields[decl.name.name] = Field(decl.name.name, args, decl.span)
        if scope.dimensions is not None:
            declared(scope, decl.name.name, decl.unit)


def unknown(scope: Scope, ex: Expressions, stmt: ast.UnknownDecl) -> Unknown | UnknownFunction:
    """``unknown k = init [positive] [in [lo, hi]] [true V] [lr V]``; ``unknown k(x) = ...``: an unknown function."""
    scope.current = stmt.span
    name = stmt.name.name
    args = None if stmt.args is None else function_arguments(scope, stmt)
    ctx = Context("const", consts=frozenset(scope.const_values))
    ex.expr(stmt.init, ctx)
    values: dict[str, object] = {"init": ex.value(stmt.init, f"the initial guess of '{name}'")}
    if scope.dimensions is not None:  # an unknown has the dimension of its initial guess (`unknown k = 40 [W/(m*K)]`)
        scope.dimensions[name] = Dimensions(scope, ex).of(stmt.init, ctx)
    seen: set[str] = set()
    for modifier in stmt.modifiers:
        if modifier.kind in seen:
            raise PdecSemanticError(f"'{modifier.kind}' is given twice for unknown '{name}'", modifier.span)
        seen.add(modifier.kind)
        if modifier.kind == "positive":
            values["positive"] = True
        elif modifier.kind == "in":
            values["lower"], values["upper"] = interval(scope, ex, *modifier.args, f"unknown '{name}'", modifier.span)
        elif modifier.kind == "true" and args is not None:
            values["true"] = function_truth(scope, ex, modifier.args[0], name, args)
        else:
            ex.expr(modifier.args[0], ctx)
            key = "true" if modifier.kind == "true" else "lr"
            values[key] = ex.value(modifier.args[0], f"the {modifier.kind} value of '{name}'")
    if args is not None:
        function = UnknownFunction(name, args, span=stmt.span, **values)
        _check_unknown(function, stmt, scope.warn)
        scope.functions[name] = function
        return function
    unknown = Unknown(name, span=stmt.span, **values)
    _check_unknown(unknown, stmt, scope.warn)
    scope.unknowns[name] = unknown
    return unknown


def function_arguments(scope: Scope, stmt: ast.UnknownDecl) -> tuple[str, ...]:
    """The variables of an unknown function ``k(x, y)``: declared, distinct, in declaration order (not fields)."""
    name = stmt.name.name
    if not stmt.args:
        raise PdecSemanticError(
            f"unknown function '{name}' has no variables",
            stmt.span,
            f"list its variables, e.g. `unknown {name}(x) = 1`, or write `unknown {name} = 1` for an unknown number",
        )
    for arg in stmt.args:
        if arg.name in scope.fields:
            raise PdecSemanticError(
                f"unknown function '{name}' of the field '{arg.name}': functions of a field are not supported yet",
                arg.span,
                f"declare it as a function of variables, e.g. `unknown {name}"
                f"({', '.join(scope.fields[arg.name].args)}) = 1`",
            )
    return scope.listed_variables(list(stmt.args), stmt.span, f"unknown function '{name}'", f"unknown {name}")


def function_truth(scope: Scope, ex: Expressions, node: ast.Expr, name: str, args: tuple[str, ...]) -> sympy.Expr:
    """``true EXPR`` of an unknown function: an expression of its own variables and constants (sympy)."""
    expr = ex.expr(node, Context("truth"))
    extra = sorted(s.name for s in expr.free_symbols if s.name in scope.variables and s.name not in args)
    if extra:
        raise PdecSemanticError(
            f"the true value of '{name}' uses {', '.join(extra)}, "
            f"but '{name}' is a function of ({', '.join(args)}) only",
            node.span,
            f"write it with {', '.join(args)} and constants only",
        )
    return expr


def definition(scope: Scope, ex: Expressions, stmt: ast.LetDecl) -> Definition:
    """``let w = expr``: substituted wherever ``w`` is used after it."""
    scope.current = stmt.span
    expr = ex.expr(stmt.expr, Context("field"))
    scope.lets[stmt.name.name] = expr
    if scope.dimensions is not None:
        scope.dimensions[stmt.name.name] = Dimensions(scope, ex).of(stmt.expr, Context("field"))
    return Definition(stmt.name.name, expr, stmt.span)


def check_new_name(ident: ast.Ident, what: str) -> None:
    """Reject reserved names and names with a double underscore."""
    if ident.name in RESERVED:
        kind = "a keyword" if ident.name in KEYWORDS else "a built-in name"
        raise PdecNameError(
            f"'{ident.name}' is {kind} and cannot be used as a {what}", ident.span, "choose another name"
        )
    if "__" in ident.name or ident.name.endswith("_"):
        raise PdecNameError(
            f"'{short(ident.name)}' is not allowed as a {what}",
            ident.span,
            "names may not end in '_' or contain '__' (derivative keys use them)",
        )


def _check_unknown(unknown: Unknown | UnknownFunction, stmt: ast.UnknownDecl, warn: Callable) -> None:
    """Check an unknown's (or unknown function's) initial guess against its constraints."""
    span = stmt.init.span
    if unknown.positive and unknown.init <= 0:
        raise PdecSemanticError(f"the initial guess of positive unknown '{unknown.name}' must be > 0", span)
    if unknown.lower is not None and not unknown.lower < unknown.init < unknown.upper:
        raise PdecSemanticError(
            f"the initial guess {number(unknown.init)} of '{unknown.name}' is not inside "
            f"({number(unknown.lower)}, {number(unknown.upper)})",
            span,
        )
    if unknown.positive and unknown.lower is not None and unknown.lower < 0:
        raise PdecSemanticError(
            f"unknown '{unknown.name}' is positive but its interval allows negative values",
            stmt.span,
            "drop `positive` or raise the lower bound to 0",
        )
    if unknown.lr is not None and unknown.lr <= 0:
        raise PdecSemanticError(f"the learning rate of '{unknown.name}' must be > 0", stmt.span)
    true = unknown.true
    if isinstance(unknown, Unknown) and true is not None and (
        (unknown.positive and true <= 0) or (unknown.lower is not None and not unknown.lower <= true <= unknown.upper)
    ):
        warn(f"the true value of '{unknown.name}' violates its constraints", stmt.span)


def _term_prefix(stmt: ast.Statement) -> str:
    if isinstance(stmt, ast.EquationStmt):
        return "eq"
    if isinstance(stmt, ast.ConditionStmt):
        return stmt.kind
    return "periodic" if isinstance(stmt, ast.PeriodicStmt) else "data"


def _first_span(spec: ast.Spec) -> Span:
    if spec.statements and spec.statements[0].span is not None:
        return spec.statements[0].span
    return spec.source.end_span()
