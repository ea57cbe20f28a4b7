"""Stage 3, Spec -> Problem: resolve names, check the spec makes sense, and build sympy expressions node by node.

``check(spec)`` returns the checked ``pdec.language.problem.Problem``. Expressions are built from the syntax tree
directly (never by sympify of text). Every mistake is a PdecError with the span of the offending spot; doubtful but
possibly valid specs give PdecWarnings collected in ``Problem.warnings``.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable, Mapping, Sequence

import sympy

from pdec import geometry
from pdec.core.errors import (
    PdecNameError,
    PdecSemanticError,
    PdecSettingsError,
    PdecWarning,
    did_you_mean,
    number,
    short,
)
from pdec.core.settings import Settings, sized_defaults, train_block
from pdec.core.source import Span
from pdec.language import syntax as ast
from pdec.language.coefficients import coefficient
from pdec.language.corners import with_corner_warnings
from pdec.language.declarations import (
    constant,
    declare_fields,
    declare_names,
    declare_variables,
    definition,
    name_terms,
    unknown,
)
from pdec.language.dimensions import Dimensions, column_conversions, located, mismatch
from pdec.language.display import show
from pdec.language.domains import check_point, declare_domains, domain_pieces
from pdec.language.expressions import Expressions
from pdec.language.finiteness import with_finiteness_warnings
from pdec.language.library import check_readings, sides
from pdec.language.parameters import (
    check_log_derivatives,
    check_parameters_used,
    dataset,
    declare_parameters,
    not_a_place,
)
from pdec.language.problem import (
    Auxiliary,
    Condition,
    DataSet,
    Equation,
    Face,
    Kind,
    Learned,
    Periodic,
    Piece,
    Problem,
    Tabulated,
    Units,
    UnknownFunction,
    frozen,
    is_field,
    max_order,
    term_name,
)
from pdec.language.scope import Context, Scope
from pdec.language.units import conversion, spelled

FACE_RTOL = 1e-9


def check(spec: ast.Spec) -> Problem:
    """Check a parsed spec and return its symbolic Problem; raise a PdecError for the first mistake found."""
    scope = Scope(spec, dimensions={} if spec.units else None)  # dimensions: checked when a unit is written
    try:
        return with_corner_warnings(with_finiteness_warnings(_problem(scope, Expressions(scope))))
    except RecursionError:
        raise PdecSemanticError(
            "expression nested too deeply", scope.current, "split it with `let` definitions"
        ) from None


def _problem(scope: Scope, ex: Expressions) -> Problem:
    """Check every statement in dependency order and assemble the Problem."""
    declare_names(scope)  # [statements] -> Scope.decls
    constants = [constant(scope, ex, s) for s in scope.statements(ast.ConstDecl)]
    declare_variables(scope, ex)
    declare_parameters(scope, ex)  # `param nu in [lo, hi]`: variables marked is_parameter, after the others
    declare_fields(scope)
    coefficients = [coefficient(scope, s) for s in scope.statements(ast.CoefDecl)]
    declare_domains(scope, ex)  # domain statements -> scope.domain (None: the box of the intervals)
    declared = [unknown(scope, ex, s) for s in scope.statements(ast.UnknownDecl)]  # numbers and functions
    definitions = [definition(scope, ex, s) for s in scope.statements(ast.LetDecl)]
    name_terms(scope)
    equations = [equation(scope, ex, s) for s in scope.statements(ast.EquationStmt)]
    if not equations:
        raise PdecSemanticError("the spec has no equations", scope.source.end_span(), "add e.g. `eq: u_xx = 0`")
    conditions = [condition(scope, ex, s) for s in scope.statements(ast.ConditionStmt, ast.PeriodicStmt)]
    data = tuple(_dataset(scope, s) for s in scope.statements(ast.DataStmt) if not s.is_reference)
    _only_one([s for s in scope.statements(ast.DataStmt) if s.is_reference], "reference", "keep one `reference:`")
    references = [_dataset(scope, s) for s in scope.statements(ast.DataStmt) if s.is_reference]
    check_readings(scope.libraries, bool(data))
    exact = exact_solutions(scope, ex)
    check_unknowns_used(scope, equations, conditions)
    check_parameters_used(scope, list(_residuals(equations, conditions)))
    check_log_derivatives(scope, [(eq.residual, eq.span) for eq in equations]
                          + [(r, c.span) for c in conditions for r in _residuals([], [c])])
    check_initial_conditions(scope, equations, conditions, bool(data))
    check_boundaries(scope, equations, conditions)
    check_coefficient_derivatives(scope, equations, conditions)
    problem = Problem(
        source=scope.source,
        variables=tuple(scope.variables.values()),
        fields=tuple(scope.fields.values()),
        constants=tuple(constants),
        definitions=tuple(definitions),
        unknowns=tuple(u for u in declared if not isinstance(u, UnknownFunction))
        + tuple(scope.unknowns[c.name] for lib in scope.libraries for c in lib.candidates),
        coefficients=tuple(coefficients),
        functions=tuple(u for u in declared if isinstance(u, UnknownFunction)),
        equations=tuple(equations),
        libraries=tuple(scope.libraries),
        conditions=tuple(conditions),
        data=data,
        exact=frozen(exact) if exact else None,
        reference=references[0] if references else None,
        settings=_settings(scope, equations),
        warnings=tuple(scope.warnings),
        domain=scope.domain,
        units=declared_units(scope),
    )
    return settle(problem, _setting_spans(scope))


def settle(problem: Problem, spans: Mapping[str, Span | None] | None = None) -> Problem:
    """The settings that change the problem: ``exact_conditions`` (each condition that can be exact is marked so),
    then ``windows`` (every initial value exact, checked), then ``inputs`` against the input map
    (:func:`check_inputs`). The compiler calls it again after its overrides. ``spans``: the train block's settings
    (key -> span), where the errors point."""  # noqa: D205, D209
    settled = windowed(exact_everywhere(problem))
    check_inputs(settled, (spans or {}).get("inputs"))
    return settled


def _setting_spans(scope: Scope) -> dict[str, Span | None]:
    """The spans of the train block's settings by key (empty without a train block)."""
    blocks = scope.statements(ast.TrainBlock)
    return {s.key: s.span for s in blocks[0].settings} if blocks else {}


