"""Domains: ``domain`` statements -> geometry trees and the problem's Domain; a condition's location -> its pieces.

``declare_domains(scope, ex)`` checks every ``domain`` statement in order (names, shapes and their dimension,
degenerate shapes, empty domains, the declared intervals holding the domain) and sets ``scope.domain`` to the last
one's :class:`pdec.geometry.Domain`. ``domain_pieces`` resolves ``on boundary``, ``on boundary(hole, x)`` and
``at x = value`` to the boundary pieces they cover; ``check_point`` keeps point conditions inside the domain.
Without a ``domain`` statement nothing here runs and the domain is the box of the declared intervals.
"""

from __future__ import annotations

import math

import numpy as np

from pdec import geometry
from pdec.core.errors import PdecNameError, PdecSemanticError, did_you_mean, number, short
from pdec.core.source import Span
from pdec.geometry import BoundaryPiece, Domain, Node, Subdomain
from pdec.language import syntax as ast
from pdec.language.expressions import Expressions
from pdec.language.problem import Variable
from pdec.language.scope import Context, Scope

DIMENSIONS = {"interval": 1, "rectangle": 2, "disk": 2, "ellipse": 2, "polygon": 2, "box": 3, "ball": 3}
BARE = {1: "interval", 2: "rectangle", 3: "box"}  # written alone: the box of the declared intervals
USAGE = {
    "interval": "interval(a, b)",
    "rectangle": "rectangle((x0, y0), (x1, y1))",
    "box": "box((x0, y0, z0), (x1, y1, z1))",
    "disk": "disk((cx, cy), r)",
    "ball": "ball((cx, cy, cz), r)",
    "ellipse": "ellipse((cx, cy), (a, b))",
    "polygon": "polygon((x1, y1), (x2, y2), (x3, y3), ...)",
}
SYNONYMS = {
    "circle": "a circle is the boundary of a disk: write disk((cx, cy), r)",
    "sphere": "a sphere is the boundary of a ball: write ball((cx, cy, cz), r)",
    "square": "write rectangle((x0, y0), (x1, y1))",
    "triangle": "write polygon((x1, y1), (x2, y2), (x3, y3))",
}
SCALE = 1e6  # shapes span at least 1/SCALE, and lie within SCALE times, the size of the declared intervals' box
BOX_RTOL = 1e-9  # how far a domain may reach past the declared intervals (relative to their lengths)


def declare_domains(scope: Scope, ex: Expressions) -> None:
    """Check the ``domain`` statements in order; the last one becomes ``scope.domain``."""
    statements = scope.statements(ast.DomainStmt)
    if not statements:
        return
    builder = Shapes(scope, ex)
    parts = []
    for stmt in statements:
        scope.current = stmt.span
        if stmt.name.name in DIMENSIONS:
            raise PdecNameError(
                f"'{stmt.name.name}' is a shape and cannot name a domain", stmt.name.span, "choose another name"
            )
        node = geometry.named(builder.region(stmt.region, stmt.name.name), stmt.name.name)
        volume, exact = geometry.volume(node)
        if not volume > 0:
            raise PdecSemanticError(
                f"the domain '{stmt.name.name}' is empty: no point lies inside it",
                stmt.region.span,
                "a subtracted shape covers what it is taken from, or the shapes do not overlap: check centres and "
                "sizes",
            )
        scope.domains[stmt.name.name] = node
        parts.append(Subdomain(stmt.name.name, ast.unparse(stmt.region), volume, exact))
    last = statements[-1]
    root = scope.domains[last.name.name]
    check_inside_box(scope, root, builder.spans, last)
    spatial = tuple(v.name for v in scope.variables.values() if v.is_spatial)
    domain = geometry.domain_of(last.name.name, root, spatial, ast.unparse(last.region), tuple(parts))
    if not domain.pieces:
        raise PdecSemanticError(f"the domain '{domain.name}' has no boundary", last.region.span)
    scope.domain = domain


