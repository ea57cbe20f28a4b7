"""The solution for ParaView: solution.vtu in a run directory and from `pdec predict -o F.vtu`, read by meshio."""

from __future__ import annotations

import sys

import numpy as np
import pytest
import torch
from trainer_problems import heat2d, poisson1d, small

import pdec
from pdec.cli import main
from pdec.core.errors import PdecRunError
from pdec.run.results import load_result
from pdec.run.vtu import VTU, boundary_points, cells, write_vtu
from pdec.train.sampling import eval_points

meshio = pytest.importorskip("meshio")

PLATE = """\
var x in [-0.5, 0.5]
var y in [-0.5, 0.5]
field u(x, y)
domain holes = disk((0.2, 0.2), 0.1) + disk((-0.2, -0.2), 0.1)
domain plate = rectangle - holes
eq laplace: lap(u) = 0
bc edges: u = x^2 - y^2 on boundary(rectangle)
bc circles: u = x^2 - y^2 on boundary(holes)
exact: u = x^2 - y^2
train:
  layers = [8, 8]
  interior = 32
  boundary = 8
  adam = 3
  iterations = 0
  eval_points = 600
"""

L_SHAPE = """\
var x in [0, 1]
var y in [0, 1]
field u(x, y)
domain ell = polygon((0, 0), (1, 0), (1, 0.5), (0.5, 0.5), (0.5, 1), (0, 1))
eq: lap(u) = 1
bc: u = 0 on boundary(ell)
"""


@pytest.fixture(scope="module")
def plate(tmp_path_factory):
    """A few steps on a plate with two holes: the compiled problem, the Result, the VTU read back."""
    compiled = pdec.compile(PLATE)
    out = tmp_path_factory.mktemp("vtu") / "run"
    result = pdec.fit(compiled, out=out, quiet=True, plots=False, vtu=True)
    return compiled, result, meshio.read(out / VTU)


def _areas(points: np.ndarray, triangles: np.ndarray) -> np.ndarray:
    corners = points[triangles][:, :, :2]
    return 0.5 * np.abs(np.linalg.det(corners[:, 1:] - corners[:, :1]))


def test_the_point_data_are_the_fields_residuals_and_errors_at_the_points(plate):
    compiled, result, mesh = plate
    points = mesh.points[:, :2]
    assert len(points) > 600 and np.all(mesh.points[:, 2] == 0)  # the evaluation points, then the boundary's
    assert set(mesh.point_data) == {"u", "residual:pde:laplace", "reference:u", "error:u"}
    assert np.array_equal(mesh.point_data["u"], result.predict(points)[:, 0])
    x = torch.as_tensor(points, dtype=next(result.net.parameters()).dtype)
    residual = compiled.evaluate(result.net, {"interior": x})["pde:laplace"].detach().double().numpy()[:, 0]
    assert np.allclose(mesh.point_data["residual:pde:laplace"], residual, rtol=1e-5, atol=1e-6)
    exact = points[:, 0] ** 2 - points[:, 1] ** 2
    assert np.allclose(mesh.point_data["reference:u"], exact, rtol=0, atol=1e-12)
    assert np.allclose(mesh.point_data["error:u"], mesh.point_data["u"] - exact, rtol=0, atol=1e-12)


def test_the_triangles_leave_out_the_holes_and_cover_the_plate(plate):
    compiled, _, mesh = plate
    assert [c.type for c in mesh.cells] == ["triangle"]
    triangles = mesh.cells[0].data
    centroids = mesh.points[triangles].mean(axis=1)[:, :2]
    assert compiled.domain.contains(centroids).all()  # no triangle over a hole
    assert _areas(mesh.points, triangles).sum() == pytest.approx(compiled.domain.volume, rel=0.01)
    on_circle = np.abs(np.hypot(mesh.points[:, 0] - 0.2, mesh.points[:, 1] - 0.2) - 0.1) < 1e-9
    assert on_circle.sum() >= 10  # the holes' edges are points of the mesh


