"""The checked symbolic problem: the record the front end produces and the compiler consumes.

Every record is a frozen dataclass keeping the span it came from, so later stages can point at the spec.
Expressions are sympy objects built by the front end (never by sympify of user text) with these conventions:

- a variable ``x`` is ``symbol("x")``; a constant or an unknown ``nu`` is ``symbol("nu")`` too, its value kept in
  ``Problem.constants`` / ``Problem.unknowns``;
- a field ``u(x, t)`` is ``field_function("u")(symbol("x"), symbol("t"))``;
- a tabulated coefficient ``a(x)`` is ``coefficient_function("a")(symbol("x"))``: an undefined function too, but an
  instance of :class:`Tabulated`, so ``is_field`` tells the two apart (its derivatives stay ``sympy.Derivative``);
- an unknown function ``k(x)`` (``unknown k(x) = 1``) is ``learned_function("k")(symbol("x"))``, an instance of
  :class:`Learned`: not a field either (both kinds are :class:`Auxiliary`), its derivatives ``sympy.Derivative``;
- a derivative is ``sympy.Derivative(u(x, t), (x, 2), t)`` (sympy's canonical form);
- named definitions (``let``) are already substituted into every residual; they are kept for display only;
- normal derivatives in conditions are already resolved to signed partial derivatives per face, and on a piece of
  a domain's boundary to ``n . grad`` with the piece's exact outward normal (pdec/geometry.py).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np
import sympy
from sympy.core.function import AppliedUndef, UndefinedFunction

from pdec.core.errors import PdecWarning
from pdec.core.intervals import LogInterval
from pdec.core.settings import Settings, sized_defaults
from pdec.core.source import Source, Span
from pdec.geometry import Domain


def symbol(name: str) -> sympy.Symbol:
    """Return the sympy symbol pdec uses for a variable, constant or unknown called ``name``."""
    return sympy.Symbol(name, real=True)


def field_function(name: str) -> sympy.FunctionClass:
    """Return the undefined sympy function pdec uses for a field called ``name``."""
    return sympy.Function(name, real=True)


class Auxiliary(AppliedUndef):
    """A function of the variables that is not a field (no column of the network): a coefficient or unknown function.

    Its value and partials at the points come from elsewhere (a table's interpolant, a network of its own); its
    derivatives do not count towards a field's order.
    """


class Tabulated(Auxiliary):
    """The base of every tabulated coefficient's sympy function: a known function of the variables, not a field."""


class Learned(Auxiliary):
    """The base of every unknown function's sympy function: a function of some variables that training finds."""


def coefficient_function(name: str) -> sympy.FunctionClass:
    """Return the undefined sympy function of the tabulated coefficient ``name`` (never equal to a field's)."""
    return UndefinedFunction(name, bases=(Tabulated,), real=True, tabulated=True)


def learned_function(name: str) -> sympy.FunctionClass:
    """Return the undefined sympy function of the unknown function ``name`` (never equal to a field's)."""
    return UndefinedFunction(name, bases=(Learned,), real=True, learned=True)


def is_field(expr: sympy.Expr) -> bool:
    """Whether ``expr`` is a field applied to its variables (an undefined function that is not :class:`Auxiliary`)."""
    return isinstance(expr, AppliedUndef) and not isinstance(expr, Auxiliary)


def frozen(mapping: Mapping) -> Mapping:
    """Return a read-only view of a dict copy."""
    return MappingProxyType(dict(mapping))


class Kind(str, enum.Enum):
    """The kind of a loss term (a ``str`` enum: ``Kind.PDE == "pde"``)."""

    PDE = "pde"
    IC = "ic"
    BC = "bc"
    PERIODIC = "periodic"
    DATA = "data"

    @property
    def prefix(self) -> str:
        """The prefix of the term's name: a periodic condition is a boundary condition (``bc:NAME``)."""
        return "bc" if self is Kind.PERIODIC else self.value


def term_name(kind: Kind | str, bare: str) -> str:
    """The one place a loss-term name is built: ``pde:burgers``, ``ic:initial``, ``bc:left`` (periodic too)."""
    return f"{Kind(kind).prefix}:{bare}"


@dataclass(frozen=True)
class Variable:
    """An independent variable on the interval ``[lo, hi]``; ``is_time`` marks the evolution variable.

    ``is_parameter`` marks a parameter of a family of problems (``param nu in [lo, hi]``): an input of the network,
    sampled over its interval like a variable, but never a place (no faces, no ``lap``, no domain). ``log`` marks
    one declared ``... log``: sampled evenly in ``log(nu)``, which the network reads (pdec.core.intervals).
    """

    name: str
    lo: float
    hi: float
    is_time: bool = False
    span: Span | None = field(default=None, compare=False, repr=False)
    is_parameter: bool = False
    log: bool = False

    @property
    def interval(self) -> tuple[float, float]:
        """``(lo, hi)`` as floats: a :class:`pdec.core.intervals.LogInterval` on a log scale."""
        return LogInterval(self.lo, self.hi) if self.log else (float(self.lo), float(self.hi))

    @property
    def is_spatial(self) -> bool:
        """Whether this is a spatial variable: neither time nor a parameter."""
        return not (self.is_time or self.is_parameter)

    @property
    def symbol(self) -> sympy.Symbol:
        """The sympy symbol of this variable."""
        return symbol(self.name)


@dataclass(frozen=True)
class Field:
    """A dependent variable, a function of ``args`` (a subsequence of the problem's variables, in their order)."""

    name: str
    args: tuple[str, ...]
    span: Span | None = field(default=None, compare=False, repr=False)

    @property
    def function(self) -> sympy.FunctionClass:
        """The undefined sympy function of this field."""
        return field_function(self.name)

    @property
    def applied(self) -> sympy.Expr:
        """The field applied to its variables, e.g. ``u(x, t)``."""
        return self.function(*(symbol(a) for a in self.args))


@dataclass(frozen=True)
class Coefficient:
    """A tabulated coefficient: a known function of ``args`` read from a table and interpolated on a grid.

    ``axes`` holds the increasing grid nodes of each argument (in ``args`` order, at least two each) and ``values``
    the table on their product grid (``indexing="ij"``, float64). Rows that do not form a full grid (``scattered``)
    were resampled on one first (pdec.language.coefficients). ``method`` is the interpolation: ``linear`` (multilinear:
    first derivatives piecewise constant, a second derivative in one argument zero inside the cells) or ``cubic``
    (tensor-product cubic Hermite: first derivatives continuous, up to third derivatives in each argument).
    """

    name: str
    args: tuple[str, ...]
    method: str
    path: str
    rows: int  # rows read from the table
    scattered: bool
    axes: tuple[np.ndarray, ...] = field(compare=False, repr=False)
    values: np.ndarray = field(compare=False, repr=False)
    span: Span | None = field(default=None, compare=False, repr=False)

    @property
    def function(self) -> sympy.FunctionClass:
        """The undefined sympy function of this coefficient."""
        return coefficient_function(self.name)

    @property
    def applied(self) -> sympy.Expr:
        """The coefficient applied to its variables, e.g. ``a(x, y)``."""
        return self.function(*(symbol(a) for a in self.args))

    @property
    def highest(self) -> int:
        """The highest derivative order in one argument that is not zero inside the cells (1 linear, 3 cubic)."""
        return 3 if self.method == "cubic" else 1


@dataclass(frozen=True)
class Constant:
    """A named constant: its defining expression (for display) and its float value."""

    name: str
    value: float
    expr: sympy.Expr
    span: Span | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class Definition:
    """A named sub-expression (``let w = v_x - u_y``); already substituted wherever it is used."""

    name: str
    expr: sympy.Expr
    span: Span | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class Unknown:
    """An unknown parameter of an inverse problem.

    ``positive`` or finite ``lower``/``upper`` bounds are enforced by a smooth reparameterisation in the compiler.
    ``true`` is used only to report the error of the discovered value; ``lr`` is its own learning rate, if given.
    ``scale`` is the size of one unit of its trained parameter (1; equation discovery sets each coefficient's to the
    size its term's share asks for, so that the optimisers see every coefficient at unit scale).
    """

    name: str
    init: float
    lower: float | None = None
    upper: float | None = None
    positive: bool = False
    true: float | None = None
    lr: float | None = None
    span: Span | None = field(default=None, compare=False, repr=False)
    scale: float = 1.0


@dataclass(frozen=True)
class UnknownFunction:
    """An unknown function of some variables (``unknown k(x) = 1 positive true 1 + x^2``): a small network of its own.

    ``args`` are its variables (in the problem's order); it starts as the constant ``init``. ``positive`` or finite
    ``lower``/``upper`` bounds are enforced on its output (softplus, sigmoid; pdec.compiler.unknowns). ``true`` is an
    expression of ``args`` (and constants), used only to report the error of the discovered function; ``lr`` is its
    own learning rate, if given.
    """

    name: str
    args: tuple[str, ...]
    init: float
    lower: float | None = None
    upper: float | None = None
    positive: bool = False
    true: sympy.Expr | None = None
    lr: float | None = None
    span: Span | None = field(default=None, compare=False, repr=False)

    @property
    def function(self) -> sympy.FunctionClass:
        """The undefined sympy function of this unknown function."""
        return learned_function(self.name)

    @property
    def applied(self) -> sympy.Expr:
        """The function applied to its variables, e.g. ``k(x)``."""
        return self.function(*(symbol(a) for a in self.args))


@dataclass(frozen=True)
class Candidate:
    """One candidate term of an equation's library (``discover(u*u_x, u_xx)``) and its unknown coefficient.

    ``name`` is the coefficient's, an unknown number of ``Problem.unknowns`` (``burgers__1``: the equation's name and
    the candidate's place in the library, from 1; no declared name holds ``__``); ``term`` is the candidate's sympy
    expression; ``text`` is the candidate as written, in parentheses where a factor needs them (``(u - 1)``).
    """

    name: str
    term: sympy.Expr
    text: str
    span: Span | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class Library:
    """The candidate terms of one equation (``eq burgers: u_t = discover(u*u_x, u_xx, u)``), trained to be sparse.

    The equation's side holds ``sign * sum(coefficient * term)`` in place of the call; ``alone`` says whether the call
    was the whole side (otherwise a printed sum needs parentheses). ``span`` is the call's, ``candidates`` those still
    in the library (pdec.language.library.prune removes the others).
    """

    equation: str
    candidates: tuple[Candidate, ...]
    sign: int = 1
    alone: bool = True
    span: Span | None = field(default=None, compare=False, repr=False)

    @property
    def names(self) -> tuple[str, ...]:
        """The coefficients' names, in library order."""
        return tuple(c.name for c in self.candidates)


@dataclass(frozen=True)
class Equation:
    """A governing equation ``lhs = rhs`` holding in the interior; ``residual`` is ``lhs - rhs``."""

    name: str
    lhs: sympy.Expr
    rhs: sympy.Expr
    span: Span | None = field(default=None, compare=False, repr=False)

    @property
    def residual(self) -> sympy.Expr:
        """``lhs - rhs``."""
        return self.lhs - self.rhs


@dataclass(frozen=True)
class Face:
    """One face of the box domain: variable ``variable`` fixed at ``value`` (its ``lo`` or ``hi`` end)."""

    variable: str
    value: float
    side: str  # "lo" or "hi"; "" for a point condition's variable fixed inside its interval (no normal)


@dataclass(frozen=True)
class Piece:
    """A condition's residual on one face (a whole-boundary condition has one piece per face).

    ``fixed`` holds the other variables a point condition fixes (``at x = 0, y = 0``: face x = 0, fixed y = 0); a
    point off every face has a Face whose ``side`` is ``""`` (no normal there). On a domain (``domain`` statements),
    a piece of its boundary has no face: ``boundary`` names it (a label of ``Problem.domain.pieces``) and no variable
    is fixed (time, if any, stays free).
    """

    face: Face | None
    residual: sympy.Expr
    fixed: tuple[tuple[str, float], ...] = ()
    boundary: str | None = None

    @property
    def region(self) -> dict[str, float]:
        """Every variable this piece fixes, with its value (none on a piece of a domain's boundary)."""
        if self.face is None:
            return {}
        return {self.face.variable: float(self.face.value), **{k: float(v) for k, v in self.fixed}}


@dataclass(frozen=True)
class Condition:
    """An initial (``kind="ic"``) or boundary (``kind="bc"``) condition: residuals that vanish on faces.

    Dirichlet, Neumann, Robin and general expression constraints are all of this form; ``lhs``/``rhs`` are the
    written sides (before normal derivatives are resolved), for display.
    """

    name: str
    kind: str
    pieces: tuple[Piece, ...]
    lhs: sympy.Expr
    rhs: sympy.Expr
    span: Span | None = field(default=None, compare=False, repr=False)
    exact: bool = False  # imposed by construction (pdec.compiler.constraints), not by a loss term


@dataclass(frozen=True)
class Periodic:
    """A periodic condition: each expression takes equal values at both ends of ``variable``."""

    name: str
    variable: str
    exprs: tuple[sympy.Expr, ...]
    span: Span | None = field(default=None, compare=False, repr=False)
    exact: bool = False  # imposed by construction (a periodic embedding of the variable), not by a loss term
    seam: bool = False  # exact, and the slope may jump across the seam (pdec.language.corners.seam_variables)

    kind = "periodic"


@dataclass(frozen=True)
class DataSet:
    """Observations (or a reference solution) as scattered points.

    ``points`` is ``[N, len(variables)]`` with columns in the order of ``variables`` (the problem's variable order,
    all of them), ``values`` is ``[N, len(fields)]`` with columns in the order of ``fields`` (the observed subset).
    Subsampling and noise from the spec are already applied.
    """

    name: str
    path: str
    variables: tuple[str, ...]
    fields: tuple[str, ...]
    points: np.ndarray = field(compare=False, repr=False)
    values: np.ndarray = field(compare=False, repr=False)
    noise: float = 0.0
    span: Span | None = field(default=None, compare=False, repr=False)

    def __len__(self) -> int:
        return len(self.points)


@dataclass(frozen=True)
class Units:
    """The units a spec declares (pdec.language.dimensions checked them): the interface of its variables and fields.

    ``units``: variable or field -> its unit as pint spells it (``W / K / m``); ``conversions``: variable or field ->
    ``(factor, offset)`` with ``SI = offset + factor * value``; ``dimensions``: every declared name -> its dimension
    in SI base units (``kg/(m*s^3)``), for display. Numbers inside expressions (constants, quantities) are SI.
    """

    units: Mapping[str, str]
    conversions: Mapping[str, tuple[float, float]]
    dimensions: Mapping[str, str]

    def si(self, name: str) -> tuple[float, float]:
        """``(factor, offset)`` of a variable or field (``(1, 0)``: SI, or no unit)."""
        return self.conversions.get(name, (1.0, 0.0))


@dataclass(frozen=True)
class Scaling:
    """The characteristic scales of a non-dimensionalised problem (pdec.language.scaling).

    A variable's value in the user's unit is ``offset + scale * x`` for the scaled ``x`` (``variables``), a field's
    ``offset + scale * u`` (``fields``); ``sources`` says where each field's scale came from; ``residuals``: term
    name -> the number its residual (SI) was divided by; ``units``: the user's unit of each variable and field;
    ``functions``: an unknown function's SI value is ``offset + scale * k`` for the scaled ``k``.
    """

    variables: Mapping[str, tuple[float, float]]
    fields: Mapping[str, tuple[float, float]]
    sources: Mapping[str, str]
    residuals: Mapping[str, float]
    units: Mapping[str, str]
    functions: Mapping[str, tuple[float, float]] = field(default_factory=lambda: frozen({}))

    def to_dict(self) -> dict:
        """A JSON-ready dict (``scales.json`` in the run directory)."""
        return {
            "variables": {k: {"offset": o, "scale": s, "unit": self.units.get(k, "")}
                          for k, (o, s) in self.variables.items()},
            "fields": {k: {"offset": o, "scale": s, "unit": self.units.get(k, ""), "from": self.sources.get(k, "")}
                       for k, (o, s) in self.fields.items()},
            "functions": {k: {"offset": o, "scale": s, "unit": "SI", "from": "its initial value"}
                          for k, (o, s) in self.functions.items()},
            "residuals": dict(self.residuals),
        }


@dataclass(frozen=True)
class Problem:
    """A checked symbolic problem: everything later stages need, with no reference back to the text but spans."""

    source: Source = field(repr=False)
    variables: tuple[Variable, ...]
    fields: tuple[Field, ...]
    constants: tuple[Constant, ...] = ()
    definitions: tuple[Definition, ...] = ()
    unknowns: tuple[Unknown, ...] = ()
    coefficients: tuple[Coefficient, ...] = ()
    functions: tuple[UnknownFunction, ...] = ()
    equations: tuple[Equation, ...] = ()
    libraries: tuple[Library, ...] = ()  # equation discovery: each library's coefficients are among ``unknowns``
    conditions: tuple[Condition | Periodic, ...] = ()
    data: tuple[DataSet, ...] = ()
    exact: Mapping[str, sympy.Expr] | None = None
    reference: DataSet | None = None
    settings: Settings = field(default_factory=Settings)
    warnings: tuple[PdecWarning, ...] = field(default=(), compare=False)
    domain: Domain | None = field(default=None, compare=False)  # None: the box of the variables' intervals
    units: Units | None = field(default=None, compare=False)  # None: the spec writes no unit
    scaling: Scaling | None = field(default=None, compare=False)  # set on the scaled problem (pdec.language.scaling)

    @property
    def time(self) -> Variable | None:
        """The time variable, if one is declared."""
        return next((v for v in self.variables if v.is_time), None)

    @property
    def spatial(self) -> tuple[Variable, ...]:
        """The variables that are neither time nor parameters."""
        return tuple(v for v in self.variables if v.is_spatial)

    @property
    def parameters(self) -> tuple[Variable, ...]:
        """The parameters of a family of problems (``param nu in [lo, hi]``): the last input columns."""
        return tuple(v for v in self.variables if v.is_parameter)

    def variable(self, name: str) -> Variable:
        """Return the variable called ``name``."""
        return next(v for v in self.variables if v.name == name)

    def field(self, name: str) -> Field:
        """Return the field called ``name``."""
        return next(f for f in self.fields if f.name == name)

    @property
    def order(self) -> int:
        """The highest total derivative order in the equations (0 for none)."""
        return max_order(eq.residual for eq in self.equations)

    def default_settings(self) -> Settings:
        """The defaults sized to this problem, before its train block (pdec.core.settings.sized_defaults)."""
        return sized_defaults(len(self.variables), len(self.fields), self.order)

    @property
    def constant_values(self) -> dict[str, float]:
        """Constant name -> float value."""
        return {c.name: c.value for c in self.constants}

    def term_names(self) -> tuple[str, ...]:
        """The loss-term names later stages use: ``pde:NAME``, ``ic:NAME``, ``bc:NAME``, ``data:NAME``."""
        names = [term_name(Kind.PDE, e.name) for e in self.equations]
        names += [term_name(c.kind, c.name) for c in self.conditions]
        names += [term_name(Kind.DATA, d.name) for d in self.data]
        return tuple(names)

    def __repr__(self) -> str:
        """A one-line summary; ``pdec.language.display.describe`` (``pdec check``) shows the problem in pdec syntax."""
        terms = [e.name for e in self.equations] + [c.name for c in self.conditions] + [d.name for d in self.data]
        return (
            f"Problem(variables={[v.name for v in self.variables]}, fields={[f.name for f in self.fields]}, "
            f"terms={terms})"
        )


def max_order(exprs: Iterable[sympy.Expr]) -> int:
    """The highest total order of the derivatives in ``exprs`` (0 for none; a coefficient's or unknown function's do
    not count)."""  # noqa: D205, D209
    orders = [0]
    for e in exprs:
        found = [d for d in e.atoms(sympy.Derivative) if not isinstance(d.expr, Auxiliary)]
        orders += [sum(int(n) for _, n in d.variable_count) for d in found]
    return max(orders)