class Shapes:
    """Builds geometry trees from domain expressions, naming unnamed shapes ``disk1``, ``disk2``, ... by kind."""

    def __init__(self, scope: Scope, ex: Expressions) -> None:
        self.scope, self.ex = scope, ex
        self.spatial: list[Variable] = [v for v in scope.variables.values() if v.is_spatial]
        self.counts: dict[str, int] = {}
        self.spans: dict[str, Span | None] = {}  # shape label -> where it is written

    def region(self, node: ast.Region, name: str | None = None) -> Node:
        """The tree of a domain expression; ``name`` labels it when it is a single shape."""
        if isinstance(node, ast.Combination):
            tree = self.region(node.first)
            for op, item in node.rest:
                tree = geometry.Combination(geometry.OPERATIONS[op], tree, self.region(item))
            return tree
        if isinstance(node, ast.RegionName):
            return self.name(node, name)
        return self.shape(node, name)

    def name(self, node: ast.RegionName, label: str | None) -> Node:
        """A domain declared above, or ``rectangle`` (``interval``, ``box``) alone: the box of the intervals."""
        if node.name in self.scope.domains:
            return self.scope.domains[node.name]
        if node.name in DIMENSIONS:
            self.check_dimension(node.name, node.span)
            if node.name != BARE[len(self.spatial)]:
                usage = USAGE[node.name]
                raise PdecSemanticError(f"{node.name} needs its arguments: {usage}", node.span, f"write {usage}")
            lo = tuple(v.lo for v in self.spatial)
            hi = tuple(v.hi for v in self.spatial)
            self.spans.setdefault(node.name, node.span)
            return geometry.Box(node.name, node.name, (), lo=lo, hi=hi, variables=self.variables)
        decl = self.scope.decls.get(node.name)
        if decl is not None and decl.kind == "domain":
            raise PdecSemanticError(
                f"domain '{node.name}' is used before it is declared", node.span, "declare domains before their use"
            )
        if decl is not None:
            raise PdecSemanticError(f"'{node.name}' is a {decl.kind}, not a domain", node.span)
        candidates = [*self.scope.domains, BARE[len(self.spatial)], *DIMENSIONS]
        hint = did_you_mean(node.name, candidates) or "domains: " + ", ".join(candidates[: len(self.scope.domains) + 1])
        raise PdecNameError(f"unknown domain '{short(node.name)}'", node.span, hint)

    @property
    def variables(self) -> tuple[str, ...]:
        """The spatial variables' names: the coordinates of every shape, in order."""
        return tuple(v.name for v in self.spatial)

    def check_dimension(self, kind: str, span: Span | None) -> None:
        """A shape has as many coordinates as the problem has spatial variables; time is never one of them."""
        want, have = DIMENSIONS[kind], len(self.spatial)
        if want == have:
            return
        names = ", ".join(self.variables)
        time = self.scope.time()
        message = f"{kind} is {want}-D, but the domain has {have} spatial variable{'s' if have != 1 else ''} ({names})"
        if time is not None and want == have + 1:
            raise PdecSemanticError(
                f"{message}: '{time.name}' is the time variable, which is not part of a spatial domain",
                span,
                f"a time-dependent problem is the domain times [{number(time.lo)}, {number(time.hi)}]: give shapes "
                f"of ({names}) only, e.g. {USAGE.get(BARE.get(have, ''), 'a shape')}",
            )
        shapes = ", ".join(k for k, d in DIMENSIONS.items() if d == have) or "none"
        raise PdecSemanticError(message, span, f"shapes in {have}-D: {shapes}")

    def label(self, kind: str, name: str | None, span: Span | None) -> str:
        """The shape's label: its domain name, or its kind and a number not already taken."""
        if name is None:
            count = self.counts.get(kind, 0) + 1
            while f"{kind}{count}" in self.scope.decls:
                count += 1
            self.counts[kind] = count
            name = f"{kind}{count}"
        self.spans[name] = span
        return name

    def shape(self, node: ast.Shape, name: str | None) -> Node:
        """``disk((0, 0), 1)`` and the other shapes: arguments checked, degenerate shapes refused."""
        kind = node.kind
        if kind not in DIMENSIONS:
            hint = SYNONYMS.get(kind) or did_you_mean(kind, DIMENSIONS) or _shapes_hint()
            raise PdecNameError(f"unknown shape '{short(kind)}'", node.kind_span, hint)
        self.check_dimension(kind, node.kind_span)
        label = self.label(kind, name, node.span)
        shape = _BUILDERS[kind](self, node, label)
        self.check_scale(shape, node)
        return shape

    def check_scale(self, shape: geometry.Shape, node: ast.Shape) -> None:
        """A shape is neither too small to resolve nor too far out, measured by the declared intervals' box."""
        lo, hi = shape.bounds()
        box_lo = np.array([v.lo for v in self.spatial])
        box_hi = np.array([v.hi for v in self.spatial])
        size = float(np.linalg.norm(box_hi - box_lo))
        if np.any(np.abs(np.concatenate([lo - box_lo, hi - box_hi])) > SCALE * size):
            raise PdecSemanticError(
                f"the {node.kind} lies too far outside the declared intervals (more than {SCALE:g} times their size)",
                node.span,
                "shapes are given in the coordinates of the variables: check the numbers",
            )
        if np.any(hi - lo < size / SCALE) or shape.volume() < (size / SCALE) ** len(lo):
            raise PdecSemanticError(
                f"the {node.kind} is too small to resolve (under {1 / SCALE:g} of the declared intervals' size)",
                node.span,
                "a shape needs a size comparable to the domain's: check the numbers",
            )

    def point(self, arg: ast.Expr | ast.Coordinates, size: int, what: str, usage: str) -> tuple[list, list[float]]:
        """A point argument ``(a, b)`` of ``size`` coordinates: its sympy expressions and values."""
        if not isinstance(arg, ast.Coordinates) or len(arg.items) != size:
            raise PdecSemanticError(f"{what} must be a point of {size} coordinates", arg.span, f"write {usage}")
        pairs = [self.number(item, f"a coordinate of {what}") for item in arg.items]
        return [p[0] for p in pairs], [p[1] for p in pairs]

    def number(self, arg: ast.Expr | ast.Coordinates, what: str) -> tuple:
        """A constant expression: its sympy expression and value."""
        if isinstance(arg, ast.Coordinates):
            raise PdecSemanticError(f"{what} must be a number, not a point", arg.span)
        expr = self.ex.expr(arg, Context("const", consts=frozenset(self.scope.const_values)))
        value = self.ex.value(arg, what)
        reach = SCALE * max(max(abs(v.lo), abs(v.hi), v.hi - v.lo) for v in self.spatial)
        if abs(value) > reach:
            raise PdecSemanticError(
                f"{what} is {number(value)}: too large for the declared intervals (more than {SCALE:g} times them)",
                arg.span,
                "shapes are given in the coordinates of the variables: check the number",
            )
        return expr, value

    def arity(self, node: ast.Shape, count: int | None = None) -> None:
        """Refuse a call with the wrong number of arguments (``count`` None: at least 3, for a polygon)."""
        if (count is None and len(node.args) < 3) or (count is not None and len(node.args) != count):
            usage = USAGE[node.kind]
            raise PdecSemanticError(f"wrong arguments for {node.kind}: write {usage}", node.span, f"e.g. {usage}")


