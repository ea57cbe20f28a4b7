"""Data loading: a ``data``/``reference`` statement (file + mapping) -> a ``DataSet`` of scattered points.

Formats are picked by suffix: text tables (``.csv .txt .dat .tsv``: comma or whitespace separated, optional header
row, ``#`` comments, ``%`` comment lines with a COMSOL export's column names on the last one), NumPy ``.npz`` and
MATLAB ``.mat`` (v4-v7.2, via ``scipy.io.loadmat``). Arrays are either
gridded (1-D variable arrays and fields on their product grid, in any axis order) or scattered (every array has the
same number of elements); both come out as rows of points in the problem's variable order. Every problem a user can
cause is a ``PdecDataError`` pointing at the path or at the mapping item responsible.
"""

from __future__ import annotations

import itertools
import math
import re
import zipfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from pdec.core.errors import PdecDataError, PdecSemanticError, did_you_mean, short
from pdec.core.source import Span
from pdec.language.problem import DataSet, Field, Variable

FORMATS = {".csv": "text", ".txt": "text", ".dat": "text", ".tsv": "text", ".npz": "npz", ".mat": "mat"}
KEY_KIND = {"text": "column", "npz": "array", "mat": "variable"}
BOUNDS_RTOL = 1e-9
MAX_LISTED = 12


@dataclass(frozen=True)
class _Item:
    """One checked mapping item: problem name <- file key."""

    name: str
    key: str | int
    span: Span
    is_field: bool


@dataclass(frozen=True)
class _Table:
    """A parsed text table: optional header names, numbers ``[rows, cols]``, and the file line of each row."""

    header: tuple[str, ...] | None
    data: np.ndarray
    lines: np.ndarray


def read_statement(
    stmt: Any,
    name: str,
    variables: Sequence[Variable],
    fields: Sequence[Field],
    base_dir: Path,
    convert: Mapping[str, Callable[[np.ndarray], np.ndarray]] | None = None,
) -> DataSet:
    """A ``data`` or ``reference`` statement -> its DataSet: options checked, then read by :func:`load_dataset`.

    Args:
        stmt: the statement (pdec.language.syntax.DataStmt): path, column mappings, options (``sample``, ``seed``,
            ``noise``).
        name: the data set's bare name (``reference`` for the reference solution).
        variables: the problem's variables, in declaration order.
        fields: the problem's fields, in declaration order.
        base_dir: the folder relative paths are resolved against (the spec's).
        convert: variable or field -> the conversion of its column to its unit (columns written with a unit).
    """
    options: dict[str, Any] = {}
    for option in stmt.options:
        if option.key in options:
            raise PdecSemanticError(f"option '{option.key}' is given twice", option.span)
        options[option.key] = option
    values = {key: _option_value(option) for key, option in options.items()}
    mapping = [(m.target.name, m.column, m.span) for m in stmt.mappings]
    return load_dataset(
        name,
        stmt.path,
        mapping,
        variables=tuple(variables),
        fields=tuple(fields),
        sample=values.get("sample"),
        seed=values.get("seed"),
        noise=values.get("noise", 0.0),
        base_dir=base_dir,
        span=stmt.span,
        path_span=stmt.path_span,
        convert=convert,
    )


def _option_value(option: Any) -> int | float:
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


def _converted(
    points: np.ndarray, values: np.ndarray, convert: Mapping[str, Callable], variables: Sequence, fields: list
) -> tuple[np.ndarray, np.ndarray]:
    """The columns with a conversion, converted."""
    points, values = points.copy(), values.copy()
    for j, var in enumerate(variables):
        if var.name in convert:
            points[:, j] = convert[var.name](points[:, j])
    for k, item in enumerate(fields):
        if item.name in convert:
            values[:, k] = convert[item.name](values[:, k])
    return points, values


