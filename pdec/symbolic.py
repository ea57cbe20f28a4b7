"""Stage 3, Spec -> Problem: resolve names, check the spec makes sense, and build sympy expressions node by node.

``check(spec)`` returns the checked ``pdec.problem.Problem``. Expressions are built from the syntax tree directly
(never by sympify of text). Every mistake is a PdecError with the span of the offending spot; doubtful but possibly
valid specs give PdecWarnings collected in ``Problem.warnings``.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import sympy

from pdec import syntax as ast
from pdec.errors import (
    PdecError,
    PdecNameError,
    PdecSemanticError,
    PdecSettingsError,
    PdecWarning,
    did_you_mean,
    number,
    short,
)
from pdec.finiteness import with_finiteness_warnings
from pdec.parse import KEYWORDS
from pdec.problem import (
    Condition,
    Constant,
    DataSet,
    Definition,
    Equation,
    Face,
    Field,
    Periodic,
    Piece,
    Problem,
    Unknown,
    Variable,
    frozen,
    max_order,
    symbol,
)
from pdec.settings import Settings, Stage, apply, sized_defaults
from pdec.source import Span
from pdec.vocabulary import BUILTIN_CONSTANTS, FUNCTIONS, OPERATORS, RESERVED

MAX_VARIABLES = 4
MAX_ORDER = 20  # highest derivative order in one variable
MAX_TOTAL_ORDER = 8  # highest total order of a field derivative: each order multiplies autograd's work by ~3.5
MAX_SIZE = 5_000  # nodes of an expression tree, repeats counted (the examples need under 100)
FACE_RTOL = 1e-9


def check(spec: ast.Spec) -> Problem:
    """Check a parsed spec and return its symbolic Problem; raise a PdecError for the first mistake found."""
    checker = _Checker(spec)
    try:
        return with_finiteness_warnings(checker.run())
    except RecursionError:
        raise PdecSemanticError(
            "expression nested too deeply", checker.current, "split it with `let` definitions"
        ) from None


@dataclass(frozen=True)
class _Context:
    """What an expression may use: ``kind`` is const, field, condition or exact; ``face`` resolves dn()."""

    kind: str
    face: Face | None = None
    consts: frozenset[str] | None = None  # for kind const: the constants defined so far


@dataclass
class _Decl:
    kind: str  # variable, field, constant, unknown, definition
    span: Span | None


class _Checker:
    """Walks the statements in dependency order, building the Problem's records."""

    def __init__(self, spec: ast.Spec) -> None:
        self.spec = spec
        self.source = spec.source
        self.current: Span | None = None
        self.warnings: list[PdecWarning] = []
        self.decls: dict[str, _Decl] = {}
        self.const_values: dict[str, float] = {}
        self.variables: dict[str, Variable] = {}
        self.fields: dict[str, Field] = {}
        self.lets: dict[str, sympy.Expr] = {}
        self.unknowns: dict[str, Unknown] = {}
        self.term_names: dict[int, str] = {}

    def statements(self, *types: type) -> list:
        """The statements of the given types, in order."""
        return [s for s in self.spec.statements if isinstance(s, types)]

    def warn(self, message: str, span: Span | None, hint: str | None = None) -> None:
        """Collect a warning."""
        self.warnings.append(PdecWarning(message, span, hint))

    # ------------------------------------------------------------------------------------------------ driver

    def run(self) -> Problem:
        """Check every statement and assemble the Problem."""
        self.declare_names()
        constants = [self.constant(s) for s in self.statements(ast.ConstDecl)]
        self.declare_variables()
        self.declare_fields()
        unknowns = [self.unknown(s) for s in self.statements(ast.UnknownDecl)]
        definitions = [self.definition(s) for s in self.statements(ast.LetDecl)]
        self.name_terms()
        equations = [self.equation(s) for s in self.statements(ast.EquationStmt)]
        if not equations:
            raise PdecSemanticError("the spec has no equations", self.source.end_span(), "add e.g. `eq: u_xx = 0`")
        conditions = [self.term(s) for s in self.statements(ast.ConditionStmt, ast.PeriodicStmt)]
        data = tuple(self.dataset(s) for s in self.statements(ast.DataStmt) if not s.is_reference)
        _only_one([s for s in self.statements(ast.DataStmt) if s.is_reference], "reference", "keep one `reference:`")
        references = [self.dataset(s) for s in self.statements(ast.DataStmt) if s.is_reference]
        exact = self.exact_solutions()
        self.check_unknowns_used(equations, conditions)
        self.check_initial_conditions(equations, conditions, bool(data))
        self.check_boundaries(equations, conditions)
        settings = self.settings(equations)
        return Problem(
            source=self.source,
            variables=tuple(self.variables.values()),
            fields=tuple(self.fields.values()),
            constants=tuple(constants),
            definitions=tuple(definitions),
            unknowns=tuple(unknowns),
            equations=tuple(equations),
            conditions=tuple(conditions),
            data=data,
            exact=frozen(exact) if exact else None,
            reference=references[0] if references else None,
            settings=settings,
            warnings=tuple(self.warnings),
        )

    # ------------------------------------------------------------------------------------------------ names

    def declare_names(self) -> None:
        """Register every declared name; reject reserved and duplicate names."""
        kinds = {
            ast.VarDecl: "variable",
            ast.FieldDecl: "field",
            ast.ConstDecl: "constant",
            ast.UnknownDecl: "unknown",
            ast.LetDecl: "definition",
        }
        for stmt in self.statements(*kinds):
            self.current = stmt.span
            ident = stmt.name
            _check_new_name(ident, "name")
            if ident.name in self.decls:
                first = self.decls[ident.name]
                raise PdecNameError(
                    f"'{ident.name}' is already declared as a {first.kind} (line {first.span.line})",
                    ident.span,
                    "each variable, field, constant, unknown and definition needs its own name",
                )
            self.decls[ident.name] = _Decl(kinds[type(stmt)], stmt.span)

    def name_terms(self) -> None:
        """Give every equation, condition and data set its bare name: written, or eq1, ic1, bc1, periodic1, data1."""
        kinds = (ast.EquationStmt, ast.ConditionStmt, ast.PeriodicStmt, ast.DataStmt)
        terms = [s for s in self.statements(*kinds) if not (isinstance(s, ast.DataStmt) and s.is_reference)]
        taken: dict[str, ast.Ident] = {}
        for stmt in terms:
            if stmt.name is not None:
                _check_new_name(stmt.name, "term name")
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
                self.term_names[id(stmt)] = stmt.name.name
                continue
            count = counters[prefix]
            while f"{prefix}{count}" in taken:
                count += 1
            name = f"{prefix}{count}"
            taken[name] = ast.Ident(name, stmt.span)
            self.term_names[id(stmt)] = name

    def unknown_name(self, name: str, span: Span | None, extra: Iterable[str] = ()) -> PdecNameError:
        """Return the error for an undeclared name, with a did-you-mean hint."""
        shorthand = [f"{f.name}_{v * n}" for f in self.fields.values() for v in f.args for n in (1, 2)]
        candidates = list(self.decls) + shorthand + list(extra)
        hint = did_you_mean(name, candidates)
        if hint is None:
            declared = ", ".join(sorted(self.decls)[:12])
            hint = f"declared names: {declared}" if declared else "declare it first (var, field, const, unknown, let)"
        return PdecNameError(f"unknown name '{short(name)}'", span, hint)

    # ------------------------------------------------------------------------------------------------ declarations

    def constant(self, stmt: ast.ConstDecl) -> Constant:
        """``const nu = expr``: an expression of numbers, pi, e and earlier constants."""
        self.current = stmt.span
        ctx = _Context("const", consts=frozenset(self.const_values))
        expr = self.expr(stmt.expr, ctx)
        value = self.value(stmt.expr, f"constant '{stmt.name.name}'")
        self.const_values[stmt.name.name] = value
        return Constant(stmt.name.name, value, expr, stmt.span)

    def declare_variables(self) -> None:
        """``var``/``time`` declarations: at most one time, 1 to 4 variables, finite intervals with lo < hi."""
        decls = self.statements(ast.VarDecl)
        if not decls:
            raise PdecSemanticError(
                "the spec declares no variables", _first_span(self.spec), "declare one, e.g. `var x in [0, 1]`"
            )
        time_decl = None
        for decl in decls:
            self.current = decl.span
            if len(self.variables) == MAX_VARIABLES:
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
            lo, hi = self.interval(decl.lo, decl.hi, f"'{decl.name.name}'", decl.span)
            self.variables[decl.name.name] = Variable(decl.name.name, lo, hi, decl.is_time, decl.span)

    def interval(self, lo_node: ast.Expr, hi_node: ast.Expr, what: str, span: Span | None) -> tuple[float, float]:
        """Evaluate ``[lo, hi]`` (constant expressions) and check lo < hi."""
        ctx = _Context("const", consts=frozenset(self.const_values))
        self.expr(lo_node, ctx)
        self.expr(hi_node, ctx)
        lo = self.value(lo_node, f"the lower end of {what}")
        hi = self.value(hi_node, f"the upper end of {what}")
        if not lo < hi:
            raise PdecSemanticError(
                f"empty interval [{number(lo)}, {number(hi)}] for {what}",
                (lo_node.span or span) | (hi_node.span or span),
                "write [lo, hi] with lo < hi",
            )
        return lo, hi

    def declare_fields(self) -> None:
        """``field u(x, t)``: arguments are distinct declared variables; bare ``field u`` takes them all."""
        order = list(self.variables)
        for decl in self.statements(ast.FieldDecl):
            self.current = decl.span
            if decl.args is None:
                args = tuple(order)
            else:
                if not decl.args:
                    raise PdecSemanticError(
                        f"field '{decl.name.name}' has no variables",
                        decl.span,
                        f"write `field {decl.name.name}` for a field of every variable, or list some",
                    )
                seen: set[str] = set()
                for arg in decl.args:
                    if arg.name not in self.variables:
                        raise self.not_a_variable(arg.name, arg.span, f"field '{decl.name.name}'")
                    if arg.name in seen:
                        raise PdecSemanticError(f"variable '{arg.name}' is listed twice", arg.span)
                    seen.add(arg.name)
                args = tuple(v for v in order if v in seen)
            self.fields[decl.name.name] = Field(decl.name.name, args, decl.span)

    def not_a_variable(self, name: str, span: Span | None, user: str) -> PdecError:
        """The error for a non-variable where a variable is needed."""
        listing = f"{user} needs one of the variables: {', '.join(self.variables)}"
        if name in self.decls:
            return PdecSemanticError(f"'{name}' is a {self.decls[name].kind}, not a variable", span, listing)
        return PdecNameError(f"unknown variable '{short(name)}'", span, did_you_mean(name, self.variables) or listing)

    def unknown(self, stmt: ast.UnknownDecl) -> Unknown:
        """``unknown k = init [positive] [in [lo, hi]] [true V] [lr V]``."""
        self.current = stmt.span
        name = stmt.name.name
        ctx = _Context("const", consts=frozenset(self.const_values))
        self.expr(stmt.init, ctx)
        values: dict[str, object] = {"init": self.value(stmt.init, f"the initial guess of '{name}'")}
        seen: set[str] = set()
        for modifier in stmt.modifiers:
            if modifier.kind in seen:
                raise PdecSemanticError(f"'{modifier.kind}' is given twice for unknown '{name}'", modifier.span)
            seen.add(modifier.kind)
            if modifier.kind == "positive":
                values["positive"] = True
            elif modifier.kind == "in":
                values["lower"], values["upper"] = self.interval(*modifier.args, f"unknown '{name}'", modifier.span)
            else:
                self.expr(modifier.args[0], ctx)
                key = "true" if modifier.kind == "true" else "lr"
                values[key] = self.value(modifier.args[0], f"the {modifier.kind} value of '{name}'")
        unknown = Unknown(name, span=stmt.span, **values)
        _check_unknown(unknown, stmt, self.warn)
        self.unknowns[name] = unknown
        return unknown

    def definition(self, stmt: ast.LetDecl) -> Definition:
        """``let w = expr``: substituted wherever ``w`` is used after it."""
        self.current = stmt.span
        expr = self.expr(stmt.expr, _Context("field"))
        self.lets[stmt.name.name] = expr
        return Definition(stmt.name.name, expr, stmt.span)

    # ------------------------------------------------------------------------------------------------ terms

    def equation(self, stmt: ast.EquationStmt) -> Equation:
        """``eq name: lhs = rhs`` in the interior."""
        self.current = stmt.span
        ctx = _Context("field")
        lhs, rhs = self.expr(stmt.lhs, ctx), self.expr(stmt.rhs, ctx)
        if not _has_field(lhs - rhs):
            self.warn("this equation involves no field", stmt.span, "an equation constrains fields, e.g. u_xx = f")
        return Equation(self.term_names[id(stmt)], lhs, rhs, stmt.span)

    def term(self, stmt: ast.ConditionStmt | ast.PeriodicStmt) -> Condition | Periodic:
        """A condition or a periodic condition."""
        self.current = stmt.span
        if isinstance(stmt, ast.PeriodicStmt):
            return self.periodic(stmt)
        faces = self.faces(stmt)
        display = _Context("condition")
        lhs, rhs = self.expr(stmt.lhs, display), self.expr(stmt.rhs, display)
        pieces = []
        for face in faces:
            ctx = _Context("condition", face=face)
            pieces.append(Piece(face, self.expr(stmt.lhs, ctx) - self.expr(stmt.rhs, ctx)))
        if not _has_field(lhs - rhs):
            self.warn("this condition involves no field", stmt.span, "a condition constrains fields, e.g. u = 0")
        return Condition(self.term_names[id(stmt)], stmt.kind, tuple(pieces), lhs, rhs, stmt.span)

    def faces(self, stmt: ast.ConditionStmt) -> list[Face]:
        """The faces a condition sits on."""
        time = next((v for v in self.variables.values() if v.is_time), None)
        location = stmt.location
        if stmt.kind == "ic":
            if time is None:
                raise PdecSemanticError(
                    "an initial condition needs a time variable",
                    stmt.span,
                    "declare one with `time t in [0, 1]`, or write a bc at a face",
                )
            if location is None:
                return [Face(time.name, time.lo, "lo")]
            if isinstance(location, ast.OnBoundary):
                raise PdecSemanticError(
                    "an initial condition cannot be `on boundary`",
                    location.span,
                    f"write `bc` for boundary conditions; an ic sits at {time.name} = {number(time.lo)}",
                )
            face = self.face(location)
            if face.variable != time.name:
                raise PdecSemanticError(
                    f"an initial condition must sit at a time face, not at {location.variable.name} = "
                    f"{number(face.value)}",
                    location.span,
                    f"use `at {time.name} = {number(time.lo)}`, or write `bc` for a boundary condition",
                )
            return [face]
        if location is None:
            raise PdecSemanticError(
                "a boundary condition needs a location",
                stmt.span,
                "add `at x = <end>`, `on boundary` or `on boundary(x)`",
            )
        if isinstance(location, ast.At):
            return [self.face(location)]
        return self.boundary_faces(location)

    def face(self, location: ast.At) -> Face:
        """``at x = value``: check value is one end of x's interval."""
        name = location.variable.name
        if name not in self.variables:
            raise self.not_a_variable(name, location.variable.span, "`at`")
        self.expr(location.value, _Context("const", consts=frozenset(self.const_values)))
        value = self.value(location.value, f"the location {name} = ...")
        var = self.variables[name]
        for side, end in (("lo", var.lo), ("hi", var.hi)):
            if math.isclose(value, end, rel_tol=FACE_RTOL, abs_tol=FACE_RTOL * (var.hi - var.lo)):
                return Face(name, end, side)
        where = "inside" if var.lo < value < var.hi else "outside"
        raise PdecSemanticError(
            f"{name} = {number(value)} is {where} [{number(var.lo)}, {number(var.hi)}], not on a face",
            location.value.span,
            f"a condition sits on a face of the domain: {name} = {number(var.lo)} or {name} = {number(var.hi)}",
        )

    def boundary_faces(self, location: ast.OnBoundary) -> list[Face]:
        """``on boundary``: both ends of each listed (default: every non-time) variable."""
        if location.variables is None:
            names = [v.name for v in self.variables.values() if not v.is_time]
            if not names:
                raise PdecSemanticError(
                    "`on boundary` needs a variable that is not time",
                    location.span,
                    "this problem has only a time variable: use ic for conditions at its ends",
                )
        else:
            names = []
            for ident in location.variables:
                if ident.name not in self.variables:
                    raise self.not_a_variable(ident.name, ident.span, "`on boundary(...)`")
                if self.variables[ident.name].is_time:
                    raise PdecSemanticError(
                        f"'{ident.name}' is the time variable", ident.span, "use ic for conditions at a time face"
                    )
                if ident.name in names:
                    raise PdecSemanticError(f"variable '{ident.name}' is listed twice", ident.span)
                names.append(ident.name)
        faces = []
        for name in names:
            var = self.variables[name]
            faces += [Face(name, var.lo, "lo"), Face(name, var.hi, "hi")]
        return faces

    def periodic(self, stmt: ast.PeriodicStmt) -> Periodic:
        """``periodic: u, u_x in x``."""
        name = stmt.variable.name
        if name not in self.variables:
            raise self.not_a_variable(name, stmt.variable.span, "periodic")
        if self.variables[name].is_time:
            raise PdecSemanticError(
                "a periodic condition in time is not supported", stmt.variable.span, "use a spatial variable"
            )
        exprs = tuple(self.expr(e, _Context("field")) for e in stmt.exprs)
        return Periodic(self.term_names[id(stmt)], name, exprs, stmt.span)

    def dataset(self, stmt: ast.DataStmt) -> DataSet:
        """``data``/``reference``: read through pdec.data.load_dataset."""
        from pdec.data import load_dataset

        self.current = stmt.span
        options: dict[str, ast.DataOption] = {}
        for option in stmt.options:
            if option.key in options:
                raise PdecSemanticError(f"option '{option.key}' is given twice", option.span)
            options[option.key] = option
        values = {key: _option_value(option) for key, option in options.items()}
        name = "reference" if stmt.is_reference else self.term_names[id(stmt)]
        mapping = [(m.target.name, m.column, m.span) for m in stmt.mappings]
        return load_dataset(
            name,
            stmt.path,
            mapping,
            variables=tuple(self.variables.values()),
            fields=tuple(self.fields.values()),
            sample=values.get("sample"),
            seed=values.get("seed"),
            noise=values.get("noise", 0.0),
            base_dir=self.source.directory,
            span=stmt.span,
            path_span=stmt.path_span,
        )

    def exact_solutions(self) -> dict[str, sympy.Expr]:
        """``exact: u = expr, ...``: expressions of the field's variables and constants only."""
        exact: dict[str, sympy.Expr] = {}
        spans: dict[str, Span | None] = {}
        for stmt in self.statements(ast.ExactStmt):
            for item in stmt.items:
                self.current = item.span
                name = item.name.name
                if name not in self.fields:
                    fields = list(self.fields)
                    hint = did_you_mean(name, fields) or "fields: " + ", ".join(fields)
                    if name in self.decls:
                        raise PdecSemanticError(
                            f"'{name}' is a {self.decls[name].kind}, not a field",
                            item.name.span,
                            "an exact solution is given for a field; " + hint,
                        )
                    raise PdecNameError(
                        f"exact solution for '{short(name)}', which is not a field", item.name.span, hint
                    )
                if name in exact:
                    raise PdecNameError(
                        f"exact solution for '{name}' given twice (first on line {spans[name].line})", item.name.span
                    )
                expr = self.expr(item.expr, _Context("exact"))
                extra = sorted(
                    s.name
                    for s in expr.free_symbols
                    if s.name in self.variables and s.name not in self.fields[name].args
                )
                if extra:
                    raise PdecSemanticError(
                        f"the exact solution of '{name}' uses {', '.join(extra)}, but '{name}' depends on "
                        f"({', '.join(self.fields[name].args)}) only",
                        item.expr.span,
                    )
                exact[name], spans[name] = expr, item.span
        return exact

    # ------------------------------------------------------------------------------------------------ whole-spec checks

    def check_unknowns_used(self, equations: list[Equation], conditions: list[Condition | Periodic]) -> None:
        """Every unknown must appear in some residual, or it could not be learned."""
        used: set[str] = set()
        for expr in _residuals(equations, conditions):
            used |= {s.name for s in expr.free_symbols}
        for name, unknown in self.unknowns.items():
            if name not in used:
                raise PdecSemanticError(
                    f"unknown '{name}' appears in no equation or condition",
                    unknown.span,
                    "an unknown is learned from the residuals it appears in: use it in an eq, or remove it",
                )

    def check_initial_conditions(
        self, equations: list[Equation], conditions: list[Condition | Periodic], has_data: bool
    ) -> None:
        """A field with time-derivative order n needs n conditions at a time face (a warning when data is given)."""
        time = next((v for v in self.variables.values() if v.is_time), None)
        if time is None:
            return
        for f in self.fields.values():
            order, where = 0, None
            for eq in equations:
                n = _max_order(eq.residual, f.name, time.name)
                if n > order:
                    order, where = n, eq
            if not order:
                continue
            count = sum(
                1
                for c in conditions
                if isinstance(c, Condition)
                and any(p.face.variable == time.name and _has_field(p.residual, f.name) for p in c.pieces)
            )
            if count >= order:
                continue
            message = (
                f"'{f.name}' has a time derivative of order {order} (in eq '{where.name}') but "
                f"{_count(count, 'initial condition')}"
            )
            examples = [f.name] + [f"{f.name}_{time.name * k}" for k in range(1, order)]
            hint = f"add {order - count} more, e.g. `ic: {examples[min(count, order - 1)]} = ...`"
            if has_data:
                self.warn(message, where.span, hint + " (data terms may be enough)")
            else:
                raise PdecSemanticError(message, where.span, hint)

    def check_boundaries(self, equations: list[Equation], conditions: list[Condition | Periodic]) -> None:
        """Warn about a spatial variable the equations differentiate in, with no condition on its faces."""
        for var in self.variables.values():
            if var.is_time:
                continue
            if not any(_differentiates(eq.residual, var.name) for eq in equations):
                continue
            covered = any(
                c.variable == var.name
                if isinstance(c, Periodic)
                else any(p.face.variable == var.name for p in c.pieces)
                for c in conditions
            )
            if not covered:
                self.warn(
                    f"no boundary condition on '{var.name}', though the equations differentiate in it",
                    var.span,
                    f"add `bc: ... at {var.name} = {number(var.lo)}`, `on boundary` or `periodic: ... in {var.name}`",
                )

    def settings(self, equations: list[Equation]) -> Settings:
        """The train block applied to the defaults sized to the problem; stage and per-term names checked."""
        base = sized_defaults(len(self.variables), len(self.fields), max_order(eq.residual for eq in equations))
        blocks = self.statements(ast.TrainBlock)
        if not blocks:
            return base
        block = blocks[0]
        settings = apply(base, [(s.key, s.value, s.span) for s in block.settings])
        terms = list(self.term_names.values())
        for s in block.settings:
            head, dot, tail = s.key.partition(".")
            if dot and tail not in terms:
                hint = did_you_mean(tail, terms) or "terms: " + ", ".join(terms)
                raise PdecSettingsError(f"'{s.key}' names no equation, condition or data set", s.span, hint)
        stages = []
        for item in block.stages:
            for ident in item.terms:
                if ident.name not in terms:
                    hint = did_you_mean(ident.name, terms) or "terms: " + ", ".join(terms)
                    raise PdecSettingsError(f"stage names an unknown term '{short(ident.name)}'", ident.span, hint)
            steps = item.steps.text
            if not steps.isdigit() or int(steps) < 1:
                raise PdecSettingsError(
                    f"stage length must be a positive whole number of steps, got {steps}", item.steps.span
                )
            stages.append(Stage(tuple(i.name for i in item.terms), int(steps), item.span))
        return dataclasses.replace(settings, stages=tuple(stages)) if stages else settings

    # ------------------------------------------------------------------------------------------------ expressions

    def expr(self, node: ast.Expr, ctx: _Context) -> sympy.Expr:
        """Build the sympy expression of ``node``; check every name and call against ``ctx``."""
        handler = getattr(self, "expr_" + type(node).__name__.lower())
        result = handler(node, ctx)
        _check_size(result, node.span)
        if result.has(sympy.zoo, sympy.nan, sympy.oo, -sympy.oo):
            raise PdecSemanticError("expression is undefined (a division by zero or log(0))", node.span)
        return result

    def expr_number(self, node: ast.Number, ctx: _Context) -> sympy.Expr:
        """A number literal: exact (Integer/Rational) when short, a Float otherwise."""
        return _number(node)

    def expr_neg(self, node: ast.Neg, ctx: _Context) -> sympy.Expr:
        """Unary minus or plus."""
        operand = self.expr(node.operand, ctx)
        return -operand if node.sign == "-" else operand

    def expr_sum(self, node: ast.Sum, ctx: _Context) -> sympy.Expr:
        """A flat sum."""
        terms = [self.expr(node.first, ctx)]
        terms += [self.expr(t, ctx) if op == "+" else -self.expr(t, ctx) for op, t in node.rest]
        return sympy.Add(*terms)

    def expr_product(self, node: ast.Product, ctx: _Context) -> sympy.Expr:
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

    def expr_power(self, node: ast.Power, ctx: _Context) -> sympy.Expr:
        """``base ^ exponent``; number ^ number is evaluated with care for huge results."""
        base, exponent = self.expr(node.base, ctx), self.expr(node.exponent, ctx)
        if base.is_Number and exponent.is_Number:
            return _number_power(base, exponent, node.span)
        return sympy.Pow(base, exponent)

    def expr_name(self, node: ast.Name, ctx: _Context) -> sympy.Expr:
        """A bare name."""
        name = node.name
        if name in BUILTIN_CONSTANTS:
            return BUILTIN_CONSTANTS[name][0]
        decl = self.decls.get(name)
        if decl is None:
            if name in FUNCTIONS or name in OPERATORS:
                raise PdecSemanticError(f"'{name}' is a function; call it as {name}(...)", node.span)
            return self.shorthand(node, ctx)
        self.check_allowed(name, decl.kind, node.span, ctx)
        if decl.kind == "field":
            return self.fields[name].applied
        if decl.kind == "definition":
            return self.lets[name]
        return symbol(name)

    def check_allowed(self, name: str, kind: str, span: Span | None, ctx: _Context) -> None:
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
        if kind == "definition" and name not in self.lets:
            raise PdecSemanticError(
                f"definition '{name}' is used before it is defined", span, "move the `let` above its first use"
            )
        if ctx.kind == "exact" and kind not in ("variable", "constant"):
            raise PdecSemanticError(
                f"an exact solution cannot use the {kind} '{name}'",
                span,
                "write it with variables, constants, pi and e",
            )

    def shorthand(self, node: ast.Name, ctx: _Context) -> sympy.Expr:
        """``u_xxt``: a field (or definition) name, then variable names it depends on, split uniquely."""
        name = node.name
        for cut in [i for i, ch in enumerate(name) if ch == "_"][::-1]:
            base, suffix = name[:cut], name[cut + 1 :]
            kind = self.decls.get(base, _Decl("", None)).kind
            if kind not in ("field", "definition") or not suffix:
                continue
            if ctx.kind in ("const", "exact"):
                raise PdecSemanticError(f"'{name}' is a derivative; {_where(ctx)} cannot use derivatives", node.span)
            self.check_allowed(base, kind, node.span, ctx)
            expr = self.fields[base].applied if kind == "field" else self.lets[base]
            own = _depends_on(expr, self.variables)
            splits = _split_names(suffix, own)
            if len(splits) == 1:
                if max(splits[0].count(v) for v in splits[0]) > MAX_ORDER:
                    raise PdecSemanticError(
                        f"derivative order too high (at most {MAX_ORDER} in one variable)", node.span
                    )
                return self.diff(expr, splits[0], node.span)
            if len(splits) > 1:
                options = " or ".join("d(" + base + ", " + ", ".join(s) + ")" for s in splits[:2])
                raise PdecNameError(f"'{name}' is ambiguous", node.span, f"write {options}")
            others = _split_names(suffix, list(self.variables))
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
        raise self.unknown_name(name, node.span, FUNCTIONS)

    def expr_call(self, node: ast.Call, ctx: _Context) -> sympy.Expr:
        """A call: a function, d(), lap(), dn() or a field applied to its variables."""
        func = node.func
        if func in FUNCTIONS:
            if len(node.args) != 1:
                raise PdecSemanticError(f"{func}() takes one argument, got {len(node.args)}", node.span)
            return FUNCTIONS[func].build(self.expr(node.args[0], ctx))
        if func in OPERATORS:
            if ctx.kind in ("const", "exact"):
                raise PdecSemanticError(f"{_where(ctx)} cannot use derivatives", node.func_span)
            return getattr(self, "call_" + func)(node, ctx)
        decl = self.decls.get(func)
        if decl is not None and decl.kind == "field":
            return self.field_application(node, ctx)
        if decl is not None:
            raise PdecSemanticError(f"'{func}' is a {decl.kind}, not a function", node.func_span)
        raise self.unknown_name(func, node.func_span, list(FUNCTIONS) + list(OPERATORS))

    def field_application(self, node: ast.Call, ctx: _Context) -> sympy.Expr:
        """``u(x, t)``: a field applied to exactly its own variables (any order)."""
        self.check_allowed(node.func, "field", node.func_span, ctx)  # before the lookup: constants precede fields
        field = self.fields[node.func]
        names = [a.name if isinstance(a, ast.Name) else None for a in node.args]
        if sorted(n for n in names if n is not None) != sorted(field.args) or None in names:
            written = f"{field.name}({', '.join(field.args)})"
            hint = f"'{field.name}' is a function of ({', '.join(field.args)}): write {field.name} or {written}"
            if None in names:
                hint += "; to fix a variable, put the condition on a face: `bc: ... at x = 0`"
            raise PdecSemanticError(f"field '{field.name}' is applied to the wrong arguments", node.span, hint)
        return field.applied

    def call_d(self, node: ast.Call, ctx: _Context) -> sympy.Expr:
        """``d(expr, x, 2, t)``: partial derivatives, each variable optionally followed by its order."""
        if len(node.args) < 2:
            raise PdecSemanticError(
                "d() needs an expression and a variable", node.span, "write d(u, x), d(u, x, 2) or d(u, x, t)"
            )
        expr = self.expr(node.args[0], ctx)
        steps: list[list] = []
        for arg in node.args[1:]:
            if isinstance(arg, ast.Name) and arg.name in self.variables:
                steps.append([arg.name, 1, arg])
            elif isinstance(arg, ast.Name):
                raise self.not_a_variable(arg.name, arg.span, "d()")
            elif not steps:
                raise PdecSemanticError("d() needs a variable before an order", arg.span, "write d(u, x, 2)")
            else:
                steps[-1][1] = _order(arg)
        own = _depends_on(expr, self.variables)
        for var, order, arg in steps:
            if var not in own:
                raise PdecSemanticError(
                    f"'{short(node.args[0].span.text)}' does not depend on '{var}'",
                    arg.span,
                    f"it is a function of ({', '.join(own)})" if own else "it is constant",
                )
            expr = self.diff(expr, (var,) * order, arg.span)
        return expr

    def call_lap(self, node: ast.Call, ctx: _Context) -> sympy.Expr:
        """``lap(expr)``: the sum of second derivatives over the non-time variables the expression depends on."""
        if len(node.args) != 1:
            raise PdecSemanticError(f"lap() takes one argument, got {len(node.args)}", node.span)
        expr = self.expr(node.args[0], ctx)
        names = [v for v in _depends_on(expr, self.variables) if not self.variables[v].is_time]
        if not names:
            raise PdecSemanticError("lap() of an expression that depends on no spatial variable", node.span)
        return sympy.Add(*(self.diff(expr, (v, v), node.span) for v in names))

    def call_dn(self, node: ast.Call, ctx: _Context) -> sympy.Expr:
        """``dn(expr)``: the outward normal derivative on the condition's face (conditions only)."""
        if ctx.kind != "condition":
            raise PdecSemanticError(
                "dn() is only allowed in conditions (ic, bc)", node.func_span, "use d(u, x) for a partial derivative"
            )
        if len(node.args) != 1:
            raise PdecSemanticError(f"dn() takes one argument, got {len(node.args)}", node.span)
        expr = self.expr(node.args[0], ctx)
        if ctx.face is None:
            return sympy.Function("dn", real=True)(expr)
        var = ctx.face.variable
        if var not in _depends_on(expr, self.variables):
            raise PdecSemanticError(
                f"'{short(node.args[0].span.text)}' does not depend on '{var}', the variable "
                f"normal to the face {var} = {number(ctx.face.value)}",
                node.span,
            )
        sign = -1 if ctx.face.side == "lo" else 1
        return sign * self.diff(expr, (var,), node.span)

    def diff(self, expr: sympy.Expr, variables: Iterable[str], span: Span | None) -> sympy.Expr:
        """Differentiate once per entry of ``variables``, one order at a time, within the order and size budgets."""
        for var in variables:
            expr = sympy.diff(expr, symbol(var))
            _check_size(expr, span)
            top = max((sum(int(n) for _, n in d.variable_count) for d in expr.atoms(sympy.Derivative)), default=0)
            if top > MAX_TOTAL_ORDER:
                raise PdecSemanticError(
                    f"derivative order too high: a derivative of total order {top} (at most {MAX_TOTAL_ORDER})",
                    span,
                    "each order multiplies the work of a training step by about 3.5",
                )
        return expr

    # ------------------------------------------------------------------------------------------------ numbers

    def value(self, node: ast.Expr, what: str) -> float:
        """Evaluate a constant expression (already checked by ``expr``) to a finite float."""
        try:
            result = _evaluate(node, self.const_values)
        except (OverflowError, ValueError, ZeroDivisionError, TypeError) as error:
            reason = {OverflowError: "is too large", ZeroDivisionError: "divides by zero"}.get(
                type(error), "is not a real number"
            )
            raise PdecSemanticError(f"{what} {reason}", node.span) from None
        if not math.isfinite(result):
            raise PdecSemanticError(f"{what} is not a finite number", node.span)
        return result


