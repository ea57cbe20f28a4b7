"""Exact constraints (pdec.compiler.constraints): the conditions marked ``exact`` hold by construction, to round-off."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
import torch

import pdec
from pdec.compiler.constraints import JOINS, CurvedPiece, blend, r_join
from pdec.nn.networks import make_net
from pdec.train.sampling import domain_points, region_points

ROOT = Path(__file__).resolve().parents[1]
HEAD = "var x in [0, 1]\ntime t in [0, 1]\nfield u(x, t)\neq heat: u_t = u_xx\n"
SPECS = {
    "heat_all_exact": HEAD
    + "ic: u = sin(pi*x) + x exact\nbc left: u = t^2 at x = 0 exact\nbc right: u = 1 + t at x = 1 exact\n",
    "heat_boundary_exact": HEAD + "ic: u = sin(pi*x)\nbc walls: u = 0 on boundary exact\n",
    "two_fields": "var x in [-1, 2]\nvar y in [0, 1]\nfield u(x, y), v(x, y)\n"
    "eq: u_xx + u_yy = v\neq: v_xx + v_yy = 1\nbc: u = x*y on boundary exact\nbc: v = cos(y) on boundary\n",
    "domain_pieces": "var x in [-1, 1]\nvar y in [-1, 1]\ntime t in [0, 1]\nfield u(x, y, t)\neq: u_t = lap(u)\n"
    "domain plate = rectangle - disk((0.3, 0.2), 0.3) - ellipse((-0.5, -0.4), (0.3, 0.2)) - disk((1, 1), 0.5)\n"
    "ic: u = x + y exact\nbc outer: u = x*t on boundary(rectangle) exact\n"
    "bc holes: u = sin(y) on boundary(disk1, ellipse1, disk2) exact\n",
}
EXAMPLES = [p for p in sorted((ROOT / "examples").glob("*.pde")) if " exact" in p.read_text(encoding="utf-8")]


def _specs():
    yield from SPECS.items()
    for path in EXAMPLES:
        yield path.stem, path


@pytest.mark.parametrize("join", sorted(JOINS))
@pytest.mark.parametrize("name, spec", list(_specs()), ids=[n for n, _ in _specs()])
def test_exact_conditions_hold_to_round_off_on_their_pieces(name, spec, join):
    compiled = pdec.compile(spec, dtype="float64", layers=[16, 16])
    constraints = compiled.constraints
    if join != constraints.join:
        constraints = dataclasses.replace(constraints, join=join)
        object.__setattr__(compiled, "constraints", constraints)
    net = make_net(compiled, compiled.settings, torch.device("cpu"), torch.float64)
    bounds = dict(compiled.bounds)
    for i, piece in enumerate(constraints.pieces):
        if isinstance(piece, CurvedPiece):  # a piece of a domain's boundary
            x = torch.as_tensor(domain_points(200, bounds, {}, compiled.domain, piece.label, "random", seed=i))
        else:  # a face (in the domain, if there is one)
            face = {compiled.variables[piece.column]: piece.value}
            x = torch.as_tensor(region_points(200, bounds, face, "random", i, compiled.domain))
        wanted = constraints.values(x)[:, i]
        got = net(x)[:, piece.field].detach()
        assert float((got - wanted).abs().max()) <= 1e-12 * (1 + float(wanted.abs().max())), (name, piece)


def test_exact_conditions_leave_the_loss():
    compiled = pdec.compile(SPECS["heat_boundary_exact"])
    assert list(compiled.terms) == ["pde:heat", "ic:ic1"]
    assert compiled.constraints.terms == ("bc:walls",)
    assert [c.exact for c in compiled.problem.conditions] == [False, True]


def test_no_exact_condition_keeps_the_plain_network():
    compiled = pdec.compile(HEAD + "ic: u = sin(pi*x)\nbc walls: u = 0 on boundary\n")
    assert not compiled.constraints
    net = make_net(compiled, compiled.settings, torch.device("cpu"), torch.float32)
    assert type(net).__name__ == "MLP"


def test_unparse_round_trips_the_exact_keyword():
    from pdec.core.source import Source
    from pdec.language.parse import parse
    from pdec.language.syntax import build, unparse

    text = HEAD + "ic: u = sin(pi*x) exact\nperiodic: u in x exact\n"
    spec = build(parse(Source(text)), Source(text))
    again = unparse(spec)
    assert again.count(" exact") == 2
    assert build(parse(Source(again)), Source(again)).statements[-1].exact is not None


def test_r_join_vanishes_where_either_distance_does_and_stays_finite_at_corners():
    a = torch.tensor([0.0, 0.3, 0.0, 0.5], dtype=torch.float64, requires_grad=True)
    b = torch.tensor([0.4, 0.0, 0.0, 0.5], dtype=torch.float64, requires_grad=True)
    d = r_join(a, b)
    d0 = d.detach()
    assert d0[:2].abs().max() == 0 and abs(float(d0[2])) < 1e-150 and d0[3] > 0  # a corner: sqrt(tiny)
    d.sum().backward()
    assert torch.isfinite(a.grad).all() and torch.isfinite(b.grad).all()


def test_blend_equals_each_piece_on_it():
    rng = np.random.default_rng(0)
    d = [torch.as_tensor(rng.random((50, 1))) for _ in range(3)]
    g = [torch.full((50, 1), float(k)) for k in range(3)]
    for k in range(3):
        on = [x.clone() for x in d]
        on[k] = torch.zeros_like(on[k])
        assert torch.equal(blend(on, g), g[k])


def test_a_constrained_run_resumes_and_reloads_from_its_directory(tmp_path):
    from pdec.run.results import load_result

    spec = "var x in [0, 1]\nfield u(x)\neq: u_xx = -pi^2*sin(pi*x)\nbc: u = 0 on boundary exact\n"
    compiled = pdec.compile(spec, network="modified_mlp", fourier_features=4, layers=[8, 8])
    pdec.fit(compiled, adam=10, lbfgs=0, interior=32, out=tmp_path / "run", quiet=True, plots=False)
    result = pdec.fit(pdec.compile(spec), resume=tmp_path / "run", adam=20, quiet=True, plots=False)
    assert result.metrics["steps"] == 20
    loaded = load_result(tmp_path / "run")  # rebuilt from the run's spec and settings: same network, same weights
    points = np.linspace(0, 1, 11)[:, None]
    assert np.array_equal(loaded.predict(points), result.predict(points))
    assert abs(loaded.predict(np.array([[0.0], [1.0]]))).max() < 1e-6  # the exact walls hold after the reload


def test_a_run_reloads_from_another_working_directory(tmp_path, monkeypatch):
    """The spec's relative data path resolves as it did for the run, wherever the run is loaded from."""
    from pdec.run.results import load_result

    folder = tmp_path / "specs"
    (folder / "data").mkdir(parents=True)
    x = np.linspace(0, 1, 11)
    np.savetxt(folder / "data" / "ref.csv", np.c_[x, np.sin(np.pi * x)], delimiter=",", header="x,u", comments="")
    (folder / "sine.pde").write_text(
        "var x in [0, 1]\nfield u(x)\neq: u_xx = -pi^2*sin(pi*x)\nbc: u = 0 on boundary exact\n"
        'reference: "data/ref.csv" x = x, u = u\n'
    )
    monkeypatch.chdir(tmp_path)
    result = pdec.fit(pdec.compile("specs/sine.pde"), adam=5, lbfgs=0, interior=16, out="run", quiet=True, plots=False)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    loaded = load_result(tmp_path / "run")  # rebuilt from the spec, whose data path is relative to specs/
    assert np.array_equal(loaded.predict(x[:, None]), result.predict(x[:, None]))


