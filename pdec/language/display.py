"""Showing a Problem: ``describe`` (plain text in pdec syntax, for ``pdec check`` and repr) and ``latex``.

Expressions print in pdec's own syntax, so a printed equation can be pasted back into a spec: fields print bare
(``u`` for ``u(x, t)``), derivatives as shorthand (``u_xx``) when that reads back uniquely, else ``d(u, x, 2)``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import sympy
from sympy.core.function import AppliedUndef
from sympy.printing.latex import LatexPrinter
from sympy.printing.str import StrPrinter

from pdec.core.errors import number
from pdec.core.settings import Settings
from pdec.geometry import VOLUME_POINTS, BoundaryPiece, Domain
from pdec.language.vocabulary import SPELLING

if TYPE_CHECKING:  # display reads a Problem's records; annotations only
    from pdec.language.problem import Coefficient, Condition, DataSet, Periodic, Problem, Variable


class PdecPrinter(StrPrinter):
    """Print sympy expressions in pdec syntax."""

    def __init__(self, variables: tuple[str, ...] = ()) -> None:
        super().__init__()
        self.variables = variables

    def _print_Derivative(self, expr: sympy.Derivative) -> str:
        inner = expr.expr
        pairs = [(v.name, int(n)) for v, n in expr.variable_count]
        if isinstance(inner, AppliedUndef) and _shorthand_ok(pairs, self.variables):
            return type(inner).__name__ + "_" + "".join(v * n for v, n in pairs)
        args = ", ".join(v if n == 1 else f"{v}, {n}" for v, n in pairs)
        return f"d({self._print(inner)}, {args})"

    def _print_Function(self, expr: sympy.Expr) -> str:
        name = type(expr).__name__
        if isinstance(expr, AppliedUndef) and name != "dn":
            return name
        args = ", ".join(self._print(a) for a in expr.args)
        return f"{SPELLING.get(name, name)}({args})"

    def _print_Abs(self, expr: sympy.Expr) -> str:
        return f"abs({self._print(expr.args[0])})"

    def _print_Exp1(self, expr: sympy.Expr) -> str:
        return "e"

    def _print_Symbol(self, expr: sympy.Symbol) -> str:
        return expr.name


class PdecLatexPrinter(LatexPrinter):
    """LaTeX with fields written bare and derivatives as subscripts (``u_{xx}``)."""

    def _print_Derivative(self, expr: sympy.Derivative) -> str:
        inner = expr.expr
        subscript = "".join(self._print(v) * int(n) for v, n in expr.variable_count)
        if isinstance(inner, AppliedUndef):
            return f"{self._print(sympy.Symbol(type(inner).__name__))}_{{{subscript}}}"
        return rf"\partial_{{{subscript}}}\left({self._print(inner)}\right)"

    def _print_Function(self, expr: sympy.Expr, exp: str | None = None) -> str:
        if isinstance(expr, AppliedUndef):
            name = type(expr).__name__
            if name == "dn":
                text = rf"\partial_n {self.parenthesize(expr.args[0], 1000)}"
            else:
                text = self._print(sympy.Symbol(name))
            return f"{text}^{{{exp}}}" if exp else text
        return super()._print_Function(expr, exp)


def _shorthand_ok(pairs: list[tuple[str, int]], variables: tuple[str, ...]) -> bool:
    """Whether ``u_<suffix>`` reads back uniquely: every variable name is one letter (the common case)."""
    return all(len(v) == 1 for v in variables) and all(len(v) == 1 for v, _ in pairs)


def show(expr: sympy.Expr, problem: Problem | None = None) -> str:
    """Print one expression in pdec syntax."""
    variables = tuple(v.name for v in problem.variables) if problem is not None else ()
    return PdecPrinter(variables).doprint(expr)


def describe(problem: Problem) -> str:
    """A plain-text summary of a problem: every section that is not empty, then the warnings."""

    def s(expr: sympy.Expr) -> str:
        return show(expr, problem)

    def unit(name: str) -> str:  # `  [W / K / m]` where the spec writes units; the constants' are SI
        if problem.units is None:
            return ""
        written = problem.units.units.get(name)
        return f"  [{written}]" if written else f"  [SI: {problem.units.dimensions.get(name, '1')}]"

    lines = [f"problem {problem.source.path}"]
    lines += _section(
        "variables",
        [
            f"{v.name} in [{number(v.lo)}, {number(v.hi)}]" + unit(v.name)
            + _kind(v)
            for v in problem.variables
        ],
    )
    if problem.domain is not None:
        lines += _section("domains", domain_lines(problem.domain))
        pieces = [piece_line(p, problem.domain, s) for p in problem.domain.pieces]
        lines += _section(f"boundary of {problem.domain.name}", pieces)
    lines += _section("fields", [f"{f.name}({', '.join(f.args)})" + unit(f.name) for f in problem.fields])
    lines += _section("constants", [_constant(c.name, s(c.expr), c.value) + unit(c.name) for c in problem.constants])
    library = {c.name for lib in problem.libraries for c in lib.candidates}
    lines += _section("unknowns", [_unknown(u) for u in problem.unknowns if u.name not in library])
    lines += _section("libraries (discover)", [
        f"{lib.equation}: " + ", ".join(f"{c.text} ({c.name})" for c in lib.candidates) for lib in problem.libraries
    ])
    lines += _section("unknown functions", [_unknown(u, s) for u in problem.functions])
    lines += _section("coefficients", [_coefficient(c, problem) for c in problem.coefficients])
    lines += _section("definitions", [f"{d.name} = {s(d.expr)}" for d in problem.definitions])
    lines += _section("equations", [f"{e.name}: {s(e.lhs)} = {s(e.rhs)}" for e in problem.equations])
    lines += _section("conditions", [line for c in problem.conditions for line in _condition(c, s)])
    lines += _section("data", [_dataset(d, problem) for d in problem.data])
    if problem.exact:
        lines += _section("exact", [f"{name} = {s(expr)}" for name, expr in problem.exact.items()])
    if problem.reference is not None:
        lines += _section("reference", [_dataset(problem.reference, problem)])
    lines += _section("settings", _settings(problem.settings, problem.default_settings(), problem.time))
    lines += _section("warnings", [_warning(w) for w in problem.warnings])
    return "\n".join(lines)


MEASURES = {1: "length", 2: "area", 3: "volume"}


def domain_lines(domain: Domain) -> list[str]:
    """One line per named domain: its expression and area (volume), exact or estimated; the last is the problem's."""
    lines = []
    for part in domain.subdomains:
        how = "exact" if part.exact else f"quasi-Monte Carlo estimate, {VOLUME_POINTS} scrambled Sobol points"
        word = MEASURES[len(domain.variables)]
        mark = "  (the problem's domain)" if part.name == domain.name else ""
        lines.append(f"{part.name} = {part.text}: {word} {part.volume:.6g} ({how}){mark}")
    return lines


