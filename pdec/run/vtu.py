"""The solution for ParaView: points, a mesh of the domain and the point data, written as VTU (VTK's unstructured grid).

``write_solution(path, result, points, compiled)`` writes every field at ``points`` (``Result.predict``), each
equation's residual there (``residual:pde:NAME``, when the compiled problem is given) and, where a reference exists,
``reference:FIELD`` and ``error:FIELD`` (prediction minus reference). The cells mesh the points
(:func:`cells`): a line through them in one variable, triangles in two (space and time count alike: ``x, t`` is a
plane), tetrahedra in three, lone vertices beyond; simplices whose centroid lies outside the domain (its holes, the
notch of an L) are dropped. :func:`boundary_points` adds points on the domain's boundary and on the box's faces, so
the mesh reaches the edges.

meshio (the ``pdec[vtu]`` extra) writes the file; without it :func:`write_vtu` returns None and the caller says so.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from pdec.core.errors import PdecRunError
from pdec.geometry import Domain, sobol

VTU = "solution.vtu"
MISSING = "meshio is not installed: pip install 'pdec[vtu]' (or meshio)"
CELL_TYPES = {1: "line", 2: "triangle", 3: "tetra"}  # by the number of variables; beyond three: "vertex"
CHUNK = 4096  # points per residual evaluation (the last chunk is padded to it: one shape for torch.compile)


# ------------------------------------------------------------------------------------------------------------ mesh


def boundary_points(
    points: np.ndarray, variables: Sequence[str], bounds: Mapping[str, tuple[float, float]], domain: Domain | None
) -> np.ndarray:
    """Points on the boundary of the region ``points`` fill (the domain times the box of the other variables).

    As dense as the interior: with ``N`` points in ``d`` variables the spacing is ``h = (V / N) ** (1 / d)`` in
    coordinates scaled to the unit box (``V`` the region's scaled volume). Each piece of the domain's boundary gets
    ``A / h ** (d - 1)`` Sobol points (``A`` its scaled measure; the other variables Sobol too); then each face, edge
    and corner of the other variables' box takes a share of those points and of the interior's, moved onto it
    (a set of ``n`` points gives ``n * h ** k`` to a face that fixes ``k`` more variables). Empty beyond three
    variables (no mesh there) or without points.
    """
    d = len(variables)
    if not 1 <= d <= 3 or len(points) == 0:
        return np.zeros((0, d))
    lo, hi = _box(variables, bounds)
    own = tuple(domain.variables) if domain is not None else ()
    rest = [i for i, v in enumerate(variables) if v not in own]
    scale = math.prod(hi[i] - lo[i] for i, v in enumerate(variables) if v in own) or 1.0
    h = ((domain.volume / scale if domain is not None else 1.0) / len(points)) ** (1.0 / d)
    pieces = _on_pieces(domain, variables, lo, hi, rest, h) if domain is not None else []
    out, rng = list(pieces), np.random.default_rng(0)
    for base in (points, *pieces):
        for k in range(1, len(rest) + 1):
            count = min(len(base), max(1, round(len(base) * h**k)))
            for fixed in itertools.combinations(rest, k):
                for ends in itertools.product((lo, hi), repeat=k):
                    block = base[rng.choice(len(base), count, replace=False)]  # a copy: fancy indexing
                    for i, end in zip(fixed, ends, strict=True):
                        block[:, i] = end[i]
                    out.append(block)
    return np.concatenate(out) if out else np.zeros((0, d))


def _on_pieces(
    domain: Domain, variables: Sequence[str], lo: np.ndarray, hi: np.ndarray, rest: list[int], h: float
) -> list[np.ndarray]:
    """Points on each piece of the domain's boundary (the parts that are the boundary), the other variables Sobol."""
    columns = [list(variables).index(v) for v in domain.variables]
    scale = math.prod(hi[c] - lo[c] for c in columns) ** (1.0 / len(columns))
    d, found = len(variables), []
    for k, piece in enumerate(domain.pieces):
        size = piece.measure / scale**piece.dim if piece.dim else 1.0
        count = max(1, min(10**5, round(size / h ** (d - 1) / piece.fraction)))
        spatial = piece.points(sobol(count, piece.dim, seed=k + 1))
        spatial = spatial[domain.on_boundary(piece, spatial)]
        if piece.dim == 1:  # an edge's ends, the corners, where the edge is the boundary just before them
            ends, near = piece.points(np.array([[0.0], [1.0]])), piece.points(np.array([[1e-6], [1 - 1e-6]]))
            spatial = np.concatenate([spatial, ends[domain.on_boundary(piece, near)]])
        block = np.empty((len(spatial), d))
        block[:, columns] = spatial
        if rest:
            block[:, rest] = lo[rest] + sobol(len(spatial), len(rest), seed=k + 1) * (hi[rest] - lo[rest])
        if len(block):
            found.append(block)
    return found


def cells(
    points: np.ndarray, variables: Sequence[str], bounds: Mapping[str, tuple[float, float]], domain: Domain | None
) -> tuple[str, np.ndarray]:
    """The mesh of ``points``: ``(cell type, [C, k] point indices)`` in meshio's names.

    One variable: the segments between neighbours; two or three: the Delaunay simplices of the points scaled to the
    unit box. A simplex whose centroid lies outside ``domain`` (its spatial columns) is dropped, as is one of no
    size. Beyond three variables, or when the points span no simplex: one vertex cell per point.
    """
    d = points.shape[1]
    vertices = ("vertex", np.arange(len(points)).reshape(-1, 1))
    if d not in CELL_TYPES or len(points) <= d:
        return vertices
    lo, hi = _box(variables, bounds)
    unit = (points - lo) / np.where(hi > lo, hi - lo, 1.0)
    if d == 1:
        order = np.argsort(unit[:, 0], kind="stable")
        simplices = np.stack([order[:-1], order[1:]], axis=1)
    else:
        from scipy.spatial import Delaunay, QhullError

        try:
            simplices = Delaunay(unit).simplices
        except (QhullError, ValueError):  # every point on a line or plane
            return vertices
    keep = _sizes(unit[simplices]) > 1e-12
    if domain is not None:
        columns = [list(variables).index(v) for v in domain.variables]
        keep &= domain.contains(points[simplices].mean(axis=1)[:, columns])
    return (CELL_TYPES[d], simplices[keep]) if keep.any() else vertices


def _sizes(corners: np.ndarray) -> np.ndarray:
    """The length, area or volume of simplices ``[C, d + 1, d]`` (up to the constant ``1 / d!``)."""
    edges = corners[:, 1:] - corners[:, :1]  # [C, d, d]
    return np.abs(np.linalg.det(edges))


def _box(variables: Sequence[str], bounds: Mapping[str, tuple[float, float]]) -> tuple[np.ndarray, np.ndarray]:
    """The box's lower and upper corners in ``variables`` order."""
    return (np.array([float(bounds[v][0]) for v in variables]), np.array([float(bounds[v][1]) for v in variables]))


# ------------------------------------------------------------------------------------------------------ point data


def residuals_at(compiled: Any, net: Any, points: np.ndarray, theta: Mapping[str, Any]) -> dict[str, np.ndarray]:
    """Each equation's residual at ``points``: ``{"residual:pde:NAME": [N] (or [N, k])}`` (``compiled.evaluate``).

    The equations live on the interior point set; the points go there in chunks of ``CHUNK`` rows.
    """
    import torch

    interior = {p for name, t in compiled.terms.items() if name.startswith("pde:") for p in t.point_sets}
    if len(interior) != 1 or len(points) == 0:
        return {}
    where = interior.pop()
    param = next(net.parameters())
    found: dict[str, list[np.ndarray]] = {}
    for start in range(0, len(points), CHUNK):
        rows = points[start : start + CHUNK]
        padded = np.concatenate([rows, np.repeat(rows[-1:], CHUNK - len(rows), axis=0)]) if start else rows
        x = torch.as_tensor(padded, dtype=param.dtype, device=param.device)
        with torch.enable_grad():
            out = compiled.evaluate(net, {where: x}, None, dict(theta))
        for name, r in out.items():
            if name.startswith("pde:"):
                found.setdefault(name, []).append(r.detach().cpu().double().numpy()[: len(rows)])
    return {f"residual:{name}": _column(np.concatenate(parts)) for name, parts in found.items()}


def exact_at(compiled: Any, points: np.ndarray) -> tuple[tuple[str, ...], np.ndarray] | None:
    """The ``exact:`` solution at ``points``: (its fields, ``[N, k]`` values), or None without one."""
    import torch

    if not getattr(compiled, "exact_fields", ()) or len(points) == 0:
        return None
    with torch.no_grad():
        values = compiled.exact(torch.as_tensor(points, dtype=torch.float64))
    if values is None:
        return None
    values = values.detach().cpu().double().numpy()
    known = [j for j in range(values.shape[1]) if np.isfinite(values[:, j]).any()]
    return (tuple(compiled.fields[j] for j in known), values[:, known]) if known else None


def reference_at(readings: Any, points: np.ndarray) -> tuple[tuple[str, ...], np.ndarray]:
    """Reference readings (``fields``, ``points``, ``values``) at ``points``: their own values where the points are
    theirs, else linear interpolation (NaN outside the readings' hull)."""  # noqa: D205, D209
    ref_points, values = np.asarray(readings.points, dtype=float), np.asarray(readings.values, dtype=float)
    if ref_points.shape == points.shape and np.array_equal(ref_points, points):
        return tuple(readings.fields), values
    if points.shape[1] == 1:
        order = np.argsort(ref_points[:, 0])
        x, inside = ref_points[order, 0], (points[:, 0] >= ref_points[:, 0].min()) & (points[:, 0] <= ref_points.max())
        out = np.stack([np.interp(points[:, 0], x, values[order, j]) for j in range(values.shape[1])], axis=1)
        return tuple(readings.fields), np.where(inside[:, None], out, np.nan)
    from scipy.interpolate import LinearNDInterpolator

    return tuple(readings.fields), LinearNDInterpolator(ref_points, values)(points).reshape(len(points), -1)


def point_data(
    predict: Callable[[np.ndarray], np.ndarray],
    fields: Sequence[str],
    points: np.ndarray,
    reference: tuple[Sequence[str], np.ndarray] | None = None,
    residuals: Mapping[str, np.ndarray] | None = None,
) -> dict[str, np.ndarray]:
    """Every field at ``points``, then the residuals, then ``reference:FIELD`` and ``error:FIELD`` (field minus it)."""
    values = predict(points)
    data = {name: values[:, j] for j, name in enumerate(fields)}
    data.update(residuals or {})
    if reference is not None:
        for j, name in enumerate(reference[0]):
            if name in data:
                data[f"reference:{name}"] = reference[1][:, j]
                data[f"error:{name}"] = data[name] - reference[1][:, j]
    return data


def _column(a: np.ndarray) -> np.ndarray:
    """A one-column array as a vector (a scalar array in ParaView)."""
    return a[:, 0] if a.ndim == 2 and a.shape[1] == 1 else a


# ----------------------------------------------------------------------------------------------------------- files


def write_vtu(
    path: Path,
    points: np.ndarray,
    variables: Sequence[str],
    mesh: tuple[str, np.ndarray],
    data: Mapping[str, np.ndarray],
) -> Path | None:
    """Write the VTU file (atomically); None when meshio is missing.

    The coordinates are the first three variables (padded with zeros below three); beyond three, every variable is
    also point data, under its name.

    Raises:
        PdecRunError: the file cannot be written (a missing or read-only folder, a full disk).
    """
    try:
        import meshio
    except ImportError:
        return None
    path = Path(path)
    d = points.shape[1]
    xyz = np.zeros((len(points), 3))
    xyz[:, : min(d, 3)] = points[:, :3]
    extra = {v: points[:, j] for j, v in enumerate(variables)} if d > 3 else {}
    arrays = {k: np.ascontiguousarray(v, dtype=float) for k, v in {**extra, **data}.items()}
    grid = meshio.Mesh(xyz, [(mesh[0], np.asarray(mesh[1], dtype=np.int64))], point_data=arrays)
    tmp = path.with_name(path.name + ".tmp")
    try:
        meshio.write(tmp, grid, file_format="vtu")
        os.replace(tmp, path)
    except OSError as exc:
        if tmp.exists():
            tmp.unlink()
        raise PdecRunError(
            f"cannot write '{path}': {exc.strerror or exc}",
            hint="choose a folder you can write to, with free space",
        ) from exc
    return path


def write_solution(
    path: Path,
    result: Any,
    points: np.ndarray,
    compiled: Any = None,
    reference: Any = None,
    boundary: bool = True,
) -> Path | None:
    """The solution at ``points`` (and the boundary's, when ``boundary``) as a VTU file; None when meshio is missing.

    Args:
        path: the file to write.
        result: the trained run (``predict``, ``variables``, ``fields``, ``net``, ``unknowns``).
        points: ``[N, d]`` points in ``result.variables`` order.
        compiled: the compiled problem: the domain and box (for the mesh), the residuals and the ``exact:``
            solution. Without it, the fields alone on lone vertices (no mesh: the holes are unknown).
        reference: reference readings (``fields``, ``points``, ``values``), preferred to ``exact:``.
        boundary: add points on the domain's boundary and the box's faces (:func:`boundary_points`).
    """
    points = np.asarray(points, dtype=float).reshape(-1, len(result.variables))
    if compiled is None:
        data = point_data(result.predict, result.fields, points)
        return write_vtu(path, points, result.variables, ("vertex", np.arange(len(points)).reshape(-1, 1)), data)
    domain, bounds = compiled.domain, compiled.bounds
    if boundary:
        points = np.concatenate([points, boundary_points(points, result.variables, bounds, domain)])
    mesh = cells(points, result.variables, bounds, domain)
    functions = {name: f.net for name, f in getattr(result, "functions", {}).items()}  # the trained networks
    theta = {**compiled.unknowns.values(), **result.unknowns, **functions}
    residuals = residuals_at(compiled, result.net, points, theta)
    truth = reference_at(reference, points) if reference is not None else exact_at(compiled, points)
    data = point_data(result.predict, result.fields, points, truth, residuals)
    if getattr(compiled, "scaling", None) is not None:  # a non-dimensionalised run: the file in the user's units
        from pdec.run.scales import user_data, user_points

        scales = compiled.scaling.to_dict()
        points, data = user_points(scales, result.variables, points), user_data(scales, data)
    return write_vtu(path, points, result.variables, mesh, data)


def compile_run(run_dir: Path) -> Any:
    """The spec of a run directory compiled as the run compiled it: with its settings, and reading its data files from
    where the spec stood (``meta.spec_path``, as pdec.run.results rebuilds a network)."""  # noqa: D205, D209
    import dataclasses
    import io

    from pdec.compiler.driver import as_problem, compile
    from pdec.language.symbolic import settle
    from pdec.run.results import SPEC, load_checkpoint, read_settings

    run_dir = Path(run_dir)
    meta = load_checkpoint(run_dir)["meta"]
    spec = io.StringIO((run_dir / SPEC).read_text(encoding="utf-8"))
    spec.name = str(meta.get("spec_path") or run_dir / SPEC)
    problem = settle(dataclasses.replace(as_problem(spec), settings=read_settings(run_dir)))
    return compile(problem)


def predict_vtu(path: Path, result: Any, points: np.ndarray) -> list[str]:
    """``pdec predict RUN points.csv -o F.vtu``: the solution at the points, meshed, with the residuals and errors.

    The run's spec is compiled again (:func:`compile_run`) for the domain, the residuals and the reference; when it
    cannot be (a data file moved away), the fields alone are written on lone vertices. Returns the lines to show.

    Raises:
        PdecRunError: meshio is missing, or the file cannot be written.
    """
    from pdec.core.errors import PdecError

    try:
        import meshio  # noqa: F401
    except ImportError as exc:
        raise PdecRunError(f"cannot write '{path}': {MISSING}", hint="or write CSV: -o F.csv") from exc
    path = Path(path)
    if not path.parent.is_dir():
        raise PdecRunError(f"cannot write '{path}': no folder '{path.parent}'", hint="create the folder first")
    notes = []
    try:
        compiled = compile_run(result.run_dir)
    except PdecError as error:
        compiled = None
        notes.append(f"note: the fields alone (no mesh, residuals or errors): {str(error).splitlines()[0]}")
    reference = None if compiled is None else compiled.reference
    if compiled is not None and compiled.scaling is not None:  # the residuals need the scaled network and points
        from pdec.run.scales import Rescaled, scaled_points

        if isinstance(result.net, Rescaled):
            points = scaled_points(compiled.scaling.to_dict(), result.variables, points)
            result = dataclasses.replace(result, net=result.net.net)
    write_solution(path, result, points, compiled, reference, boundary=False)
    return [*notes, f"wrote {len(points)} points to {path}"]