def check_inputs(problem: Problem, span: Span | None = None) -> None:
    """``inputs = unit`` where an input map replaces the box scaling: a PdecSettingsError at the setting.

    Fourier features and exactly periodic variables enter the network through pdec.nn.embeddings' map (periodic
    variables as cos and sin, the others on [-1, 1]), so the setting would be silently ignored.
    """
    periodic = [c.variable for c in problem.conditions if isinstance(c, Periodic) and c.exact]
    found = inputs_ignored(problem.settings.inputs, problem.settings.fourier_features, periodic)
    if found is not None:
        message, hint = found
        raise PdecSettingsError(message, span, hint)


def inputs_ignored(inputs: str, features: int, periodic: Sequence[str]) -> tuple[str, str] | None:
    """``(message, hint)`` when ``inputs = unit`` or ``raw`` would be ignored (Fourier features or exactly periodic
    variables replace the box scaling with their input map, pdec.nn.embeddings), else None. networks.input_range asks
    too."""  # noqa: D205, D209
    if inputs not in ("unit", "raw") or not (features or periodic):
        return None
    reasons = [f"Fourier features (fourier_features = {features})"] if features else []
    if periodic:
        names = ", ".join(dict.fromkeys(periodic))
        reasons.append(f"an exactly periodic variable ({names}, which enters as cos and sin)")
    message = f"`inputs = {inputs}` has no effect with {' and '.join(reasons)}: the input map replaces the box scaling"
    fixes = ["remove `inputs` (the input map scales the variables itself)"]
    fixes += ["set fourier_features = 0"] if features else []
    fixes += ["impose the periodic condition as a loss term (without `exact`)"] if periodic else []
    return message, ", or ".join(fixes)


def _dataset(scope: Scope, stmt: ast.DataStmt) -> DataSet:
    """``data``/``reference``: read by the data stage (pdec.language.data.read_statement; parameters it leaves out
    are drawn over their intervals, pdec.language.parameters.dataset)."""  # noqa: D205, D209
    scope.current = stmt.span
    name = "reference" if stmt.is_reference else scope.term_names[id(stmt)]
    convert = None if scope.dimensions is None else column_conversions(scope, stmt)  # columns with their own unit
    return dataset(scope, stmt, name, convert)


def declared_units(scope: Scope) -> Units | None:
    """The Units record of a spec that writes units (None otherwise)."""
    if scope.dimensions is None:
        return None
    return Units(
        units=frozen({name: spelled(unit) for name, unit in scope.units.items()}),
        conversions=frozen({name: conversion(unit) for name, unit in scope.units.items()}),
        dimensions=frozen({name: str(dim) for name, dim in scope.dimensions.items()}),
    )


