"""Domains: `domain` statements, conditions on their boundary pieces with exact normals, sampling, check, training."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from pdec.compiler.driver import compile
from pdec.language.display import describe, latex
from pdec.language.frontend import load, parse_spec, read
from pdec.language.syntax import Combination, DomainStmt, unparse
from pdec.train.sampling import Sampler, eval_points

PLATE = """\
var x in [-0.5, 0.5]
var y in [-0.5, 0.5]
field u(x, y)
domain hole = disk((0.3, 0.3), 0.1)
domain plate = rectangle - hole - disk((-0.3, 0.3), 0.1)
eq laplace: lap(u) = 0
bc outer: u = x^2 - y^2 on boundary(rectangle)
bc holes: u = x^2 - y^2 on boundary(hole, disk1)
exact: u = x^2 - y^2
"""


def spec(text):
    return parse_spec(read(text))


# ---------------------------------------------------------------------------------------------------- syntax


def test_domains_parse_and_print_back():
    parsed = spec(PLATE)
    statement = parsed.statements[4]
    assert isinstance(statement, DomainStmt) and isinstance(statement.region, Combination)
    assert unparse(statement) == "domain plate = rectangle - hole - disk((-0.3, 0.3), 0.1)"
    assert unparse(spec(unparse(parsed))) == unparse(parsed)


@pytest.mark.parametrize(
    "written, printed",
    [
        ("a - b & c", "a - b & c"),  # & binds tighter: a - (b & c)
        ("(a - b) & c", "(a - b) & c"),
        ("(a - b) - c", "a - b - c"),  # left to right: the same set
        ("a - (b - c)", "a - (b - c)"),
        ("a | b + c", "a | b + c"),
        ("polygon((0, 0), (1, 0), (0, 1))", "polygon((0, 0), (1, 0), (0, 1))"),
        ("ellipse((0, 0), (2*pi, 1))", "ellipse((0, 0), (2*pi, 1))"),
    ],
)
def test_domain_expressions_round_trip(written, printed):
    text = f"domain dom = {written}\n"
    assert unparse(spec(text).statements[0]) == printed.join(["domain dom = ", ""])
    assert spec(unparse(spec(text))) == spec(text)


def test_intersection_binds_tighter_than_difference():
    text = "var x in [0, 1]\nvar y in [0, 1]\nfield u\neq: lap(u) = 0\nbc: u = 0 on boundary\n"
    a = "rectangle((0, 0), (1, 1))"
    b = "disk((0.5, 0.5), 0.5)"
    c = "rectangle((0, 0), (0.5, 1))"
    tight = load(text + f"domain dom = {a} - {b} & {c}\n").domain  # a minus the left half of the disk
    loose = load(text + f"domain dom = ({a} - {b}) & {c}\n").domain  # the left half of a, minus the disk
    assert tight.volume == pytest.approx(1 - math.pi / 8, rel=1e-3)
    assert loose.volume == pytest.approx(0.5 - math.pi / 8, rel=1e-3)


# ---------------------------------------------------------------------------------------------------- checking


def test_check_shows_domains_areas_pieces_and_normals():
    problem = load(PLATE)
    text = describe(problem)
    assert "hole = disk((0.3, 0.3), 0.1): area 0.0314159 (exact)" in text
    # both holes lie inside the plate and apart: 1 - 2 pi 0.1^2, exactly
    assert "plate = rectangle - hole - disk((-0.3, 0.3), 0.1): area 0.937168 (exact)  (the problem's domain)" in text
    assert "  hole: circle, length 0.628319 (the whole circle), normal (3 - 10*x, 3 - 10*y)" in text
    assert "  rectangle:x=-0.5: edge, length 1 (the whole edge), normal (-1, 0)" in text
    assert "bc holes: u = x**2 - y**2  on hole, disk1" in text
    assert r"\in \Omega_{\text{plate}}" in latex(problem)
    assert problem.domain.volume == pytest.approx(1 - 0.02 * math.pi, rel=1e-14)
    assert not problem.warnings


def test_without_a_domain_statement_nothing_changes():
    problem = load("var x in [0, 1]\nfield u(x)\neq: u_xx = 1\nbc: u = 0 on boundary\n")
    assert problem.domain is None and compile(problem).domain is None


def test_a_named_composite_addresses_all_its_pieces():
    problem = load(PLATE.replace("domain plate", "domain holes = hole + disk((-0.3, 0.3), 0.1)\ndomain plate")
                   .replace("rectangle - hole - disk((-0.3, 0.3), 0.1)", "rectangle - holes")
                   .replace("on boundary(hole, disk1)", "on boundary(holes)"))
    holes = next(c for c in problem.conditions if c.name == "holes")
    assert [p.boundary for p in holes.pieces] == ["hole", "disk1"]


def test_faces_and_variables_select_flat_pieces():
    text = PLATE.replace("bc outer: u = x^2 - y^2 on boundary(rectangle)",
                         "bc left: u = 0 at x = -0.5\nbc ends: dn(u) = 0 on boundary(y)\nbc right: u = 0 at x = 0.5")
    problem = load(text)
    pieces = {c.name: [p.boundary for p in c.pieces] for c in problem.conditions}
    assert pieces["left"] == ["rectangle:x=-0.5"]
    assert pieces["ends"] == ["rectangle:y=-0.5", "rectangle:y=0.5"]
    ends = next(c for c in problem.conditions if c.name == "ends")
    assert [str(p.residual) for p in ends.pieces] == ["-Derivative(u(x, y), y)", "Derivative(u(x, y), y)"]


def test_uncovered_pieces_are_a_warning():
    problem = load(PLATE.replace("bc holes: u = x^2 - y^2 on boundary(hole, disk1)\n", ""))
    assert [w.message for w in problem.warnings] == [
        "no boundary condition on hole, disk1 (pieces of the boundary of 'plate')"
    ]


def test_the_known_part_is_checked_on_the_domain_not_the_box():
    """log(r) is infinite at the origin, which the annulus leaves out: no warning; on the box there is one."""
    ring = "var x in [-1, 1]\nvar y in [-1, 1]\nfield u\neq: lap(u) = 0\nbc: u = log(x^2 + y^2) on boundary\n"
    assert not load(ring + "domain ring = disk((0, 0), 1) - disk((0, 0), 0.5)\n").warnings
    assert not load(ring.replace("log(x^2 + y^2)", "log(x^2 + y^2 - 0.25)") + "domain dom = disk((0, 0), 1)\n").warnings
    bad = load(ring.replace("bc:", "eq e2: u = log(x^2 + y^2)\nbc:") + "domain dom = disk((0, 0), 1)\n")
    assert any("not finite" in w.message for w in bad.warnings)


def test_a_point_condition_inside_the_domain():
    problem = load(PLATE + "bc pin: u = 0 at x = 0, y = 0\n")
    (piece,) = next(c for c in problem.conditions if c.name == "pin").pieces
    assert piece.region == {"x": 0.0, "y": 0.0}


HULL = """\
var x in [0, 1]
var y in [0, 1]
field u(x, y)
eq: lap(u) = 0
domain hull = polygon((0, 0), (1, 0), (1, 0.4), (0.5, 0.6), (0, 0.4))
bc bottom: u = 1 on boundary(hull:1)
bc roof: dn(u) = 0 on boundary(hull:3, hull:4)
bc sides: u = 0 on boundary(hull:2, hull:5)
train:
  boundary = 400
