"""Lowering: sympy expressions -> lines of torch source, through a strict printer dispatched on the node's class.

The residuals of a point set arrive with every field derivative already replaced by a symbol named by its key
(``u__x__x``) and every constant replaced by its value. This stage folds numeric sub-expressions into float
literals, shares common sub-expressions (``sympy.cse``) and prints each node with ``_print_<Class>``. A node without
a printer is a PdecCompileError naming it, with the span of the term it came from.
"""

from __future__ import annotations

import keyword
import math
from collections.abc import Iterator, Mapping, Sequence

import sympy

from pdec.core.errors import PdecCompileError
from pdec.core.source import Span
from pdec.language.vocabulary import LOWERING

# Names the generated code uses itself without a leading underscore; a user name equal to one gets a trailing
# underscore. (Generated temporaries start with '_', which no name from a spec does.)
GENERATED_NAMES = frozenset({"torch", "net", "X", "theta", "targets", "grad", "points", "residuals", "interpolate"})

# Operator precedence for parenthesising.
ADD, MUL, NEG, POW, ATOM = 10, 20, 25, 30, 100

# sympy function class name -> torch function (one argument), from the language's table (pdec.language.vocabulary).
UNARY = {node: torch for node, (torch, reciprocal) in LOWERING.items() if not reciprocal}
# Reciprocal trigonometric functions: 1 / torch.<f>.
RECIPROCAL = {node: torch for node, (torch, reciprocal) in LOWERING.items() if reciprocal}


def identifier(name: str) -> str:
    """Return a Python identifier for a user name (a keyword or reserved name gets a trailing underscore)."""
    safe = "".join(ch if ch.isalnum() or ch == "_" else "_" for ch in name)
    if not safe or safe[0].isdigit():
        safe = "_" + safe
    while keyword.iskeyword(safe) or safe in GENERATED_NAMES:
        safe += "_"
    return safe


def fold_constants(expr: sympy.Expr, span: Span | None = None) -> sympy.Expr:
    """Replace every numeric sub-expression (``2*pi``, ``sqrt(2)/3``) by one float; keep exact exponents.

    Raises:
        PdecCompileError: a sub-expression is not a finite real number (``zoo``, ``nan``, ``I``).
    """
    if expr.is_Integer or expr.is_Float:
        return expr
    if expr.is_number:
        value = complex(expr.evalf(17))
        if value.imag != 0 or not math.isfinite(value.real):
            raise PdecCompileError(f"the constant sub-expression {expr} is not a finite real number", span)
        return sympy.Float(value.real)
    if not expr.args:
        return expr
    if isinstance(expr, sympy.Pow) and expr.exp.is_Rational:
        return sympy.Pow(fold_constants(expr.base, span), expr.exp)
    return expr.func(*(fold_constants(a, span) for a in expr.args))