def load_dataset(
    name: str,
    path: str,
    mapping: Sequence[tuple[str, str | int, Span]],
    *,
    variables: Sequence[Variable],
    fields: Sequence[Field],
    sample: int | None = None,
    seed: int | None = None,
    noise: float = 0.0,
    base_dir: Path,
    span: Span,
    path_span: Span | None = None,
    convert: Mapping[str, Callable[[np.ndarray], np.ndarray]] | None = None,
) -> DataSet:
    """Read a data file: a DataSet of points ``[N, len(variables)]`` (problem order), values ``[N, k]`` (mapped).

    Args:
        name: the data set's name (for messages and ``DataSet.name``).
        path: the file path as written; relative paths resolve against ``base_dir``.
        mapping: ``(name, key, span)`` items: a problem variable or field <- a CSV column name, an NPZ array key, a
            .mat variable, or (CSV only) a 0-based integer column index.
        variables: the problem's variables, in order (all must be mapped).
        fields: the problem's fields.
        sample: draw this many rows without replacement (None keeps all).
        seed: random seed for sampling and noise (None means 0, so runs are reproducible).
        noise: relative Gaussian noise: each value column gets ``noise * std(column) * randn``.
        base_dir: folder for relative paths (the spec's folder).
        span: the whole statement (for errors with no more precise place).
        path_span: the path string (for file errors); defaults to ``span``.
        convert: name -> its column's unit conversion (applied before the bounds are checked).

    Raises:
        PdecDataError: a missing or unreadable file, a bad mapping or shape, non-finite values, points outside
            their interval, or bad ``sample``/``seed``/``noise`` options.
    """
    _check_options(sample, seed, noise, span)
    items = _check_mapping(name, mapping, variables, fields, span)
    resolved = _resolve(path, base_dir, where := path_span or span)
    arrays, lines = _read(resolved, items, where)
    points, values = _converted(*_layout(arrays, items, variables, span), convert or {}, variables, _fields(items))
    if not len(points):
        raise PdecDataError(f"data set '{name}' has no rows", where, "the mapped arrays are empty")
    var_items, field_items = [next(i for i in items if i.name == v.name) for v in variables], _fields(items)
    _check_finite(points, var_items, lines)
    _check_finite(values, field_items, lines)
    points = _check_bounds(points, var_items, variables, lines)
    rng = np.random.default_rng(0 if seed is None else seed)
    points, values = _sample(points, values, sample, rng, span)
    values = _add_noise(values, noise, rng)
    return DataSet(
        name=name,
        path=str(resolved),
        variables=tuple(v.name for v in variables),
        fields=tuple(i.name for i in field_items),
        points=points,
        values=values,
        noise=float(noise),
        span=span,
    )


def read_columns(
    path: str,
    mapping: Sequence[tuple[str, str | int, Span]],
    coordinates: Sequence[Variable],
    *,
    base_dir: Path,
    span: Span,
    path_span: Span | None = None,
) -> tuple[Path, np.ndarray, np.ndarray]:
    """Read a table's mapped arrays with none of a data set's checks on names and bounds (tabulated coefficients).

    Args:
        path: the file path as written; relative paths resolve against ``base_dir``.
        mapping: ``(name, key, span)`` items, checked by the caller: each name is a coordinate or a value column.
        coordinates: the variables mapped as coordinates (``name`` is all this reads of them), in output order.
        base_dir: folder for relative paths (the spec's folder).
        span: the whole statement (for errors with no more precise place).
        path_span: the path string (for file errors); defaults to ``span``.

    Returns:
        The resolved path, points ``[N, len(coordinates)]`` and values ``[N, k]`` (the other names, mapping order),
        gridded arrays flattened to rows like a data set's, every entry finite.
    """
    names = {v.name for v in coordinates}
    items = [_Item(name, key, item_span, name not in names) for name, key, item_span in mapping]
    resolved = _resolve(path, base_dir, where := path_span or span)
    arrays, lines = _read(resolved, items, where)
    points, values = _layout(arrays, items, coordinates, span)
    _check_finite(points, [next(i for i in items if i.name == v.name) for v in coordinates], lines)
    _check_finite(values, _fields(items), lines)
    return resolved, points, values


