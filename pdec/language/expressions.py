"""Expressions: syntax-tree expressions -> sympy, node by node, with every name and call checked against the Scope.

:class:`Expressions` dispatches on the node's class (``expr_<class>``); derivatives (``u_xx``, ``d()``, ``lap()``,
``dn()``) are the functions below it. Expressions are built from the tree directly, never by sympify of text.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable

import sympy

from pdec.core.errors import PdecNameError, PdecSemanticError, number, short
from pdec.core.source import Span
from pdec.language import syntax as ast
from pdec.language.problem import Variable, symbol
from pdec.language.scope import Context, Decl, Scope
from pdec.language.units import conversion, resolve, si_value
from pdec.language.vocabulary import BUILTIN_CONSTANTS, DISCOVER, FUNCTIONS, OPERATORS

MAX_ORDER = 20  # highest derivative order in one variable
MAX_TOTAL_ORDER = 8  # highest total order of a field derivative: each order multiplies autograd's work by ~3.5
MAX_SIZE = 5_000  # nodes of an expression tree, repeats counted (the examples need under 100)
# Declared functions of the variables that are not fields, by kind: the Scope's table of each (name -> record).
APPLIED = {"coefficient": "coefficients", "unknown function": "functions"}


class Expressions:
    """Builds the sympy expression of a syntax node; ``scope`` says which names exist and what they are."""

    def __init__(self, scope: Scope) -> None:
        self.scope = scope

    def expr(self, node: ast.Expr, ctx: Context) -> sympy.Expr:
        """Build the sympy expression of ``node``; check every name and call against ``ctx``."""
        handler = getattr(self, "expr_" + type(node).__name__.lower())
        result = handler(node, ctx)
        check_size(result, node.span)
        if result.has(sympy.zoo, sympy.nan, sympy.oo, -sympy.oo):
            raise PdecSemanticError("expression is undefined (a division by zero or log(0))", node.span)
        return result

    def expr_number(self, node: ast.Number, ctx: Context) -> sympy.Expr:
        """A number literal: exact (Integer/Rational) when short, a Float otherwise."""
        return _number(node)

    def expr_quantity(self, node: ast.Quantity, ctx: Context) -> sympy.Expr:
        """A number with a unit, as SI base units (``20 [cm]`` is 0.2; ``45 [W/(m*K)]`` stays 45)."""
        value = _number(node.number)
        factor, offset = conversion(resolve(node.unit))
        if factor == 1 and offset == 0:
            return value
        return sympy.Float(offset + factor * float(value))

    def expr_neg(self, node: ast.Neg, ctx: Context) -> sympy.Expr:
        """Unary minus or plus."""
        operand = self.expr(node.operand, ctx)
        return -operand if node.sign == "-" else operand

    def expr_sum(self, node: ast.Sum, ctx: Context) -> sympy.Expr:
        """A flat sum."""
        terms = [self.expr(node.first, ctx)]
        terms += [self.expr(t, ctx) if op == "+" else -self.expr(t, ctx) for op, t in node.rest]
        return sympy.Add(*terms)

    def expr_product(self, node: ast.Product, ctx: Context) -> sympy.Expr:
        """A flat product; division by a literal zero is an error."""
        factors = [self.expr(node.first, ctx)]
        for op, factor in node.rest:
            value = self.expr(factor, ctx)
            if op == "/":
                if value == 0:
                    raise PdecSemanticError("division by zero", factor.span)
                value = sympy.Pow(value, -1)
            factors.append(value)
        return sympy.Mul(*factors)

    def expr_power(self, node: ast.Power, ctx: Context) -> sympy.Expr:
        """``base ^ exponent``; number ^ number is evaluated with care for huge results."""
        base, exponent = self.expr(node.base, ctx), self.expr(node.exponent, ctx)
        if base.is_Number and exponent.is_Number:
            return _number_power(base, exponent, node.span)
        return sympy.Pow(base, exponent)

    def expr_name(self, node: ast.Name, ctx: Context) -> sympy.Expr:
        """A bare name."""
        name = node.name
        if name in BUILTIN_CONSTANTS:
            return BUILTIN_CONSTANTS[name][0]
        decl = self.scope.decls.get(name)
        if decl is None:
            if name in FUNCTIONS or name in OPERATORS or name == DISCOVER:
                raise PdecSemanticError(f"'{name}' is a function; call it as {name}(...)", node.span)
            return shorthand(self, node, ctx)
        self.check_allowed(name, decl.kind, node.span, ctx)
        if decl.kind == "field":
            return self.scope.fields[name].applied
        if decl.kind == "definition":
            return self.scope.lets[name]
        if decl.kind in APPLIED:
            return getattr(self.scope, APPLIED[decl.kind])[name].applied
        return symbol(name)

    def check_allowed(self, name: str, kind: str, span: Span | None, ctx: Context) -> None:
        """Raise if a ``kind`` name may not be used in ``ctx``."""
        if ctx.kind == "const":
            if kind == "constant" and name in ctx.consts:
                return
            if kind == "constant":
                raise PdecSemanticError(
                    f"constant '{name}' is used before its definition", span, "define constants before they are used"
                )
            raise PdecSemanticError(
                f"a constant expression cannot use the {kind} '{name}'",
                span,
                "constants, bounds and locations are numbers, pi, e and earlier constants",
            )
        if kind == "definition" and name not in self.scope.lets:
            raise PdecSemanticError(
                f"definition '{name}' is used before it is defined", span, "move the `let` above its first use"
            )
        if ctx.kind in ("exact", "truth") and kind not in ("variable", "parameter", "constant"):
            raise PdecSemanticError(
                f"{_where(ctx)} cannot use the {kind} '{name}'",
                span,
                "write it with variables, constants, pi and e",
            )

    def expr_call(self, node: ast.Call, ctx: Context) -> sympy.Expr:
        """A call: a function, d(), lap(), dn() or a field applied to its variables."""
        func = node.func
        if func in FUNCTIONS:
            if len(node.args) != 1:
                raise PdecSemanticError(f"{func}() takes one argument, got {len(node.args)}", node.span)
            return FUNCTIONS[func].build(self.expr(node.args[0], ctx))
        if func in OPERATORS:
            if ctx.kind in ("const", "exact", "truth"):
                raise PdecSemanticError(f"{_where(ctx)} cannot use derivatives", node.func_span)
            return CALLS[func](self, node, ctx)
        if func == DISCOVER:  # the equation's checker takes the calls that stand as a term (pdec.language.library)
            raise PdecSemanticError(
                "discover(...) stands only as a term of an equation's side",
                node.func_span,
                "write the library as a term of an `eq`, e.g. `eq: u_t = discover(u*u_x, u_xx, u)`",
            )
        decl = self.scope.decls.get(func)
        if decl is not None and decl.kind in ("field", *APPLIED):
            return self.field_application(node, ctx)
        if decl is not None:
            raise PdecSemanticError(f"'{func}' is a {decl.kind}, not a function", node.func_span)
        raise self.scope.unknown_name(func, node.func_span, list(FUNCTIONS) + list(OPERATORS))

    def field_application(self, node: ast.Call, ctx: Context) -> sympy.Expr:
        """``u(x, t)``: a field (a tabulated coefficient, an unknown function) applied to exactly its own variables."""
        kind = self.scope.decls[node.func].kind
        self.check_allowed(node.func, kind, node.func_span, ctx)  # before the lookup: constants precede fields
        field = getattr(self.scope, APPLIED.get(kind, "fields"))[node.func]
        names = [a.name if isinstance(a, ast.Name) else None for a in node.args]
        written = sorted(n for n in names if n is not None)
        if written not in (sorted(field.args), sorted(_unparametrised(self.scope, field.args))) or None in names:
            written = f"{field.name}({', '.join(field.args)})"
            hint = f"'{field.name}' is a function of ({', '.join(field.args)}): write {field.name} or {written}"
            if None in names:
                hint += "; to fix a variable, put the condition on a face: `bc: ... at x = 0`"
            raise PdecSemanticError(f"{kind} '{field.name}' is applied to the wrong arguments", node.span, hint)
        return field.applied

    def value(self, node: ast.Expr, what: str) -> float:
        """Evaluate a constant expression (already checked by ``expr``) to a finite float."""
        try:
            result = _evaluate(node, self.scope.const_values)
        except (OverflowError, ValueError, ZeroDivisionError, TypeError) as error:
            reason = {OverflowError: "is too large", ZeroDivisionError: "divides by zero"}.get(
                type(error), "is not a real number"
            )
            raise PdecSemanticError(f"{what} {reason}", node.span) from None
        if not math.isfinite(result):
            raise PdecSemanticError(f"{what} is not a finite number", node.span)
        return result


def shorthand(ex: Expressions, node: ast.Name, ctx: Context) -> sympy.Expr:
    """``u_xxt``: a field, definition or coefficient name, then variable names it depends on, split uniquely."""
    name = node.name
    for cut in [i for i, ch in enumerate(name) if ch == "_"][::-1]:
        base, suffix = name[:cut], name[cut + 1 :]
        kind = ex.scope.decls.get(base, Decl("", None)).kind
        if kind not in ("field", "definition", *APPLIED) or not suffix:
            continue
        if ctx.kind in ("const", "exact", "truth"):
            raise PdecSemanticError(f"'{name}' is a derivative; {_where(ctx)} cannot use derivatives", node.span)
        ex.check_allowed(base, kind, node.span, ctx)
        table = APPLIED.get(kind, "fields")
        expr = getattr(ex.scope, table)[base].applied if kind != "definition" else ex.scope.lets[base]
        own = depends_on(expr, ex.scope.variables)
        splits = _split_names(suffix, own)
        if len(splits) == 1:
            if max(splits[0].count(v) for v in splits[0]) > MAX_ORDER:
                raise PdecSemanticError(f"derivative order too high (at most {MAX_ORDER} in one variable)", node.span)
            return diff(expr, splits[0], node.span)
        if len(splits) > 1:
            options = " or ".join("d(" + base + ", " + ", ".join(s) + ")" for s in splits[:2])
            raise PdecNameError(f"'{name}' is ambiguous", node.span, f"write {options}")
        others = _split_names(suffix, list(ex.scope.variables))
        if others:
            missing = next(v for v in others[0] if v not in own)
            raise PdecSemanticError(
                f"'{base}' does not depend on '{missing}'",
                node.span,
                f"'{base}' is a function of ({', '.join(own)})",
            )
        raise PdecNameError(
            f"unknown name '{short(name)}'",
            node.span,
            f"for a derivative of '{base}', write {base}_ then variables it depends on ({', '.join(own)}), "
            f"e.g. {base}_{own[0] if own else 'x'}",
        )
    raise ex.scope.unknown_name(name, node.span, FUNCTIONS)


def call_d(ex: Expressions, node: ast.Call, ctx: Context) -> sympy.Expr:
    """``d(expr, x, 2, t)``: partial derivatives, each variable optionally followed by its order."""
    if len(node.args) < 2:
        raise PdecSemanticError(
            "d() needs an expression and a variable", node.span, "write d(u, x), d(u, x, 2) or d(u, x, t)"
        )
    expr = ex.expr(node.args[0], ctx)
    steps: list[list] = []
    for arg in node.args[1:]:
        if isinstance(arg, ast.Name) and arg.name in ex.scope.variables:
            steps.append([arg.name, 1, arg])
        elif isinstance(arg, ast.Name):
            raise ex.scope.not_a_variable(arg.name, arg.span, "d()")
        elif not steps:
            raise PdecSemanticError("d() needs a variable before an order", arg.span, "write d(u, x, 2)")
        else:
            steps[-1][1] = _order(arg)
    own = depends_on(expr, ex.scope.variables)
    for var, order, arg in steps:
        if var not in own:
            raise PdecSemanticError(
                f"'{short(node.args[0].span.text)}' does not depend on '{var}'",
                arg.span,
                f"it is a function of ({', '.join(own)})" if own else "it is constant",
            )
        expr = diff(expr, (var,) * order, arg.span)
    return expr


def call_lap(ex: Expressions, node: ast.Call, ctx: Context) -> sympy.Expr:
    """``lap(expr)``: the sum of second derivatives over the non-time variables the expression depends on."""
    if len(node.args) != 1:
        raise PdecSemanticError(f"lap() takes one argument, got {len(node.args)}", node.span)
    expr = ex.expr(node.args[0], ctx)
    names = [v for v in depends_on(expr, ex.scope.variables) if ex.scope.variables[v].is_spatial]
    if not names:
        raise PdecSemanticError("lap() of an expression that depends on no spatial variable", node.span)
    return sympy.Add(*(diff(expr, (v, v), node.span) for v in names))


def call_dn(ex: Expressions, node: ast.Call, ctx: Context) -> sympy.Expr:
    """``dn(expr)``: the outward normal derivative on the condition's face (conditions only)."""
    if ctx.kind != "condition":
        raise PdecSemanticError(
            "dn() is only allowed in conditions (ic, bc)", node.func_span, "use d(u, x) for a partial derivative"
        )
    if len(node.args) != 1:
        raise PdecSemanticError(f"dn() takes one argument, got {len(node.args)}", node.span)
    expr = ex.expr(node.args[0], ctx)
    if ctx.piece is not None:
        return piece_normal_derivative(ex, node, expr, ctx)
    if ctx.face is None:
        return sympy.Function("dn", real=True)(expr)
    if ctx.face.side not in ("lo", "hi"):
        raise PdecSemanticError(
            "dn() at a point that is not on exactly one face: there is no normal there",
            node.span,
            "use a partial derivative such as d(u, x), or move the point onto one face",
        )
    var = ctx.face.variable
    if var not in depends_on(expr, ex.scope.variables):
        raise PdecSemanticError(
            f"'{short(node.args[0].span.text)}' does not depend on '{var}', the variable "
            f"normal to the face {var} = {number(ctx.face.value)}",
            node.span,
        )
    sign = -1 if ctx.face.side == "lo" else 1
    return sign * diff(expr, (var,), node.span)


