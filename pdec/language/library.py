"""Equation discovery, Spec -> Problem: ``discover(T1, ..., Tn)`` in an equation -> one unknown coefficient per term.

``eq burgers: u_t = discover(u*u_x, u_xx, u)`` states a library of candidate terms: the side becomes
``burgers__1*u*u_x + burgers__2*u_xx + burgers__3*u``, each coefficient an unknown number starting at 0
(``Problem.unknowns``), the library itself a :class:`pdec.language.problem.Library` (``Problem.libraries``). Training
makes the library sparse (pdec.train.discovery): :func:`prune` fixes coefficients at zero, and
:func:`discovered_text` writes the spec back with the discovered sum in place of each ``discover(...)`` call.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterable, Mapping
from pathlib import Path

import sympy

from pdec.core.errors import PdecSemanticError
from pdec.core.source import Source, Span
from pdec.language import parse, syntax
from pdec.language import syntax as ast
from pdec.language.expressions import Expressions
from pdec.language.problem import Candidate, Learned, Library, Problem, Unknown, is_field, symbol
from pdec.language.scope import Context, Scope
from pdec.language.vocabulary import DISCOVER


@dataclasses.dataclass(frozen=True)
class _Found:
    """A ``discover(...)`` call standing as a term of an equation's side, and that side without it."""

    side: str  # "lhs" or "rhs"
    call: ast.Call
    sign: int
    alone: bool
    rest: ast.Expr


def sides(scope: Scope, ex: Expressions, stmt: ast.EquationStmt) -> tuple[sympy.Expr, sympy.Expr, Library | None]:
    """An equation's two sides as sympy, its library (if it has one) expanded into coefficients times terms.

    The library's coefficients are registered in ``scope.unknowns``. A ``discover(...)`` call anywhere but as a term
    of a side reaches pdec.language.expressions, which refuses it.
    """
    found = [f for side in ("lhs", "rhs") if (f := _find(getattr(stmt, side), side)) is not None]
    if not found:
        return ex.expr(stmt.lhs, Context("field")), ex.expr(stmt.rhs, Context("field")), None
    if len(found) > 1 or _count_calls(found[0].rest):
        second = found[1].call if len(found) > 1 else next(_calls(found[0].rest))
        raise PdecSemanticError(
            "an equation holds one discover(...) library", second.func_span, "put every candidate in one call"
        )
    f = found[0]
    sides_ = {"lhs": stmt.lhs, "rhs": stmt.rhs, f.side: f.rest}
    lhs, rhs = ex.expr(sides_["lhs"], Context("field")), ex.expr(sides_["rhs"], Context("field"))
    library = _library(scope, ex, f, scope.term_names[id(stmt)], lhs - rhs)
    expanded = f.sign * sympy.Add(*(symbol(c.name) * c.term for c in library.candidates))
    return (lhs + expanded, rhs, library) if f.side == "lhs" else (lhs, rhs + expanded, library)


def _find(node: ast.Expr, side: str) -> _Found | None:
    """The ``discover(...)`` call among the terms of one side (the first), with the side without it."""
    if _is_discover(node):
        return _Found(side, node, 1, True, ast.Number("0", node.span))
    if isinstance(node, ast.Neg) and _is_discover(node.operand):
        return _Found(side, node.operand, -1 if node.sign == "-" else 1, False, ast.Number("0", node.span))
    if not isinstance(node, ast.Sum):
        return None
    items = [("+", node.first), *node.rest]
    for i, (op, term) in enumerate(items):
        sign = -1 if op == "-" else 1
        if isinstance(term, ast.Neg) and _is_discover(term.operand):
            sign, term = sign * (-1 if term.sign == "-" else 1), term.operand
        if _is_discover(term):
            others = items[:i] + items[i + 1 :]
            first = others[0][1] if others[0][0] == "+" else ast.Neg(others[0][1], "-", others[0][1].span)
            rest = ast.Sum(first, tuple(others[1:]), node.span) if len(others) > 1 else first
            return _Found(side, term, sign, False, rest)
    return None


def _is_discover(node: ast.Expr) -> bool:
    return isinstance(node, ast.Call) and node.func == DISCOVER


def _calls(node: object) -> Iterable[ast.Call]:
    """Every ``discover(...)`` call inside a syntax node."""
    if _is_discover(node):
        yield node
    if dataclasses.is_dataclass(node):
        for f in dataclasses.fields(node):
            value = getattr(node, f.name)
            for item in value if isinstance(value, tuple) else (value,):
                for part in item if isinstance(item, tuple) else (item,):
                    if isinstance(part, (ast.Call, ast.Neg, ast.Sum, ast.Product, ast.Power)):
                        yield from _calls(part)