def _settings(scope: Scope, equations: list[Equation]) -> Settings:
    """The train block (pdec.core.settings.train_block) applied to the defaults sized to the problem."""
    base = sized_defaults(len(scope.variables), len(scope.fields), max_order(eq.residual for eq in equations))
    blocks = scope.statements(ast.TrainBlock)
    marked = scope.statements(ast.ConditionStmt, ast.PeriodicStmt)
    exact = [scope.term_names[id(s)] for s in marked if s.exact is not None]
    return train_block(blocks[0], base, list(scope.term_names.values()), exact) if blocks else base


# ---------------------------------------------------------------------------------------------------- terms


def equation(scope: Scope, ex: Expressions, stmt: ast.EquationStmt) -> Equation:
    """``eq name: lhs = rhs`` in the interior; a ``discover(...)`` library among its terms (pdec.language.library)."""
    scope.current = stmt.span
    lhs, rhs, library = sides(scope, ex, stmt)
    if library is not None:
        scope.libraries.append(library)
    if scope.dimensions is not None:
        Dimensions(scope, ex).sides(stmt.lhs, stmt.rhs, Context("field"), "equation")
    if not _has_field(lhs - rhs):
        scope.warn("this equation involves no field", stmt.span, "an equation constrains fields, e.g. u_xx = f")
    return Equation(scope.term_names[id(stmt)], lhs, rhs, stmt.span)


def condition(scope: Scope, ex: Expressions, stmt: ast.ConditionStmt | ast.PeriodicStmt) -> Condition | Periodic:
    """A condition or a periodic condition."""
    scope.current = stmt.span
    if isinstance(stmt, ast.PeriodicStmt):
        return periodic(scope, ex, stmt)
    if isinstance(stmt.location, ast.AtPoint):
        face, fixed = point_at(scope, ex, stmt)
        places = [(Context("condition", face=face), face, fixed, None)]
    elif on_domain(scope, stmt):
        pieces = domain_pieces(scope, ex, stmt.location)  # pieces of the domain's boundary: exact normals
        places = [(Context("condition", piece=p), None, (), p.label) for p in pieces]
    else:
        places = [(Context("condition", face=f), f, (), None) for f in condition_faces(scope, ex, stmt)]
    display = Context("condition")
    lhs, rhs = ex.expr(stmt.lhs, display), ex.expr(stmt.rhs, display)
    if scope.dimensions is not None:
        Dimensions(scope, ex).sides(stmt.lhs, stmt.rhs, places[0][0] if places else display, "condition")
    pieces = []
    for ctx, face, fixed, label in places:
        pieces.append(Piece(face, ex.expr(stmt.lhs, ctx) - ex.expr(stmt.rhs, ctx), fixed, label))
    if not _has_field(lhs - rhs):
        scope.warn("this condition involves no field", stmt.span, "a condition constrains fields, e.g. u = 0")
    if stmt.exact is not None:
        check_exact(scope, stmt, lhs, rhs, [p.face for p in pieces])
        check_exact_pieces(scope, stmt, lhs, [p.boundary for p in pieces if p.boundary is not None])
    exact = stmt.exact is not None
    return Condition(scope.term_names[id(stmt)], stmt.kind, tuple(pieces), lhs, rhs, stmt.span, exact)


def on_domain(scope: Scope, stmt: ast.ConditionStmt) -> bool:
    """Whether a condition sits on pieces of a domain's boundary (a bc on boundary, or at a spatial face)."""
    if scope.domain is None or stmt.kind != "bc":
        return False
    location = stmt.location
    if isinstance(location, ast.At):
        variable = scope.variables.get(location.variable.name)
        return variable is not None and variable.is_spatial
    return isinstance(location, ast.OnBoundary)