def piece_normal_derivative(ex: Expressions, node: ast.Call, expr: sympy.Expr, ctx: Context) -> sympy.Expr:
    """``dn(expr)`` on a piece of a domain's boundary: ``n . grad(expr)`` with the piece's exact outward normal."""
    domain = ex.scope.domain
    normal = ctx.piece.normal([symbol(v) for v in domain.variables])
    own = depends_on(expr, ex.scope.variables)
    terms = [n * diff(expr, (v,), node.span) for v, n in zip(domain.variables, normal, strict=True) if v in own]
    if not any(n != 0 for v, n in zip(domain.variables, normal, strict=True) if v in own):
        raise PdecSemanticError(
            f"'{short(node.args[0].span.text)}' does not depend on the variables normal to the piece "
            f"'{ctx.piece.label}' of the boundary",
            node.span,
        )
    return sympy.Add(*terms)


def diff(expr: sympy.Expr, variables: Iterable[str], span: Span | None) -> sympy.Expr:
    """Differentiate once per entry of ``variables``, one order at a time, within the order and size budgets."""
    for var in variables:
        expr = sympy.diff(expr, symbol(var))
        check_size(expr, span)
        top = max((sum(int(n) for _, n in d.variable_count) for d in expr.atoms(sympy.Derivative)), default=0)
        if top > MAX_TOTAL_ORDER:
            raise PdecSemanticError(
                f"derivative order too high: a derivative of total order {top} (at most {MAX_TOTAL_ORDER})",
                span,
                "each order multiplies the work of a training step by about 3.5",
            )
    return expr