def test_an_l_shape_loses_its_notch():
    compiled = pdec.compile(L_SHAPE)
    points = eval_points(compiled.bounds, 800, compiled.domain)
    points = np.concatenate([points, boundary_points(points, compiled.variables, compiled.bounds, compiled.domain)])
    kind, triangles = cells(points, compiled.variables, compiled.bounds, compiled.domain)
    assert kind == "triangle"
    assert compiled.domain.contains(points[triangles].mean(axis=1)).all()
    assert 0.998 * 0.75 < _areas(points, triangles).sum() <= 0.75 + 1e-12  # the notch left out, the rest covered


def test_space_time_is_a_plane_and_one_variable_a_line(tmp_path):
    compiled = heat2d()
    pdec.fit(compiled, out=tmp_path / "heat", quiet=True, plots=False, vtu=True, **small(adam=2))
    mesh = meshio.read(tmp_path / "heat" / VTU)
    assert [c.type for c in mesh.cells] == ["triangle"]
    assert _areas(mesh.points, mesh.cells[0].data).sum() == pytest.approx(2.0, rel=1e-12)  # x in [-1, 1], t in [0, 1]
    pdec.fit(poisson1d(), out=tmp_path / "rod", quiet=True, plots=False, vtu=True, **small(adam=2))
    mesh = meshio.read(tmp_path / "rod" / VTU)
    lines = mesh.cells[0].data
    x = mesh.points[:, 0]
    assert mesh.cells[0].type == "line" and np.all(x[lines[:, 1]] >= x[lines[:, 0]])
    assert np.sum(x[lines[:, 1]] - x[lines[:, 0]]) == pytest.approx(1.0, rel=1e-12)  # from end to end
    assert len(lines) == len(x) - 1


def test_three_variables_make_tetrahedra_around_a_hole():
    compiled = pdec.compile(
        "var x in [-1, 1]\nvar y in [-1, 1]\ntime t in [0, 1]\nfield u(x, y, t)\n"
        "domain plate = rectangle - disk((0, 0), 0.4)\neq: u_t = lap(u)\nic: u = 0 at t = 0\n"
        "bc: u = 0 on boundary(plate)\n"
    )
    points = eval_points(compiled.bounds, 1500, compiled.domain)
    points = np.concatenate([points, boundary_points(points, compiled.variables, compiled.bounds, compiled.domain)])
    kind, tetrahedra = cells(points, compiled.variables, compiled.bounds, compiled.domain)
    assert kind == "tetra"
    assert compiled.domain.contains(points[tetrahedra].mean(axis=1)[:, :2]).all()
    corners = points[tetrahedra]
    volume = np.abs(np.linalg.det(corners[:, 1:] - corners[:, :1])).sum() / 6
    assert volume == pytest.approx(compiled.domain.volume * 1.0, rel=0.03)


def test_a_reference_data_set_gives_the_points_and_the_error(tmp_path):
    x = np.linspace(0, 1, 21)
    np.savetxt(tmp_path / "ref.csv", np.c_[x, np.sin(np.pi * x)], delimiter=",", header="x,u", comments="")
    (tmp_path / "sine.pde").write_text(
        "var x in [0, 1]\nfield u(x)\neq: u_xx = -pi^2*sin(pi*x)\nbc: u = 0 on boundary\n"
        'reference: "ref.csv" x = x, u = u\n'
    )
    result = pdec.fit(pdec.compile(tmp_path / "sine.pde"), out=tmp_path / "run", quiet=True, plots=False, vtu=True,
                      **small(adam=2))
    mesh = meshio.read(tmp_path / "run" / VTU)
    assert np.array_equal(mesh.points[:, 0], x)  # the reference's points, no others
    assert np.array_equal(mesh.point_data["reference:u"], np.sin(np.pi * x))
    assert np.array_equal(mesh.point_data["error:u"], result.predict(x[:, None])[:, 0] - np.sin(np.pi * x))