"""


def test_polygon_edges_are_named_as_check_labels_them():
    parsed = spec(HULL)
    assert unparse(parsed.statements[5]) == "bc bottom: u = 1 on boundary(hull:1)"
    assert unparse(spec(unparse(parsed))) == unparse(parsed)
    problem = load(HULL)
    pieces = {c.name: [p.boundary for p in c.pieces] for c in problem.conditions}
    assert pieces == {"bottom": ["hull:1"], "roof": ["hull:3", "hull:4"], "sides": ["hull:2", "hull:5"]}
    assert not problem.warnings  # every piece has its condition
    shown = describe(problem)
    assert "hull:3: edge" in shown and "on hull:3, hull:4" in shown  # the labels check prints are the names
    roof = next(c for c in problem.conditions if c.name == "roof")
    assert [str(p.residual) for p in roof.pieces] == [
        "2*sqrt(29)*Derivative(u(x, y), x)/29 + 5*sqrt(29)*Derivative(u(x, y), y)/29",
        "-2*sqrt(29)*Derivative(u(x, y), x)/29 + 5*sqrt(29)*Derivative(u(x, y), y)/29",
    ]


def test_a_polygon_edge_condition_samples_that_edge_only():
    compiled = compile(HULL)
    points = Sampler(compiled, compiled.settings).draw(0)
    bottom = [name for name in points if name.startswith("bc:bottom")]
    assert len(bottom) == 1
    edge = points[bottom[0]]
    assert len(edge) > 0 and np.all(edge[:, 1] == 0) and np.all((edge[:, 0] >= 0) & (edge[:, 0] <= 1))
    for name in ("roof", "sides"):
        for key in (k for k in points if k.startswith(f"bc:{name}")):
            assert not np.any(points[key][:, 1] == 0), key  # none of the others' points on the bottom edge
    sides = np.concatenate([p for k, p in points.items() if k.startswith("bc:sides")])
    assert np.all((sides[:, 0] == 0) | (sides[:, 0] == 1)) and np.all(sides[:, 1] <= 0.4 + 1e-12)
    roof = np.concatenate([p for k, p in points.items() if k.startswith("bc:roof")])
    np.testing.assert_allclose(roof[:, 1], 0.6 - 0.4 * np.abs(roof[:, 0] - 0.5), atol=1e-12)  # the two roof edges


def test_an_edge_of_a_hole_polygon_is_named_by_its_automatic_label():
    text = ("var x in [0, 1]\nvar y in [0, 1]\nfield u(x, y)\neq: lap(u) = 0\n"
            "domain plate = rectangle - polygon((0.5, 0), (1, 0), (1, 0.5))\n"
            "bc walls: u = 0 on boundary(rectangle)\nbc cut: u = 1 on boundary(polygon1:3)\n")
    problem = load(text)
    cut = next(c for c in problem.conditions if c.name == "cut")
    assert [p.boundary for p in cut.pieces] == ["polygon1:3"]  # edges 1 and 2 lie on the rectangle's: covered


# ---------------------------------------------------------------------------------------------------- sampling


def test_interior_points_are_exactly_n_inside_and_reproducible():
    compiled = compile(PLATE + "train:\n  interior = 1000\n  boundary = 300\n")
    points = Sampler(compiled, compiled.settings).draw(0)
    inside = points["interior"]
    assert inside.shape == (1000, 2) and compiled.domain.contains(inside).all()
    again = Sampler(compiled, compiled.settings).draw(0)
    for name in points:
        np.testing.assert_array_equal(points[name], again[name])
    other = Sampler(compiled, compiled.settings.replace(seed=1)).draw(0)
    assert not np.allclose(other["interior"], inside)
    assert not np.allclose(Sampler(compiled, compiled.settings).draw(1)["interior"], inside)


def test_boundary_points_follow_the_measure_of_each_piece_on_the_boundary():
    text = PLATE.replace("disk((0.3, 0.3), 0.1)", "disk((0.5, 0.0), 0.2)")  # a notch: half a circle, edge x = 0.5 cut
    compiled = compile(text + "train:\n  boundary = 1000\n  points.holes = 100\n")
    sampler = Sampler(compiled, compiled.settings)
    points = sampler.draw(0)
    outer = {name: len(p) for name, p in points.items() if name.startswith("bc:outer@")}
    assert sum(outer.values()) == 1000
    assert outer["bc:outer@rectangle:x=0.5"] == pytest.approx(1000 * 0.6 / 3.6, abs=2)  # 1 - 0.4 of the edge
    holes = {name: len(p) for name, p in points.items() if name.startswith("bc:holes@")}
    assert holes["bc:holes@hole"] == pytest.approx(100 * 0.2 * math.pi / (0.2 * math.pi + 0.2 * math.pi), abs=1)
    for name, p in points.items():
        if name == "interior":
            continue
        piece = compiled.domain.piece(compiled.point_sets[name].boundary)
        assert compiled.domain.on_boundary(piece, p).all(), name
    notch = points["bc:holes@hole"]
    np.testing.assert_allclose(np.hypot(notch[:, 0] - 0.5, notch[:, 1]), 0.2)
    assert (notch[:, 0] < 0.5).all()


def test_time_dependent_problems_are_the_domain_times_the_interval():
    text = (
        "var x in [-1, 1]\nvar y in [-1, 1]\ntime t in [0, 2]\nfield u(x, y, t)\n"
        "domain dom = disk((0, 0), 1) - polygon((-0.2, -0.2), (0.2, -0.2), (0, 0.3))\n"
        "eq heat: u_t = lap(u)\nic: u = 1 - x^2 - y^2\nbc rim: u = 0 on boundary\n"
        "train:\n  interior = 500\n  boundary = 400\n  points.ic1 = 300\n"
    )
    compiled = compile(text)
    points = Sampler(compiled, compiled.settings).draw(0)
    assert compiled.domain.contains(points["interior"][:, :2]).all()
    assert points["interior"][:, 2].min() < 0.1 and points["interior"][:, 2].max() > 1.9
    initial = points["ic:ic1@t=0"]
    assert initial.shape == (300, 3) and (initial[:, 2] == 0).all() and compiled.domain.contains(initial[:, :2]).all()
    rim = points["bc:rim@disk1"]
    np.testing.assert_allclose(np.hypot(rim[:, 0], rim[:, 1]), 1.0)
    assert rim[:, 2].min() < 0.1 and rim[:, 2].max() > 1.9
    counts = {n: len(p) for n, p in points.items() if n.startswith("bc:rim@")}
    assert counts["bc:rim@disk1"] == pytest.approx(400 * 2 * math.pi / (2 * math.pi + 0.4 + 2 * math.hypot(0.2, 0.5)),
                                                   abs=1)


def test_evaluation_points_lie_in_the_domain():
    compiled = compile(PLATE)
    points = eval_points(compiled.bounds, 500, compiled.domain)
    assert points.shape == (500, 2) and compiled.domain.contains(points).all()


def test_three_dimensional_box_minus_a_ball():
    text = (
        "var x in [0, 1]\nvar y in [0, 1]\nvar z in [0, 1]\nfield u\n"
        "domain cavity = box - ball((0.5, 0.5, 0.5), 0.25)\n"
        "eq: lap(u) = 0\nbc walls: u = 0 on boundary(box)\nbc sphere: dn(u) = 1 on boundary(ball1)\n"
        "train:\n  interior = 400\n  boundary = 600\n"
    )
    compiled = compile(text, dtype="float64")
    assert compiled.domain.volume == pytest.approx(1 - 4 / 3 * math.pi / 64, rel=2e-3)
    points = Sampler(compiled, compiled.settings).draw(0)
    sphere = points["bc:sphere@ball1"]
    np.testing.assert_allclose(np.linalg.norm(sphere - 0.5, axis=1), 0.25)
    assert len(points["bc:walls@box:x=0"]) == 100

    def net(X):  # u = |p - c|^2: on the sphere dn(u) = -(p - c)/r . 2 (p - c) = -2 r
        return ((X - 0.5) ** 2).sum(dim=1, keepdim=True)

    residual = compiled.evaluate(net, {"bc:sphere@ball1": torch.as_tensor(sphere)})["bc:sphere"]
    np.testing.assert_allclose(residual.detach().numpy(), -2 * 0.25 - 1, atol=1e-12)


# ---------------------------------------------------------------------------------------------------- residuals


ROBIN = """\
var x in [-1, 1]
var y in [-1, 1]
field u(x, y)
const cx = 0.2
const cy = -0.1
const r = 0.7
domain dom = disk((cx, cy), r)
eq poisson: lap(u) = 4 + exp(x)*sin(y) - exp(x)*sin(y)
bc robin: u + 2*dn(u) = x^2 + y^2 + exp(x)*sin(y) \
    + 2*((x - cx)*(2*x + exp(x)*sin(y)) + (y - cy)*(2*y + exp(x)*cos(y)))/r on boundary
