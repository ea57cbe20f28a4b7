"""Tabulated coefficients: a ``coef`` statement -> a Coefficient (its table read, on a grid, checked on the domain).

``coef a(x, y) = "a.csv" x = x, y = y, a = a`` reads the mapped columns with pdec.language.data (every format it reads).
Rows that form a full rectilinear grid (each combination of the distinct coordinates once, in any order; gridded
arrays too) are put on that grid. Other rows are scattered points: they are resampled once, here, on a regular grid
over their bounding box (about twice their density along each axis) by linear interpolation on their Delaunay
triangulation (``scipy.interpolate.griddata``), with the nearest row's value outside their convex hull. The grid
must cover the interval of every argument: a coefficient is interpolated inside the domain, never extrapolated.
The compiler interpolates the grid (pdec.compiler.interpolation).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np

from pdec.core.errors import PdecDataError, PdecSemanticError, did_you_mean, number
from pdec.core.source import Span
from pdec.language import syntax as ast
from pdec.language.data import BOUNDS_RTOL, read_columns
from pdec.language.dimensions import column_conversions, declared
from pdec.language.problem import Coefficient, Variable
from pdec.language.scope import Scope

METHODS = ("linear", "cubic")
NODE_RTOL = 1e-9  # coordinates closer than this, relative to their range, are one grid node
REFINE = 2.0  # nodes per axis of a resampling grid, relative to the scattered rows' density
MAX_NODES = 1_000_000  # nodes of a resampling grid at most


def coefficient(scope: Scope, stmt: ast.CoefDecl) -> Coefficient:
    """``coef a(x) = "path" x = x, a = a``: the table read, put on a grid, and checked to cover the arguments."""
    scope.current = stmt.span
    name = stmt.name.name
    args = _arguments(scope, stmt)
    method = _method(stmt)
    spans = _mapping(name, stmt, args)
    mapping = [(m.target.name, m.column, m.span) for m in stmt.mappings]
    path, points, values = read_columns(
        stmt.path, mapping, args, base_dir=scope.source.directory, span=stmt.span, path_span=stmt.path_span
    )
    if scope.dimensions is not None:  # a spec with units: the values' column gives the coefficient its unit
        points = _in_units(scope, stmt, args, points)
    axes, grid, scattered = on_grid(name, points, values[:, 0], args, spans, stmt.span)
    check_coverage(name, axes, args, spans)
    names = tuple(v.name for v in args)
    coef = Coefficient(name, names, method, str(path), len(points), scattered, axes, grid, stmt.span)
    scope.coefficients[name] = coef
    return coef


def _in_units(scope: Scope, stmt: ast.CoefDecl, args: Sequence[Variable], points: np.ndarray) -> np.ndarray:
    """In a spec with units: the coefficient's unit is its values' column's (``k = k [W/(m*K)]``; dimensionless when
    none is written), and coordinate columns written in another unit (``x = x [mm]``) are converted to their variable's.

    The table keeps its values in that unit (the scaling stage converts them to SI, pdec.language.scaling).
    """  # noqa: D205, D209
    name = stmt.name.name
    declared(scope, name, next(m for m in stmt.mappings if m.target.name == name).unit)
    convert = column_conversions(scope, stmt)
    columns = [convert[v.name](points[:, k]) if v.name in convert else points[:, k] for k, v in enumerate(args)]
    return np.column_stack(columns).reshape(points.shape)


def _arguments(scope: Scope, stmt: ast.CoefDecl) -> list[Variable]:
    """The coefficient's variables, in declaration order: the listed ones (distinct), or every one for ``coef a``."""
    name = stmt.name.name
    if stmt.args is None:
        return list(scope.variables.values())
    listed = scope.listed_variables(stmt.args, stmt.span, f"coefficient '{name}'", f"coef {name} = ...")
    return [scope.variables[v] for v in listed]


def _method(stmt: ast.CoefDecl) -> str:
    """The interpolation written before the path: ``linear`` (the default) or ``cubic``."""
    if stmt.method is None:
        return "linear"
    if stmt.method.name not in METHODS:
        hint = did_you_mean(stmt.method.name, METHODS) or "write `linear` (the default) or `cubic` before the path"
        raise PdecSemanticError(f"unknown interpolation '{stmt.method.name}'", stmt.method.span, hint)
    return stmt.method.name


def _mapping(name: str, stmt: ast.CoefDecl, args: Sequence[Variable]) -> dict[str, Span | None]:
    """Check that the mapping names each argument and the coefficient once, and nothing else; their spans."""
    targets = [v.name for v in args] + [name]
    spans: dict[str, Span | None] = {}
    for item in stmt.mappings:
        target = item.target.name
        if target in spans:
            raise PdecDataError(f"'{target}' is mapped twice", item.span, "map each name once")
        if target not in targets:
            hint = did_you_mean(target, targets) or (
                f"map the coefficient's variables ({', '.join(targets[:-1])}) and its values (`{name} = <column>`)"
            )
            message = f"'{target}' is neither a variable of coefficient '{name}' nor '{name}' itself"
            raise PdecDataError(message, item.span, hint)
        spans[target] = item.span
    for target in targets:
        if target not in spans:
            what = f"its variable '{target}'" if target != name else "its values"
            raise PdecDataError(
                f"coefficient '{name}' does not map {what}", stmt.span, f"add `{target} = <column>` to the mapping"
            )
    return spans