CALLS: dict[str, Callable[[Expressions, ast.Call, Context], sympy.Expr]] = {"d": call_d, "lap": call_lap, "dn": call_dn}


def tree_size(expr: sympy.Basic, limit: int = MAX_SIZE) -> int:
    """Nodes of ``expr`` as a tree (a shared sub-expression counted at each use), counted over the DAG; stops
    counting past ``limit`` (returns a value above it)."""  # noqa: D205, D209
    sizes: dict[sympy.Basic, int] = {}
    stack = [expr]
    while stack:
        node = stack[-1]
        todo = [a for a in node.args if a not in sizes]
        if todo:
            stack.extend(todo)
            continue
        stack.pop()
        sizes[node] = min(limit + 1, 1 + sum(sizes[a] for a in node.args))
    return sizes[expr]


def check_size(expr: sympy.Basic, span: Span | None) -> None:
    """Raise PdecSemanticError when ``expr`` is larger than MAX_SIZE nodes (a let chain, a high derivative)."""
    if tree_size(expr) > MAX_SIZE:
        raise PdecSemanticError(
            f"expression too large: more than {MAX_SIZE} nodes once definitions and derivatives are expanded",
            span,
            "lower the derivative order, or write fewer nested definitions",
        )


def _where(ctx: Context) -> str:
    return {"const": "a constant expression", "truth": "the true value of an unknown function"}.get(
        ctx.kind, "an exact solution"
    )