# ---------------------------------------------------------------------------------------------------- helpers


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


def _check_size(expr: sympy.Basic, span: Span | None) -> None:
    """Raise PdecSemanticError when ``expr`` is larger than MAX_SIZE nodes (a let chain, a high derivative)."""
    if tree_size(expr) > MAX_SIZE:
        raise PdecSemanticError(
            f"expression too large: more than {MAX_SIZE} nodes once definitions and derivatives are expanded",
            span,
            "lower the derivative order, or write fewer nested definitions",
        )


def _check_new_name(ident: ast.Ident, what: str) -> None:
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


def _check_unknown(unknown: Unknown, stmt: ast.UnknownDecl, warn: Callable) -> None:
    """Check an unknown's initial guess against its constraints."""
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
    if true is not None and (
        (unknown.positive and true <= 0) or (unknown.lower is not None and not unknown.lower <= true <= unknown.upper)
    ):
        warn(f"the true value of '{unknown.name}' violates its constraints", stmt.span)


def _only_one(statements: list, what: str, hint: str) -> None:
    """Raise at the second of ``statements`` if there is more than one."""
    if len(statements) > 1:
        first = statements[0].span
        where = f" (the first is on line {first.line})" if first is not None else ""
        raise PdecSemanticError(f"a spec has at most one {what}{where}", statements[1].span, hint)


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


