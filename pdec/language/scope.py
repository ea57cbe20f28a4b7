"""The Scope: what the checker knows about a spec's names, filled in declaration order and read by every check.

A :class:`Scope` is the explicit state of checking one spec: the declared names and their kinds, the constants'
values, the variables, fields, definitions and unknowns found so far, the term names, the warnings, and the span
being checked (for errors raised from deep inside, such as a RecursionError). A :class:`Context` says what an
expression may use where it stands.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import sympy

from pdec.core.errors import PdecError, PdecNameError, PdecSemanticError, PdecWarning, did_you_mean, short
from pdec.core.source import Source, Span
from pdec.geometry import BoundaryPiece, Domain, Node
from pdec.language import syntax as ast
from pdec.language.problem import Coefficient, Face, Field, Library, Unknown, UnknownFunction, Variable
from pdec.language.units import Dimension


@dataclass(frozen=True)
class Context:
    """What an expression may use: ``kind`` is const, field, condition, exact or truth (an unknown function's true
    value); ``face`` or ``piece`` resolves dn()."""  # noqa: D205, D209

    kind: str
    face: Face | None = None
    consts: frozenset[str] | None = None  # for kind const: the constants defined so far
    piece: BoundaryPiece | None = None  # a piece of the domain's boundary (its exact normal)


@dataclass
class Decl:
    """A declared name: its kind (variable, field, constant, unknown, unknown function, definition, coefficient)."""

    kind: str
    span: Span | None


@dataclass
class Scope:
    """The names of one spec as checking proceeds (see the module docstring)."""

    spec: ast.Spec
    current: Span | None = None
    warnings: list[PdecWarning] = field(default_factory=list)
    decls: dict[str, Decl] = field(default_factory=dict)
    const_values: dict[str, float] = field(default_factory=dict)
    variables: dict[str, Variable] = field(default_factory=dict)
    fields: dict[str, Field] = field(default_factory=dict)
    lets: dict[str, sympy.Expr] = field(default_factory=dict)
    unknowns: dict[str, Unknown] = field(default_factory=dict)
    coefficients: dict[str, Coefficient] = field(default_factory=dict)
    functions: dict[str, UnknownFunction] = field(default_factory=dict)  # the unknown functions
    libraries: list[Library] = field(default_factory=list)  # equation discovery: one per `discover(...)` call
    term_names: dict[int, str] = field(default_factory=dict)  # id(statement) -> its bare name
    domains: dict[str, Node] = field(default_factory=dict)  # the named domains, in order
    domain: Domain | None = None  # the problem's domain (the last `domain` statement); None: the box
    dimensions: dict[str, Dimension] | None = None  # name -> physical dimension; None: the spec writes no unit
    units: dict[str, Any] = field(default_factory=dict)  # variable or field -> its pint unit (when declared)

    @property
    def source(self) -> Source:
        """The spec's source."""
        return self.spec.source

    def statements(self, *types: type) -> list:
        """The statements of the given types, in order."""
        return [s for s in self.spec.statements if isinstance(s, types)]

    def warn(self, message: str, span: Span | None, hint: str | None = None) -> None:
        """Collect a warning."""
        self.warnings.append(PdecWarning(message, span, hint))

    def unknown_name(self, name: str, span: Span | None, extra: Iterable[str] = ()) -> PdecNameError:
        """Return the error for an undeclared name, with a did-you-mean hint."""
        functions = [*self.fields.values(), *self.coefficients.values(), *self.functions.values()]
        shorthand = [f"{f.name}_{v * n}" for f in functions for v in f.args for n in (1, 2)]
        candidates = list(self.decls) + shorthand + list(extra)
        hint = did_you_mean(name, candidates)
        if hint is None:
            declared = ", ".join(sorted(self.decls)[:12])
            hint = f"declared names: {declared}" if declared else "declare it first (var, field, const, unknown, let)"
        return PdecNameError(f"unknown name '{short(name)}'", span, hint)

    def not_a_variable(self, name: str, span: Span | None, user: str) -> PdecError:
        """The error for a non-variable where a variable is needed."""
        listing = f"{user} needs one of the variables: {', '.join(self.variables)}"
        if name in self.decls:
            return PdecSemanticError(f"'{name}' is a {self.decls[name].kind}, not a variable", span, listing)
        return PdecNameError(f"unknown variable '{short(name)}'", span, did_you_mean(name, self.variables) or listing)

    def listed_variables(self, args: list, span: Span | None, user: str, bare: str) -> tuple[str, ...]:
        """The variables ``args`` (name nodes) that ``user`` lists: declared, distinct, in declaration order.

        ``bare`` is how to write it with every variable instead (``field u``), for the hint of an empty list.
        """
        if not args:
            raise PdecSemanticError(
                f"{user} has no variables",
                span,
                f"write `{bare}` for a {user.split()[0]} of every variable, or list some",
            )
        seen: set[str] = set()
        for arg in args:
            if arg.name not in self.variables:
                raise self.not_a_variable(arg.name, arg.span, user)
            if arg.name in seen:
                raise PdecSemanticError(f"variable '{arg.name}' is listed twice", arg.span)
            seen.add(arg.name)
        return tuple(v for v in self.variables if v in seen)

    def time(self) -> Variable | None:
        """The time variable, if declared."""
        return next((v for v in self.variables.values() if v.is_time), None)