def _fields(items: Sequence[Any]) -> list[Any]:
    """The mapping items that name fields, in mapping order."""
    return [i for i in items if i.is_field]


# --- options and mapping ---------------------------------------------------------------------------------------


def _check_options(sample: int | None, seed: int | None, noise: float, span: Span) -> None:
    """Reject ``sample < 1``, a negative seed and ``noise < 0`` (``sample > N`` is checked after reading)."""
    if sample is not None and sample < 1:
        raise PdecDataError(f"sample must be at least 1, not {sample}", span, "drop `sample` to keep every row")
    if seed is not None and seed < 0:
        raise PdecDataError(f"seed must be a non-negative integer, not {seed}", span, "use e.g. `seed 1`")
    if not noise >= 0:  # also catches NaN
        raise PdecDataError(
            f"noise must be non-negative, not {noise}", span, "noise is relative: `noise 0.01` adds 1% Gaussian noise"
        )


def _check_mapping(
    name: str,
    mapping: Sequence[tuple[str, str | int, Span]],
    variables: Sequence[Variable],
    fields: Sequence[Field],
    span: Span,
) -> list[_Item]:
    """Check every mapped name is a variable or field, mapped once; every variable and some field are mapped."""
    var_names = [v.name for v in variables]
    field_names = [f.name for f in fields]
    items: list[_Item] = []
    for target, key, item_span in mapping:
        if any(i.name == target for i in items):
            raise PdecDataError(f"'{target}' is mapped twice in data set '{name}'", item_span, "map each name once")
        if target not in var_names and target not in field_names:
            names = var_names + field_names
            hint = did_you_mean(target, names) or _listing("variables and fields", names)
            raise PdecDataError(f"'{target}' is neither a variable nor a field", item_span, hint)
        if isinstance(key, int) and key < 0:
            raise PdecDataError(f"column index {key} is negative", item_span, "columns are numbered from 0")
        items.append(_Item(target, key, item_span, target in field_names))
    if not any(i.is_field for i in items):
        example = field_names[0] if field_names else "u"
        raise PdecDataError(
            f"data set '{name}' maps no field",
            span,
            f"a data set must observe at least one field: add e.g. `{example} = <column>`",
        )
    for v in var_names:
        if all(i.name != v for i in items):
            raise PdecDataError(
                f"data set '{name}' does not map variable '{v}'",
                span,
                f"every variable needs coordinates: add `{v} = <column>` to the mapping",
            )
    return items


def _listing(what: str, names: Sequence[str]) -> str:
    """Return ``available WHAT: a, b, c`` (shortened when long)."""
    shown = ", ".join(str(n) for n in list(names)[:MAX_LISTED])
    more = f", ... ({len(names)} in all)" if len(names) > MAX_LISTED else ""
    return f"available {what}: {shown}{more}" if names else f"there are no {what}"


# --- reading ---------------------------------------------------------------------------------------------------


def _resolve(path: str, base_dir: Path, where: Span) -> Path:
    """Resolve ``path`` against ``base_dir``; check that it exists and has a known suffix."""
    resolved = Path(path).expanduser()
    if not resolved.is_absolute():
        resolved = Path(base_dir) / resolved
    resolved = resolved.resolve()
    if resolved.suffix.lower() not in FORMATS:
        suffix = f"suffix '{resolved.suffix}'" if resolved.suffix else "no suffix"
        raise PdecDataError(
            f"unknown data file format: '{path}' has {suffix}",
            where,
            "use a .csv (or .txt/.dat/.tsv) text table, a NumPy .npz or a MATLAB .mat file",
        )
    if resolved.exists() and not resolved.is_file():
        raise _unreadable(resolved, where, "it is not a file")
    if not resolved.is_file():
        raise PdecDataError(
            f"data file not found: {resolved}",
            where,
            f"relative paths are resolved against the spec's folder ({Path(base_dir).resolve()})",
        )
    return resolved


