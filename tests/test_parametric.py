"""Parametric problems (``param k in [lo, hi]``): checking, sampling, compiling, training once, predicting, inferring.

The trained case is the family ``u_xx = k^2 u``, ``u(0) = 1``, ``u(1) = exp(-k)`` for ``k`` in [0.5, 2], whose
solution is ``exp(-k x)``: one network for every ``k``.
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import sympy

import pdec
from pdec.core.errors import PdecDataError, PdecError, PdecNameError, PdecRunError, PdecSemanticError
from pdec.language import syntax as ast
from pdec.language.display import describe
from pdec.language.parse import parse
from pdec.language.problem import field_function, symbol

FAMILY = """\
var x in [0, 1]
param k in [0.5, 2]
field u(x)
eq decay: u_xx = k^2*u
bc left: u = 1 at x = 0
bc right: u = exp(-k) at x = 1
exact: u = exp(-k*x)
"""
TRAIN = """\
train:
  layers = [20, 20, 20]
  interior = 256
  boundary = 64
  adam = 600
  iterations = 300
  eval_points = 2000
"""
HEAT = "var x in [0, 1]\ntime t in [0, 1]\nfield u(x, t)\nic: u = sin(pi*x)\nbc: u = 0 on boundary\n"


def spec(text: str) -> ast.Spec:
    from pdec.core.source import Source

    return ast.build(parse(Source(text, "<t>")), Source(text, "<t>"))


# ------------------------------------------------------------------------------------------------------- language


def test_param_parses_and_prints_back():
    statement = spec("param nu in [0.005/pi, 0.05/pi]\n").statements[0]
    assert isinstance(statement, ast.ParamDecl) and statement.name.name == "nu"
    assert ast.unparse(statement) == "param nu in [0.005/pi, 0.05/pi]"


def test_a_parameter_is_an_input_after_the_variables_and_every_field_depends_on_it():
    problem = pdec.load("param k in [1, 2]\n" + HEAT + "eq: u_t = k*u_xx\nexact: u = exp(-k*pi^2*t)*sin(pi*x)\n")
    assert [v.name for v in problem.variables] == ["x", "t", "k"]
    assert [v.name for v in problem.parameters] == ["k"] and [v.name for v in problem.spatial] == ["x"]
    assert problem.field("u").args == ("x", "t", "k")
    x, t, k = symbol("x"), symbol("t"), symbol("k")
    u = field_function("u")(x, t, k)
    assert problem.equations[0].residual == u.diff(t) - k * u.diff(x, 2)
    assert problem.exact["u"] == sympy.exp(-k * sympy.pi**2 * t) * sympy.sin(sympy.pi * x)
    assert {p.face.variable for c in problem.conditions for p in c.pieces} == {"x", "t"}  # no face of k


@pytest.mark.parametrize("equation", ["u(x, t) = k", "u(x, t, k) = k", "u(t, k, x) = k"])
def test_a_field_is_applied_with_or_without_its_parameters(equation):
    problem = pdec.load("param k in [1, 2]\n" + HEAT + f"eq: u_t - lap(u) + {equation}\n")
    x, t, k = symbol("x"), symbol("t"), symbol("k")
    u = field_function("u")(x, t, k)
    assert problem.equations[0].residual == u.diff(t) - u.diff(x, 2) + u - k  # lap leaves k out


def test_the_spec_may_differentiate_in_a_parameter():
    problem = pdec.load("param k in [1, 2]\n" + HEAT + "eq: u_t = u_xx + k*d(u, k) + u_k\n")
    k = symbol("k")
    assert field_function("u")(symbol("x"), symbol("t"), k).diff(k) in problem.equations[0].residual.atoms(
        sympy.Derivative
    )


@pytest.mark.parametrize(
    "text, error, fragment, caret",
    [
        ("param k in [2, 1]", PdecSemanticError, "empty interval [2, 1] for parameter 'k'", "2, 1"),
        ("param k in [1, 1]", PdecSemanticError, "empty interval", "1, 1"),
        ("param k in [a, 2]", PdecNameError, "unknown name 'a'", "a"),
        ("param k in [0, x]", PdecSemanticError, "cannot use the variable 'x'", "x"),
        ("param k in [0, 1e999]", PdecSemanticError, "too large", "1e999"),
        ("param k in [0, sqrt(-1)]", PdecSemanticError, "not a real number", "sqrt(-1)"),
        ("param x in [1, 2]", PdecNameError, "'x' is already declared as a variable", "x"),
        ("param u in [1, 2]", PdecNameError, "'u' is already declared as a field", "u"),
        ("param in in [1, 2]", PdecError, "", "in"),
        ("const k = 1\nparam k in [1, 2]", PdecNameError, "already declared as a constant", "k"),
    ],
)
def test_bad_parameter_declarations_are_located_errors(text, error, fragment, caret):
    with pytest.raises(error) as info:
        pdec.load(HEAT + text + "\neq: u_t = k*u_xx\n")
    assert fragment in str(info.value)
    assert info.value.span is not None and caret in info.value.span.text


@pytest.mark.parametrize(
    "body, fragment, caret",
    [
        ("eq: u_t = u_xx\n", "parameter 'k' appears in no equation or condition", "param k"),
        ("eq: u_t = u_xx + d(u(x, t, k), x)\nexact: u = k\n", "appears in no equation", "param k"),
        ("eq: u_t = k*u_xx\nbc two: u = 0 at k = 1\n", "'k' is a parameter, not a place: `at`", "k"),
        ("eq: u_t = k*u_xx\nbc two: u = 0 at x = 0, k = 1\n", "'k' is a parameter, not a place", "k"),
        ("eq: u_t = k*u_xx\nbc two: u = 0 on boundary(k)\n", "not a place: `on boundary(...)`", "k"),
        ("eq: u_t = k*u_xx\nperiodic: u in k\n", "not a place: a periodic condition", "k"),
        ("const c = 2*k\neq: u_t = c*u_xx\n", "a constant expression cannot use the parameter 'k'", "k"),
        ("eq: u_t = k*u_xx\nunknown a = k\n", "a constant expression cannot use the parameter 'k'", "k"),
    ],
)
def test_misused_parameters_are_located_errors(body, fragment, caret):
    with pytest.raises(PdecSemanticError) as info:
        pdec.load("param k in [1, 2]\n" + HEAT + body)
    assert fragment in str(info.value)
    assert info.value.span.text.startswith(caret)


def test_at_most_three_parameters():
    text = "".join(f"param k{i} in [1, 2]\n" for i in range(4)) + HEAT + "eq: u_t = (k0 + k1 + k2 + k3)*u_xx\n"
    with pytest.raises(PdecSemanticError, match="too many parameters") as info:
        pdec.load(text)
    assert info.value.span.text.startswith("param k3")


def test_data_without_a_parameter_column_draw_it_over_the_interval(tmp_path):
    rows = "\n".join(f"{x:.3f},0,{np.sin(np.pi * x):.6f}" for x in np.linspace(0, 1, 400))
    (tmp_path / "u0.csv").write_text("x,t,u\n" + rows + "\n")
    (tmp_path / "uk.csv").write_text("x,t,k,u\n0.5,0.5,1.25,0.3\n0.25,1,1.5,0.1\n")
    text = "param k in [1, 2]\n" + HEAT + "eq: u_t = k*u_xx\n"
    text += 'data initial: "u0.csv" x = x, t = t, u = u seed 3\ndata known: "uk.csv" x = x, t = t, k = k, u = u\n'
    (tmp_path / "s.pde").write_text(text)
    drawn, known = pdec.load(tmp_path / "s.pde").data
    assert drawn.variables == known.variables == ("x", "t", "k")
    column = drawn.points[:, 2]
    assert 1 <= column.min() < 1.02 and 1.98 < column.max() <= 2 and abs(column.mean() - 1.5) < 0.05
    np.testing.assert_allclose(drawn.points[:, 0], np.round(np.linspace(0, 1, 400), 3))
    np.testing.assert_array_equal(known.points, [[0.5, 0.5, 1.25], [0.25, 1, 1.5]])
    (tmp_path / "r.pde").write_text(text.replace("data known:", "reference:"))
    pdec.load(tmp_path / "r.pde")  # a reference mapping k is fine
    (tmp_path / "bad.pde").write_text(text.replace("data initial:", "reference:"))
    with pytest.raises(PdecDataError, match="the reference does not map parameter k"):
        pdec.load(tmp_path / "bad.pde")


# ------------------------------------------------------------------------------------------- compiling and sampling


def test_no_derivative_in_a_parameter_is_planned_unless_the_spec_takes_one():
    compiled = pdec.compile(FAMILY)
    assert compiled.variables == ("x", "k") and compiled.parameters == ("k",)
    partials = {p.index for sp in compiled.plan.sets.values() for p in sp.needed}
    assert partials == {(0, 0), (2, 0)}  # u and u_xx: no column of k
    sensitive = pdec.compile(FAMILY.replace("eq decay: u_xx = k^2*u", "eq decay: u_xx = k^2*u + x*d(u, k)"))
    assert (0, 1) in {p.index for sp in sensitive.plan.sets.values() for p in sp.needed}


@pytest.mark.parametrize("lowering", ["forward", "autograd"])
def test_residuals_use_the_parameter_column(lowering):
    import torch

    compiled = pdec.compile(FAMILY, lowering=lowering, dtype="float64")
    x = torch.rand(50, 1, dtype=torch.float64)
    k = 0.5 + 1.5 * torch.rand(50, 1, dtype=torch.float64)

    def net(points):  # the exact solution exp(-k x), from the network's columns
        return torch.exp(-points[:, 1:2] * points[:, 0:1])

    residuals = compiled.evaluate(net, {"interior": torch.cat([x, k], 1)})
    assert residuals["pde:decay"].abs().max() < 1e-12


def test_the_sampler_covers_the_parameter_range_at_every_point_set():
    from pdec.train.sampling import make_sampler

    compiled = pdec.compile(FAMILY + "train:\n  interior = 512\n  boundary = 256\n")
    points = make_sampler(compiled, compiled.settings).draw(0)
    assert set(points) == {"interior", "bc:left@x=0", "bc:right@x=1"}
    for name, p in points.items():
        k = p[:, 1]
        assert 0.5 <= k.min() < 0.52 and 1.98 < k.max() <= 2, name  # uniform over [0.5, 2]
        assert np.histogram(k, bins=4, range=(0.5, 2))[0].min() > len(k) / 4 * 0.8, name
    assert (points["bc:left@x=0"][:, 0] == 0).all() and len(points["bc:left@x=0"]) == 256


# ------------------------------------------------------------------------------------------- trained once, used after


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """The family trained once (~20 s on one thread)."""
    import torch

    torch.set_num_threads(1)
    out = tmp_path_factory.mktemp("family") / "run"
    return pdec.fit(pdec.compile(FAMILY + TRAIN), out=str(out), quiet=True)


def test_one_training_answers_for_every_parameter_value(trained):
    assert trained.parameters == {"k": (0.5, 2.0)}
    assert trained.metrics["errors"]["u"] < 1e-3  # over the evaluation points, k across [0.5, 2]
    x = np.linspace(0, 1, 101)
    for k in (0.7, 1.8):  # two values, one prediction each: with the column, and by keyword
        exact = np.exp(-k * x)
        with_column = trained.predict(np.stack([x, np.full_like(x, k)], axis=1))[:, 0]
        by_keyword = trained.predict(x[:, None], k=k)[:, 0]
        np.testing.assert_array_equal(with_column, by_keyword)
        assert np.linalg.norm(by_keyword - exact) / np.linalg.norm(exact) < 1e-3


def test_predict_refuses_a_missing_or_out_of_range_parameter(trained):
    x = np.linspace(0, 1, 5)[:, None]
    with pytest.raises(ValueError, match=r"points need 2 columns \(x, k\), got 1, or give k=VALUE"):
        trained.predict(x)
    with pytest.raises(ValueError, match=r"k = 2.5 \(row 1\) is outside the trained range \[0.5, 2\]"):
        trained.predict(x, k=2.5)
    with pytest.raises(ValueError, match=r"k = 0.1 \(row 2\)"):
        trained.predict([[0.5, 1.0], [0.5, 0.1]])
    with pytest.raises(ValueError, match="nu is not a parameter of this run: its parameters are k"):
        trained.predict(x, nu=1.0)


def test_the_run_directory_keeps_the_parameters_and_their_plots(trained):
    from pdec.run.results import load_result

    loaded = load_result(trained.run_dir)
    assert loaded.parameters == {"k": (0.5, 2.0)}
    np.testing.assert_allclose(loaded.predict([[0.3]], k=1.1), trained.predict([[0.3, 1.1]]), rtol=1e-6)
    plots = {p.name for p in (trained.run_dir / "plots").iterdir()}
    assert {"solution_k=0.5.png", "solution_k=1.25.png", "solution_k=2.png"} <= plots


def test_pdec_predict_takes_the_parameter_as_a_column_or_a_flag(trained, tmp_path):
    (tmp_path / "xk.csv").write_text("k,x\n1.0,0.5\n2.0,0.25\n")
    (tmp_path / "x.csv").write_text("x\n0.5\n0.25\n")
    run = [sys.executable, "-m", "pdec", "predict", str(trained.run_dir)]
    rows = subprocess.run([*run, str(tmp_path / "xk.csv")], capture_output=True, text=True, check=True).stdout
    lines = rows.strip().splitlines()
    assert lines[0] == "x,k,u"
    for line, (x, k) in zip(lines[1:], [(0.5, 1.0), (0.25, 2.0)], strict=True):
        assert abs(float(line.split(",")[2]) - np.exp(-k * x)) < 1e-3
    flagged = subprocess.run([*run, str(tmp_path / "x.csv"), "--param", "k=1"], capture_output=True, text=True)
    assert flagged.returncode == 0 and flagged.stdout.splitlines()[1].startswith("0.5,1.0,")
    missing = subprocess.run([*run, str(tmp_path / "x.csv")], capture_output=True, text=True)
    assert missing.returncode == 1 and "--param NAME=VALUE" in missing.stderr
    outside = subprocess.run([*run, str(tmp_path / "x.csv"), "--param", "k=3"], capture_output=True, text=True)
    assert outside.returncode == 1 and "outside the trained range [0.5, 2]" in outside.stderr


def test_a_parameter_is_recovered_from_data_without_retraining(trained, tmp_path):
    rng = np.random.default_rng(0)
    x = rng.random(40)
    u = np.exp(-1.37 * x) * (1 + 1e-3 * rng.standard_normal(40))
    found = pdec.infer(trained, {"x": x, "u": u}, unknown="k")
    assert abs(found.values["k"] - 1.37) < 0.01 and found.misfit < 5e-3 and not found.at_end
    (tmp_path / "obs.csv").write_text("x,u\n" + "\n".join(f"{a:.17g},{b:.17g}" for a, b in zip(x, u, strict=True)))
    shown = subprocess.run([sys.executable, "-m", "pdec", "infer", str(trained.run_dir), str(tmp_path / "obs.csv"),
                            "--param", "k"], capture_output=True, text=True, check=True).stdout
    assert abs(float(shown.splitlines()[0].removeprefix("k = ")) - 1.37) < 0.01


def test_infer_errors_name_what_is_wrong(trained):
    with pytest.raises(PdecDataError, match="no column x"):
        pdec.infer(trained, {"u": [1.0]})
    with pytest.raises(PdecDataError, match="observe no field"):
        pdec.infer(trained, {"x": [0.5]})
    with pytest.raises(PdecRunError, match="'nu' is not a parameter"):
        pdec.infer(trained, {"x": [0.5], "u": [1.0]}, unknown="nu")
    with pytest.raises(PdecDataError, match="nothing to infer"):
        pdec.infer(trained, {"x": [0.5], "k": [1.0], "u": [1.0]})


# ------------------------------------------------------------------------------------------------ on a log scale

LOG_FAMILY = FAMILY.replace("param k in [0.5, 2]", "param k in [0.5, 2] log")
BY_HAND = FAMILY.replace("param k in [0.5, 2]", "param s in [log(0.5), log(2)]\nlet k = exp(s)").replace(
    "exp(-k*x)", "exp(-exp(s)*x)"
)


def test_a_log_parameter_parses_prints_back_and_is_shown():
    statement = spec("param nu in [0.005/pi, 0.05/pi] log\n").statements[0]
    assert statement.log and ast.unparse(statement) == "param nu in [0.005/pi, 0.05/pi] log"
    assert not spec("param nu in [1, 2]\n").statements[0].log
    problem = pdec.load(LOG_FAMILY)
    assert problem.parameters[0].log and problem.parameters[0].interval == (0.5, 2.0)
    assert "k in [0.5, 2]  (parameter, log scale)" in describe(problem)


@pytest.mark.parametrize(
    "text, fragment, caret",
    [
        ("param k in [0, 2] log\n" + HEAT + "eq: u_t = k*u_xx\n", "declared `log` but its interval starts at 0",
         "param k"),
        ("param k in [-1, 2] log\n" + HEAT + "eq: u_t = k*u_xx\n", "starts at -1", "param k"),
        ("param k in [1, 2] log\n" + HEAT + "eq: u_t = k*u_xx + d(u, k)\n",
         "a partial derivative in 'k', a parameter declared `log`", "eq:"),
        ("param k in [1, 2] log\n" + HEAT + "eq: u_t = k*u_xx\nbc two: u_k = 0 at x = 0\n", "declared `log`",
         "bc two"),
    ],
)
def test_misused_log_parameters_are_located_errors(text, fragment, caret):
    with pytest.raises(PdecSemanticError) as info:
        pdec.load(text)
    assert fragment in str(info.value)
    assert info.value.span.text.startswith(caret)


def test_a_log_parameter_is_drawn_evenly_in_its_logarithm_at_every_point_set(tmp_path):
    from pdec.train.sampling import make_sampler

    compiled = pdec.compile(LOG_FAMILY + "train:\n  interior = 512\n  boundary = 256\n")
    for name, p in make_sampler(compiled, compiled.settings).draw(0).items():
        k = np.log(p[:, 1])
        assert np.log(0.5) <= k.min() < np.log(0.5) + 0.03 and np.log(2) - 0.03 < k.max() <= np.log(2), name
        counts = np.histogram(k, bins=4, range=(np.log(0.5), np.log(2)))[0]
        assert counts.min() > len(k) / 4 * 0.8, name  # evenly in log k: as many in [0.5, 1] as in [1, 2]
    (tmp_path / "u.csv").write_text("x,u\n" + "".join(f"{x:.3f},1\n" for x in np.linspace(0, 1, 2000)))
    (tmp_path / "s.pde").write_text(LOG_FAMILY + 'data seen: "u.csv" x = x, u = u\n')
    drawn = np.log(pdec.load(tmp_path / "s.pde").data[0].points[:, 1])
    assert np.histogram(drawn, bins=4, range=(np.log(0.5), np.log(2)))[0].min() > 2000 / 4 * 0.85


def test_the_network_reads_the_logarithm_and_both_lowerings_agree():
    import torch

    from pdec.nn.networks import make_net

    forward = pdec.compile(LOG_FAMILY, dtype="float64")
    autograd = pdec.compile(LOG_FAMILY, dtype="float64", lowering="autograd")
    net = make_net(forward, forward.settings, torch.device("cpu"), torch.float64)
    assert net.logged.tolist() == [False, True]
    x = torch.rand(40, 1, dtype=torch.float64)
    k = 0.5 * 4 ** torch.rand(40, 1, dtype=torch.float64)
    z = net.normalise(torch.cat([x, k], 1))
    torch.testing.assert_close(z[:, 1:], (torch.log(k) - np.log(0.5)) / np.log(2) - 1)  # log k onto [-1, 1]
    torch.testing.assert_close(z[:, :1], 2 * x - 1)
    points = {"interior": torch.cat([x, k], 1)}
    a, b = forward.evaluate(net, points), autograd.evaluate(net, points)
    torch.testing.assert_close(a["pde:decay"], b["pde:decay"], rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("optimizer", ["ssbroyden", "lm"])
def test_a_log_parameter_trains_as_its_logarithm_written_by_hand(tmp_path, optimizer):
    """`param k in [lo, hi] log` is `param s in [log(lo), log(hi)]` with `let k = exp(s)`: the same points (in s),
    the same network inputs, so the same training up to round-off."""  # noqa: D205, D209
    short = TRAIN.replace("adam = 600", "adam = 40").replace("iterations = 300", "iterations = 4")
    options = {"quiet": True, "plots": False, "optimizer": optimizer}
    logged = pdec.fit(pdec.compile(LOG_FAMILY + short), out=str(tmp_path / "log"), **options)
    by_hand = pdec.fit(pdec.compile(BY_HAND + short), out=str(tmp_path / "hand"), **options)
    x = np.linspace(0, 1, 11)[:, None]
    for k in (0.6, 1.0, 1.9):
        np.testing.assert_allclose(logged.predict(x, k=k), by_hand.predict(x, s=np.log(k)), rtol=1e-4, atol=1e-6)
    assert logged.history.rows[-1].loss == pytest.approx(by_hand.history.rows[-1].loss, rel=1e-3)


@pytest.fixture(scope="module")
def trained_log(tmp_path_factory):
    """The family on a log scale, trained once (~20 s on one thread)."""
    import torch

    torch.set_num_threads(1)
    out = tmp_path_factory.mktemp("log_family") / "run"
    return pdec.fit(pdec.compile(LOG_FAMILY + TRAIN), out=str(out), quiet=True)


def test_a_log_family_answers_reloads_and_infers(trained_log):
    from pdec.core.intervals import is_log
    from pdec.run.results import load_result

    assert trained_log.metrics["errors"]["u"] < 1e-3
    x = np.linspace(0, 1, 101)
    for k in (0.55, 1.0, 1.9):
        exact = np.exp(-k * x)
        assert np.linalg.norm(trained_log.predict(x[:, None], k=k)[:, 0] - exact) / np.linalg.norm(exact) < 1e-3
    loaded = load_result(trained_log.run_dir)
    assert is_log(loaded.parameters["k"]) and loaded.parameters["k"] == (0.5, 2.0)
    np.testing.assert_allclose(loaded.predict([[0.3]], k=1.1), trained_log.predict([[0.3, 1.1]]), rtol=1e-6)
    plots = {p.name for p in (trained_log.run_dir / "plots").iterdir()}
    assert {"solution_k=0.5.png", "solution_k=1.png", "solution_k=2.png"} <= plots  # the middle of log k
    rng = np.random.default_rng(0)
    points = rng.random(40)
    found = pdec.infer(loaded, {"x": points, "u": np.exp(-0.61 * points)}, unknown="k")
    assert abs(found.values["k"] - 0.61) < 0.01 and not found.at_end


def test_a_log_interval_spreads_evenly_in_the_logarithm_and_back():
    from pdec.core.intervals import LogInterval, fraction, spaced, spread

    log, linear = LogInterval(0.5, 8.0), (0.5, 8.0)
    np.testing.assert_allclose(spaced(log, 5), [0.5, 1.0, 2.0, 4.0, 8.0])  # each step a factor of two
    np.testing.assert_allclose(spaced(linear, 3), [0.5, 4.25, 8.0])
    for interval in (log, linear):
        for value in (0.5, 1.3, 8.0):
            assert float(spread(interval, np.array(fraction(interval, value)))) == pytest.approx(value, rel=1e-12)