def _shapes_hint() -> str:
    return "shapes: " + ", ".join(DIMENSIONS)


def _box(shapes: Shapes, node: ast.Shape, label: str) -> Node:
    """``interval(a, b)``, ``rectangle((x0, y0), (x1, y1))``, ``box(...)``: lower and upper corners."""
    shapes.arity(node, 2)
    usage = USAGE[node.kind]
    if node.kind == "interval":
        (lo_expr, lo), (hi_expr, hi) = (shapes.number(a, "an end of the interval") for a in node.args)
        exprs, lo, hi = [lo_expr, hi_expr], [lo], [hi]
    else:
        size = DIMENSIONS[node.kind]
        lo_exprs, lo = shapes.point(node.args[0], size, "the lower corner", usage)
        hi_exprs, hi = shapes.point(node.args[1], size, "the upper corner", usage)
        exprs = lo_exprs + hi_exprs
    for name, a, b in zip(shapes.variables, lo, hi, strict=True):
        if not a < b:
            raise PdecSemanticError(
                f"the {node.kind} is empty: {name} runs from {number(a)} to {number(b)}",
                node.span,
                "give the lower corner first, with every coordinate below the upper corner's",
            )
    shapes.spans[label] = node.span
    return geometry.Box(node.kind, label, tuple(exprs), lo=tuple(lo), hi=tuple(hi), variables=shapes.variables)