def _read(path: Path, items: list[_Item], where: Span) -> tuple[dict[str, np.ndarray], np.ndarray | None]:
    """Return mapped name -> float64 array, and the file line of each row (text tables only)."""
    fmt = FORMATS[path.suffix.lower()]
    if fmt == "text":
        table = _parse_text(path, where)
        return {i.name: _column(table, i, path) for i in items}, table.lines
    raw = _load_npz(path, items, where) if fmt == "npz" else _load_mat(path, items, where)
    return {i.name: _as_float(raw[i.name], i, fmt) for i in items}, None


def _unreadable(path: Path, where: Span, err: Exception | str) -> PdecDataError:
    """Return the error for a file that exists but cannot be read."""
    return PdecDataError(
        f"cannot read data file {path}: {err}", where, "check that the file is complete and matches its suffix"
    )


def _parse_text(path: Path, where: Span) -> _Table:
    """Parse a comma- or whitespace-separated table with ``#`` comments and an optional header row.

    Lines starting with ``%`` are comments too (COMSOL's text exports); the last of them before the data names the
    columns when it splits, at runs of two or more spaces, into one name per column (``% X   Y   u (1)``).
    """
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as err:
        raise _unreadable(path, where, err) from err
    lines = text.splitlines()
    rows = [(n, _uncommented(line)) for n, line in enumerate(lines, 1)]
    rows = [(n, line) for n, line in rows if line]
    if not rows:
        raise _unreadable(path, where, "it holds no data rows")
    comma = "," in rows[0][1]
    cells = [(n, _split(line, comma)) for n, line in rows]
    header = _percent_header(lines[: rows[0][0] - 1], len(cells[0][1]))
    if not all(_is_number(c) for c in cells[0][1]):
        header = tuple(c.strip("\"'") for c in cells[0][1])
        cells = cells[1:]
    if not cells:
        raise _unreadable(path, where, "it has a header row but no data rows")
    width = len(header) if header is not None else len(cells[0][1])
    data = np.empty((len(cells), width))
    for r, (n, row) in enumerate(cells):
        data[r] = _parse_row(path, n, row, width, where)
    return _Table(header, data, np.array([n for n, _ in cells]))


def _uncommented(line: str) -> str:
    """A table line without its ``#`` comment; empty for a ``%`` comment line."""
    return "" if line.lstrip().startswith("%") else line.split("#", 1)[0].strip()


def _percent_header(lines: list[str], width: int) -> tuple[str, ...] | None:
    """The column names on the last ``%`` comment line above the data (COMSOL), when there is one per column."""
    comments = [line.strip()[1:].strip() for line in lines if line.strip().startswith("%")]
    if not comments:
        return None
    names = tuple(re.split(r"\s{2,}|\t", comments[-1]))
    return names if len(names) == width and all(names) else None


def _split(line: str, comma: bool) -> list[str]:
    """Split one table line into cells."""
    return [c.strip() for c in line.split(",")] if comma else line.split()


def _is_number(cell: str) -> bool:
    """Whether a cell parses as a float."""
    try:
        float(cell)
    except ValueError:
        return False
    return True


def _parse_row(path: Path, line: int, row: list[str], width: int, where: Span) -> list[float]:
    """Parse one data row of ``width`` numbers."""
    if len(row) != width:
        raise PdecDataError(
            f"line {line} of {path.name} has {len(row)} values, expected {width}",
            where,
            "every row needs one value per column (missing values are not supported)",
        )
    bad = next((c for c in row if not _is_number(c)), None)
    if bad is not None:
        raise PdecDataError(f"line {line} of {path.name}: '{bad}' is not a number", where, "fix or remove the row")
    return [float(c) for c in row]


