"""Tests for pdec.language.data.load_dataset: formats, grid/scattered layout, sampling, noise and every user error."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import scipy.io

from pdec.core.errors import PdecDataError
from pdec.core.source import Source
from pdec.language.data import load_dataset
from pdec.language.problem import Field, Variable

ROOT = Path(__file__).resolve().parents[1]
BURGERS = ROOT / "examples" / "data" / "burgers_shock.mat"

X = Variable("x", -1.0, 1.0)
T = Variable("t", 0.0, 1.0, is_time=True)
VARIABLES = (X, T)
FIELDS = (Field("u", ("x", "t")), Field("v", ("x", "t")))


def load(text: str, base_dir: Path, *, variables=VARIABLES, fields=FIELDS):
    """A tiny stand-in front end: parse `data NAME: "PATH" a = b, ... [sample N] [seed S] [noise R]` with spans."""
    source = Source(text, "spec.pde")
    head = re.match(r'data (\w+): ("([^"]*)")', text)
    path_span = source.span(head.start(2), head.end(2))
    options = {k: v for k, v in re.findall(r"\b(sample|seed|noise) (\S+)", text)}
    body_end = min([m.start() for m in re.finditer(r"\b(sample|seed|noise) ", text)] + [len(text)])
    mapping = []
    for m in re.finditer(r'(\w+) = ("[^"]*"|\w+)', text[head.end() : body_end]):
        raw = m.group(2)
        key = raw.strip('"') if raw.startswith('"') else int(raw) if raw.isdigit() else raw
        offset = head.end()
        mapping.append((m.group(1), key, source.span(offset + m.start(), offset + m.end())))
    return load_dataset(
        head.group(1),
        head.group(3),
        mapping,
        variables=variables,
        fields=fields,
        sample=int(options["sample"]) if "sample" in options else None,
        seed=int(options["seed"]) if "seed" in options else None,
        noise=float(options.get("noise", 0.0)),
        base_dir=base_dir,
        span=source.span(0, len(text)),
        path_span=path_span,
    )


def load_error(text: str, base_dir: Path, **kwargs) -> PdecDataError:
    with pytest.raises(PdecDataError) as info:
        load(text, base_dir, **kwargs)
    return info.value


# --- formats -----------------------------------------------------------------------------------------------------


def test_csv_with_header_in_any_column_order(tmp_path):
    (tmp_path / "f.csv").write_text("# measured\nt, x, u\n0.5, 0.1, 3.0  # first\n\n0.25,-0.2,4.5\n")
    ds = load('data obs: "f.csv" x = x, t = t, u = u', tmp_path)
    assert ds.name == "obs"
    assert ds.variables == ("x", "t") and ds.fields == ("u",)
    np.testing.assert_array_equal(ds.points, [[0.1, 0.5], [-0.2, 0.25]])
    np.testing.assert_array_equal(ds.values, [[3.0], [4.5]])
    assert ds.points.dtype == np.float64 and ds.values.dtype == np.float64
    assert ds.path == str((tmp_path / "f.csv").resolve())
    assert ds.noise == 0.0 and len(ds) == 2


def test_csv_without_header_by_index(tmp_path):
    (tmp_path / "f.csv").write_text("1.0,0.5,0.1\n2.0,0.6,-0.3\n")
    ds = load('data obs: "f.csv" u = 0, t = 1, x = 2', tmp_path)
    np.testing.assert_array_equal(ds.points, [[0.1, 0.5], [-0.3, 0.6]])
    np.testing.assert_array_equal(ds.values, [[1.0], [2.0]])


def test_whitespace_table_with_header_quotes_and_index(tmp_path):
    (tmp_path / "f.dat").write_text('# comment\n"x"\tt   u v\n0.1 0.2\t7 8\n  0.3 0.4 9 10\n')
    ds = load('data obs: "f.dat" x = x, t = 1, v = "v", u = u', tmp_path)
    np.testing.assert_array_equal(ds.points, [[0.1, 0.2], [0.3, 0.4]])
    np.testing.assert_array_equal(ds.values, [[8, 7], [10, 9]])
    assert ds.fields == ("v", "u")


def test_npz_scattered(tmp_path):
    rng = np.random.default_rng(3)
    x, t, u = rng.uniform(-1, 1, 50), rng.uniform(0, 1, 50), rng.normal(size=50)
    np.savez(tmp_path / "d.npz", tt=t, xx=x, uu=u)
    ds = load('data obs: "d.npz" t = tt, u = uu, x = xx', tmp_path)
    np.testing.assert_array_equal(ds.points, np.stack([x, t], axis=1))
    np.testing.assert_array_equal(ds.values[:, 0], u)


def test_npz_scattered_2d_meshgrid_arrays(tmp_path):
    xs, ts = np.linspace(-1, 1, 4), np.linspace(0, 1, 3)
    xg, tg = np.meshgrid(xs, ts)  # shape (3, 4): scattered, paired element by element
    ug = xg * 10 + tg
    np.savez(tmp_path / "d.npz", X=xg, T=tg, U=ug)
    ds = load('data obs: "d.npz" x = X, t = T, u = U', tmp_path)
    assert len(ds) == 12
    np.testing.assert_allclose(ds.values[:, 0], ds.points[:, 0] * 10 + ds.points[:, 1])


def test_mat_grid_column_vectors(tmp_path):
    xs, ts = np.linspace(-1, 1, 5), np.linspace(0, 1, 3)
    u = np.add.outer(xs * 100, ts)  # u[i, j] = 100 x_i + t_j
    scipy.io.savemat(tmp_path / "g.mat", {"x": xs[:, None], "t": ts[None, :], "u": u})
    ds = load('data obs: "g.mat" x = x, t = t, u = u', tmp_path)
    assert len(ds) == 15
    np.testing.assert_allclose(ds.values[:, 0], 100 * ds.points[:, 0] + ds.points[:, 1])
    np.testing.assert_array_equal(ds.points[1], [xs[0], ts[1]])  # indexing="ij": t varies fastest


@pytest.mark.parametrize(
    "mapping, stored",
    [
        ("x = x, t = t, u = u", "xt"),  # mapping order
        ("x = x, t = t, u = u", "tx"),  # permutation, found by lengths
        ("t = t, x = x, u = u", "tx"),  # mapping order differs from problem order
        ("t = t, x = x, u = u", "xt"),  # problem order
    ],
)
def test_grid_axis_order_found_by_lengths(tmp_path, mapping, stored):
    xs, ts = np.linspace(-1, 1, 4), np.linspace(0, 1, 3)
    u = np.add.outer(xs * 100, ts)
    np.savez(tmp_path / "g.npz", x=xs, t=ts, u=u if stored == "xt" else u.T)
    ds = load(f'data obs: "g.npz" {mapping}', tmp_path)
    np.testing.assert_allclose(ds.values[:, 0], 100 * ds.points[:, 0] + ds.points[:, 1])


def test_grid_equal_lengths_assumes_mapping_order(tmp_path):
    xs, ts = np.linspace(-1, 1, 3), np.linspace(0, 1, 3)
    u = np.add.outer(xs * 100, ts)  # u[i, j] = u(x_i, t_j)
    np.savez(tmp_path / "g.npz", x=xs, t=ts, u=u, ut=u.T)
    ds = load('data obs: "g.npz" x = x, t = t, u = u', tmp_path)
    np.testing.assert_allclose(ds.values[:, 0], 100 * ds.points[:, 0] + ds.points[:, 1])
    ds = load('data obs: "g.npz" t = t, x = x, u = ut', tmp_path)  # ut[j, i] = u(x_i, t_j)
    np.testing.assert_allclose(ds.values[:, 0], 100 * ds.points[:, 0] + ds.points[:, 1])


def test_burgers_shock_mat_gridded():
    raw = scipy.io.loadmat(BURGERS)
    xs, ts, usol = raw["x"].ravel(), raw["t"].ravel(), raw["usol"]
    ds = load('data ref: "burgers_shock.mat" x = x, t = t, u = usol', BURGERS.parent)
    assert ds.points.shape == (25600, 2) and ds.values.shape == (25600, 1)
    for row in [0, 1, 99, 100, 12345, 25599]:
        i = int(np.flatnonzero(xs == ds.points[row, 0])[0])
        j = int(np.flatnonzero(ts == ds.points[row, 1])[0])
        assert ds.values[row, 0] == usol[i, j]
    i, j = 17, 42
    assert ds.points[i * 100 + j].tolist() == [xs[i], ts[j]]
    initial = ds.points[:, 1] == 0.0
    assert initial.sum() == 256
    np.testing.assert_allclose(ds.values[initial, 0], -np.sin(np.pi * ds.points[initial, 0]), rtol=0, atol=1e-12)


def test_points_within_tolerance_are_clipped(tmp_path):
    (tmp_path / "f.csv").write_text("x,t,u\n1.0000000001,0,1\n-1,1,2\n")
    ds = load('data obs: "f.csv" x = x, t = t, u = u', tmp_path)
    assert ds.points[0, 0] == 1.0


def test_absolute_path_ignores_base_dir(tmp_path):
    (tmp_path / "f.csv").write_text("x,t,u\n0,0,1\n")
    ds = load(f'data obs: "{tmp_path / "f.csv"}" x = x, t = t, u = u', tmp_path / "elsewhere")
    assert len(ds) == 1


# --- sampling and noise ------------------------------------------------------------------------------------------


@pytest.fixture
def scattered(tmp_path):
    rng = np.random.default_rng(0)
    n = 1000
    x, t = rng.uniform(-1, 1, n), rng.uniform(0, 1, n)
    np.savez(tmp_path / "s.npz", x=x, t=t, u=np.sin(3 * x) + t, v=np.arange(n, dtype=float))
    return tmp_path


def test_sample_reproducible_and_distinct(scattered):
    base = 'data obs: "s.npz" x = x, t = t, u = u, v = v sample 200'
    a = load(base + " seed 7", scattered)
    b = load(base + " seed 7", scattered)
    c = load(base + " seed 8", scattered)
    np.testing.assert_array_equal(a.points, b.points)
    np.testing.assert_array_equal(a.values, b.values)
    assert not np.array_equal(a.values, c.values)
    rows = a.values[:, 1].astype(int)  # v is the row index
    assert len(set(rows.tolist())) == 200
    full = load('data obs: "s.npz" x = x, t = t, u = u, v = v', scattered)
    np.testing.assert_array_equal(a.points, full.points[rows])
    np.testing.assert_array_equal(a.values, full.values[rows])


def test_seed_none_means_zero(scattered):
    a = load('data obs: "s.npz" x = x, t = t, u = u sample 10', scattered)
    b = load('data obs: "s.npz" x = x, t = t, u = u sample 10 seed 0', scattered)
    np.testing.assert_array_equal(a.values, b.values)


def test_sample_all_rows(scattered):
    ds = load('data obs: "s.npz" x = x, t = t, v = v sample 1000', scattered)
    assert sorted(ds.values[:, 0].tolist()) == list(range(1000))


def test_noise_keeps_sampled_rows(scattered):
    clean = load('data obs: "s.npz" x = x, t = t, v = v sample 50 seed 3', scattered)
    noisy = load('data obs: "s.npz" x = x, t = t, v = v sample 50 seed 3 noise 0.01', scattered)
    np.testing.assert_array_equal(clean.points, noisy.points)
    assert noisy.noise == 0.01
    assert np.abs(noisy.values - clean.values).max() < 0.1 * clean.values.std()


def test_noise_level_statistically_right(tmp_path):
    rng = np.random.default_rng(1)
    n = 100_000
    x, t = rng.uniform(-1, 1, n), rng.uniform(0, 1, n)
    u, v = np.sin(np.pi * x) * np.exp(-t), 50 + 3 * x
    np.savez(tmp_path / "n.npz", x=x, t=t, u=u, v=v)
    ds = load('data obs: "n.npz" x = x, t = t, u = u, v = v noise 0.05 seed 2', tmp_path)
    for j, clean in enumerate([u, v]):
        ratio = np.std(ds.values[:, j] - clean) / np.std(clean)
        assert abs(ratio - 0.05) < 0.005
        assert abs(np.mean(ds.values[:, j] - clean)) < 0.01 * np.std(clean)


# --- errors ------------------------------------------------------------------------------------------------------


def write_csv(tmp_path, text="x,t,u\n0,0,1\n0.5,0.5,2\n", name="f.csv"):
    (tmp_path / name).write_text(text)
    return tmp_path


def test_missing_file(tmp_path):
    err = load_error('data obs: "nope.csv" x = x, t = t, u = u', tmp_path)
    assert str(tmp_path / "nope.csv") in err.message and "not found" in err.message
    assert err.span.text == '"nope.csv"'
    assert "spec's folder" in err.hint


def test_unknown_suffix(tmp_path):
    (tmp_path / "f.xlsx").write_text("")
    err = load_error('data obs: "f.xlsx" x = x, t = t, u = u', tmp_path)
    assert "unknown data file format" in err.message and ".xlsx" in err.message
    assert err.span.text == '"f.xlsx"' and ".npz" in err.hint


@pytest.mark.parametrize("name", ["bad.npz", "bad.mat"])
def test_corrupt_binary_file(tmp_path, name):
    (tmp_path / name).write_bytes(b"\x00\x01not really an archive" * 3)
    err = load_error(f'data obs: "{name}" x = x, t = t, u = u', tmp_path)
    assert err.message.startswith("cannot read data file")
    assert "pickle" not in err.message
    assert err.span.text == f'"{name}"'


def test_directory_is_not_a_file(tmp_path):
    (tmp_path / "d.csv").mkdir()
    err = load_error('data obs: "d.csv" x = x, t = t, u = u', tmp_path)
    assert err.message.endswith("d.csv: it is not a file")


@pytest.mark.parametrize(
    "text, message",
    [
        ("x,t,u\n0,0,1\n0,0\n", "line 3 of f.csv has 2 values, expected 3"),
        ("x,t,u\n0,0,1\n# c\n0,zero,1\n", "line 4 of f.csv: 'zero' is not a number"),
        ("# only comments\n\n", "holds no data rows"),
        ("x,t,u\n", "header row but no data rows"),
    ],
)
def test_bad_text_table(tmp_path, text, message):
    write_csv(tmp_path, text)
    err = load_error('data obs: "f.csv" x = x, t = t, u = u', tmp_path)
    assert message in err.message
    assert err.span.text == '"f.csv"'


def test_unknown_column_did_you_mean(tmp_path):
    write_csv(tmp_path)
    err = load_error('data obs: "f.csv" x = x, t = t, u = uu', tmp_path)
    assert err.message == "f.csv has no column 'uu'"
    assert err.span.text == "u = uu"
    assert err.hint.startswith("did you mean 'u'?") and "available columns: x, t, u" in err.hint


def test_unknown_npz_key_and_mat_variable(tmp_path):
    np.savez(tmp_path / "d.npz", x=[0.0], t=[0.0], usol=[1.0])
    err = load_error('data obs: "d.npz" x = x, t = t, u = usoll', tmp_path)
    assert err.message == "d.npz has no array 'usoll'" and "did you mean 'usol'?" in err.hint
    assert err.span.text == "u = usoll"
    scipy.io.savemat(tmp_path / "d.mat", {"x": [0.0], "t": [0.0], "usol": [1.0]})
    err = load_error('data obs: "d.mat" x = x, t = time, u = usol', tmp_path)
    assert err.message == "d.mat has no variable 'time'" and "__header__" not in err.hint
    assert err.span.text == "t = time"


def test_named_column_without_header(tmp_path):
    write_csv(tmp_path, "0,0,1\n")
    err = load_error('data obs: "f.csv" x = 0, t = 1, u = u', tmp_path)
    assert "no header row" in err.message and err.span.text == "u = u" and "`u = 0`" in err.hint


def test_column_index_out_of_range(tmp_path):
    write_csv(tmp_path, "0,0,1\n")
    err = load_error('data obs: "f.csv" x = 0, t = 1, u = 3', tmp_path)
    assert err.message == "column index 3 is out of range: f.csv has 3 columns"
    assert err.span.text == "u = 3" and "0 to 2" in err.hint


def test_column_index_in_npz(tmp_path):
    np.savez(tmp_path / "d.npz", x=[0.0], t=[0.0], u=[1.0])
    err = load_error('data obs: "d.npz" x = x, t = t, u = 2', tmp_path)
    assert "only applies to text tables" in err.message and err.span.text == "u = 2"


def test_duplicate_header_column(tmp_path):
    write_csv(tmp_path, "x,t,u,u\n0,0,1,2\n")
    err = load_error('data obs: "f.csv" x = x, t = t, u = u', tmp_path)
    assert "appears 2 times" in err.message and err.span.text == "u = u"


def test_name_mapped_twice(tmp_path):
    write_csv(tmp_path)
    err = load_error('data obs: "f.csv" x = x, t = t, u = u, x = t', tmp_path)
    assert err.message == "'x' is mapped twice in data set 'obs'"
    assert err.span.text == "x = t"


def test_neither_variable_nor_field(tmp_path):
    write_csv(tmp_path)
    err = load_error('data obs: "f.csv" x = x, t = t, uu = u', tmp_path)
    assert err.message == "'uu' is neither a variable nor a field"
    assert err.span.text == "uu = u" and err.hint == "did you mean 'u'?"


def test_no_field_mapped(tmp_path):
    write_csv(tmp_path)
    err = load_error('data obs: "f.csv" x = x, t = t', tmp_path)
    assert err.message == "data set 'obs' maps no field"
    assert "at least one field" in err.hint and err.span.text.startswith("data obs:")


def test_missing_variable(tmp_path):
    write_csv(tmp_path)
    err = load_error('data obs: "f.csv" x = x, u = u', tmp_path)
    assert err.message == "data set 'obs' does not map variable 't'"
    assert "`t = <column>`" in err.hint and err.span.text.startswith("data obs:")


def test_shapes_match_neither_grid_nor_scattered(tmp_path):
    np.savez(tmp_path / "g.npz", x=np.linspace(-1, 1, 256), t=np.linspace(0, 1, 100), usol=np.zeros((256, 99)))
    err = load_error('data obs: "g.npz" x = x, t = t, u = usol', tmp_path)
    assert "match neither a grid nor scattered points" in err.message
    assert "x = x (256,)" in err.message and "u = usol (256, 99)" in err.message
    assert "(256, 100)" in err.hint
    assert err.span.text.startswith("data obs:")


def test_empty_arrays(tmp_path):
    np.savez(tmp_path / "e.npz", x=np.zeros(0), t=np.zeros(0), u=np.zeros(0))
    err = load_error('data obs: "e.npz" x = x, t = t, u = u', tmp_path)
    assert "has no rows" in err.message


def test_nan_in_values_names_row_and_file_line(tmp_path):
    write_csv(tmp_path, "x,t,u\n# c\n0,0,1\n0.1,0.2,nan\n0.2,0.3,inf\n")
    err = load_error('data obs: "f.csv" x = x, t = t, u = u', tmp_path)
    assert "'u' (mapped to u) has a non-finite value (nan) at row 2 (file line 4)" in err.message
    assert "2 such value(s)" in err.message
    assert err.span.text == "u = u"


def test_inf_in_points_grid(tmp_path):
    np.savez(tmp_path / "g.npz", x=np.array([0.0, np.inf]), t=np.array([0.0, 0.5, 1.0]), u=np.zeros((2, 3)))
    err = load_error('data obs: "g.npz" x = x, t = t, u = u', tmp_path)
    assert "'x' (mapped to x) has a non-finite value (inf) at row 4;" in err.message
    assert err.span.text == "x = x"


def test_point_outside_interval(tmp_path):
    write_csv(tmp_path, "x,t,u\n0,0,1\n0.5,1.5,2\n0.5,2.5,2\n")
    err = load_error('data obs: "f.csv" x = x, t = t, u = u', tmp_path)
    assert err.message.startswith("row 2 (file line 3) has t = 1.5, outside t in [0, 1] (point x = 0.5, t = 1.5;")
    assert "2 row(s) outside" in err.message
    assert err.span.text == "t = t"


def test_point_outside_interval_beyond_tolerance(tmp_path):
    write_csv(tmp_path, "x,t,u\n-1.00000001,0,1\n")
    err = load_error('data obs: "f.csv" x = x, t = t, u = u', tmp_path)
    assert "row 1 (file line 2) has x = -1" in err.message and err.span.text == "x = x"


@pytest.mark.parametrize(
    "options, message",
    [
        ("sample 5", "sample 5 is more than the 2 rows of the data"),
        ("sample 0", "sample must be at least 1, not 0"),
        ("noise -0.1", "noise must be non-negative, not -0.1"),
    ],
)
def test_bad_options(tmp_path, options, message):
    write_csv(tmp_path)
    err = load_error(f'data obs: "f.csv" x = x, t = t, u = u {options}', tmp_path)
    assert err.message == message
    assert err.span.text.startswith("data obs:") and err.hint


def test_negative_seed(tmp_path):
    write_csv(tmp_path)
    err = load_error('data obs: "f.csv" x = x, t = t, u = u seed -1', tmp_path)
    assert "seed must be a non-negative integer" in err.message


@pytest.mark.parametrize("suffix", ["npz", "mat"])
def test_complex_data(tmp_path, suffix):
    arrays = {"x": np.array([0.0, 0.5]), "t": np.array([0.0, 0.5]), "h": np.array([1 + 2j, 3 - 1j])}
    np.savez(tmp_path / "c.npz", **arrays) if suffix == "npz" else scipy.io.savemat(tmp_path / "c.mat", arrays)
    err = load_error(f'data obs: "c.{suffix}" x = x, t = t, u = h', tmp_path)
    assert "complex data is not supported" in err.message
    assert "real and imaginary parts as separate arrays" in err.hint
    assert err.span.text == "u = h"


def test_non_numeric_array(tmp_path):
    np.savez(tmp_path / "s.npz", x=np.array([0.0]), t=np.array([0.0]), u=np.array(["a"]))
    err = load_error('data obs: "s.npz" x = x, t = t, u = u', tmp_path)
    assert "is not numeric" in err.message and err.span.text == "u = u"


def test_rendered_error_has_caret_under_mapping_item(tmp_path):
    write_csv(tmp_path)
    err = load_error('data obs: "f.csv" x = x, t = t, u = uu', tmp_path)
    lines = str(err).splitlines()
    assert lines[0] == "spec.pde:1:33: error: f.csv has no column 'uu'"
    assert lines[1].endswith('data obs: "f.csv" x = x, t = t, u = uu')
    assert lines[2].index("^") == lines[1].index("u = uu") and lines[2].count("^") == len("u = uu")


# --- COMSOL text exports ------------------------------------------------------------------------------------------

COMSOL = (
    "% Model:              plate.mph\r\n% Nodes:              3\r\n"
    "% X                       T                        u (1)\r\n"
    "-0.5                      0.25                     1\r\n"
    "0.1                       0.5                      0.25\r\n"
    "0.75                      1                        -2e-3\r\n"
)


def test_percent_comment_lines_and_their_header(tmp_path):
    (tmp_path / "ref.dat").write_text(COMSOL, newline="")
    ds = load('data ref: "ref.dat" x = X, t = T, u = "u (1)"', tmp_path)
    np.testing.assert_array_equal(ds.points, [[-0.5, 0.25], [0.1, 0.5], [0.75, 1.0]])
    np.testing.assert_array_equal(ds.values[:, 0], [1.0, 0.25, -0.002])
    by_index = load('data ref: "ref.dat" x = 0, t = 1, u = 2', tmp_path)
    np.testing.assert_array_equal(by_index.values, ds.values)


def test_percent_lines_that_do_not_name_every_column_are_only_comments(tmp_path):
    (tmp_path / "ref.dat").write_text("% a comment\n% x t\n0 0 1\n1 1 2\n")
    assert "has no header row" in str(load_error('data ref: "ref.dat" x = x, t = t, u = u', tmp_path))
    assert load('data ref: "ref.dat" x = 0, t = 1, u = 2', tmp_path).values[:, 0].tolist() == [1.0, 2.0]


def test_the_pinnacle_reference_of_the_plate_with_holes():
    ds = load('data ref: "poisson1_cg_data.dat" x = X, y = Y, u = "u (1)"', ROOT / "examples" / "data",
              variables=(Variable("x", -0.5, 0.5), Variable("y", -0.5, 0.5)), fields=(Field("u", ("x", "y")),))
    assert ds.points.shape == (1246, 2) and ds.values.min() >= -1e-9 and ds.values.max() <= 1 + 1e-9
