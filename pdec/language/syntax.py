"""Stage 2, lark tree -> Spec: the frozen abstract syntax of a spec, every node with the Span it came from.

``build(tree, source)`` turns the parse tree into a ``Spec``; ``unparse(node)`` prints a node back as pdec text
(``parse(unparse(spec))`` gives the same spec, spans aside). Names are not resolved here: that is
pdec/language/symbolic.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import lark
from lark.exceptions import VisitError

from pdec.core.errors import PdecError, PdecSyntaxError, short
from pdec.core.source import Source, Span

MAX_DEPTH = 100  # deepest expression nesting accepted; deeper trees would overflow Python's stack later


def _span() -> Span | None:
    return field(default=None, compare=False, repr=False)


# ---------------------------------------------------------------------------------------------------- expressions


@dataclass(frozen=True)
class Number:
    """A number literal, kept as written (``1e-3``)."""

    text: str
    span: Span | None = _span()


@dataclass(frozen=True)
class Name:
    """A name in an expression: a variable, field, constant, unknown, definition, shorthand derivative, pi or e."""

    name: str
    span: Span | None = _span()


@dataclass(frozen=True)
class Call:
    """A call ``func(args)``: a function (sin, exp, ...), a derivative (d, lap, dn) or a field application."""

    func: str
    args: tuple[Expr, ...]
    span: Span | None = _span()
    func_span: Span | None = _span()


@dataclass(frozen=True)
class Neg:
    """Unary minus (``sign="-"``) or plus (``sign="+"``)."""

    operand: Expr
    sign: str = "-"
    span: Span | None = _span()


@dataclass(frozen=True)
class Sum:
    """``first (+|-) term (+|-) term ...``, kept flat."""

    first: Expr
    rest: tuple[tuple[str, Expr], ...]
    span: Span | None = _span()


@dataclass(frozen=True)
class Product:
    """``first (*|/) factor (*|/) factor ...``, kept flat."""

    first: Expr
    rest: tuple[tuple[str, Expr], ...]
    span: Span | None = _span()


@dataclass(frozen=True)
class Power:
    """``base ^ exponent`` (also written ``**``), right associative."""

    base: Expr
    exponent: Expr
    span: Span | None = _span()


@dataclass(frozen=True)
class Unit:
    """A physical unit in brackets, ``[W/(m*K)]``: an expression of unit names (pint's), ``*``, ``/``, ``^`` and 1.

    pdec/language/units.py resolves it; the syntax keeps it as written.
    """

    expr: Expr
    span: Span | None = _span()


@dataclass(frozen=True)
class Quantity:
    """A number with a unit, ``45 [W/(m*K)]``."""

    number: Number
    unit: Unit
    span: Span | None = _span()


Expr = Number | Name | Call | Neg | Sum | Product | Power | Quantity


# ---------------------------------------------------------------------------------------------------- statements


@dataclass(frozen=True)
class Ident:
    """A declared or referenced name outside expressions (a declaration, a term name, a mapping target)."""

    name: str
    span: Span | None = _span()


@dataclass(frozen=True)
class VarDecl:
    """``var x in [lo, hi] [unit]`` or, with ``is_time``, ``time t in [lo, hi] [unit]`` (the unit optional)."""

    name: Ident
    lo: Expr
    hi: Expr
    is_time: bool = False
    span: Span | None = _span()
    unit: Unit | None = None


@dataclass(frozen=True)
class ParamDecl:
    """``param nu in [lo, hi]``: a parameter of a family of problems (an input of the network); ``log``: ``... log``."""

    name: Ident
    lo: Expr
    hi: Expr
    span: Span | None = _span()
    log: bool = False


@dataclass(frozen=True)
class FieldDecl:
    """``field u(x, t) [unit]``; ``args`` is None for a bare ``field u`` (all variables); the unit is optional."""

    name: Ident
    args: tuple[Ident, ...] | None
    span: Span | None = _span()
    unit: Unit | None = None


@dataclass(frozen=True)
class ConstDecl:
    """``const nu = expr``."""

    name: Ident
    expr: Expr
    span: Span | None = _span()


@dataclass(frozen=True)
class LetDecl:
    """``let w = expr``."""

    name: Ident
    expr: Expr
    span: Span | None = _span()


@dataclass(frozen=True)
class Modifier:
    """An unknown's modifier: ``positive``, ``in [lo, hi]`` (two args), ``true V`` or ``lr V`` (one arg)."""

    kind: str
    args: tuple[Expr, ...]
    span: Span | None = _span()


@dataclass(frozen=True)
class UnknownDecl:
    """``unknown k = init modifiers...``; ``args`` lists the variables of an unknown function (``unknown k(x) = 1``).

    ``args`` is None for an unknown number.
    """

    name: Ident
    init: Expr
    modifiers: tuple[Modifier, ...]
    span: Span | None = _span()
    args: tuple[Ident, ...] | None = None


@dataclass(frozen=True)
class CoefDecl:
    """``coef a(x, y) = [method] "path" x = x, y = y, a = a``; ``args`` is None for a bare ``coef a`` (all variables).

    ``method`` is the interpolation named before the path (``linear`` or ``cubic``), None when not written.
    """

    name: Ident
    args: tuple[Ident, ...] | None
    method: Ident | None
    path: str
    mappings: tuple[MappingItem, ...]
    span: Span | None = _span()
    path_span: Span | None = _span()


@dataclass(frozen=True)
class EquationStmt:
    """``eq [name]: lhs = rhs``."""

    name: Ident | None
    lhs: Expr
    rhs: Expr
    span: Span | None = _span()


@dataclass(frozen=True)
class At:
    """``at x = value``: one face."""

    variable: Ident
    value: Expr
    span: Span | None = _span()


@dataclass(frozen=True)
class AtPoint:
    """``at x = 0, y = 0``: several variables fixed (all spatial ones: a point; fewer: an edge or a face patch)."""

    items: tuple[At, ...]
    span: Span | None = _span()


@dataclass(frozen=True)
class OnBoundary:
    """``on boundary`` (every face of every non-time variable) or ``on boundary(x, ...)`` (both ends of each).

    On a domain the names may also be domains, shapes and polygon edges (``hull:3``: an :class:`Ident` whose name
    holds the colon, its span covering both parts; pdec/language/domains.py resolves it).
    """

    variables: tuple[Ident, ...] | None
    span: Span | None = _span()


@dataclass(frozen=True)
class ExactMark:
    """The keyword ``exact`` after a condition: impose it by construction instead of by a loss term."""

    span: Span | None = _span()


@dataclass(frozen=True)
class ConditionStmt:
    """``ic|bc [name]: lhs = rhs [at x = v[, y = w ...] | on boundary[(...)]] [exact]``."""

    kind: str
    name: Ident | None
    lhs: Expr
    rhs: Expr
    location: At | AtPoint | OnBoundary | None
    span: Span | None = _span()
    exact: ExactMark | None = None


@dataclass(frozen=True)
class PeriodicStmt:
    """``periodic [name]: e1, e2 in x [exact]``."""

    name: Ident | None
    exprs: tuple[Expr, ...]
    variable: Ident
    span: Span | None = _span()
    exact: ExactMark | None = None


# ---------------------------------------------------------------------------------------------------- domains


@dataclass(frozen=True)
class Coordinates:
    """``(x0, y0)``: a point among a shape's arguments (a centre, a corner, a vertex)."""

    items: tuple[Expr, ...]
    span: Span | None = _span()


@dataclass(frozen=True)
class Shape:
    """A shape called with its arguments: ``disk((0, 0), 1)``, ``rectangle((0, 0), (1, 2))``, ``polygon(...)``."""

    kind: str
    args: tuple[Expr | Coordinates, ...]
    span: Span | None = _span()
    kind_span: Span | None = _span()


@dataclass(frozen=True)
class RegionName:
    """A bare name in a domain expression: a domain declared above, or ``rectangle``/``box``/``interval`` alone."""

    name: str
    span: Span | None = _span()


@dataclass(frozen=True)
class Combination:
    """``a + b - c`` (union ``+`` or ``|``, difference ``-``) or ``a & b`` (intersection), flat, left to right."""

    first: Region
    rest: tuple[tuple[str, Region], ...]
    span: Span | None = _span()


Region = Shape | RegionName | Combination


@dataclass(frozen=True)
class DomainStmt:
    """``domain name = region``: a named domain; the last one is the problem's domain."""

    name: Ident
    region: Region
    span: Span | None = _span()


@dataclass(frozen=True)
class MappingItem:
    """``target = column [unit]`` in a data statement: column is a name or string (str) or a column index (int).

    ``unit`` is the column's unit when written (its values are converted to the target's unit).
    """

    target: Ident
    column: str | int
    span: Span | None = _span()
    column_span: Span | None = _span()
    unit: Unit | None = None


@dataclass(frozen=True)
class DataOption:
    """``sample N``, ``seed S`` or ``noise REL``."""

    key: str
    value: Number
    span: Span | None = _span()


@dataclass(frozen=True)
class DataStmt:
    """``data [name]: "path" mappings options`` or, with ``is_reference``, ``reference: "path" ...``."""

    name: Ident | None
    path: str
    mappings: tuple[MappingItem, ...]
    options: tuple[DataOption, ...]
    is_reference: bool = False
    span: Span | None = _span()
    path_span: Span | None = _span()


@dataclass(frozen=True)
class ExactItem:
    """``u = expr`` in an ``exact:`` statement."""

    name: Ident
    expr: Expr
    span: Span | None = _span()


@dataclass(frozen=True)
class ExactStmt:
    """``exact: u = expr, v = expr``."""

    items: tuple[ExactItem, ...]
    span: Span | None = _span()


@dataclass(frozen=True)
class Setting:
    """A ``key = value`` line under ``train:``; value is a number, name/string (str), bool or list."""

    key: str
    value: object
    span: Span | None = _span()


@dataclass(frozen=True)
class StageItem:
    """``stage: a, b for N`` under ``train:``."""

    terms: tuple[Ident, ...]
    steps: Number
    span: Span | None = _span()


@dataclass(frozen=True)
class TrainBlock:
    """``train:`` with the settings and stages written under it."""

    settings: tuple[Setting, ...]
    stages: tuple[StageItem, ...]
    span: Span | None = _span()


Statement = (
    VarDecl
    | ParamDecl
    | DomainStmt
    | FieldDecl
    | ConstDecl
    | LetDecl
    | UnknownDecl
    | CoefDecl
    | EquationStmt
    | ConditionStmt
    | PeriodicStmt
    | DataStmt
    | ExactStmt
    | TrainBlock
)


@dataclass(frozen=True)
class Spec:
    """A parsed spec: its statements in order (one FieldDecl per declared field, one TrainBlock at most)."""

    statements: tuple[Statement, ...]
    source: Source = field(compare=False, repr=False)
    units: bool = field(default=False, compare=False)  # some statement writes a unit: check dimensions


# ---------------------------------------------------------------------------------------------------- tree -> AST


def build(tree: lark.Tree, source: Source) -> Spec:
    """Turn a parse tree of ``source`` into a Spec; raise PdecSyntaxError for too-deep nesting or stray settings."""
    check_depth(tree, source)
    builder = _Builder(source)
    try:
        items = builder.transform(tree)
    except VisitError as error:
        if isinstance(error.orig_exc, PdecError):
            raise error.orig_exc from None
        raise
    return Spec(_group_train(items, source), source, builder.units)


def check_depth(tree: lark.Tree, source: Source, limit: int = MAX_DEPTH) -> None:
    """Raise PdecSyntaxError if expressions nest deeper than ``limit`` (walks iteratively, so any depth is safe)."""
    stack = [(tree, 0)]
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            span = _meta_span(node.meta, source) if isinstance(node, lark.Tree) else None
            span = Span(source, span.start, span.start + 1) if span is not None else None
            raise PdecSyntaxError(
                f"expression nested too deeply (more than {limit} levels)",
                span,
                "split it with `let` definitions",
            )
        if isinstance(node, lark.Tree):
            stack.extend((child, depth + 1) for child in node.children if isinstance(child, lark.Tree))


def _meta_span(meta: lark.tree.Meta, source: Source) -> Span | None:
    if getattr(meta, "empty", True):
        return None
    return Span(source, meta.start_pos, meta.end_pos)


def _token_span(token: lark.Token, source: Source) -> Span:
    return Span(source, token.start_pos, token.end_pos)


def _group_train(items: list, source: Source) -> tuple[Statement, ...]:
    """Attach each setting and stage line to the ``train:`` block above it; a second block is an error."""
    statements: list = []
    train: dict | None = None
    for item in items:
        if isinstance(item, TrainBlock):
            if train is not None:
                first = f" (the first is on line {train['span'].line})" if train["span"] is not None else ""
                hint = "put every setting in one `train:` block"
                raise PdecSyntaxError(f"a spec has at most one train block{first}", item.span, hint)
            train = {"span": item.span, "settings": [], "stages": [], "index": len(statements)}
            statements.append(None)
        elif isinstance(item, (Setting, StageItem)):
            if train is None:
                what = "training setting" if isinstance(item, Setting) else "stage"
                hint = "put settings under a `train:` line"
                if isinstance(item, Setting):
                    hint = f"write `eq: {short(item.span.text, 60)}` for an equation, or put settings under `train:`"
                raise PdecSyntaxError(f"{what} outside a train block", item.span, hint)
            train["settings" if isinstance(item, Setting) else "stages"].append(item)
        elif isinstance(item, list):
            statements.extend(item)
        else:
            statements.append(item)
    if train is not None:
        statements[train["index"]] = TrainBlock(tuple(train["settings"]), tuple(train["stages"]), train["span"])
    return tuple(statements)


@lark.v_args(meta=True)
class _DomainBuilder(lark.Transformer):
    """The domain rules of the AST builder (:class:`_Builder` extends it and supplies ``_span`` and ``_tok``)."""

    def domain_decl(self, meta, children):
        return DomainStmt(children[0], children[1], self._span(meta))

    def region(self, meta, children):
        return _combination(children[0], _pairs(children[1:]), self._span(meta))

    def region_meet(self, meta, children):
        return _combination(children[0], _pairs(children[1:]), self._span(meta))

    def region_name(self, meta, children):
        return RegionName(str(children[0]), self._span(meta))

    def shape(self, meta, children):
        kind, *args = children
        return Shape(str(kind), tuple(args), self._span(meta), self._tok(kind))

    def coordinates(self, meta, children):
        return Coordinates(tuple(children), self._span(meta))


@lark.v_args(meta=True)
class _Builder(_DomainBuilder):
    """Lark transformer building the AST; one method per grammar rule, named after it."""

    def __init__(self, source: Source) -> None:
        super().__init__()
        self.source = source
        self.units = False  # set when a unit is written

    def _span(self, meta: lark.tree.Meta) -> Span | None:
        return _meta_span(meta, self.source)

    def _tok(self, token: lark.Token) -> Span:
        return _token_span(token, self.source)

    def start(self, meta, children):
        return children

    # declarations
    def ident(self, meta, children):
        return Ident(str(children[0]), self._tok(children[0]))

    def interval(self, meta, children):
        return tuple(children)

    def var_decl(self, meta, children):
        name, (lo, hi), unit = children
        return VarDecl(name, lo, hi, False, self._span(meta), unit)

    def time_decl(self, meta, children):
        name, (lo, hi), unit = children
        return VarDecl(name, lo, hi, True, self._span(meta), unit)

    def unit(self, meta, children):
        self.units = True
        return Unit(children[0], self._span(meta))

    def param_decl(self, meta, children):
        name, (lo, hi), log = children
        return ParamDecl(name, lo, hi, self._span(meta), log is not None)

    def log_scale(self, meta, children):
        return True

    def field_decl(self, meta, children):
        return list(children)

    def field_item(self, meta, children):
        unit = children[-1]
        name, args = children[:-1] if len(children) == 3 else (children[0], None)
        return FieldDecl(name, args, self._span(meta), unit)

    def field_args(self, meta, children):
        return tuple(c for c in children if c is not None)

    def const_decl(self, meta, children):
        return ConstDecl(children[0], children[1], self._span(meta))

    def let_decl(self, meta, children):
        return LetDecl(children[0], children[1], self._span(meta))

    def unknown_decl(self, meta, children):
        name, args, init, *modifiers = children
        return UnknownDecl(name, init, tuple(modifiers), self._span(meta), args)

    def coef_decl(self, meta, children):
        name, args, method, (path, path_span), *mappings = children
        method = None if method is None else Ident(str(method), self._tok(method))
        return CoefDecl(name, args, method, path, tuple(mappings), self._span(meta), path_span)

    def positive(self, meta, children):
        return Modifier("positive", (), self._span(meta))

    def bounded(self, meta, children):
        return Modifier("in", children[0], self._span(meta))

    def true_value(self, meta, children):
        return Modifier("true", (children[0],), self._span(meta))

    def learning_rate(self, meta, children):
        return Modifier("lr", (children[0],), self._span(meta))

    # residual terms
    def equation(self, meta, children):
        return EquationStmt(children[0], children[1], children[2], self._span(meta))

    def ic(self, meta, children):
        return self._condition("ic", meta, children)

    def bc(self, meta, children):
        return self._condition("bc", meta, children)

    def _condition(self, kind, meta, children):
        name, lhs, rhs, *rest = children
        location = next((c for c in rest if isinstance(c, (At, AtPoint, OnBoundary))), None)
        mark = next((c for c in rest if isinstance(c, ExactMark)), None)
        return ConditionStmt(kind, name, lhs, rhs, location, self._span(meta), mark)

    def exact_mark(self, meta, children):
        return ExactMark(self._span(meta))

    def at(self, meta, children):
        if len(children) == 1:  # one face: the span covers `at x = v`, as before points existed
            return At(children[0].variable, children[0].value, self._span(meta))
        return AtPoint(tuple(children), self._span(meta))

    def at_item(self, meta, children):
        return At(children[0], children[1], self._span(meta))

    def on_boundary(self, meta, children):
        return OnBoundary(children[0], self._span(meta))

    def boundary_vars(self, meta, children):
        return tuple(children)

    def edge_ref(self, meta, children):
        shape, index = children
        return Ident(f"{shape}:{index}", self._span(meta))

    def periodic(self, meta, children):
        name, *exprs, variable, mark = children
        return PeriodicStmt(name, tuple(exprs), variable, self._span(meta), mark)

    # data
    def path(self, meta, children):
        return str(children[0])[1:-1], self._tok(children[0])

    def data(self, meta, children):
        name, (path, path_span), *rest = children
        mappings = tuple(c for c in rest if isinstance(c, MappingItem))
        options = tuple(c for c in rest if isinstance(c, DataOption))
        return DataStmt(name, path, mappings, options, False, self._span(meta), path_span)

    def reference(self, meta, children):
        (path, path_span), *rest = children
        mappings = tuple(c for c in rest if isinstance(c, MappingItem))
        options = tuple(c for c in rest if isinstance(c, DataOption))
        return DataStmt(None, path, mappings, options, True, self._span(meta), path_span)

    def mapping(self, meta, children):
        target, (column, column_span), unit = children
        return MappingItem(target, column, self._span(meta), column_span, unit)

    def column_name(self, meta, children):
        return str(children[0]), self._tok(children[0])

    def column_string(self, meta, children):
        return str(children[0])[1:-1], self._tok(children[0])

    def column_index(self, meta, children):
        token = children[0]
        text = str(token)
        if not text.isdigit():
            raise PdecSyntaxError(
                f"column index must be a whole number, got {text}",
                self._tok(token),
                "columns are counted from 0; name a column with an identifier or a string",
            )
        return int(text), self._tok(token)

    def sample(self, meta, children):
        return DataOption("sample", Number(str(children[0]), self._tok(children[0])), self._span(meta))

    def seed(self, meta, children):
        return DataOption("seed", Number(str(children[0]), self._tok(children[0])), self._span(meta))

    def noise(self, meta, children):
        return DataOption("noise", Number(str(children[0]), self._tok(children[0])), self._span(meta))

    def exact(self, meta, children):
        return ExactStmt(tuple(children), self._span(meta))

    def exact_item(self, meta, children):
        return ExactItem(children[0], children[1], self._span(meta))

    # train
    def train(self, meta, children):
        return TrainBlock((), (), self._span(meta))

    def setting(self, meta, children):
        return Setting(children[0], children[1], self._span(meta))

    def setting_key(self, meta, children):
        return ".".join(str(c) for c in children)

    def number_value(self, meta, children):
        return _number_value(str(children[0]))

    def negative_value(self, meta, children):
        return -_number_value(str(children[1]))

    def name_value(self, meta, children):
        text = str(children[0])
        return {"true": True, "false": False}.get(text, text)

    def string_value(self, meta, children):
        return str(children[0])[1:-1]

    def list_value(self, meta, children):
        return [c for c in children if c is not None]

    def device_value(self, meta, children):
        return f"{children[0]}:{children[1]}"

    def stage(self, meta, children):
        *terms, steps = children
        return StageItem(tuple(terms), Number(str(steps), self._tok(steps)), self._span(meta))

    # expressions
    def number(self, meta, children):
        return Number(str(children[0]), self._span(meta))

    def quantity(self, meta, children):
        number, unit = children
        return Quantity(Number(str(number), self._tok(number)), unit, self._span(meta))

    def name(self, meta, children):
        return Name(str(children[0]), self._span(meta))

    def call(self, meta, children):
        func, *args = children
        args = tuple(a for a in args if a is not None)
        return Call(str(func), args, self._span(meta), self._tok(func))

    def neg(self, meta, children):
        return Neg(children[1], "-", self._span(meta))

    def pos(self, meta, children):
        return Neg(children[1], "+", self._span(meta))

    def pow(self, meta, children):
        return Power(children[0], children[2], self._span(meta))

    def sum(self, meta, children):
        return Sum(children[0], _pairs(children[1:]), self._span(meta))

    def product(self, meta, children):
        return Product(children[0], _pairs(children[1:]), self._span(meta))


def _combination(first: Region, rest: tuple[tuple[str, Region], ...], span: Span | None) -> Combination:
    """A flat combination: ``(a - b) - c`` is ``a - b - c`` (the same sets, read left to right)."""
    if isinstance(first, Combination) and _REGION_LEVEL[first.rest[0][0]] == _REGION_LEVEL[rest[0][0]]:
        return Combination(first.first, first.rest + rest, span)
    return Combination(first, rest, span)


def _pairs(items: list) -> tuple[tuple[str, Expr], ...]:
    return tuple((str(items[i]), items[i + 1]) for i in range(0, len(items), 2))


def _number_value(text: str) -> int | float:
    """A train-block number: int when written as digits, float otherwise."""
    return int(text) if text.isdigit() else float(text)


# ---------------------------------------------------------------------------------------------------- AST -> text

_PRECEDENCE = {Sum: 1, Product: 2, Neg: 3, Power: 4, Quantity: 5}


def unparse(node: Expr | Statement | Spec) -> str:
    """Print an expression, a statement or a whole spec back as pdec text."""
    if isinstance(node, Spec):
        return "".join(unparse(s) + "\n" for s in node.statements)
    printer = _UNPARSERS.get(type(node))
    if printer is None:
        raise TypeError(f"cannot unparse {type(node).__name__}")
    return printer(node)


def _wrap(node: Expr, above: int) -> str:
    """Print ``node`` in parentheses when its precedence is not above ``above``."""
    text = unparse(node)
    return f"({text})" if _PRECEDENCE.get(type(node), 9) <= above else text


def _unparse_flat(node: Sum | Product) -> str:
    level = _PRECEDENCE[type(node)]
    parts = [_wrap(node.first, level)]
    for op, term in node.rest:
        parts.append(f" {op} " if isinstance(node, Sum) else op)
        parts.append(_wrap(term, level))
    return "".join(parts)


def _unparse_neg(node: Neg) -> str:
    return node.sign + _wrap(node.operand, 2)


def _unparse_power(node: Power) -> str:
    return _wrap(node.base, 4) + "^" + _wrap(node.exponent, 2)


def _names(idents: tuple[Ident, ...]) -> str:
    return ", ".join(i.name for i in idents)


def _label(keyword: str, name: Ident | None) -> str:
    return f"{keyword} {name.name}:" if name is not None else f"{keyword}:"


def _unparse_condition(node: ConditionStmt) -> str:
    text = f"{_label(node.kind, node.name)} {unparse(node.lhs)} = {unparse(node.rhs)}"
    if isinstance(node.location, At):
        text += f" at {node.location.variable.name} = {unparse(node.location.value)}"
    elif isinstance(node.location, AtPoint):
        text += " at " + ", ".join(f"{i.variable.name} = {unparse(i.value)}" for i in node.location.items)
    elif isinstance(node.location, OnBoundary):
        text += " on boundary" + (f"({_names(node.location.variables)})" if node.location.variables else "")
    return text + (" exact" if node.exact is not None else "")


def _unparse_modifier(node: Modifier) -> str:
    if node.kind == "positive":
        return "positive"
    if node.kind == "in":
        return f"in [{unparse(node.args[0])}, {unparse(node.args[1])}]"
    return f"{node.kind} {unparse(node.args[0])}"


def _unparse_data(node: DataStmt) -> str:
    head = "reference:" if node.is_reference else _label("data", node.name)
    columns = [f"{m.target.name} = {_column(m.column)}{_unit(m.unit, ' ')}" for m in node.mappings]
    options = "".join(f" {o.key} {o.value.text}" for o in node.options)
    return f'{head} "{node.path}" ' + ", ".join(columns) + options


def _unparse_coef(node: CoefDecl) -> str:
    args = f"({_names(node.args)})" if node.args is not None else ""
    method = f"{node.method.name} " if node.method is not None else ""
    columns = ", ".join(f"{m.target.name} = {_column(m.column)}{_unit(m.unit, ' ')}" for m in node.mappings)
    return f'coef {node.name.name}{args} = {method}"{node.path}" {columns}'


def _unit(unit: Unit | None, before: str = "") -> str:
    """``[W/(m*K)]`` (after ``before``), or nothing without a unit."""
    return "" if unit is None else f"{before}[{unparse(unit.expr)}]"


def _column(column: str | int) -> str:
    if isinstance(column, int):
        return str(column)
    return column if column.isidentifier() and column.isascii() else f'"{column}"'


def _setting_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ", ".join(_setting_value(v) for v in value) + "]"
    if isinstance(value, str) and not value.replace(":", "").isidentifier():
        return f'"{value}"'
    return str(value)


def _unparse_train(node: TrainBlock) -> str:
    lines = ["train:"]
    lines += [f"  {s.key} = {_setting_value(s.value)}" for s in node.settings]
    lines += [f"  stage: {_names(s.terms)} for {s.steps.text}" for s in node.stages]
    return "\n".join(lines)


_REGION_LEVEL = {"+": 1, "-": 1, "|": 1, "&": 2}


def _unparse_region(node: Region, above: int = 0, right: bool = False) -> str:
    """Print a domain expression; a combination is bracketed where precedence or left-to-right order needs it."""
    if isinstance(node, RegionName):
        return node.name
    if isinstance(node, Shape):
        return f"{node.kind}(" + ", ".join(_unparse_shape_arg(a) for a in node.args) + ")"
    level = _REGION_LEVEL[node.rest[0][0]] if node.rest else 3
    parts = [_unparse_region(node.first, level)]
    parts += [f" {op} {_unparse_region(item, level, True)}" for op, item in node.rest]
    text = "".join(parts)
    return f"({text})" if level < above or (right and level == above) else text


def _unparse_shape_arg(node: Expr | Coordinates) -> str:
    if isinstance(node, Coordinates):
        return "(" + ", ".join(unparse(i) for i in node.items) + ")"
    return unparse(node)


_UNPARSERS = {
    Number: lambda n: n.text,
    Name: lambda n: n.name,
    Call: lambda n: f"{n.func}({', '.join(unparse(a) for a in n.args)})",
    Neg: _unparse_neg,
    Sum: _unparse_flat,
    Product: _unparse_flat,
    Power: _unparse_power,
    Quantity: lambda n: f"{n.number.text} {_unit(n.unit)}",
    VarDecl: lambda n: (
        f"{'time' if n.is_time else 'var'} {n.name.name} in [{unparse(n.lo)}, {unparse(n.hi)}]" + _unit(n.unit, " ")
    ),
    ParamDecl: lambda n: f"param {n.name.name} in [{unparse(n.lo)}, {unparse(n.hi)}]" + (" log" if n.log else ""),
    FieldDecl: lambda n: (
        f"field {n.name.name}" + (f"({_names(n.args)})" if n.args is not None else "") + _unit(n.unit, " ")
    ),
    ConstDecl: lambda n: f"const {n.name.name} = {unparse(n.expr)}",
    LetDecl: lambda n: f"let {n.name.name} = {unparse(n.expr)}",
    UnknownDecl: lambda n: " ".join(
        [f"unknown {n.name.name if n.args is None else f'{n.name.name}({_names(n.args)})'} = {unparse(n.init)}"]
        + [_unparse_modifier(m) for m in n.modifiers]
    ),
    CoefDecl: _unparse_coef,
    EquationStmt: lambda n: f"{_label('eq', n.name)} {unparse(n.lhs)} = {unparse(n.rhs)}",
    ConditionStmt: _unparse_condition,
    PeriodicStmt: lambda n: (
        f"{_label('periodic', n.name)} {', '.join(unparse(e) for e in n.exprs)} in {n.variable.name}"
        + (" exact" if n.exact is not None else "")
    ),
    DataStmt: _unparse_data,
    ExactStmt: lambda n: "exact: " + ", ".join(f"{i.name.name} = {unparse(i.expr)}" for i in n.items),
    TrainBlock: _unparse_train,
    DomainStmt: lambda n: f"domain {n.name.name} = {_unparse_region(n.region)}",
    Shape: _unparse_region,
    RegionName: _unparse_region,
    Combination: _unparse_region,
    Coordinates: _unparse_shape_arg,
}