def _column(table: _Table, item: _Item, path: Path) -> np.ndarray:
    """Return the column ``item.key`` (a header name or a 0-based index) of a text table."""
    width = table.data.shape[1]
    if isinstance(item.key, int):
        if item.key >= width:
            raise PdecDataError(
                f"column index {item.key} is out of range: {path.name} has {width} columns",
                item.span,
                f"columns are numbered from 0 to {width - 1}",
            )
        return table.data[:, item.key]
    if table.header is None:
        raise PdecDataError(
            f"{path.name} has no header row, so column '{item.key}' cannot be found",
            item.span,
            f"map columns by 0-based index (e.g. `{item.name} = 0`) or add a header row of names",
        )
    matches = [j for j, h in enumerate(table.header) if h == item.key]
    if not matches:
        raise _unknown_key(item, table.header, "column", path)
    if len(matches) > 1:
        raise PdecDataError(
            f"column '{item.key}' appears {len(matches)} times in the header of {path.name}",
            item.span,
            f"rename the columns or map one by 0-based index (columns {', '.join(map(str, matches))})",
        )
    return table.data[:, matches[0]]


def _unknown_key(item: _Item, available: Sequence[str], kind: str, path: Path) -> PdecDataError:
    """Return the error for a key the file does not hold, with a did-you-mean hint."""
    hint = did_you_mean(str(item.key), available)
    listing = _listing(f"{kind}s", list(available))
    return PdecDataError(
        f"{path.name} has no {kind} '{item.key}'", item.span, f"{hint} ({listing})" if hint else listing
    )


def _check_named(item: _Item, available: Sequence[str], fmt: str, path: Path) -> None:
    """Check an NPZ/.mat key is a name the file holds (integer indices are for text tables only)."""
    kind = KEY_KIND[fmt]
    if isinstance(item.key, int):
        raise PdecDataError(
            f"column index {item.key} only applies to text tables; {path.name} holds named {kind}s",
            item.span,
            _listing(f"{kind}s", list(available)),
        )
    if item.key not in available:
        raise _unknown_key(item, available, kind, path)


def _load_npz(path: Path, items: list[_Item], where: Span) -> dict[str, np.ndarray]:
    """Return mapped name -> array from an ``.npz`` archive (only the mapped arrays are read)."""
    if not zipfile.is_zipfile(path):
        raise _unreadable(path, where, "it is not an .npz (zip) archive")
    try:
        archive = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as err:
        raise _unreadable(path, where, err) from err
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise _unreadable(path, where, "it is a single .npy array, not an .npz archive")
    with archive:
        for item in items:
            _check_named(item, archive.files, "npz", path)
        out = {}
        for item in items:
            try:
                out[item.name] = np.asarray(archive[item.key])
            except (OSError, ValueError, EOFError, zipfile.BadZipFile) as err:
                raise PdecDataError(f"cannot read array '{item.key}' of {path.name}: {err}", item.span) from err
    return out


def _load_mat(path: Path, items: list[_Item], where: Span) -> dict[str, np.ndarray]:
    """Return mapped name -> array from a MATLAB ``.mat`` file."""
    import scipy.io  # 0.1 s to import: only a .mat file needs it

    try:
        contents = scipy.io.loadmat(str(path))
    except NotImplementedError as err:  # scipy raises this for v7.3 (HDF5) files
        raise PdecDataError(
            f"cannot read data file {path}: MATLAB v7.3 (HDF5) files are not supported",
            where,
            "save with `save(..., '-v7')` in MATLAB, or convert the arrays to an .npz file",
        ) from err
    except (OSError, ValueError, TypeError, EOFError, scipy.io.matlab.MatReadError) as err:
        raise _unreadable(path, where, err) from err
    available = [k for k in contents if not k.startswith("__")]
    for item in items:
        _check_named(item, available, "mat", path)
    return {i.name: contents[i.key] for i in items}