def piece_line(piece: BoundaryPiece, domain: Domain, s) -> str:
    """A piece of the boundary: its shape's segment, its measure (estimated when partly covered), its normal."""
    word = MEASURES.get(piece.dim, "")
    if piece.dim == 0:
        measure = "a point"
    elif piece.fraction == 1:
        measure = f"{word} {piece.measure:.6g} (the whole {piece.what})"
    else:
        measure = f"{word} {piece.measure:.6g} (estimate: {100 * piece.fraction:.1f}% of the {piece.what})"
    normal = ", ".join(s(n) for n in piece.normal([sympy.Symbol(v, real=True) for v in domain.variables]))
    return f"{piece.label}: {piece.what}, {measure}, normal ({normal})"


def _kind(v: Variable) -> str:
    """What ``pdec check`` says after a variable's interval: time, a parameter (on a log scale), or nothing."""
    if v.is_time:
        return "  (time)"
    if v.is_parameter:
        return "  (parameter, log scale)" if v.log else "  (parameter)"
    return ""


def _section(title: str, items: list[str]) -> list[str]:
    return [f"{title}:"] + [f"  {item}" for item in items] if items else []


def _constant(name: str, expr: str, value: float) -> str:
    shown = number(value)
    return f"{name} = {expr}" if expr == shown else f"{name} = {expr} = {shown}"


def _unknown(u, s=None) -> str:
    """``k = 1 positive true 2``; an unknown function (``s`` shows its true expression): ``k(x) = 1 true 1 + x^2``."""
    args = getattr(u, "args", None)
    head = u.name if args is None else f"{u.name}({', '.join(args)})"
    parts = [f"{head} = {number(u.init)}"]
    if u.positive:
        parts.append("positive")
    if u.lower is not None:
        parts.append(f"in [{number(u.lower)}, {number(u.upper)}]")
    if u.true is not None:
        parts.append(f"true {number(u.true) if args is None else s(u.true)}")
    if u.lr is not None:
        parts.append(f"lr {number(u.lr)}")
    return " ".join(parts)


def _coefficient(c: Coefficient, problem: Problem) -> str:
    """``a(x, y) = a.csv: 21 x 11 grid (231 rows), x in [0, 1], y in [0, 2]; values in [1, 3]; linear``.

    Scattered rows read ``500 scattered rows on a 45 x 45 grid`` (the grid they were resampled on).
    """
    grid = " x ".join(str(len(axis)) for axis in c.axes)
    rows = f"{c.rows} scattered rows on a {grid} grid" if c.scattered else f"{grid} grid ({c.rows} rows)"
    ranges = ", ".join(f"{v} in [{a[0]:g}, {a[-1]:g}]" for v, a in zip(c.args, c.axes, strict=True))
    values = f"values in [{c.values.min():g}, {c.values.max():g}]"
    if problem.units is not None and c.name in problem.units.units:
        values += f" [{problem.units.units[c.name]}]"
    return f"{c.name}({', '.join(c.args)}) = {_relative(c.path, problem)}: {rows}, {ranges}; {values}; {c.method}"