def _number(node: ast.Number) -> sympy.Expr:
    """A literal as sympy: Integer for digits, Rational for short decimals, Float for the rest; reject overflow."""
    text = node.text
    value = float(text)
    if not math.isfinite(value):
        raise PdecSemanticError(f"number {short(text)} is too large", node.span, "numbers must fit in a double")
    mantissa, _, exponent = text.lower().partition("e")
    digits = mantissa.replace(".", "").lstrip("0")
    if len(digits) <= 20 and abs(int(exponent or 0)) <= 20:
        return sympy.Integer(int(text)) if text.isdigit() else sympy.Rational(text)
    return sympy.Float(value)


def _number_power(base: sympy.Number, exponent: sympy.Number, span: Span | None) -> sympy.Expr:
    """Raise a number to a number: exactly when small (2^10, (1/2)^3), else as a float; errors for overflow/complex."""
    if (
        exponent.is_Integer
        and base.is_Rational
        and abs(int(exponent)) <= 64
        and abs(base.p) < 10**30
        and base.q < 10**30
    ):
        if base == 0 and exponent < 0:
            raise PdecSemanticError("division by zero (0 to a negative power)", span)
        return sympy.Pow(base, exponent)
    try:
        value = float(base) ** float(exponent)
    except OverflowError:
        raise PdecSemanticError("number too large", span) from None
    except ZeroDivisionError:
        raise PdecSemanticError("division by zero (0 to a negative power)", span) from None
    if isinstance(value, complex):
        raise PdecSemanticError("not a real number (a negative number to a fractional power)", span)
    if not math.isfinite(value):
        raise PdecSemanticError("number too large", span)
    if base.is_Rational and exponent.is_Rational and abs(int(exponent.q)) <= 4:
        return sympy.Pow(base, exponent)
    return sympy.Float(value)