def _ball(shapes: Shapes, node: ast.Shape, label: str) -> Node:
    """``disk(centre, radius)``, ``ball(centre, radius)``: a positive radius."""
    shapes.arity(node, 2)
    exprs, centre = shapes.point(node.args[0], DIMENSIONS[node.kind], "the centre", USAGE[node.kind])
    radius_expr, radius = shapes.number(node.args[1], "the radius")
    if not radius > 0:
        raise PdecSemanticError(
            f"a {node.kind} needs a positive radius, not {number(radius)}", node.args[1].span, "give a radius > 0"
        )
    return geometry.Ball(node.kind, label, (*exprs, radius_expr), centre=tuple(centre), radius=radius)


def _ellipse(shapes: Shapes, node: ast.Shape, label: str) -> Node:
    """``ellipse(centre, (a, b))``: positive semi-axes along x and y."""
    shapes.arity(node, 2)
    exprs, centre = shapes.point(node.args[0], 2, "the centre", USAGE["ellipse"])
    axis_exprs, axes = shapes.point(node.args[1], 2, "the semi-axes", USAGE["ellipse"])
    if not min(axes) > 0:
        raise PdecSemanticError(
            f"an ellipse needs positive semi-axes, not ({', '.join(number(a) for a in axes)})",
            node.args[1].span,
            "give the half-widths along each axis, both > 0",
        )
    return geometry.Ellipse("ellipse", label, (*exprs, *axis_exprs), centre=tuple(centre), axes=tuple(axes))


def _polygon(shapes: Shapes, node: ast.Shape, label: str) -> Node:
    """``polygon(v1, v2, v3, ...)``: at least three distinct vertices, a simple outline, a non-zero area."""
    shapes.arity(node)
    exprs, vertices = [], []
    for k, arg in enumerate(node.args):
        point_exprs, point = shapes.point(arg, 2, f"vertex {k + 1}", USAGE["polygon"])
        if vertices and tuple(point) == vertices[-1] or (k == len(node.args) - 1 and tuple(point) == vertices[0]):
            raise PdecSemanticError(
                f"vertex {k + 1} repeats the vertex before it", arg.span, "list each corner once (it closes itself)"
            )
        exprs += point_exprs
        vertices.append(tuple(point))
    crossing = geometry.crossing_edges(vertices)
    if crossing is not None:
        i, j = crossing
        raise PdecSemanticError(
            f"the polygon's edges {i + 1} and {j + 1} cross: its outline is not simple",
            node.span,
            "list the vertices in order around the outline",
        )
    if math.isclose(geometry.signed_area(vertices), 0.0, abs_tol=1e-300):
        raise PdecSemanticError("the polygon has no area", node.span, "its vertices lie on one line")
    return geometry.Polygon("polygon", label, tuple(exprs), vertices=tuple(vertices))


_BUILDERS = {
    "interval": _box,
    "rectangle": _box,
    "box": _box,
    "disk": _ball,
    "ball": _ball,
    "ellipse": _ellipse,
    "polygon": _polygon,
}


def check_inside_box(scope: Scope, root: Node, spans: dict[str, Span | None], stmt: ast.DomainStmt) -> None:
    """The declared intervals must hold the domain (they scale the network's inputs and bound the data)."""
    lo, hi = root.bounds()
    for j, var in enumerate(v for v in scope.variables.values() if v.is_spatial):
        tol = BOX_RTOL * (var.hi - var.lo)
        for value, outside in ((lo[j], lo[j] < var.lo - tol), (hi[j], hi[j] > var.hi + tol)):
            if not outside:
                continue
            span = next(
                (spans.get(s.label) for s, sign, _ in geometry.leaves(root) if sign > 0 and _reaches(s, j, value)),
                stmt.region.span,
            )
            raise PdecSemanticError(
                f"the domain '{stmt.name.name}' reaches {var.name} = {number(value)}, outside "
                f"[{number(var.lo)}, {number(var.hi)}]",
                span,
                f"the declared intervals must hold the domain: widen the interval of {var.name}",
            )


