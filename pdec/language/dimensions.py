"""Dimensions: every equation, condition, definition and exact solution checked for physical consistency.

Runs only when a spec writes a unit (``Spec.units``). :class:`Dimensions` computes the dimension of a syntax
expression node by node (``dim_<class>``): a variable, field, constant, unknown or definition has the dimension of
its declared unit (or of its defining expression), a number is dimensionless (0 agrees with any dimension), a
quantity ``45 [W/(m*K)]`` has its unit's; a derivative divides by its variables' dimensions. Every term of a sum and
both sides of ``=`` must agree, and sin, exp, log, ... need dimensionless arguments: a mismatch is a
:class:`PdecUnitError` at the offending term naming both dimensions.

The interface of the variables and fields is their declared unit (intervals, data, predictions); the numbers inside
expressions (quantities, constants) are SI base units (pdec.language.expressions). :func:`interval` converts a
variable's interval ends to its unit, :func:`convert_columns` a data column written in another unit.
"""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction

import numpy as np
import sympy
from sympy.core.function import AppliedUndef

from pdec.core.errors import PdecUnitError, short
from pdec.core.source import Span
from pdec.language import syntax as ast
from pdec.language.expressions import Expressions
from pdec.language.scope import Context, Scope
from pdec.language.units import ANY, NONE, Dimension, conversion, dimension, resolve
from pdec.language.vocabulary import BUILTIN_CONSTANTS, FUNCTIONS

SAME = ("abs",)  # functions whose value has their argument's dimension
FREE = ("sign",)  # functions of an argument of any dimension, dimensionless
HINT = (
    "each term of a sum and both sides of `=` need the same dimension; a number without a unit is dimensionless "
    "(write 300 [K]), and a derivative divides by its variable's unit"
)