exact: u = x^2 + y^2 + exp(x)*sin(y)
"""


def exact_net(X):
    x, y = X[:, :1], X[:, 1:2]
    return x**2 + y**2 + torch.exp(x) * torch.sin(y)


@pytest.mark.parametrize("lowering", ["autograd", "forward"])
def test_manufactured_robin_condition_on_a_disk_vanishes_to_round_off(lowering):
    compiled = compile(ROBIN + "train:\n  boundary = 256\n  interior = 256\n", dtype="float64", lowering=lowering)
    points = {k: torch.as_tensor(v) for k, v in Sampler(compiled, compiled.settings).draw(0).items()}
    residuals = compiled.evaluate(exact_net, points)
    assert set(residuals) == {"pde:poisson", "bc:robin"} and residuals["bc:robin"].shape == (256, 1)
    for name, residual in residuals.items():
        assert residual.abs().max().item() < 1e-12, name
    wrong = compiled.evaluate(lambda X: exact_net(X) + 0.01 * X[:, :1], points)["bc:robin"]  # the check has teeth
    assert wrong.abs().max().item() > 1e-3


def test_the_normal_of_a_hole_points_out_of_the_domain():
    """An annulus: Neumann data of u = r^2 is +2r on the outer circle and -2r on the inner (the normal flipped)."""
    text = (
        "var x in [-1, 1]\nvar y in [-1, 1]\nfield u\ndomain ring = disk((0, 0), 1) - disk((0, 0), 0.4)\n"
        "eq: lap(u) = 4\nbc outer: dn(u) = 2 on boundary(disk1)\nbc inner: dn(u) = -0.8 on boundary(disk2)\n"
        "bc pin: u = 1 at x = 1, y = 0\n"
    )
    compiled = compile(text, dtype="float64")
    points = {k: torch.as_tensor(v) for k, v in Sampler(compiled, compiled.settings).draw(0).items()}
    residuals = compiled.evaluate(lambda X: (X**2).sum(dim=1, keepdim=True), points)
    for name, residual in residuals.items():
        assert residual.abs().max().item() < 1e-12, name


def test_neumann_on_ellipse_and_polygon_edges():
    """u = x + 2y: dn(u) = n . (1, 2), with n the exact normal of each piece."""
    text = (
        "var x in [-1, 1]\nvar y in [-1, 1]\nfield u\n"
        "domain dom = rectangle - ellipse((0.3, 0.2), (0.3, 0.2)) - polygon((-0.8, -0.8), (-0.2, -0.8), (-0.5, -0.2))\n"
        "eq: lap(u) = 0\nbc walls: u = x + 2*y on boundary(rectangle)\n"
        "bc egg: dn(u) = -((x - 0.3)/0.09 + 2*(y - 0.2)/0.04) / sqrt(((x - 0.3)/0.09)^2 + ((y - 0.2)/0.04)^2) "
        "on boundary(ellipse1)\nbc tri: dn(u) = 0 on boundary(polygon1)\n"
    )
    compiled = compile(text, dtype="float64")
    points = {k: torch.as_tensor(v) for k, v in Sampler(compiled, compiled.settings).draw(0).items()}
    residuals = compiled.evaluate(lambda X: X[:, :1] + 2 * X[:, 1:2], points)
    assert residuals["bc:egg"].abs().max().item() < 1e-12
    normals = {  # (dy, -dx)/length of each counter-clockwise edge, flipped: the triangle is a hole
        "polygon1:1": np.array([0.0, 1.0]),
        "polygon1:2": -np.array([0.6, 0.3]) / math.hypot(0.6, 0.3),
        "polygon1:3": -np.array([-0.6, 0.3]) / math.hypot(0.6, 0.3),
    }
    for label, normal in normals.items():
        residual = compiled.evaluate(lambda X: X[:, :1] + 2 * X[:, 1:2], {f"bc:tri@{label}": points[f"bc:tri@{label}"]})
        np.testing.assert_allclose(residual["bc:tri"].numpy(), normal @ [1.0, 2.0], atol=1e-12)


# ---------------------------------------------------------------------------------------------------- training


def test_plate_with_a_hole_learns_a_harmonic_function(tmp_path):
    from pdec import fit

    torch.set_num_threads(1)
    text = PLATE + "train:\n  layers = [20, 20]\n  interior = 256\n  boundary = 128\n  adam = 400\n  lr = 5e-3\n" \
        "  lbfgs = 150\n  seed = 0\n"
    result = fit(compile(text), out=tmp_path / "run", quiet=True)
    assert result.metrics["errors"]["u"] < 0.05  # the trivial u = 0 has error 1
    assert (tmp_path / "run" / "plots" / "domain.png").is_file()
    grid = np.array([[-0.4, -0.4], [0.0, 0.0], [0.4, -0.1], [-0.1, 0.45]])
    assert np.abs(result.predict(grid)[:, 0] - (grid[:, 0] ** 2 - grid[:, 1] ** 2)).max() < 0.05


def test_adaptive_samplers_and_synthetic_observations_stay_in_the_domain():
    from pdec.train.inverse import sample_exact
    from pdec.train.sampling import SamplingContext, make_sampler

    for rule in ("rad", "rar_d"):
        compiled = compile(PLATE + f"train:\n  sampler = {rule}\n  resample = 10\n  interior = 64\n", dtype="float64")
        sampler = make_sampler(compiled, compiled.settings)
        context = SamplingContext(lambda X: X[:, :1] ** 3, compiled, compiled.unknowns)  # lap = 6x: not zero
        for round_ in (0, 1, 2):
            inside = sampler.draw(round_, None, context)["interior"]
            assert compiled.domain.contains(inside).all(), (rule, round_)
    points, values, fields = sample_exact(compile(PLATE, dtype="float64"), 200, seed=3)
    assert points.shape == (200, 2) and compiled.domain.contains(points).all() and fields == ("u",)
    np.testing.assert_allclose(values[:, 0], points[:, 0] ** 2 - points[:, 1] ** 2)


def test_exact_conditions_on_pieces_need_a_distance_positive_inside():
    from pdec.core.errors import PdecSemanticError

    head = "var x in [-1, 1]\nvar y in [-1, 1]\nfield u\neq: lap(u) = 0\n"
    ok = compile(head + "domain dom = rectangle - disk((0, 0), 0.3)\nbc: u = 0 on boundary exact\n")
    assert not ok.terms.keys() - {"pde:eq1"} and len(ok.constraints.pieces) == 5
    with pytest.raises(PdecSemanticError, match="the implicit form of that piece passes through the domain"):
        load(head + "domain dom = disk((0, 0), 0.5) + disk((0.5, 0), 0.5)\nbc: u = 0 on boundary exact\n")
    with pytest.raises(PdecSemanticError, match="does not depend on y"):
        load(head.replace("field u", "field u(x), v(x, y)") + "eq: lap(v) = 0\n"
             "domain dom = rectangle - disk((0, 0), 0.3)\nbc: u = 0 on boundary(disk1) exact\n")


def test_a_one_dimensional_domain_of_two_intervals():
    spec = "var x in [0, 2]\nfield u(x)\ndomain rods = interval(0, 1) + interval(1.5, 2)\neq: u_xx = 0\n" \
        "bc ends: u = x on boundary\n"
    compiled = compile(spec)
    assert compiled.terms["bc:ends"].isolated  # four end points: one row each
    points = Sampler(compiled, compiled.settings).draw(0)
    assert [p.tolist() for n, p in points.items() if n != "interior"] == [[[0.0]], [[1.0]], [[1.5]], [[2.0]]]
    inside = points["interior"][:, 0]
    assert len(inside) == 500 and not ((inside > 1) & (inside < 1.5)).any()
    assert "interval1:x=1: end, a point, normal (1)" in describe(compiled.problem)