def _order(node: ast.Expr) -> int:
    """A derivative order: a positive whole-number literal, at most MAX_ORDER."""
    text = node.text if isinstance(node, ast.Number) else None
    if text is None or not text.isdigit() or int(text) < 1:
        raise PdecSemanticError(
            f"derivative order must be a positive whole number, got {short(node.span.text)}",
            node.span,
            "write d(u, x, 2) for the second derivative",
        )
    if int(text) > MAX_ORDER:
        raise PdecSemanticError(f"derivative order {text} is too high (at most {MAX_ORDER})", node.span)
    return int(text)


def _split_names(suffix: str, names: Iterable[str]) -> list[tuple[str, ...]]:
    """Up to two ways of writing ``suffix`` as a sequence of ``names`` (``_`` may separate them)."""
    names = sorted(set(names), key=len, reverse=True)
    n = len(suffix)
    if n > 4 * MAX_ORDER:  # no valid derivative is that long
        return []
    ways: list[list[tuple[str, ...]]] = [[] for _ in range(n + 1)]  # ways[i]: splits of suffix[i:], at most two
    ways[n] = [()]
    for i in range(n - 1, -1, -1):
        if suffix[i] == "_" and 0 < i < n - 1:
            ways[i] = ways[i + 1][:2]
            continue
        for name in names:
            if suffix.startswith(name, i):
                ways[i] += [(name, *rest) for rest in ways[i + len(name)]][: 2 - len(ways[i])]
            if len(ways[i]) == 2:
                break
    return ways[0]


def _unparametrised(scope: Scope, args: tuple[str, ...]) -> tuple[str, ...]:
    """``args`` less the parameters: a field of a family may be applied without them (``u(x, t)`` for
    ``u(x, t, nu)``)."""  # noqa: D205, D209
    return tuple(a for a in args if not scope.variables[a].is_parameter)


def depends_on(expr: sympy.Expr, variables: dict[str, Variable]) -> list[str]:
    """The variables an expression depends on, in declaration order."""
    names = {s.name for s in expr.free_symbols}
    return [v for v in variables if v in names]


def _evaluate(node: ast.Expr, consts: dict[str, float]) -> float:
    """Evaluate a checked constant expression with Python floats."""
    if isinstance(node, ast.Number):
        return float(node.text)
    if isinstance(node, ast.Quantity):
        return si_value(float(node.number.text), node.unit)
    if isinstance(node, ast.Name):
        return BUILTIN_CONSTANTS[node.name][1] if node.name in BUILTIN_CONSTANTS else consts[node.name]
    if isinstance(node, ast.Neg):
        value = _evaluate(node.operand, consts)
        return -value if node.sign == "-" else value
    if isinstance(node, ast.Sum):
        total = _evaluate(node.first, consts)
        for op, term in node.rest:
            total = total + _evaluate(term, consts) if op == "+" else total - _evaluate(term, consts)
        return total
    if isinstance(node, ast.Product):
        total = _evaluate(node.first, consts)
        for op, factor in node.rest:
            total = total * _evaluate(factor, consts) if op == "*" else total / _evaluate(factor, consts)
        return total
    if isinstance(node, ast.Power):
        result = _evaluate(node.base, consts) ** _evaluate(node.exponent, consts)
        if isinstance(result, complex):
            raise ValueError("complex")
        return result
    return float(FUNCTIONS[node.func].value(_evaluate(node.args[0], consts)))