def _as_float(array: object, item: _Item, fmt: str) -> np.ndarray:
    """Convert a loaded array to float64; reject complex and non-numeric data."""
    if hasattr(array, "toarray"):  # a scipy sparse matrix from loadmat
        array = array.toarray()
    array = np.asarray(array)
    kind = KEY_KIND[fmt]
    if np.iscomplexobj(array):
        raise PdecDataError(
            f"{kind} '{item.key}' (mapped to {item.name}) is complex: complex data is not supported",
            item.span,
            "store real and imaginary parts as separate arrays and map each to its own field",
        )
    if not (np.issubdtype(array.dtype, np.number) or array.dtype == np.bool_):
        raise PdecDataError(
            f"{kind} '{item.key}' (mapped to {item.name}) is not numeric (dtype {array.dtype})",
            item.span,
            "map a numeric array",
        )
    return array.astype(np.float64)


# --- layout: gridded or scattered ------------------------------------------------------------------------------


def _layout(
    arrays: dict[str, np.ndarray], items: list[_Item], variables: Sequence[Variable], span: Span
) -> tuple[np.ndarray, np.ndarray]:
    """Return ``points [N, d]`` (problem variable order) and ``values [N, k]`` (mapping order)."""
    var_order = [v.name for v in variables]
    mapped_vars = [i.name for i in items if not i.is_field]
    field_names = [i.name for i in items if i.is_field]
    vectors = {v: _as_vector(arrays[v]) for v in var_order}
    if all(vec is not None for vec in vectors.values()):
        lengths = {v: len(vectors[v]) for v in var_order}
        axes = {f: _grid_axes(arrays[f].shape, lengths, mapped_vars, var_order) for f in field_names}
        if all(a is not None for a in axes.values()):
            return _flatten_grid(arrays, vectors, axes, var_order, field_names)
    sizes = {arrays[i.name].size for i in items}
    if len(sizes) == 1:
        points = np.stack([arrays[v].ravel() for v in var_order], axis=1)
        values = np.stack([arrays[f].ravel() for f in field_names], axis=1)
        return points, values
    raise _shape_error(arrays, items, vectors, var_order, span)


def _as_vector(array: np.ndarray) -> np.ndarray | None:
    """Return a 1-D view of a vector-shaped array (``(n,)``, ``(n, 1)`` or ``(1, n)``), else None."""
    if array.ndim == 1:
        return array
    if array.ndim == 2 and 1 in array.shape:
        return array.ravel()
    return None


def _grid_axes(
    shape: tuple[int, ...], lengths: dict[str, int], mapped: list[str], problem: list[str]
) -> tuple[str, ...] | None:
    """Return the variable on each axis of a field of ``shape`` on the grid, or None if it is not on the grid.

    Tried in order: the mapping order, the problem's order, then every permutation of the mapping order (so among
    equal lengths, variables keep their mapping order).
    """
    for order in itertools.chain([tuple(mapped), tuple(problem)], itertools.permutations(mapped)):
        if tuple(lengths[v] for v in order) == tuple(shape):
            return order
    return None


def _flatten_grid(
    arrays: dict[str, np.ndarray],
    vectors: dict[str, np.ndarray],
    axes: dict[str, tuple[str, ...]],
    var_order: list[str],
    field_names: list[str],
) -> tuple[np.ndarray, np.ndarray]:
    """Flatten gridded arrays: row ``(i, j, ...)`` in problem-variable order, ``indexing="ij"``."""
    mesh = np.meshgrid(*(vectors[v] for v in var_order), indexing="ij")
    points = np.stack([m.ravel() for m in mesh], axis=1)
    columns = [arrays[f].transpose([axes[f].index(v) for v in var_order]).ravel() for f in field_names]
    return points, np.stack(columns, axis=1)