def _relative(path: str, problem: Problem) -> str:
    """A data file's path, relative to the spec's folder when inside it."""
    shown = Path(path)
    if shown.is_absolute() and shown.is_relative_to(problem.source.directory):
        shown = shown.relative_to(problem.source.directory)
    return shown.as_posix()


def _condition(c: Condition | Periodic, s) -> list[str]:
    if c.kind == "periodic":
        exact = " (exact)" if c.exact else ""
        if c.seam:
            exact = " (exact; the slope may jump at the seam, as the initial value's does)"
        return [f"periodic {c.name}: {', '.join(s(e) for e in c.exprs)} in {c.variable}{exact}"]
    faces = ", ".join(_where(p) for p in c.pieces)
    word = "on" if any(p.boundary for p in c.pieces) else "at"
    head = f"{c.kind} {c.name}: {s(c.lhs)} = {s(c.rhs)}  {word} {faces}" + ("  (exact)" if c.exact else "")
    if all(p.residual == c.lhs - c.rhs for p in c.pieces):
        return [head]
    return [head] + [f"    {_where(p)}: {s(p.residual)} = 0" for p in c.pieces]


def _where(piece) -> str:
    """``x = 0`` for a face; ``point (x = 0, y = 0)`` for a point condition; a label for a piece of a domain."""
    if piece.boundary is not None:
        return piece.boundary
    text = ", ".join(f"{k} = {number(v)}" for k, v in piece.region.items())
    return f"point ({text})" if piece.fixed else text


def _dataset(d: DataSet, problem: Problem) -> str:
    noise = f", noise {number(d.noise)}" if d.noise else ""
    columns = f"({', '.join(d.variables)}) -> ({', '.join(d.fields)})"
    return f"{d.name}: {_relative(d.path, problem)}: {len(d)} points, {columns}{noise}"


def _settings(settings: Settings, default_settings: Settings, time: Variable | None = None) -> list[str]:
    """The settings that differ from the defaults sized to the problem (``windows`` spelled out over ``time``)."""
    default = default_settings.to_dict()
    lines = []
    for key, value in settings.to_dict().items():
        if value == default[key]:
            continue
        if key in ("points", "weights"):
            prefix = "points" if key == "points" else "weight"
            lines += [f"{prefix}.{name} = {v}" for name, v in value.items()]
        elif key == "stages":
            lines += [f"stage: {', '.join(st['terms'])} for {st['steps']}" for st in value]
        elif key == "windows" and time is not None:
            width = number((time.hi - time.lo) / value)
            each = f"{settings.adam} Adam + {settings.iterations} {settings.optimizer} steps"
            lines.append(f"windows = {value}  (time marching: {value} windows of {width} in {time.name}, {each} each)")
        else:
            lines.append(f"{key} = {_setting(value)}")
    return lines


def _setting(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ", ".join(str(v) for v in value) + "]"
    return str(value)


def _warning(w) -> str:
    where = f"{w.span.location()}: " if w.span is not None else ""
    return f"{where}{w.message}"


def latex(problem: Problem) -> str:
    """The problem's equations and conditions as a LaTeX ``aligned`` block, in ``$$ ... $$``."""
    printer = PdecLatexPrinter()
    domain = r" \times ".join(f"[{number(v.lo)}, {number(v.hi)}]" for v in problem.variables)
    if problem.domain is not None:  # the spatial variables' domain, times the time interval
        time = [rf"[{number(v.lo)}, {number(v.hi)}]" for v in problem.variables if not v.is_spatial]
        domain = r" \times ".join([rf"\Omega_{{\text{{{problem.domain.name}}}}}", *time])
    names = ", ".join(printer.doprint(v.symbol) for v in problem.variables)
    names = names if len(problem.variables) == 1 else f"({names})"
    rows = []
    for e in problem.equations:
        rows.append(rf"{printer.doprint(e.lhs)} &= {printer.doprint(e.rhs)}, && {names} \in {domain}")
    for c in problem.conditions:
        if c.kind == "periodic":
            exprs = ", ".join(printer.doprint(e) for e in c.exprs)
            rows.append(rf"{exprs} & \text{{ periodic in }} {printer.doprint(sympy.Symbol(c.variable))} &&")
        else:
            faces = r",\ ".join(
                rf"\text{{{p.boundary}}}"
                if p.boundary is not None
                else r",\ ".join(f"{printer.doprint(sympy.Symbol(k))} = {number(v)}" for k, v in p.region.items())
                for p in c.pieces
            )
            rows.append(rf"{printer.doprint(c.lhs)} &= {printer.doprint(c.rhs)}, && {faces}")
    body = r" \\" + "\n"
    return "$$\\begin{aligned}\n" + body.join(rows) + "\n\\end{aligned}$$"