def on_grid(
    name: str,
    points: np.ndarray,
    values: np.ndarray,
    args: Sequence[Variable],
    spans: Mapping[str, Span | None],
    span: Span | None,
) -> tuple[tuple[np.ndarray, ...], np.ndarray, bool]:
    """The grid of a table: its axes, its values on them (``indexing="ij"``), and whether the rows were scattered."""
    nodes = [_nodes(points[:, k]) for k in range(len(args))]
    for k, v in enumerate(args):
        if len(nodes[k]) < 2:
            raise PdecDataError(
                f"the table of '{name}' has a single value of {v.name} ({nodes[k][0]:g}) in its {len(points)} row(s)",
                spans[v.name],
                f"a coefficient needs at least two values of each argument: tabulate it over the interval of {v.name}",
            )
    shape = tuple(len(n) for n in nodes)
    flat = np.ravel_multi_index([_node_index(nodes[k], points[:, k]) for k in range(len(args))], shape)
    if math.prod(shape) == len(points) and len(np.unique(flat)) == len(points):
        grid = np.empty(len(points))
        grid[flat] = values
        return tuple(nodes), grid.reshape(shape), False
    if len(args) == 1:
        counts = np.bincount(flat)
        twice = nodes[0][int(np.argmax(counts))]
        raise PdecDataError(
            f"the table of '{name}' gives {args[0].name} = {twice:g} {int(counts.max())} times",
            spans[args[0].name],
            f"a coefficient of one variable needs each value of {args[0].name} once",
        )
    return _resample(name, points, values, span)


def _nodes(column: np.ndarray) -> np.ndarray:
    """The distinct values of a coordinate column, increasing; values closer than NODE_RTOL of the range merge."""
    unique = np.unique(column)
    tol = NODE_RTOL * (unique[-1] - unique[0])
    keep = np.concatenate([[True], np.diff(unique) > tol])
    return unique[keep]


def _node_index(nodes: np.ndarray, column: np.ndarray) -> np.ndarray:
    """The grid node of each coordinate (the last node at or below it, within the merging tolerance)."""
    tol = NODE_RTOL * (nodes[-1] - nodes[0])
    return np.clip(np.searchsorted(nodes, column + tol, side="right") - 1, 0, len(nodes) - 1)


def _resample(
    name: str, points: np.ndarray, values: np.ndarray, span: Span | None
) -> tuple[tuple[np.ndarray, ...], np.ndarray, bool]:
    """Scattered rows -> a regular grid over their bounding box (linear on their triangulation, nearest outside)."""
    import scipy.interpolate  # here: importing it takes longer than checking a spec without scattered tables
    import scipy.spatial

    dims = points.shape[1]
    per_axis = max(2, math.ceil(REFINE * len(points) ** (1 / dims)))
    per_axis = min(per_axis, int(MAX_NODES ** (1 / dims)))
    axes = tuple(np.linspace(points[:, k].min(), points[:, k].max(), per_axis) for k in range(dims))
    mesh = np.stack([m.ravel() for m in np.meshgrid(*axes, indexing="ij")], axis=1)
    hint = (
        f"scattered rows need at least {dims + 1} points that are not all on one "
        f"{'line' if dims == 2 else 'plane'}; or give the table on a full grid"
    )
    if len(points) <= dims:
        raise PdecDataError(f"the table of '{name}' has too few scattered rows ({len(points)})", span, hint)
    try:
        grid = scipy.interpolate.griddata(points, values, mesh, method="linear")
    except (scipy.spatial.QhullError, ValueError) as error:
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise PdecDataError(
            f"cannot triangulate the {len(points)} scattered rows of '{name}' ({reason})", span, hint
        ) from None
    outside = np.isnan(grid)
    if outside.any():
        grid[outside] = scipy.interpolate.griddata(points, values, mesh[outside], method="nearest")
    return axes, grid.reshape((per_axis,) * dims), True


def check_coverage(
    name: str, axes: Sequence[np.ndarray], args: Sequence[Variable], spans: Mapping[str, Span | None]
) -> None:
    """Refuse a table that does not cover the interval of each argument (within a relative tolerance)."""
    for axis, v in zip(axes, args, strict=True):
        tol = BOUNDS_RTOL * (v.hi - v.lo)
        if axis[0] > v.lo + tol or axis[-1] < v.hi - tol:
            raise PdecDataError(
                f"the table of '{name}' covers {v.name} in [{axis[0]:g}, {axis[-1]:g}], not all of "
                f"[{number(v.lo)}, {number(v.hi)}]",
                spans[v.name],
                f"a coefficient is interpolated, never extrapolated: tabulate it over the whole interval of {v.name}, "
                f"or narrow the interval",
            )