def test_pdec_predict_writes_vtu_on_the_points_given(plate, tmp_path):
    _, result, _ = plate
    grid = np.stack(np.meshgrid(np.linspace(-0.5, 0.5, 21), np.linspace(-0.5, 0.5, 21)), axis=-1).reshape(-1, 2)
    np.savetxt(tmp_path / "points.csv", grid, delimiter=",", header="x,y", comments="")
    assert main(["predict", str(result.run_dir), str(tmp_path / "points.csv"), "-o", str(tmp_path / "out.vtu")]) == 0
    mesh = meshio.read(tmp_path / "out.vtu")
    assert np.array_equal(mesh.points[:, :2], grid)  # the points given, no others
    assert np.array_equal(mesh.point_data["u"], load_result(result.run_dir).predict(grid)[:, 0])
    assert np.allclose(mesh.point_data["error:u"], mesh.point_data["u"] - (grid[:, 0] ** 2 - grid[:, 1] ** 2))
    assert "residual:pde:laplace" in mesh.point_data
    domain = pdec.compile(PLATE).domain
    assert domain.contains(grid[mesh.cells[0].data].mean(axis=1)).all()


@pytest.mark.parametrize("target", ["folder.vtu", "missing/out.vtu"])
def test_an_unwritable_vtu_is_a_located_error(plate, tmp_path, capsys, target):
    _, result, _ = plate
    (tmp_path / "folder.vtu").mkdir()
    np.savetxt(tmp_path / "points.csv", [[0.0, 0.0]], delimiter=",", header="x,y", comments="")
    assert main(["predict", str(result.run_dir), str(tmp_path / "points.csv"), "-o", str(tmp_path / target)]) == 1
    err = capsys.readouterr().err
    assert f"cannot write '{tmp_path / target}'" in err and "hint:" in err and "Traceback" not in err


def test_a_failed_write_keeps_no_partial_file(tmp_path, monkeypatch):
    def full_disk(path, mesh, file_format):
        open(path, "w").write("partial")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(meshio, "write", full_disk)
    with pytest.raises(PdecRunError, match="No space left on device") as caught:
        write_vtu(tmp_path / "s.vtu", np.zeros((1, 2)), ("x", "y"), ("vertex", np.zeros((1, 1), int)), {})
    assert caught.value.hint and list(tmp_path.iterdir()) == []


def test_without_meshio_a_run_says_how_to_get_it(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "meshio", None)  # import meshio raises ImportError
    pdec.fit(poisson1d(), out=tmp_path / "run", quiet=False, plots=False, vtu=True, **small(adam=2))
    assert not (tmp_path / "run" / VTU).exists()
    lines = [line for line in capsys.readouterr().err.splitlines() if VTU in line]
    assert len(lines) == 1 and "pip install 'pdec[vtu]'" in lines[0]
    np.savetxt(tmp_path / "points.csv", [[0.5]], delimiter=",", header="x", comments="")
    assert main(["predict", str(tmp_path / "run"), str(tmp_path / "points.csv"), "-o", str(tmp_path / "o.vtu")]) == 1
    assert "pdec[vtu]" in capsys.readouterr().err


def test_no_vtu_without_plots_unless_asked(tmp_path):
    pdec.fit(poisson1d(), out=tmp_path / "run", quiet=True, plots=False, **small(adam=2))
    assert not (tmp_path / "run" / VTU).exists()


def test_a_reference_is_interpolated_to_other_points():
    from types import SimpleNamespace

    from pdec.run.vtu import reference_at

    grid = np.stack(np.meshgrid(np.linspace(0, 1, 5), np.linspace(0, 2, 5)), axis=-1).reshape(-1, 2)
    readings = SimpleNamespace(fields=("u",), points=grid, values=(3 * grid[:, :1] - grid[:, 1:]))
    fields, values = reference_at(readings, np.array([[0.3, 0.7], [0.95, 1.9], [1.5, 0.0]]))
    assert fields == ("u",) and np.allclose(values[:2, 0], [0.2, 0.95], rtol=0, atol=1e-12)  # linear: exact
    assert np.isnan(values[2, 0])  # outside the readings
    line = SimpleNamespace(fields=("u",), points=np.array([[1.0], [0.0], [2.0]]), values=np.array([[1.0], [0], [4]]))
    assert np.allclose(reference_at(line, np.array([[0.5], [1.5], [3.0]]))[1][:, 0], [0.5, 2.5, np.nan],
                       equal_nan=True)
    assert reference_at(readings, grid)[1] is readings.values  # its own points: its own values