class Dimensions:
    """The dimension of syntax expressions in ``scope`` (``scope.dimensions``: name -> dimension, filled in order)."""

    def __init__(self, scope: Scope, ex: Expressions) -> None:
        self.scope = scope
        self.ex = ex

    @property
    def table(self) -> dict[str, Dimension]:
        """Name -> dimension of the names declared so far."""
        return self.scope.dimensions

    def of(self, node: ast.Expr, ctx: Context) -> Dimension:
        """The dimension of ``node``; a PdecUnitError at the first inconsistent part."""
        return getattr(self, "dim_" + type(node).__name__.lower())(node, ctx)

    def dim_number(self, node: ast.Number, ctx: Context) -> Dimension:
        """A number: dimensionless, but 0 agrees with any dimension (``u = 0``)."""
        return ANY if float(node.text) == 0 else NONE

    def dim_quantity(self, node: ast.Quantity, ctx: Context) -> Dimension:
        """``45 [W/(m*K)]``: its unit's dimension (0 of a unit agrees with any)."""
        return dimension(resolve(node.unit))

    def dim_neg(self, node: ast.Neg, ctx: Context) -> Dimension:
        """Unary minus or plus: the operand's."""
        return self.of(node.operand, ctx)

    def dim_sum(self, node: ast.Sum, ctx: Context) -> Dimension:
        """Every term the same dimension (the first dimensional term sets it)."""
        terms = [node.first, *(t for _, t in node.rest)]
        dims = [self.of(t, ctx) for t in terms]
        first = next((i for i, d in enumerate(dims) if not d.wildcard), None)
        if first is None:
            return ANY
        for term, dim in zip(terms, dims, strict=True):
            if not dim.agrees(dims[first]):
                raise mismatch(f"'{_text(terms[first])}'", dims[first], f"'{_text(term)}'", dim, term.span)
        return dims[first]

    def dim_product(self, node: ast.Product, ctx: Context) -> Dimension:
        """The product of the factors' dimensions."""
        dim = self.of(node.first, ctx)
        for op, factor in node.rest:
            dim = dim * self.of(factor, ctx) if op == "*" else dim / self.of(factor, ctx)
        return dim

    def dim_power(self, node: ast.Power, ctx: Context) -> Dimension:
        """``base ^ exponent``: a dimensionless exponent; a constant number where the base has a dimension."""
        base = self.of(node.base, ctx)
        self.dimensionless(node.exponent, ctx, "an exponent")
        if base.dimensionless:
            return base
        exponent = self.ex.expr(node.exponent, ctx)
        if not exponent.is_Rational:
            raise PdecUnitError(
                f"'{_text(node.base)}' has the dimension {base}: its exponent must be a constant number",
                node.exponent.span,
                "raise dimensional quantities to fixed powers (x^2, sqrt(x)); divide by a scale first otherwise",
            )
        return base ** Fraction(int(exponent.p), int(exponent.q))

    def dim_name(self, node: ast.Name, ctx: Context) -> Dimension:
        """A declared name's dimension; a derivative shorthand (``u_xx``) from its sympy form."""
        if node.name in BUILTIN_CONSTANTS:
            return NONE
        if node.name in self.table:
            return self.table[node.name]
        return self.symbolic(self.ex.expr(node, ctx), node.span)

    def dim_call(self, node: ast.Call, ctx: Context) -> Dimension:
        """A function (dimensionless argument), a derivative operator or an applied field."""
        func = node.func
        if func in FUNCTIONS:
            if func == "sqrt":
                return self.of(node.args[0], ctx) ** Fraction(1, 2)
            if func in SAME or func in FREE:
                dim = self.of(node.args[0], ctx)
                return dim if func in SAME else NONE
            self.dimensionless(node.args[0], ctx, f"the argument of {func}()")
            return NONE
        if func == "d":
            return self.derivative(node, ctx)
        if func in ("lap", "dn"):
            return self.of(node.args[0], ctx) / self.normal(node, ctx) ** (2 if func == "lap" else 1)
        return self.table.get(func, NONE)  # a field, coefficient or unknown function applied to its variables

    def derivative(self, node: ast.Call, ctx: Context) -> Dimension:
        """``d(expr, x, 2, t)``: the expression's dimension over each variable's, to its order."""
        dim = self.of(node.args[0], ctx)
        last = None
        for arg in node.args[1:]:
            if isinstance(arg, ast.Name):
                last = self.table.get(arg.name, NONE)
                dim = dim / last
            elif last is not None:
                dim = dim / last ** (int(arg.text) - 1)
        return dim

    def normal(self, node: ast.Call, ctx: Context) -> Dimension:
        """The dimension of the variables ``lap``/``dn`` differentiate in (the spatial ones: they must agree)."""
        if ctx.face is not None and ctx.face.side in ("lo", "hi"):
            return self.table.get(ctx.face.variable, NONE)
        spatial = [v for v in self.scope.variables.values() if not v.is_time]
        dims = {v.name: self.table.get(v.name, NONE) for v in spatial}
        if len(set(dims.values())) > 1:
            listed = ", ".join(f"{name} in {dim}" for name, dim in dims.items())
            raise PdecUnitError(
                f"{node.func}() sums over the spatial variables, which have different dimensions ({listed})",
                node.span,
                "give the spatial variables the same unit, or write the partial derivatives with d()",
            )
        return next(iter(dims.values()), NONE)

    def dimensionless(self, node: ast.Expr, ctx: Context, what: str) -> None:
        """Raise unless ``node`` is dimensionless."""
        dim = self.of(node, ctx)
        if not dim.dimensionless:
            raise PdecUnitError(
                f"{what} must be dimensionless, but '{_text(node)}' has the dimension {dim}",
                node.span,
                "divide by a scale of the same unit (sin(pi*x/L) with L a length)",
            )

    def symbolic(self, expr: sympy.Expr, span: Span | None) -> Dimension:
        """The dimension of a sympy expression built from the spec (a derivative shorthand, a definition's)."""
        return _Symbolic(self.table, span)(expr)

    def sides(self, lhs: ast.Expr, rhs: ast.Expr, ctx: Context, what: str) -> Dimension:
        """Both sides of ``lhs = rhs`` checked and compared (a PdecUnitError at the right side when they differ)."""
        left, right = self.of(lhs, ctx), self.of(rhs, ctx)
        if not left.agrees(right):
            raise mismatch(f"the left side of this {what}", left, "the right side", right, rhs.span)
        return right if left.wildcard else left


class _Symbolic:
    """The dimension of a sympy expression, by node class (errors at ``span``, the syntax node it came from)."""

    def __init__(self, table: dict[str, Dimension], span: Span | None) -> None:
        self.table = table
        self.span = span

    def __call__(self, expr: sympy.Expr) -> Dimension:
        if expr.is_number:
            return ANY if expr == 0 else NONE
        if isinstance(expr, sympy.Symbol):
            return self.table.get(expr.name, NONE)
        if isinstance(expr, AppliedUndef):
            return self.table.get(type(expr).__name__, NONE)
        if isinstance(expr, sympy.Derivative):
            dim = self(expr.expr)
            for var, count in expr.variable_count:
                dim = dim / self.table.get(var.name, NONE) ** int(count)
            return dim
        if isinstance(expr, sympy.Add):
            return self.add(expr)
        if isinstance(expr, sympy.Mul):
            dim = NONE
            for factor in expr.args:
                dim = dim * self(factor)
            return dim
        if isinstance(expr, sympy.Pow):
            base = self(expr.base)
            if base.dimensionless or not expr.exp.is_Rational:
                return base
            return base ** Fraction(int(expr.exp.p), int(expr.exp.q))
        return self.function(expr)

    def add(self, expr: sympy.Add) -> Dimension:
        dims = [(self(a), a) for a in expr.args]
        known = [(d, a) for d, a in dims if not d.wildcard]
        for dim, term in known[1:]:
            if not dim.agrees(known[0][0]):
                raise mismatch(f"'{short(str(known[0][1]))}'", known[0][0], f"'{short(str(term))}'", dim, self.span)
        return known[0][0] if known else ANY

    def function(self, expr: sympy.Expr) -> Dimension:
        args = [self(a) for a in expr.args]
        if isinstance(expr, sympy.Abs):
            return args[0]
        if isinstance(expr, sympy.sign):
            return NONE
        for arg, dim in zip(expr.args, args, strict=True):
            if not dim.dimensionless:
                raise PdecUnitError(
                    f"the argument of {type(expr).__name__}() must be dimensionless, but '{short(str(arg))}' has "
                    f"the dimension {dim}",
                    self.span,
                    "divide by a scale of the same unit",
                )
        return NONE