def _shape_error(
    arrays: dict[str, np.ndarray],
    items: list[_Item],
    vectors: dict[str, np.ndarray | None],
    var_order: list[str],
    span: Span,
) -> PdecDataError:
    """Return the error for arrays that are neither on a grid nor scattered points of one length."""
    shapes = ", ".join(f"{i.name} = {i.key} {tuple(arrays[i.name].shape)}" for i in items)
    scattered = "scattered points need every array to have the same number of elements"
    if all(vec is not None for vec in vectors.values()):
        grid = tuple(len(vectors[v]) for v in var_order)
        hint = f"a grid needs each field of shape {grid} (axes in any variable order); {scattered}"
    else:
        hint = f"a grid needs a 1-D array for each variable; {scattered}"
    return PdecDataError(f"array shapes match neither a grid nor scattered points: {shapes}", span, hint)


# --- checks, sampling, noise -----------------------------------------------------------------------------------


def _row_name(row: int, lines: np.ndarray | None) -> str:
    """Describe a 0-based row as ``row R`` (1-based), with its file line for text tables."""
    return f"row {row + 1}" + (f" (file line {lines[row]})" if lines is not None else "")


def _check_finite(columns: np.ndarray, items: list[_Item], lines: np.ndarray | None) -> None:
    """Reject NaN or infinite entries, naming the first offending row of each column's mapping item."""
    for j, item in enumerate(items):
        bad = np.flatnonzero(~np.isfinite(columns[:, j]))
        if bad.size:
            row = int(bad[0])
            raise PdecDataError(
                f"'{item.key}' (mapped to {item.name}) has a non-finite value ({columns[row, j]}) at "
                f"{_row_name(row, lines)}; {bad.size} such value(s) in all",
                item.span,
                "remove or fill missing observations in the file; pdec does not skip them",
            )


def _check_bounds(
    points: np.ndarray, items: list[_Item], variables: Sequence[Variable], lines: np.ndarray | None
) -> np.ndarray:
    """Reject points outside their variable's interval (relative tolerance); clip those within tolerance."""
    for j, (item, var) in enumerate(zip(items, variables, strict=True)):
        tol = BOUNDS_RTOL * (var.hi - var.lo)
        bad = np.flatnonzero((points[:, j] < var.lo - tol) | (points[:, j] > var.hi + tol))
        if bad.size:
            row = int(bad[0])
            coords = ", ".join(f"{v.name} = {points[row, k]:g}" for k, v in enumerate(variables))
            raise PdecDataError(
                f"{_row_name(row, lines)} has {var.name} = {points[row, j]:g}, outside {var.name} in "
                f"[{var.lo:g}, {var.hi:g}] (point {coords}; {bad.size} row(s) outside in all)",
                item.span,
                f"check that '{item.key}' holds {var.name} values, or widen the interval of {var.name}",
            )
    lo = np.array([v.lo for v in variables])
    hi = np.array([v.hi for v in variables])
    return np.clip(points, lo, hi)


def _sample(
    points: np.ndarray, values: np.ndarray, sample: int | None, rng: np.random.Generator, span: Span
) -> tuple[np.ndarray, np.ndarray]:
    """Draw ``sample`` rows without replacement (all rows, unshuffled, when ``sample`` is None)."""
    if sample is None:
        return points, values
    if sample > len(points):
        raise PdecDataError(
            f"sample {sample} is more than the {len(points)} rows of the data",
            span,
            f"use `sample {len(points)}` or fewer, or drop `sample` to keep every row",
        )
    rows = rng.choice(len(points), size=sample, replace=False)
    return points[rows], values[rows]


def _add_noise(values: np.ndarray, noise: float, rng: np.random.Generator) -> np.ndarray:
    """Add ``noise * std(column) * randn`` to each column (Raissi et al.'s convention); no-op for zero noise."""
    if noise == 0:
        return values
    return values + noise * values.std(axis=0) * rng.standard_normal(values.shape)
