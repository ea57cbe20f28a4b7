"""Units and non-dimensionalisation: dimension checks against hand-derived cases, scaled residuals against the
written ones, predictions in the user's units, and a short training of a spec in SI units."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch

import pdec
from pdec.core.errors import PdecSyntaxError, PdecUnitError
from pdec.language.problem import symbol
from pdec.language.scaling import scaled

ROOT = Path(__file__).resolve().parents[1]
PLATE = ROOT / "examples" / "heat_plate.pde"

HEAD = """const k = 45 [W/(m*K)]
const rho = 7850 [kg/m^3]
const c = 460 [J/(kg*K)]
var x in [0, 0.2] [m]
time t in [0, 600] [s]
field T(x, t) [K]
"""
TAIL = "bc: T = 300 [K] at x = 0\nbc: -k*T_x = 0 at x = 0.2\nic: T = 300 [K]\n"


def load(text: str):
    return pdec.load(text)


def error_of(text: str) -> PdecUnitError:
    with pytest.raises(PdecUnitError) as info:
        load(text)
    return info.value


# ---------------------------------------------------------------------------------------------------- dimensions


def test_a_consistent_spec_gets_the_hand_derived_dimensions():
    problem = load(HEAD + "const alpha = k/(rho*c)\neq: rho*c*T_t = k*T_xx\n" + TAIL)
    dims = problem.units.dimensions
    assert dims["k"] == "kg*m/(s^3*K)"  # W/(m K) = kg m^2 s^-3 / (m K)
    assert dims["c"] == "m^2/(s^2*K)"  # J/(kg K) = kg m^2 s^-2 / (kg K)
    assert dims["alpha"] == "m^2/s"
    assert dims["T"] == "K" and dims["x"] == "m" and dims["t"] == "s"
    assert problem.units.units == {"x": "m", "t": "s", "T": "K"}


@pytest.mark.parametrize(
    "equation, line, column, left, right",
    [
        # rho*T_t: kg/m^3 * K/s; k*T_xx: kg m/(s^3 K) * K/m^2 = kg/(m s^3)
        ("eq: rho*T_t = k*T_xx", 7, 15, "kg*K/(m^3*s)", "kg/(m*s^3)"),
        # a sum: rho*c*T_t is kg/(m s^3), k*T_x is kg/s^3 (a derivative too few)
        ("eq: rho*c*T_t - k*T_x = 0", 7, 17, "kg/(m*s^3)", "kg/s^3"),
    ],
)
def test_mismatches_are_located_with_both_dimensions(equation, line, column, left, right):
    error = error_of(HEAD + equation + "\n" + TAIL)
    assert (error.span.line, error.span.column) == (line, column)
    assert left in error.message and right in error.message
    assert "^" in str(error) and error.hint


def test_a_bare_number_against_a_temperature():
    error = error_of(HEAD + "eq: rho*c*T_t = k*T_xx\nbc: T = 300 at x = 0\n")
    assert (error.span.line, error.span.column) == (8, 9)
    assert "is K" in error.message and "is 1" in error.message
    assert "300 [K]" in error.hint


def test_functions_need_dimensionless_arguments():
    error = error_of(HEAD + "eq: rho*c*T_t = k*T_xx\n" + TAIL.replace("ic: T = 300 [K]", "ic: T = 300 [K]*exp(x)"))
    assert "exp() must be dimensionless" in error.message and "has the dimension m" in error.message
    assert (error.span.line, error.span.column) == (10, 21)


def test_unknown_units_and_bad_exponents_are_located():
    error = error_of(HEAD.replace("[W/(m*K)]", "[W/(m*Kelvinn)]") + "eq: rho*c*T_t = k*T_xx\n" + TAIL)
    assert "unknown unit 'Kelvinn'" in error.message and (error.span.line, error.span.column) == (1, 20)
    error = error_of(HEAD.replace("[kg/m^3]", "[kg/m^x]") + "eq: rho*c*T_t = k*T_xx\n" + TAIL)
    assert "exponent" in error.message and (error.span.line, error.span.column) == (2, 24)


def test_lap_needs_spatial_variables_of_one_dimension():
    text = "var x in [0, 1] [m]\nvar y in [0, 1] [s]\nfield u(x, y)\neq: lap(u) = 0\nbc: u = 0 on boundary\n"
    error = error_of(text)
    assert "different dimensions" in error.message and error.span.line == 4


def test_exact_solutions_are_checked():
    error = error_of(HEAD + "eq: rho*c*T_t = k*T_xx\n" + TAIL + "exact: T = 300 + x\n")
    assert "dimensions differ" in error.message and error.span.line == 11


def test_quantities_are_si_inside_expressions_and_intervals_keep_the_declared_unit():
    problem = load("const L = 20 [cm]\nvar x in [0, L] [mm]\nfield u(x) [K]\neq: u_xx = 0 [K/m^2]\n"
                   "bc: u = 0 on boundary\n")
    assert problem.constant_values["L"] == pytest.approx(0.2)  # SI
    assert (problem.variables[0].lo, problem.variables[0].hi) == (0, pytest.approx(200.0))  # mm
    assert problem.units.conversions["x"] == (pytest.approx(1e-3), 0.0)


def test_a_location_with_a_unit_is_converted_to_the_variable_unit():
    problem = load("var x in [0, 200] [mm]\nfield u(x) [K]\neq: u_xx = 0 [K/m^2]\nbc: u = 1 [K] at x = 0.2 [m]\n"
                   "bc: u = 0 [K] at x = 0\n")
    assert problem.conditions[0].pieces[0].face.value == pytest.approx(200.0)


def test_data_columns_in_another_unit_are_converted(tmp_path):
    (tmp_path / "obs.csv").write_text("x_cm,temp\n0,26.85\n10,76.85\n")
    (tmp_path / "s.pde").write_text("var x in [0, 0.2] [m]\nfield T(x) [K]\neq: T_xx = 0 [K/m^2]\n"
                                    'data: "obs.csv" x = x_cm [cm], T = temp [degC]\n')
    problem = pdec.load(tmp_path / "s.pde")
    np.testing.assert_allclose(problem.data[0].points[:, 0], [0.0, 0.1])
    np.testing.assert_allclose(problem.data[0].values[:, 0], [300.0, 350.0])


ROD = """var x in [0, 0.2] [m]
field T(x) [K]
coef k(x) = "k.csv" x = x COORD, k = k VALUE
eq heat: d(k(x)*T_x, x) = 0 [W/m^3]
bc left: T = 300 [K] at x = 0
bc right: T = 350 [K] at x = 0.2 [m]
exact: T = 300 [K] + 50 [K] * log((45 + 10*x/1 [m])/45) / log(47/45)
"""


def rod(tmp_path, coord="", value="[W/(m*K)]", x_factor=1.0, k_factor=1.0, train=""):
    """A rod whose conductivity k = 45 + 10 x W/(m K) is a table (x in m): -(k T')' = 0, T = 300 K and 350 K at
    its ends; exact T = 300 + 50 log(k / 45) / log(47 / 45). ``x_factor``, ``k_factor``: the table's columns in
    other units (``x_factor = 100`` for cm)."""  # noqa: D205, D209
    x = np.linspace(0.0, 0.2, 41)
    np.savetxt(tmp_path / "k.csv", np.column_stack([x * x_factor, (45 + 10 * x) * k_factor]), delimiter=",",
               header="x,k", comments="")
    path = tmp_path / "rod.pde"
    path.write_text(ROD.replace("COORD", coord).replace("VALUE", value) + train)
    return path


def test_a_coefficient_takes_its_values_unit_and_converts_its_coordinates(tmp_path):
    problem = pdec.load(rod(tmp_path))
    assert problem.units.dimensions["k"] == "kg*m/(s^3*K)" and problem.units.units["k"] == "W / K / m"
    # the table in cm and W/(cm K): coordinates converted to the variable's unit, values kept in the column's
    other = pdec.load(rod(tmp_path, coord="[cm]", value="[W/(cm*K)]", x_factor=100.0, k_factor=0.01))
    (table,) = other.coefficients
    np.testing.assert_allclose(table.axes[0], np.linspace(0.0, 0.2, 41), atol=1e-15)
    np.testing.assert_allclose(table.values, 0.01 * (45 + 10 * np.linspace(0.0, 0.2, 41)))
    assert other.units.conversions["k"] == (pytest.approx(100.0), 0.0)
    # a dimensionless table (no unit) makes the equation inconsistent, and the error says so where it is
    error = error_of(rod(tmp_path, value=""))
    assert (error.span.line, error.span.column) == (4, 27)
    assert "K/m^2" in error.message and "kg/(m*s^3)" in error.message
    # a coordinate column in a unit of another dimension
    error = error_of(rod(tmp_path, coord="[s]"))
    assert error.span.line == 3 and "'x'" in error.message


@pytest.mark.parametrize("coord, value, x_factor, k_factor", [("", "[W/(m*K)]", 1.0, 1.0),
                                                              ("[cm]", "[W/(cm*K)]", 100.0, 0.01)])
def test_scaled_residuals_with_a_tabulated_coefficient_agree_with_the_written_ones(
    tmp_path, coord, value, x_factor, k_factor
):
    """The same network, once on the scaled x' = x / 0.2 and T' = (T - 325) / 25, once on the written x and T: the
    residuals differ by the factor pdec reports (the largest term's size, k U / L^2 = 47 * 25 / 0.04)."""  # noqa: D205, D209
    written = pdec.compile(rod(tmp_path, coord, value, x_factor, k_factor, "train:\n  scale = false\n"),
                           dtype="float64")
    scaled_problem = pdec.compile(rod(tmp_path, coord, value, x_factor, k_factor), dtype="float64")
    factor = scaled_problem.scaling.residuals["pde:heat"]
    assert factor == pytest.approx(47 * 25 / 0.04, rel=1e-3)

    def hat(p):
        return torch.sin(2 * p + 0.3) + p**2

    def user(p):
        return 325 + 25 * hat(p / 0.2)

    points = torch.rand(64, 1, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    r_hat = scaled_problem.evaluate(hat, {"interior": points})["pde:heat"]
    r_user = written.evaluate(user, {"interior": 0.2 * points})["pde:heat"]
    torch.testing.assert_close(r_user, factor * r_hat, rtol=1e-10, atol=1e-6)
    # and against the hand-written residual (k T')' = k T'' + k' T' with k = 45 + 10 x, away from the table's nodes
    x = 0.2 * points
    t1 = 25 / 0.2 * 2 * torch.cos(2 * points + 0.3) + 25 / 0.2 * 2 * points
    t2 = 25 / 0.04 * (-4 * torch.sin(2 * points + 0.3) + 2)
    torch.testing.assert_close(r_user, (45 + 10 * x) * t2 + 10 * t1, rtol=1e-9, atol=1e-6)


def test_a_rod_with_a_tabulated_conductivity_trains_in_kelvin(tmp_path):
    result = pdec.fit(pdec.compile(rod(tmp_path)), adam=300, iterations=200, out=tmp_path / "run", quiet=True,
                      plots=False)
    assert result.metrics["errors"]["T"] < 1e-5
    np.testing.assert_allclose(result.predict(np.array([[0.0], [0.2]]))[:, 0], [300.0, 350.0], atol=1e-2)


FLUX_ROD = """var x in [0, 0.2] [m]
field T(x) [K]
unknown k(x) = 40 [W/(m*K)] positive true 45 [W/(m*K)] + 10 [W/(m^2*K)] * x
eq heat: d(k(x)*T_x, x) = 0 [W/m^3]
bc left: T = 300 [K] at x = 0
bc flux: -k(x)*T_x = -FLUX [W/m^2] at x = 0
data obs: "obs.csv" x = x, T = T
"""


def test_an_unknown_function_is_scaled_by_its_start_and_found_in_si(tmp_path):
    """The rod's conductivity k(x) = 45 + 10 x W/(m K) from 21 readings of T and the heat flux at x = 0 (k T' = C is
    constant; T = 300 + C/10 log(k/45), C = 500 / log(47/45) W/m^2 for T(0.2) = 350 K). The function is trained as
    k = 40 k' (its start's size) on x' = x / 0.2, and comes back as a function of x in metres with SI values."""  # noqa: D205, D209
    flux = 500 / math.log(47 / 45)
    x = np.linspace(0.0, 0.2, 21)
    np.savetxt(tmp_path / "obs.csv", np.column_stack([x, 300 + flux / 10 * np.log((45 + 10 * x) / 45)]),
               delimiter=",", header="x,T", comments="")
    (tmp_path / "rod.pde").write_text(FLUX_ROD.replace("FLUX", f"{flux:.10g}"))
    compiled = pdec.compile(tmp_path / "rod.pde")
    assert compiled.scaling.functions == {"k": (0.0, 40.0)}
    (function,) = compiled.problem.functions
    assert function.init == 1.0 and function.positive  # 40 W/(m K) / 40
    assert float(function.true.subs(symbol("x"), 1.0)) == pytest.approx(47 / 40)  # the truth at x' = 1 (0.2 m)
    result = pdec.fit(compiled, adam=600, iterations=200, interior=100, out=tmp_path / "run", quiet=True,
                      plots=False)
    found = result.functions["k"](np.array([0.0, 0.1, 0.2]))  # x in metres
    np.testing.assert_allclose(found, [45.0, 46.0, 47.0], rtol=1e-2)  # 1.5e-3 at most on the machine that wrote it
    table = np.loadtxt(tmp_path / "run" / "functions" / "k.csv", delimiter=",", skiprows=1)
    assert table[-1, 0] == pytest.approx(0.2) and table[-1, 2] == pytest.approx(47.0)  # x in m, k and its truth SI
    from pdec.run.results import load_result

    np.testing.assert_allclose(load_result(tmp_path / "run").functions["k"](np.array([0.1])), found[1:2], rtol=1e-6)


def test_an_unknown_function_in_si_units_without_scaling_is_trained_as_written(tmp_path):
    spec = FLUX_ROD.replace("FLUX", "11498").replace("= 40 [W/(m*K)]", "= 1 [W/(m*K)]") + "train:\n  scale = false\n"
    np.savetxt(tmp_path / "obs.csv", np.column_stack([np.linspace(0, 0.2, 5), np.linspace(300, 350, 5)]),
               delimiter=",", header="x,T", comments="")
    (tmp_path / "si.pde").write_text(spec)
    assert pdec.compile(tmp_path / "si.pde").scaling is None  # SI units, nothing converted: as written
    (tmp_path / "mm.pde").write_text(spec.replace("[0, 0.2] [m]", "[0, 200] [mm]").replace("0.2 [m]", "200 [mm]"))
    compiled = pdec.compile(tmp_path / "mm.pde")  # converted, not scaled: k(x) of x in mm, values SI
    assert compiled.scaling.functions == {"k": (0.0, 1.0)} and compiled.scaling.variables == {"x": (0.0, 1.0)}


def test_units_round_trip_through_unparse_and_specs_without_units_are_untouched():
    from pdec.core.source import Source
    from pdec.language import syntax
    from pdec.language.frontend import parse_spec

    spec = parse_spec(Source(HEAD + "eq: rho*c*T_t = k*T_xx\n" + TAIL, "<t>"))
    text = syntax.unparse(spec)
    assert "[W/(m*K)]" in text and "field T(x, t) [K]" in text and "var x in [0, 0.2] [m]" in text
    assert parse_spec(Source(text, "<t>")) == spec
    plain = load("var x in [0, 1]\nfield u(x)\neq: u_xx = 1\nbc: u = 0 on boundary\n")
    assert plain.units is None and scaled(plain) is plain


def test_a_unit_needs_a_number_before_it():
    with pytest.raises(PdecSyntaxError):
        load("var x in [0, 1]\nfield u(x)\neq: u_xx = k [m]\n")


# ---------------------------------------------------------------------------------------------------- scaling


def test_scales_are_the_intervals_and_the_condition_values():
    problem = scaled(pdec.load(PLATE))
    record = problem.scaling
    assert record.variables == {"x": (0.0, 0.2), "t": (0.0, 600.0)}
    assert record.fields["T"] == (pytest.approx(325.0), 25.0)  # conditions give 300..350 K
    assert record.sources["T"] == "conditions"
    # the heat equation's terms: rho c U / t_L = 7850*460*25/600 against k U / L^2 = 45*25/0.04
    assert record.residuals["pde:heat"] == pytest.approx(7850 * 460 * 25 / 600)
    assert record.residuals["bc:insulated"] == pytest.approx(45 * 25 / 0.2)  # k U / L
    assert [(v.lo, v.hi) for v in problem.variables] == [(0.0, 1.0), (0.0, 1.0)]


def _net_pair(x0, length, u0, scale):
    """A scaled network and the same function in the user's units."""

    def hat(p):
        return torch.sin(2 * p[:, :1] + 0.3) * torch.exp(-p[:, 1:2]) + p[:, :1] ** 2

    def user(p):
        return u0 + scale * hat((p - x0) / length)

    return hat, user


def test_scaled_and_written_residuals_agree_after_the_hand_derived_factor():
    written = pdec.compile(PLATE, scale=False, dtype="float64")
    scaled_problem = pdec.compile(PLATE, dtype="float64")
    assert written.scaling is None and scaled_problem.scaling is not None
    x0, length = torch.tensor([0.0, 0.0], dtype=torch.float64), torch.tensor([0.2, 600.0], dtype=torch.float64)
    hat, user = _net_pair(x0, length, 325.0, 25.0)
    points = torch.rand(64, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    r_hat = scaled_problem.evaluate(hat, {"interior": points})["pde:heat"]
    r_user = written.evaluate(user, {"interior": x0 + length * points})["pde:heat"]
    factor = 7850 * 460 * 25 / 600  # rho c U / t_L
    torch.testing.assert_close(r_user, factor * r_hat, rtol=1e-10, atol=1e-8)
    # the insulated end: -k T_x at x = L is k U / L times the scaled residual
    face = {"bc:insulated@x=1": torch.cat([torch.ones(8, 1), points[:8, 1:]], 1).double()}
    r_hat = scaled_problem.evaluate(hat, face)["bc:insulated"]
    name = next(n for n in written.point_sets if n.startswith("bc:insulated"))
    r_user = written.evaluate(user, {name: x0 + length * face["bc:insulated@x=1"]})["bc:insulated"]
    torch.testing.assert_close(r_user, 45 * 25 / 0.2 * r_hat, rtol=1e-10, atol=1e-8)


def test_exact_solution_and_bounds_are_scaled():
    compiled = pdec.compile(PLATE, dtype="float64")
    assert compiled.bounds == {"x": (0.0, 1.0), "t": (0.0, 1.0)}
    points = torch.tensor([[0.0, 0.0], [1.0, 0.0], [0.5, 0.5]], dtype=torch.float64)
    alpha = 45 / (7850 * 460)
    truth = 300 + 50 * math.exp(-alpha * (math.pi / 0.4) ** 2 * 300) * math.sin(math.pi / 4)
    expected = (torch.tensor([300.0, 350.0, truth], dtype=torch.float64) - 325) / 25
    torch.testing.assert_close(compiled.exact(points)[:, 0], expected)


def test_scale_is_a_compile_time_setting():
    compiled = pdec.compile(PLATE)
    with pytest.raises(pdec.PdecRunError):
        pdec.fit(compiled, scale=False)


# ---------------------------------------------------------------------------------------------------- training


def test_a_short_training_in_si_units_predicts_in_kelvin(tmp_path):
    torch.manual_seed(0)
    compiled = pdec.compile(PLATE)
    result = pdec.fit(compiled, adam=400, iterations=0, out=tmp_path / "run", quiet=True, plots=False)
    assert result.metrics["errors"]["T"] < 2e-3  # relative L2 in kelvin
    points = np.array([[0.0, 0.0], [0.2, 0.0], [0.1, 300.0]])
    predicted = result.predict(points)[:, 0]
    np.testing.assert_allclose(predicted, [300.0, 350.0, 328.07], atol=3.0)
    # the network sees scaled points: predict = 325 + 25 * net((x - x0) / L)
    raw = result.net.net(torch.tensor(points / [0.2, 600.0], dtype=torch.float32)).detach().double().numpy()[:, 0]
    np.testing.assert_allclose(predicted, 325 + 25 * raw, rtol=1e-6)
    from pdec.run.results import load_result

    np.testing.assert_allclose(load_result(tmp_path / "run").predict(points)[:, 0], predicted, rtol=1e-6)
    assert (tmp_path / "run" / "scales.json").is_file()