def check_exact(
    scope: Scope, stmt: ast.ConditionStmt, lhs: sympy.Expr, rhs: sympy.Expr, faces: list[Face | None]
) -> None:
    """An ``exact`` condition must fix a field's value (``u = g``, g free of fields and unknowns) on faces it spans."""
    mark = stmt.exact.span if stmt.exact is not None else stmt.span
    if not isinstance(lhs, sympy.core.function.AppliedUndef) or not _has_field(lhs):
        what = "a derivative" if isinstance(lhs, sympy.Derivative) else "an expression"
        raise PdecSemanticError(
            f"only a condition on a field's value can be exact; this one constrains {what}",
            mark,
            "write it as `u = g` (g free of fields), or drop `exact` to keep it as a loss term",
        )
    if _has_field(rhs) or rhs.atoms(Learned) or any(s.name in scope.unknowns for s in rhs.free_symbols):
        raise PdecSemanticError(
            "the value of an exact condition must not involve fields or unknowns",
            mark,
            "give the value as an expression of the variables and constants, or drop `exact`",
        )
    depends = {a.name for a in lhs.args}
    for face in faces:
        if face is None:  # a piece of a domain's boundary: check_exact_pieces
            continue
        if face.variable not in depends:
            raise PdecSemanticError(
                f"'{type(lhs).__name__}' does not depend on '{face.variable}': it cannot vanish only on that face",
                mark,
                f"declare the field with '{face.variable}' among its variables, or drop `exact`",
            )


def check_exact_pieces(scope: Scope, stmt: ast.ConditionStmt, lhs: sympy.Expr, labels: list[str]) -> None:
    """Pieces of a domain's boundary in an exact condition: a field of every spatial variable, a positive distance.

    Each piece's distance (a circle's or an ellipse's implicit form, or the plane of a flat piece) must be positive
    inside the domain: vanish on the piece and nowhere inside.
    """
    if not labels:
        return
    domain = scope.domain
    missing = [v for v in domain.variables if v not in {a.name for a in lhs.args}]
    if missing:
        raise PdecSemanticError(
            f"'{type(lhs).__name__}' does not depend on {', '.join(missing)}: it cannot vanish only on the boundary",
            stmt.exact.span,
            "declare the field with every spatial variable, or drop `exact`",
        )
    for label in labels:
        piece = domain.piece(label)
        if not geometry.distance_holds(domain, geometry.distance_of(domain, piece)):
            what = "plane" if piece.plane is not None or piece.what == "edge" else "implicit form"
            raise PdecSemanticError(
                f"`exact` needs a distance that vanishes only on the piece '{label}', but the {what} of that piece "
                f"passes through the domain '{domain.name}'",
                stmt.exact.span,
                "impose this piece by a loss term (drop `exact`), or write its condition separately without `exact`",
            )