GLOBAL = """var x in [0, 1]
var y in [0, 1]
field u(x, y)
eq: lap(u) = -2*pi^2*sin(pi*x)*sin(pi*y)
bc walls: u = 0 on boundary
bc flux: u_x = pi*sin(pi*y) at x = 0
exact: u = sin(pi*x)*sin(pi*y)
train:
  exact_conditions = true
"""


def test_exact_conditions_makes_every_value_condition_exact_and_keeps_the_rest():
    compiled = pdec.compile(GLOBAL)
    assert compiled.constraints.terms == ("bc:walls",)
    assert list(compiled.terms) == ["pde:eq1", "bc:flux"]  # a derivative condition stays a loss term
    addressed = pdec.compile(GLOBAL.replace("train:\n", "train:\n  weight.walls = 10\n"))
    assert "bc:walls" in addressed.terms and not addressed.constraints  # weighted by name: the user wants a loss term
    assert "bc:walls" in pdec.compile(GLOBAL.replace("  exact_conditions = true\n", "")).terms  # off by default


def test_exact_conditions_periodic_and_initial_values():
    spec = (
        "var x in [0, 2*pi]\ntime t in [0, 1]\nfield u(x, t), v(x, t)\neq: u_t + u_x = v\neq: v_t = v_xx\n"
        "ic: u = sin(x)\nic: v = 0\nperiodic: u in x\ntrain:\n  exact_conditions = true\n"
    )
    compiled = pdec.compile(spec)
    assert set(compiled.constraints.terms) == {"ic:ic1", "ic:ic2"}
    assert "bc:periodic1" in compiled.terms  # v depends on x but is not named: an embedding would force it periodic
    both = pdec.compile(spec.replace("periodic: u in x", "periodic: u, v in x"))
    assert both.constraints.periodic and "bc:periodic1" not in both.terms