def _count_calls(node: ast.Expr) -> int:
    return sum(1 for _ in _calls(node))


def _library(scope: Scope, ex: Expressions, f: _Found, equation: str, rest: sympy.Expr) -> Library:
    """The checked candidates of one call; each coefficient an unknown number starting at 0."""
    call = f.call
    if not call.args:
        raise PdecSemanticError(
            "discover() needs candidate terms", call.span, "list them, e.g. `discover(u*u_x, u_xx, u)`"
        )
    if not _has_field(rest):
        raise PdecSemanticError(
            "this equation is only a library: every coefficient zero would satisfy it",
            call.span,
            "put the term the library explains on the other side, e.g. `eq: u_t = discover(u*u_x, u_xx)`",
        )
    candidates: list[Candidate] = []
    for k, node in enumerate(call.args, start=1):
        term = ex.expr(node, Context("field"))
        text = node.span.text if node.span is not None else syntax.unparse(node)
        _check_candidate(scope, term, text, node.span, candidates, rest)
        wrapped = f"({text})" if isinstance(node, (ast.Sum, ast.Neg)) else text
        candidate = Candidate(f"{equation}__{k}", term, wrapped, node.span)
        scope.unknowns[candidate.name] = Unknown(candidate.name, 0.0, span=node.span)
        candidates.append(candidate)
    return Library(equation, tuple(candidates), f.sign, f.alone, call.span)


def _check_candidate(
    scope: Scope, term: sympy.Expr, text: str, span: Span | None, earlier: list[Candidate], rest: sympy.Expr
) -> None:
    """A candidate must be a term of the fields, free of unknowns, and not a multiple of another or of the rest."""
    if not _has_field(term):
        raise PdecSemanticError(
            f"candidate '{text}' is not a function of the fields",
            span,
            "a candidate is built from fields and their derivatives (u*u_x, u_xx); a known source term goes outside "
            "discover(...)",
        )
    unknowns = sorted(s.name for s in term.free_symbols if s.name in scope.unknowns)
    unknowns += sorted(type(a).__name__ for a in term.atoms(Learned))
    if unknowns:
        raise PdecSemanticError(
            f"candidate '{text}' contains the unknown '{unknowns[0]}'",
            span,
            "each candidate gets an unknown coefficient of its own: write the term without unknowns",
        )
    for j, other in enumerate(earlier, start=1):
        if _multiple(term, other.term):
            raise PdecSemanticError(
                f"candidate '{text}' repeats candidate {j}, '{other.text}' (up to a constant factor)",
                span,
                "the two coefficients could not be told apart: keep one of them",
            )
    if _multiple(term, rest):
        raise PdecSemanticError(
            f"candidate '{text}' is a multiple of the equation's terms outside the library",
            span,
            "it would explain them alone: leave it out of the library",
        )


def _multiple(a: sympy.Expr, b: sympy.Expr) -> bool:
    """Whether ``a / b`` is a (nonzero) number."""
    if b == 0:
        return False
    ratio = sympy.cancel(sympy.expand(a) / sympy.expand(b))
    return bool(ratio.is_number) and ratio != 0


def _has_field(expr: sympy.Expr) -> bool:
    return any(is_field(f) for f in expr.atoms(sympy.core.function.AppliedUndef))


def check_readings(libraries: Iterable[Library], readings: bool) -> None:
    """A library needs readings to learn from: a PdecSemanticError at the first call otherwise."""
    first = next(iter(libraries), None)
    if first is not None and not readings:
        raise PdecSemanticError(
            "discovering an equation needs readings of the fields",
            first.span,
            'add a `data` statement, e.g. `data obs: "u.csv" x = x, t = t, u = u`',
        )


# ---------------------------------------------------------------------------------------------- after training