def _where(ctx: _Context) -> str:
    return "a constant expression" if ctx.kind == "const" else "an exact solution"


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


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


def _option_value(option: ast.DataOption) -> int | float:
    """The value of ``sample N``, ``seed S`` (whole numbers) or ``noise REL``."""
    text = option.value.text
    if option.key in ("sample", "seed"):
        if not text.isdigit():
            raise PdecSemanticError(f"'{option.key}' needs a whole number, got {text}", option.value.span)
        return int(text)
    value = float(text)
    if not math.isfinite(value):
        raise PdecSemanticError(f"noise {short(text)} is too large", option.value.span)
    return value


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


def _depends_on(expr: sympy.Expr, variables: dict[str, Variable]) -> list[str]:
    """The variables an expression depends on, in declaration order."""
    names = {s.name for s in expr.free_symbols}
    return [v for v in variables if v in names]


def _has_field(expr: sympy.Expr, name: str | None = None) -> bool:
    """Whether ``expr`` contains a field (or the field called ``name``)."""
    return any(
        name is None or type(f).__name__ == name
        for f in expr.atoms(sympy.core.function.AppliedUndef)
        if type(f).__name__ != "dn"
    )


def _max_order(expr: sympy.Expr, field: str, variable: str) -> int:
    """The highest order of derivative of ``field`` in ``variable`` in ``expr``."""
    orders = [0]
    for d in expr.atoms(sympy.Derivative):
        if type(d.expr).__name__ == field:
            orders.append(sum(int(n) for v, n in d.variable_count if v.name == variable))
    return max(orders)


def _differentiates(expr: sympy.Expr, variable: str) -> bool:
    return any(v.name == variable for d in expr.atoms(sympy.Derivative) for v, _ in d.variable_count)


def _residuals(equations: list[Equation], conditions: list[Condition | Periodic]) -> Iterable[sympy.Expr]:
    for eq in equations:
        yield eq.residual
    for c in conditions:
        if isinstance(c, Periodic):
            yield from c.exprs
        else:
            yield from (p.residual for p in c.pieces)


def _evaluate(node: ast.Expr, consts: dict[str, float]) -> float:
    """Evaluate a checked constant expression with Python floats."""
    if isinstance(node, ast.Number):
        return float(node.text)
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