def test_exact_conditions_train_to_the_walls_and_is_compile_time(tmp_path):
    compiled = pdec.compile(GLOBAL, layers=[16, 16])
    result = pdec.fit(compiled, adam=300, lbfgs=0, interior=256, out=tmp_path / "run", quiet=True, plots=False)
    walls = np.array([[0.0, 0.3], [1.0, 0.7], [0.4, 0.0], [0.6, 1.0]])
    assert abs(result.predict(walls)).max() < 1e-6
    assert result.metrics["errors"]["u"] < 0.5  # u = 0 scores 1 (300 steps: 0.39; soft walls: 0.17)
    with pytest.raises(pdec.PdecError, match="compile-time"):
        pdec.fit(pdec.compile(GLOBAL), exact_conditions=False, adam=1)


def test_blend_takes_the_shared_value_where_pieces_meet():
    # Two walls meeting at a corner, both with value 1 there: every product weight vanishes at the corner itself.
    d = [torch.tensor([[0.0], [0.0], [0.5]], requires_grad=True), torch.tensor([[0.0], [0.25], [0.5]])]
    g = [torch.ones(3, 1), torch.tensor([[1.0], [3.0], [3.0]])]
    out = blend(d, g)
    assert out[0, 0] == 1.0 and out[1, 0] == 1.0 and out[2, 0] == 2.0  # corner, first wall, halfway
    out.sum().backward()
    assert torch.isfinite(d[0].grad).all()


def test_the_plate_with_holes_holds_its_corners():
    # PINNacle's Poisson2d-C: u = 1 on the square's edges (and so at its corners), u = 0 on the circles.
    compiled = pdec.compile(ROOT / "examples" / "poisson_holes.pde", layers=[8, 8])

    net = make_net(compiled, compiled.settings, torch.device("cpu"), torch.float32)
    corners = torch.tensor([[-0.5, -0.5], [0.5, 0.5], [-0.5, 0.5], [0.5, -0.5], [0.0, -0.5], [0.4, 0.3]])
    with torch.no_grad():
        u = net(corners)[:, 0]
    assert torch.equal(u[:5], torch.ones(5)) and abs(float(u[5])) < 1e-6  # (0.4, 0.3) lies on a circle