def _reaches(shape: geometry.Shape, axis: int, value: float) -> bool:
    """Whether a shape's bounding box reaches ``value`` along ``axis``."""
    lo, hi = shape.bounds()
    return bool(np.isclose(lo[axis], value) or np.isclose(hi[axis], value))


# ---------------------------------------------------------------------------------------------------- locations


def domain_pieces(scope: Scope, ex: Expressions, location: ast.At | ast.OnBoundary) -> list[BoundaryPiece]:
    """The pieces of the domain's boundary a condition covers (``on boundary``, ``on boundary(...)``, ``at x = v``)."""
    domain = scope.domain
    if isinstance(location, ast.At):
        return _plane_pieces(scope, ex, location)
    if location.variables is None:
        return list(domain.pieces)
    found: dict[str, BoundaryPiece] = {}
    for ident in location.variables:
        for piece in _named_pieces(scope, ident):
            found.setdefault(piece.label, piece)
    return list(found.values())


def _plane_pieces(scope: Scope, ex: Expressions, location: ast.At) -> list[BoundaryPiece]:
    """``at x = v`` on a domain: the flat pieces in the plane ``x = v``."""
    domain = scope.domain
    name = location.variable.name
    ex.expr(location.value, Context("const", consts=frozenset(scope.const_values)))
    value = ex.value(location.value, f"the location {name} = ...")
    axis = domain.variables.index(name)
    var = scope.variables[name]
    tol = 1e-9 * (var.hi - var.lo)
    pieces = [p for p in domain.pieces if p.plane is not None and p.plane[0] == axis and abs(p.plane[1] - value) <= tol]
    if not pieces:
        planes = sorted({p.plane[1] for p in domain.pieces if p.plane is not None and p.plane[0] == axis})
        listing = ", ".join(f"{name} = {number(v)}" for v in planes)
        raise PdecSemanticError(
            f"no flat piece of the boundary of '{domain.name}' lies at {name} = {number(value)}",
            location.value.span,
            (f"its pieces in planes of {name}: {listing}; " if listing else "")
            + f"name a piece with `on boundary(NAME)` (pieces: {_labels(domain)})",
        )
    return pieces


def _named_pieces(scope: Scope, ident: ast.Ident) -> list[BoundaryPiece]:
    """``on boundary(NAME)``: a domain's pieces, or a spatial variable's flat pieces at both ends of its interval."""
    domain = scope.domain
    name = ident.name
    if ":" in name:
        return _edge_pieces(domain, ident)
    variable = scope.variables.get(name)
    if variable is not None:
        if variable.is_time:
            raise PdecSemanticError(
                f"'{name}' is the time variable", ident.span, "use ic for conditions at a time face"
            )
        if variable.is_parameter:
            raise PdecSemanticError(
                f"'{name}' is a parameter, not a place", ident.span, "name pieces of the domain or spatial variables"
            )
        axis = domain.variables.index(name)
        pieces = [p for p in domain.pieces if p.plane is not None and p.plane[0] == axis]
        if not pieces:
            raise PdecSemanticError(
                f"no flat piece of the boundary of '{domain.name}' lies in a plane {name} = constant",
                ident.span,
                f"name pieces of the domain instead: {_labels(domain)}",
            )
        return [p for p in pieces if math.isclose(p.plane[1], variable.lo) or math.isclose(p.plane[1], variable.hi)]
    pieces = [p for p in domain.pieces if name in p.names]
    if pieces:
        return pieces
    in_tree = {n for shape, _, names in geometry.leaves(domain.root) for n in (*names, shape.label)}
    if name in in_tree:
        raise PdecSemanticError(
            f"no part of the boundary of '{name}' lies on the boundary of the domain '{domain.name}'",
            ident.span,
            f"other parts of the domain cover it; the boundary's pieces: {_labels(domain)}",
        )
    if name in scope.domains:
        raise PdecSemanticError(
            f"'{name}' is not part of the domain '{domain.name}'",
            ident.span,
            f"conditions sit on the boundary of the problem's domain (the last `domain` statement): {_labels(domain)}",
        )
    if name in scope.decls:
        raise PdecSemanticError(f"'{name}' is a {scope.decls[name].kind}, not a domain or a variable", ident.span)
    candidates = sorted(in_tree | set(domain.variables))
    hint = did_you_mean(name, candidates) or f"the boundary's pieces: {_labels(domain)}"
    raise PdecNameError(f"unknown piece '{short(name)}': not a domain, a shape or a variable", ident.span, hint)