def mismatch(first: str, a: Dimension, second: str, b: Dimension, span: Span | None) -> PdecUnitError:
    """The error for two parts that must agree: both named with their dimensions."""
    return PdecUnitError(f"dimensions differ: {first} is {a}, {second} is {b}", span, HINT)


def _text(node: ast.Expr) -> str:
    return short(node.span.text) if node.span is not None else short(ast.unparse(node))


# ---------------------------------------------------------------------------------------------------- declarations


def declared(scope: Scope, name: str, unit_node: ast.Unit | None) -> None:
    """Record a variable's or field's declared unit and its dimension (dimensionless when none is written)."""
    if unit_node is None:
        scope.dimensions[name] = NONE
        return
    unit = resolve(unit_node)
    scope.units[name] = unit
    scope.dimensions[name] = dimension(unit)


def interval(
    dims: Dimensions, decl: ast.VarDecl, lo: float, hi: float
) -> tuple[float, float]:
    """A variable's interval in its unit: ends written with units (``[0, L]``, L = 0.2 m) converted to it.

    Plain numbers are in the variable's unit. Without a declared unit, the variable takes the SI base unit of its
    dimensional ends. Ends of another dimension are a PdecUnitError.
    """
    ctx = Context("const", consts=frozenset(dims.scope.const_values))
    name = decl.name.name
    ends = [(node, value, dims.of(node, ctx)) for node, value in ((decl.lo, lo), (decl.hi, hi))]
    declared_dim = dims.table.get(name, NONE)
    wanted = next((d for _, _, d in ends if not d.dimensionless), None) if decl.unit is None else declared_dim
    if decl.unit is None and wanted is not None:
        dims.table[name] = wanted
        return lo, hi
    out = []
    for node, value, dim in ends:
        if dim.dimensionless:
            out.append(value)
            continue
        if not dim.agrees(declared_dim):
            raise mismatch(f"'{name}'", declared_dim, f"'{_text(node)}'", dim, node.span)
        factor, offset = conversion(dims.scope.units[name])
        out.append((value - offset) / factor)
    return out[0], out[1]


def located(dims: Dimensions, name: str, node: ast.Expr, value: float) -> float:
    """A location ``x = value`` in the variable's unit (a value with a unit converted to it)."""
    dim = dims.of(node, Context("const", consts=frozenset(dims.scope.const_values)))
    if dim.dimensionless or name not in dims.scope.units:
        return value
    if not dim.agrees(dims.table[name]):
        raise mismatch(f"'{name}'", dims.table[name], f"'{_text(node)}'", dim, node.span)
    factor, offset = conversion(dims.scope.units[name])
    return (value - offset) / factor


def column_conversions(
    scope: Scope, stmt: ast.DataStmt | ast.CoefDecl
) -> dict[str, Callable[[np.ndarray], np.ndarray]]:
    """Columns written with a unit (``T = temp [degC]``): name -> its conversion to the target's unit."""
    out = {}
    for item in stmt.mappings:
        if item.unit is None:
            continue
        name = item.target.name
        unit = resolve(item.unit)
        target_dim = scope.dimensions.get(name, NONE)
        if not dimension(unit).agrees(target_dim):
            raise mismatch(f"'{name}'", target_dim, f"the column '{item.column}'", dimension(unit), item.unit.span)
        out[name] = _converter(conversion(unit), conversion(scope.units[name]) if name in scope.units else (1.0, 0.0))
    return out


def _converter(source: tuple[float, float], target: tuple[float, float]) -> Callable[[np.ndarray], np.ndarray]:
    """Values in one unit -> another, through SI (``(factor, offset)`` each)."""
    (f1, o1), (f2, o2) = source, target
    return lambda column: (o1 + f1 * column - o2) / f2