def condition_faces(scope: Scope, ex: Expressions, stmt: ast.ConditionStmt) -> list[Face]:
    """The faces a condition sits on."""
    time = next((v for v in scope.variables.values() if v.is_time), None)
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
        face = face_at(scope, ex, location)
        if face.variable != time.name:
            raise PdecSemanticError(
                f"an initial condition must sit at a time face, not at {location.variable.name} = {number(face.value)}",
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
        return [face_at(scope, ex, location)]
    return boundary_faces(scope, location)


def face_at(scope: Scope, ex: Expressions, location: ast.At) -> Face:
    """``at x = value``: check value is one end of x's interval."""
    name = location.variable.name
    if name not in scope.variables:
        raise scope.not_a_variable(name, location.variable.span, "`at`")
    not_a_place(scope, name, location.variable.span, "`at`")
    ex.expr(location.value, Context("const", consts=frozenset(scope.const_values)))
    value = ex.value(location.value, f"the location {name} = ...")
    if scope.dimensions is not None:
        value = located(Dimensions(scope, ex), name, location.value, value)
    var = scope.variables[name]
    for side, end in (("lo", var.lo), ("hi", var.hi)):
        if math.isclose(value, end, rel_tol=FACE_RTOL, abs_tol=FACE_RTOL * (var.hi - var.lo)):
            return Face(name, end, side)
    where = "inside" if var.lo < value < var.hi else "outside"
    raise PdecSemanticError(
        f"{name} = {number(value)} is {where} [{number(var.lo)}, {number(var.hi)}], not on a face",
        location.value.span,
        f"a condition sits on a face of the domain: {name} = {number(var.lo)} or {name} = {number(var.hi)}",
    )


def point_at(scope: Scope, ex: Expressions, stmt: ast.ConditionStmt) -> tuple[Face, tuple[tuple[str, float], ...]]:
    """``at x = 0, y = 0``: a point (or an edge or face patch); the Face has a normal only on exactly one face."""
    location = stmt.location
    if stmt.exact is not None:
        raise PdecSemanticError(
            "a condition at a point cannot be exact", stmt.exact.span, "drop `exact` to keep it as a loss term"
        )
    values: dict[str, tuple[float, str]] = {}
    for item in location.items:
        values[item.variable.name] = _point_value(scope, ex, item, values)
    time = next((v.name for v in scope.variables.values() if v.is_time), None)
    _point_time(scope, stmt, time, values)
    if scope.domain is not None:
        check_point(scope, location, {name: value for name, (value, _) in values.items()})
    on_faces = [name for name, (_, side) in values.items() if side]
    spatial = {v.name for v in scope.variables.values() if v.is_spatial}
    if not on_faces and not spatial <= set(values):
        free = ", ".join(sorted(spatial - set(values)))
        raise PdecSemanticError(
            f"{short(location.span.text, 60)} is inside the domain but leaves {free} free: neither a point nor "
            "on a face",
            location.span,
            "fix every spatial variable for a point, or put one of them at an end of its interval",
        )
    first = on_faces[0] if on_faces else next(iter(values))
    side = values[first][1] if len(on_faces) == 1 else ""
    face = Face(first, values[first][0], side)
    return face, tuple((name, value) for name, (value, _) in values.items() if name != first)


def _point_value(scope: Scope, ex: Expressions, item: ast.At, seen: dict) -> tuple[float, str]:
    """One ``x = value`` of a point: its value and side (``lo``, ``hi``, or ``""`` inside the interval)."""
    name = item.variable.name
    if name not in scope.variables:
        raise scope.not_a_variable(name, item.variable.span, "`at`")
    not_a_place(scope, name, item.variable.span, "`at`")
    if name in seen:
        raise PdecSemanticError(f"variable '{name}' is fixed twice", item.variable.span, "name each variable once")
    ex.expr(item.value, Context("const", consts=frozenset(scope.const_values)))
    value = ex.value(item.value, f"the location {name} = ...")
    if scope.dimensions is not None:
        value = located(Dimensions(scope, ex), name, item.value, value)
    var = scope.variables[name]
    for side, end in (("lo", var.lo), ("hi", var.hi)):
        if math.isclose(value, end, rel_tol=FACE_RTOL, abs_tol=FACE_RTOL * (var.hi - var.lo)):
            return float(end), side
    if not var.lo < value < var.hi:
        raise PdecSemanticError(
            f"{name} = {number(value)} is outside [{number(var.lo)}, {number(var.hi)}]",
            item.value.span,
            f"a point of the domain has {number(var.lo)} <= {name} <= {number(var.hi)}",
        )
    return float(value), ""


def _point_time(scope: Scope, stmt: ast.ConditionStmt, time: str | None, values: dict) -> None:
    """A bc at a point leaves time free; an ic at a point fixes time at an end of its interval."""
    if stmt.kind == "ic" and time is None:
        raise PdecSemanticError(
            "an initial condition needs a time variable", stmt.span, "declare one with `time t in [0, 1]`, or write bc"
        )
    item = next((i for i in stmt.location.items if i.variable.name == time), None)
    if stmt.kind == "bc" and item is not None:
        raise PdecSemanticError(
            f"a boundary condition holds at all times: it cannot fix the time variable '{time}'",
            item.span,
            f"drop `{time} = ...` here, or write `ic` for a condition at {time} = {number(scope.variables[time].lo)}",
        )
    if stmt.kind != "ic":
        return
    if item is None:
        raise PdecSemanticError(
            f"an initial condition at a point must fix the time variable '{time}'",
            stmt.location.span,
            f"add `{time} = {number(scope.variables[time].lo)}` to the point",
        )
    if not values[time][1]:
        raise PdecSemanticError(
            f"an initial condition must sit at a time face, not at {time} = {number(values[time][0])}",
            item.value.span,
            f"use `{time} = {number(scope.variables[time].lo)}`",
        )


def boundary_faces(scope: Scope, location: ast.OnBoundary) -> list[Face]:
    """``on boundary``: both ends of each listed (default: every non-time) variable."""
    if location.variables is None:
        names = [v.name for v in scope.variables.values() if v.is_spatial]
        if not names:
            raise PdecSemanticError(
                "`on boundary` needs a variable that is not time",
                location.span,
                "this problem has only a time variable: use ic for conditions at its ends",
            )
    else:
        names = []
        for ident in location.variables:
            if ":" in ident.name:
                raise PdecSemanticError(
                    f"'{ident.name}' names a polygon's edge, and this spec has no `domain`",
                    ident.span,
                    "declare the polygon with `domain NAME = polygon(...)`, or name variables: `on boundary(x)`",
                )
            if ident.name not in scope.variables:
                raise scope.not_a_variable(ident.name, ident.span, "`on boundary(...)`")
            not_a_place(scope, ident.name, ident.span, "`on boundary(...)`")
            if scope.variables[ident.name].is_time:
                raise PdecSemanticError(
                    f"'{ident.name}' is the time variable", ident.span, "use ic for conditions at a time face"
                )
            if ident.name in names:
                raise PdecSemanticError(f"variable '{ident.name}' is listed twice", ident.span)
            names.append(ident.name)
    faces = []
    for name in names:
        var = scope.variables[name]
        faces += [Face(name, var.lo, "lo"), Face(name, var.hi, "hi")]
    return faces


def periodic(scope: Scope, ex: Expressions, stmt: ast.PeriodicStmt) -> Periodic:
    """``periodic: u, u_x in x``."""
    name = stmt.variable.name
    if name not in scope.variables:
        raise scope.not_a_variable(name, stmt.variable.span, "periodic")
    not_a_place(scope, name, stmt.variable.span, "a periodic condition")
    if scope.variables[name].is_time:
        raise PdecSemanticError(
            "a periodic condition in time is not supported", stmt.variable.span, "use a spatial variable"
        )
    if scope.domain is not None:
        raise PdecSemanticError(
            f"a periodic condition needs the box of the declared intervals, not the domain '{scope.domain.name}'",
            stmt.variable.span,
            "drop the `domain` statements, or give the matching pieces conditions that tie them together",
        )
    exprs = tuple(ex.expr(e, Context("field")) for e in stmt.exprs)
    if scope.dimensions is not None:
        for e in stmt.exprs:
            Dimensions(scope, ex).of(e, Context("field"))
    return Periodic(scope.term_names[id(stmt)], name, exprs, stmt.span, stmt.exact is not None)


def exact_solutions(scope: Scope, ex: Expressions) -> dict[str, sympy.Expr]:
    """``exact: u = expr, ...``: expressions of the field's variables and constants only."""
    exact: dict[str, sympy.Expr] = {}
    spans: dict[str, Span | None] = {}
    for stmt in scope.statements(ast.ExactStmt):
        for item in stmt.items:
            scope.current = item.span
            name = item.name.name
            if name not in scope.fields:
                fields = list(scope.fields)
                hint = did_you_mean(name, fields) or "fields: " + ", ".join(fields)
                if name in scope.decls:
                    raise PdecSemanticError(
                        f"'{name}' is a {scope.decls[name].kind}, not a field",
                        item.name.span,
                        "an exact solution is given for a field; " + hint,
                    )
                raise PdecNameError(f"exact solution for '{short(name)}', which is not a field", item.name.span, hint)
            if name in exact:
                raise PdecNameError(
                    f"exact solution for '{name}' given twice (first on line {spans[name].line})", item.name.span
                )
            expr = ex.expr(item.expr, Context("exact"))
            if scope.dimensions is not None:
                dims = Dimensions(scope, ex)
                found, wanted = dims.of(item.expr, Context("exact")), scope.dimensions[name]
                if not found.agrees(wanted):
                    raise mismatch(f"'{name}'", wanted, "its exact solution", found, item.expr.span)
            extra = sorted(
                s.name for s in expr.free_symbols if s.name in scope.variables and s.name not in scope.fields[name].args
            )
            if extra:
                raise PdecSemanticError(
                    f"the exact solution of '{name}' uses {', '.join(extra)}, but '{name}' depends on "
                    f"({', '.join(scope.fields[name].args)}) only",
                    item.expr.span,
                )
            exact[name], spans[name] = expr, item.span
    return exact


def check_unknowns_used(scope: Scope, equations: list[Equation], conditions: list[Condition | Periodic]) -> None:
    """Every unknown (and unknown function) must appear in some residual, or it could not be learned."""
    used: set[str] = set()
    for expr in _residuals(equations, conditions):
        used |= {s.name for s in expr.free_symbols} | {type(f).__name__ for f in expr.atoms(Learned)}
    for name, declared in [*scope.unknowns.items(), *scope.functions.items()]:
        if name not in used:
            what = "unknown" if name in scope.unknowns else "unknown function"
            raise PdecSemanticError(
                f"{what} '{name}' appears in no equation or condition",
                declared.span,
                "an unknown is learned from the residuals it appears in: use it in an eq, or remove it",
            )


def check_initial_conditions(
    scope: Scope, equations: list[Equation], conditions: list[Condition | Periodic], has_data: bool
) -> None:
    """A field with time-derivative order n needs n conditions at a time face (a warning when data is given)."""
    time = next((v for v in scope.variables.values() if v.is_time), None)
    if time is None:
        return
    for f in scope.fields.values():
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
            and any(
                p.face is not None and p.face.variable == time.name and not p.fixed and _has_field(p.residual, f.name)
                for p in c.pieces
            )
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
            scope.warn(message, where.span, hint + " (data terms may be enough)")
        else:
            raise PdecSemanticError(message, where.span, hint)


def check_boundaries(scope: Scope, equations: list[Equation], conditions: list[Condition | Periodic]) -> None:
    """Warn about a spatial variable the equations differentiate in, with no condition on its faces."""
    if scope.domain is not None:
        check_domain_boundary(scope, equations, conditions)
        return
    for var in scope.variables.values():
        if not var.is_spatial:
            continue
        if not any(_differentiates(eq.residual, var.name) for eq in equations):
            continue
        covered = any(
            c.variable == var.name
            if isinstance(c, Periodic)
            else any(p.face.variable == var.name and not p.fixed for p in c.pieces)
            for c in conditions
        )
        if not covered:
            scope.warn(
                f"no boundary condition on '{var.name}', though the equations differentiate in it",
                var.span,
                f"add `bc: ... at {var.name} = {number(var.lo)}`, `on boundary` or `periodic: ... in {var.name}`",
            )


def check_coefficient_derivatives(
    scope: Scope, equations: list[Equation], conditions: list[Condition | Periodic]
) -> None:
    """Warn about a derivative of a tabulated coefficient that is zero inside the cells of its interpolant."""
    for term in [*equations, *conditions]:
        exprs = _residuals([term], []) if isinstance(term, Equation) else _residuals([], [term])
        found = {d for e in exprs for d in e.atoms(sympy.Derivative) if isinstance(d.expr, Tabulated)}
        for d in sorted(found, key=sympy.default_sort_key):
            coef = scope.coefficients[type(d.expr).__name__]
            if max(int(n) for _, n in d.variable_count) > coef.highest:
                hint = (
                    "a multilinear coefficient has piecewise constant first derivatives: interpolate it with "
                    f'`coef {coef.name}(...) = cubic "..."` for second and third derivatives'
                    if coef.method == "linear"
                    else "a cubic coefficient has derivatives up to the third in each variable"
                )
                scope.warn(
                    f"{show(d)} is zero inside the cells of the {coef.method} interpolant of '{coef.name}'",
                    term.span,
                    hint,
                )
def check_domain_boundary(scope: Scope, equations: list[Equation], conditions: list[Condition | Periodic]) -> None:
    """Warn about the pieces of the domain's boundary without a condition, when the equations differentiate in space."""
    domain = scope.domain
    if not any(_differentiates(eq.residual, v) for eq in equations for v in domain.variables):
        return
    covered = {p.boundary for c in conditions if isinstance(c, Condition) for p in c.pieces}
    missing = [p.label for p in domain.pieces if p.label not in covered]
    if missing:
        stmt = scope.statements(ast.DomainStmt)[-1]
        scope.warn(
            f"no boundary condition on {', '.join(missing)} (pieces of the boundary of '{domain.name}')",
            stmt.span,
            "add `bc: ... on boundary(NAME)` for them, or `on boundary` for every piece",
        )


# ---------------------------------------------------------------------------------------------------- helpers


def _only_one(statements: list, what: str, hint: str) -> None:
    """Raise at the second of ``statements`` if there is more than one."""
    if len(statements) > 1:
        first = statements[0].span
        where = f" (the first is on line {first.line})" if first is not None else ""
        raise PdecSemanticError(f"a spec has at most one {what}{where}", statements[1].span, hint)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


def _has_field(expr: sympy.Expr, name: str | None = None) -> bool:
    """Whether ``expr`` contains a field (or the field called ``name``)."""
    return any(
        name is None or type(f).__name__ == name
        for f in expr.atoms(sympy.core.function.AppliedUndef)
        if type(f).__name__ != "dn" and is_field(f)
    )


def _max_order(expr: sympy.Expr, field: str, variable: str) -> int:
    """The highest order of derivative of ``field`` in ``variable`` in ``expr``."""
    orders = [0]
    for d in expr.atoms(sympy.Derivative):
        if type(d.expr).__name__ == field:
            orders.append(sum(int(n) for v, n in d.variable_count if v.name == variable))
    return max(orders)


def _differentiates(expr: sympy.Expr, variable: str) -> bool:
    derivatives = [d for d in expr.atoms(sympy.Derivative) if not isinstance(d.expr, Auxiliary)]
    return any(v.name == variable for d in derivatives for v, _ in d.variable_count)


def _residuals(equations: list[Equation], conditions: list[Condition | Periodic]) -> Iterable[sympy.Expr]:
    for eq in equations:
        yield eq.residual
    for c in conditions:
        if isinstance(c, Periodic):
            yield from c.exprs
        else:
            yield from (p.residual for p in c.pieces)


def exact_everywhere(problem: Problem) -> Problem:
    """With ``exact_conditions = true`` in the train block, every condition that can be imposed exactly is ``exact``.

    That is every value condition ``u = g`` on box faces the field depends on (g free of fields and unknowns; not at
    a point; pieces of a ``domain``'s boundary only where marked ``exact`` one by one), and every periodic condition
    that names every field depending on its variable (the periodic embedding applies to all of them). Conditions
    the train block addresses by name (``weight.NAME``, ``points.NAME``, a stage) stay loss terms: the user asked
    for them as such.
    """
    settings = problem.settings
    if not settings.exact_conditions:
        return problem
    addressed = set(settings.weights) | set(settings.points) | {t for s in settings.stages for t in s.terms}
    conditions = tuple(
        dataclasses.replace(c, exact=True)
        if not c.exact and not ({c.name, term_name(Kind(c.kind), c.name)} & addressed) and _exactable(problem, c)
        else c
        for c in problem.conditions
    )
    return dataclasses.replace(problem, conditions=conditions)


def windowed(problem: Problem) -> Problem:
    """With ``windows`` > 1 (time marching, pdec.train.marching), every initial condition is a value made exact.

    Window ``k`` starts from window ``k - 1``'s solution, imposed by construction; so every initial condition must
    set a field's value (``u = g``, g free of fields and unknowns). Marching needs a time variable, and no unknowns
    (an inverse problem's data span every window at once).
    """
    if problem.settings.windows <= 1:
        return problem
    if problem.time is None:
        raise PdecSemanticError(
            "`windows` splits the time interval, and this spec declares no time variable",
            problem.variables[0].span,
            "declare it with `time t in [0, T]`, or remove `windows`",
        )
    if problem.unknowns or problem.functions:
        raise PdecSemanticError(
            "`windows` (time marching) trains forward problems only; this spec has unknowns",
            (problem.unknowns or problem.functions)[0].span,
            "remove `windows` to fit the unknowns over the whole interval",
        )
    conditions = []
    for c in problem.conditions:
        if isinstance(c, Condition) and c.kind == Kind.IC and not c.exact:
            if not _exactable(problem, c):
                raise PdecSemanticError(
                    "with `windows`, each window starts from the last one's values: an initial condition must set "
                    "a field's value (u = g)",
                    c.span,
                    "write the initial condition as `ic: u = ...`, or remove `windows`",
                )
            c = dataclasses.replace(c, exact=True)
        conditions.append(c)
    warnings = problem.warnings
    message = ("causal weights inside time windows: each window's later times train only once the weights open, and "
               "what a window leaves untrained is carried into the next (errors above 30 with 300 Adam steps a window)")
    if problem.settings.causal > 0 and all(w.message != message for w in warnings):  # settled once per problem
        hint = "time windows already train in order: set causal = 0, or give every window thousands of steps"
        warnings += (PdecWarning(message, problem.time.span, hint),)
    return dataclasses.replace(problem, conditions=tuple(conditions), warnings=warnings)


def _exactable(problem: Problem, c: Condition | Periodic) -> bool:
    """Whether ``c`` can be imposed by construction (see :func:`exact_everywhere`)."""
    fields = {f.name: set(f.args) for f in problem.fields}
    if isinstance(c, Periodic):
        named = {type(f).__name__ for e in c.exprs for f in sympy.sympify(e).atoms(sympy.core.function.AppliedUndef)}
        return {name for name, args in fields.items() if c.variable in args} <= named
    lhs, rhs = c.lhs, sympy.sympify(c.rhs)
    if not isinstance(lhs, sympy.core.function.AppliedUndef) or type(lhs).__name__ not in fields:
        return False
    unknowns = {u.name for u in problem.unknowns}
    if rhs.atoms(sympy.core.function.AppliedUndef) or any(s.name in unknowns for s in rhs.free_symbols):
        return False
    args = fields[type(lhs).__name__]
    return all(
        p.face is not None and not p.fixed and p.face.side in ("lo", "hi") and p.face.variable in args for p in c.pieces
    )