def _edge_pieces(domain: Domain, ident: ast.Ident) -> list[BoundaryPiece]:
    """``on boundary(hull:3)``: the piece of a polygon's edge ``k`` (numbered from 1) on the domain's boundary."""
    name, _, index = ident.name.partition(":")
    shapes = {shape.label: shape for shape, _, _ in geometry.leaves(domain.root)}
    polygons = [label for label, shape in shapes.items() if isinstance(shape, geometry.Polygon)]
    shape = shapes.get(name)
    if not isinstance(shape, geometry.Polygon):
        named = f"polygons of the domain: {', '.join(polygons)}" if polygons else "the domain has no polygon"
        if shape is not None:
            how = "name its plane: `at x = v`" if isinstance(shape, geometry.Box) else f"name it whole: `{name}`"
            message = f"'{name}' is a {shape.kind}: only a polygon's edges are numbered"
            raise PdecSemanticError(message, ident.span, f"{how} ({named})")
        in_tree = {n for _, _, names in geometry.leaves(domain.root) for n in names}
        if name in in_tree:
            raise PdecSemanticError(
                f"'{name}' is not a polygon: only a polygon's edges are numbered",
                ident.span,
                f"name it whole: `{name}` ({named})",
            )
        hint = did_you_mean(name, polygons) or named
        raise PdecNameError(f"unknown polygon '{short(name)}' in '{short(ident.name)}'", ident.span, hint)
    count = len(shape.vertices)
    on_boundary = [p for p in domain.pieces if p.shape.label == name]
    edges = ", ".join(dict.fromkeys(f"{name}:{p.segment + 1}" for p in on_boundary)) or "none"
    if not index.isdigit() or not 1 <= int(index) <= count:
        span = Span(ident.span.source, ident.span.end - len(index), ident.span.end) if ident.span else None
        raise PdecSemanticError(
            f"the polygon '{name}' has {count} edges, numbered 1 to {count}: there is no edge {short(index)}",
            span,
            f"its edges on the boundary: {edges}",
        )
    pieces = [p for p in on_boundary if p.segment == int(index) - 1]
    if not pieces:
        raise PdecSemanticError(
            f"no part of edge {int(index)} of '{name}' lies on the boundary of the domain '{domain.name}'",
            ident.span,
            f"other parts of the domain cover it; its edges on the boundary: {edges}",
        )
    return pieces


def _labels(domain: Domain) -> str:
    """The domain's piece labels, for hints."""
    return ", ".join(p.label for p in domain.pieces)


def check_point(scope: Scope, location: ast.AtPoint, values: dict[str, float]) -> None:
    """A point condition on a domain fixes every spatial variable, at a point of the closed domain."""
    domain = scope.domain
    free = [v for v in domain.variables if v not in values]
    if free:
        raise PdecSemanticError(
            f"on the domain '{domain.name}' a point condition must fix every spatial variable ({', '.join(free)} free)",
            location.span,
            "give a point, or a condition on pieces of the boundary: `on boundary(NAME)`",
        )
    point = np.array([[values[v] for v in domain.variables]])
    eye = np.eye(len(domain.variables))
    offsets = np.vstack([np.zeros(len(domain.variables)), eye, -eye])
    if not domain.contains(point + domain.eps * offsets).any():
        where = ", ".join(f"{v} = {number(values[v])}" for v in domain.variables)
        raise PdecSemanticError(
            f"the point ({where}) is outside the domain '{domain.name}'",
            location.span,
            "a point condition sits inside the domain or on its boundary",
        )