def prune(problem: Problem, drop: Iterable[str], values: Mapping[str, float] | None = None,
          scales: Mapping[str, float] | None = None) -> Problem:
    """The problem with the coefficients ``drop`` fixed at zero: their candidates leave the equations and libraries.

    Every other unknown number starts from ``values`` (a previous round's), where given and inside its bounds, and
    takes its ``scale`` from ``scales`` where given.
    """
    drop, values, scales = set(drop), dict(values or {}), dict(scales or {})
    zero = {symbol(n): 0 for n in drop}
    equations = tuple(dataclasses.replace(e, lhs=e.lhs.subs(zero), rhs=e.rhs.subs(zero)) for e in problem.equations)
    unknowns = tuple(
        dataclasses.replace(_started(u, values.get(u.name)), scale=float(scales.get(u.name, u.scale)))
        for u in problem.unknowns
        if u.name not in drop
    )
    libraries = tuple(
        dataclasses.replace(lib, candidates=tuple(c for c in lib.candidates if c.name not in drop))
        for lib in problem.libraries
    )
    return dataclasses.replace(problem, equations=equations, unknowns=unknowns, libraries=libraries)


def _started(u: Unknown, value: float | None) -> Unknown:
    """``u`` starting at ``value`` when that lies strictly inside its bounds."""
    lo = 0.0 if u.positive and u.lower is None else u.lower
    inside = value is not None and (lo is None or value > lo) and (u.upper is None or value < u.upper)
    return dataclasses.replace(u, init=float(value)) if inside else u


def discovered_sum(library: Library, values: Mapping[str, float]) -> str:
    """The library's sum in pdec syntax with the coefficients' values: ``-1.00002*u*u_x + 0.00318*u_xx`` (or 0)."""
    text = ""
    for c in library.candidates:
        v = float(values[c.name])
        magnitude = f"{abs(v):.6g}"
        if not text:
            text = f"{'-' if v < 0 else ''}{magnitude}*{c.text}"
        else:
            text += f" {'-' if v < 0 else '+'} {magnitude}*{c.text}"
    text = text or "0"  # (the call's sign, if any, stands outside its span and stays in the text)
    return text if library.alone or not library.candidates else f"({text})"


def discovered_text(source: Source, libraries: Iterable[Library], values: Mapping[str, float],
                    directory: str | Path | None = None) -> str:
    """The spec with each library's call replaced by its discovered sum, ready for ``pdec run``.

    ``libraries`` are the pruned ones (their calls' spans in ``source``), ``values`` the coefficients. With
    ``directory``, relative paths of data and tables are rewritten to resolve from there (where the text is saved).
    """
    edits = [(lib.span.start, lib.span.end, discovered_sum(lib, values)) for lib in libraries if lib.span is not None]
    if directory is not None:
        edits += _moved_paths(source, Path(directory))
    text = source.text
    for start, end, new in sorted(edits, reverse=True):
        text = text[:start] + new + text[end:]
    return text


def _moved_paths(source: Source, directory: Path) -> list[tuple[int, int, str]]:
    """Edits giving each relative path of a data, reference or coefficient statement relative to ``directory``."""
    spec = syntax.build(parse.parse(source), source)
    edits = []
    for stmt in spec.statements:
        if isinstance(stmt, (ast.DataStmt, ast.CoefDecl)) and stmt.path_span is not None:
            if Path(stmt.path).is_absolute():
                continue
            moved = os.path.relpath(source.directory / stmt.path, directory.resolve()).replace(os.sep, "/")
            edits.append((stmt.path_span.start, stmt.path_span.end, f'"{moved}"'))
    return edits


def latex(problem: Problem, equation: str, values: Mapping[str, float]) -> str:
    """The discovered equation in LaTeX, fields and their partials as ``u``, ``u_{xx}``: ``u_{t} = - 1.0 u u_{x}``."""
    eq = next(e for e in problem.equations if e.name == equation)
    numbers = {symbol(k): sympy.Float(v, 6) for k, v in values.items()}
    lhs, rhs = (plain(side.subs(numbers)) for side in (eq.lhs, eq.rhs))
    return f"{sympy.latex(lhs)} = {sympy.latex(rhs)}"


def plain(expr: sympy.Expr) -> sympy.Expr:
    """``expr`` with each field's partial as a symbol ``u_{xx}`` and each field as ``u`` (for printing)."""
    partials = {
        d: sympy.Symbol(f"{type(d.expr).__name__}_{{{''.join(str(v) * int(n) for v, n in d.variable_count)}}}")
        for d in expr.atoms(sympy.Derivative)
        if is_field(d.expr)
    }
    expr = expr.subs(partials)
    return expr.subs({f: sympy.Symbol(type(f).__name__) for f in expr.atoms(sympy.core.function.AppliedUndef)
                      if is_field(f)})


__all__ = ["check_readings", "discovered_sum", "discovered_text", "latex", "plain", "prune", "sides"]