class TorchPrinter:
    """Print a sympy expression as torch source; strict: an unknown node raises PdecCompileError.

    Args:
        names: symbol -> the Python name holding its value in the generated code (per point tensors, unknowns,
            common sub-expressions).
        span: the span of the term being printed, for errors.
    """

    def __init__(self, names: Mapping[sympy.Symbol, str], span: Span | None = None) -> None:
        self.names = names
        self.span = span

    def doprint(self, expr: sympy.Expr) -> str:
        """Return the torch source of ``expr``."""
        return self._print(expr)[0]

    def _print(self, expr: sympy.Expr) -> tuple[str, int]:
        """Dispatch on the class (and its bases) of ``expr``; return (source, precedence)."""
        for cls in type(expr).__mro__:
            method = getattr(self, f"_print_{cls.__name__}", None)
            if method is not None:
                return method(expr)
        raise PdecCompileError(
            f"cannot compile '{type(expr).__name__}' (in {expr}): no torch lowering for this expression",
            self.span,
            "use arithmetic, powers, and the functions listed in docs/language.md",
        )

    def _wrap(self, expr: sympy.Expr, level: int) -> str:
        """Print ``expr``, in parentheses if it binds less tightly than ``level``."""
        text, prec = self._print(expr)
        return f"({text})" if prec < level else text

    def _print_Symbol(self, expr: sympy.Symbol) -> tuple[str, int]:
        if expr not in self.names:
            raise PdecCompileError(f"the symbol '{expr}' has no value (not a variable, constant or unknown)", self.span)
        return self.names[expr], ATOM

    def _print_Integer(self, expr: sympy.Integer) -> tuple[str, int]:
        if abs(int(expr)) > 2**53:  # torch takes no Python int beyond int64; a float literal is as exact here
            return self._print_Float(sympy.Float(expr))
        return str(int(expr)), (ATOM if expr >= 0 else NEG)

    def _print_Float(self, expr: sympy.Float) -> tuple[str, int]:
        value = float(expr)
        if not math.isfinite(value):
            raise PdecCompileError(
                f"the number {sympy.Float(expr, 6)} does not fit in a double (the largest is about 1.8e308)",
                self.span,
                "rescale the problem so that its constants are of moderate size",
            )
        return repr(value), (ATOM if value >= 0 else NEG)

    def _print_Rational(self, expr: sympy.Rational) -> tuple[str, int]:
        return self._print_Float(sympy.Float(expr, 17))

    def _print_NumberSymbol(self, expr: sympy.NumberSymbol) -> tuple[str, int]:
        return self._print_Float(sympy.Float(expr.evalf(17)))

    def _print_Add(self, expr: sympy.Add) -> tuple[str, int]:
        terms = expr.as_ordered_terms()
        text = self._wrap(terms[0], ADD)
        for term in terms[1:]:
            coeff, rest = term.as_coeff_Mul()
            if coeff.is_negative:
                text += " - " + self._wrap(-coeff * rest, ADD + 1)
            else:
                text += " + " + self._wrap(term, ADD)
        return text, ADD

    def _print_Mul(self, expr: sympy.Mul) -> tuple[str, int]:
        coeff, rest = expr.as_coeff_Mul()
        if coeff == -1:
            return "-" + self._wrap(rest, MUL), NEG
        numer, denom = [], []
        for factor in sympy.Mul.make_args(expr):
            if isinstance(factor, sympy.Pow) and factor.exp.is_Rational and factor.exp.is_negative:
                denom.append(sympy.Pow(factor.base, -factor.exp))
            else:
                numer.append(factor)
        text = " * ".join(self._wrap(f, MUL) for f in numer) if numer else "1"
        for factor in denom:
            text += " / " + self._wrap(factor, MUL + 1)
        return text, MUL

    def _print_Pow(self, expr: sympy.Pow) -> tuple[str, int]:
        base, exp = expr.base, expr.exp
        if exp == sympy.S.Half:
            return f"torch.sqrt({self.doprint(base)})", ATOM
        if exp.is_Rational and exp.is_negative:
            return f"1 / {self._wrap(sympy.Pow(base, -exp), MUL + 1)}", MUL
        if base is sympy.E:
            return f"torch.exp({self.doprint(exp)})", ATOM
        return f"{self._wrap(base, POW + 1)}**{self._wrap(exp, POW + 1)}", POW

    def _print_Function(self, expr: sympy.Function) -> tuple[str, int]:
        name = type(expr).__name__
        if name in UNARY and len(expr.args) == 1:
            return f"{UNARY[name]}({self.doprint(expr.args[0])})", ATOM
        if name in RECIPROCAL and len(expr.args) == 1:
            return f"1 / {RECIPROCAL[name]}({self.doprint(expr.args[0])})", MUL
        if name == "atan2":
            return f"torch.atan2({self.doprint(expr.args[0])}, {self.doprint(expr.args[1])})", ATOM
        if name == "Heaviside":
            return f"(torch.sign({self.doprint(expr.args[0])}) + 1) / 2", MUL
        return self._refuse(expr)

    def _print_Max(self, expr: sympy.Max) -> tuple[str, int]:
        return self._fold("torch.maximum", expr.args), ATOM

    def _print_Min(self, expr: sympy.Min) -> tuple[str, int]:
        return self._fold("torch.minimum", expr.args), ATOM

    def _fold(self, op: str, args: tuple[sympy.Expr, ...]) -> str:
        """``op(op(a, b), c)``; a number argument becomes a tensor like the others."""
        ordered = sorted(args, key=lambda e: e.is_number)  # a tensor first
        text = self.doprint(ordered[0])
        for arg in ordered[1:]:
            other = self.doprint(arg)
            other = f"torch.full_like({text}, {other})" if arg.is_number else other
            text = f"{op}({text}, {other})"
        return text

    def _refuse(self, expr: sympy.Expr) -> tuple[str, int]:
        raise PdecCompileError(
            f"cannot compile '{type(expr).__name__}' (in {expr}): no torch lowering for this function",
            self.span,
            "use arithmetic, powers, and the functions listed in docs/language.md",
        )


def cse_names(taken: set[str]) -> Iterator[sympy.Symbol]:
    """Yield fresh symbols ``_c0, _c1, ...`` for common sub-expressions, skipping names already taken.

    The leading underscore keeps them apart from every name derived from the spec (those start with a letter).
    """
    i = 0
    while True:
        name = f"_c{i}"
        i += 1
        if name not in taken:
            yield sympy.Symbol(name)


def lower(
    exprs: Sequence[sympy.Expr],
    names: Mapping[sympy.Symbol, str],
    spans: Sequence[Span | None],
    indent: str = "    ",
) -> tuple[list[str], list[str]]:
    """Lower residual expressions to torch: shared sub-expressions as assignments, then one source per residual.

    Args:
        exprs: expressions over the symbols of ``names`` only (constants folded, derivatives replaced).
        names: symbol -> Python name of its value.
        spans: the span of the term each expression belongs to (for errors).
        indent: prefix of each assignment line.

    Returns:
        The assignment lines (``c0 = ...``) and the source of each expression, in order.
    """
    exprs = [fold_constants(e, s) for e, s in zip(exprs, spans, strict=True)]
    for e, s in zip(exprs, spans, strict=True):
        TorchPrinter(names, s).doprint(e)  # strict check first, so an error names the right term
    taken = set(names.values())
    replacements, reduced = sympy.cse(exprs, symbols=cse_names(taken), order="none")
    names = dict(names)
    lines = []
    span = next((s for s in spans if s is not None), None)
    for sym, sub in replacements:
        lines.append(f"{indent}{sym.name} = {TorchPrinter(names, span).doprint(sub)}")
        names[sym] = sym.name
    return lines, [TorchPrinter(names, s).doprint(e) for e, s in zip(reduced, spans, strict=True)]
