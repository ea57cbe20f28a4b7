"""Golden error messages: each bad spec must fail with exactly the stored rendered PdecError (or warning).

Regenerate the golden files with ``PDEC_UPDATE_GOLDEN=1 pytest tests/test_errors.py`` and review the diff.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import pdec
from pdec.core.errors import PdecError

GOLDEN = Path(__file__).parent / "golden" / "errors"
DATA = Path(__file__).parent / "data"  # the golden specs run from here: the tables of their `coef` statements
UPDATE = os.environ.get("PDEC_UPDATE_GOLDEN") == "1"

HEAD = "var x in [0, 1]\ntime t in [0, 1]\nfield u(x, t)\n"
HEAT = HEAD + "eq heat: u_t = u_xx\nic: u = sin(pi*x)\nbc ends: u = 0 on boundary(x)\n"
POISSON = "var x in [0, 1]\nfield u(x)\neq: u_xx = 1\nbc: u = 0 on boundary\n"
COEF = "var x in [0, 1]\nfield u(x)\ncoef a(x) = {}\neq: -d(a*u_x, x) = 1\nbc: u = 0 on boundary\n"
NEUMANN2 = "var x in [0, 1]\nvar y in [0, 1]\nfield u(x, y)\neq: lap(u) = 0\nbc walls: dn(u) = 0 on boundary\n"
PLATE = ("var x in [-0.5, 0.5]\nvar y in [-0.5, 0.5]\nfield u(x, y)\neq: lap(u) = 0\n"
         "domain hole = disk((0.3, 0.3), 0.1)\n")
K1 = "var x in [0, 1]\nfield u(x)\n{}eq flux: -d(k*u_x, x) = 1\nbc: u = 0 on boundary\n"
K2 = "var x in [0, 1]\nvar y in [0, 1]\nfield u(x, y)\n{}eq flux: -d(k*u_x, x) - u_yy = 1\nbc: u = 0 on boundary\n"
LIB = HEAD + 'data: "heat_few.csv" x = x, t = t, u = u\n'  # equation discovery needs readings
PLATE_BC = "domain plate = rectangle - hole\nbc edges: u = 1 on boundary(rectangle)\nbc hole: u = 0 on boundary(hole)\n"

# name -> (spec text, expected error class)
BAD_SPECS: dict[str, tuple[str, type[PdecError]]] = {
    # syntax
    "syntax_implicit_multiplication": (HEAD + "eq: u_t = 2u_xx\n", pdec.PdecSyntaxError),
    "syntax_unclosed_bracket": ("var x in [0, 1", pdec.PdecSyntaxError),
    "syntax_bad_character": ("var x in {0, 1}\n", pdec.PdecSyntaxError),
    "syntax_double_equals": (HEAD + "eq: u_t == u_xx\n", pdec.PdecSyntaxError),
    "syntax_missing_colon": (HEAD + "eq heat u_t = u_xx\n", pdec.PdecSyntaxError),
    "syntax_missing_rhs": (HEAD + "eq: u_t =\n", pdec.PdecSyntaxError),
    "syntax_setting_outside_train": (HEAD + "u_t = u_xx\n", pdec.PdecSyntaxError),
    "syntax_bare_name": (HEAD + "heat\n", pdec.PdecSyntaxError),
    "syntax_non_ascii": ("var x in [0, π]\n", pdec.PdecSyntaxError),
    "syntax_unterminated_string": (HEAT + 'data: "obs.csv x = x\n', pdec.PdecSyntaxError),
    "syntax_too_deep": (POISSON.replace("eq: u_xx = 1", "eq: u_xx = " + "sin(" * 120 + "x" + ")" * 120),
                        pdec.PdecSyntaxError),
    "syntax_bc_two_equals": (HEAT + "bc left: u = 0 = 1 at x = 0\n", pdec.PdecSyntaxError),
    # names
    "name_unknown_did_you_mean": (HEAD + "const kappa = 1\neq: u_t = kapa*u_xx\n", pdec.PdecNameError),
    "name_unknown_function": (HEAD + "eq: u_t = sinh(u) + coss(x)\n", pdec.PdecNameError),
    "name_duplicate": (HEAD + "field u(x)\neq: u_t = u_xx\n", pdec.PdecNameError),
    "name_reserved_builtin": (HEAD + "const pi = 3.14\neq: u_t = u_xx\n", pdec.PdecNameError),
    "name_reserved_keyword": ("var x in [0, 1]\nfield lap(x)\neq: lap = 0\n", pdec.PdecNameError),
    "name_keyword": ("var x in [0, 1]\nfield data(x)\neq: data = 0\n", pdec.PdecNameError),
    "name_duplicate_term": (HEAT + "eq heat: u_t = 0\n", pdec.PdecNameError),
    "name_shorthand_not_a_variable": (HEAD + "eq: u_t = u_xy\n", pdec.PdecNameError),
    # fields and derivatives
    "field_wrong_arguments": (HEAD + "eq: u_t = u(x)\n", pdec.PdecSemanticError),
    "field_undeclared_variable": ("var x in [0, 1]\nfield u(x, y)\neq: u = 0\n", pdec.PdecNameError),
    "derivative_not_dependent": ("var x in [0, 1]\nvar y in [0, 1]\nfield u(x)\nfield v(x, y)\n"
                                 "eq: v_xx + v_yy = u_y\nbc: v = 0 on boundary\nbc: u = 0 on boundary(x)\n",
                                 pdec.PdecSemanticError),
    "derivative_by_constant": (HEAD + "const nu = 0.1\neq: u_t = d(u, nu)\n", pdec.PdecSemanticError),
    "derivative_order_zero": (HEAD + "eq: u_t = d(u, x, 0)\n", pdec.PdecSemanticError),
    "derivative_order_fraction": (HEAD + "eq: u_t = d(u, x, 1.5)\n", pdec.PdecSemanticError),
    "derivative_no_variable": (HEAD + "eq: u_t = d(u)\n", pdec.PdecSemanticError),
    "dn_outside_condition": (HEAD + "eq: u_t = dn(u)\n", pdec.PdecSemanticError),
    "function_arity": (HEAD + "eq: u_t = sin(x, t)\n", pdec.PdecSemanticError),
    "function_without_call": (HEAD + "eq: u_t = sin\n", pdec.PdecSemanticError),
    "constant_called": (HEAD + "const nu = 1\neq: u_t = nu(x)\n", pdec.PdecSemanticError),
    "division_by_zero": (HEAD + "eq: u_t = u_xx/0\n", pdec.PdecSemanticError),
    "let_before_definition": (HEAD + "let a = 2*b\nlet b = u_xx\neq: u_t = a\n", pdec.PdecSemanticError),
    # locations and conditions
    "location_inside": (HEAT + "bc mid: u = 0 at x = 0.5\n", pdec.PdecSemanticError),
    "location_outside": (HEAT + "bc far: u = 0 at x = 2\n", pdec.PdecSemanticError),
    "location_not_variable": (HEAT + "const c = 1\nbc: u = 0 at c = 0\n", pdec.PdecSemanticError),
    "ic_not_at_time_face": (HEAT + "ic wrong: u = 0 at x = 0\n", pdec.PdecSemanticError),
    "ic_without_time": (POISSON + "ic: u = 0\n", pdec.PdecSemanticError),
    "ic_on_boundary": (HEAT + "ic: u = 0 on boundary\n", pdec.PdecSemanticError),
    "bc_without_location": (HEAT + "bc: u = 1\n", pdec.PdecSemanticError),
    "periodic_in_time": (HEAT + "periodic: u in t\n", pdec.PdecSemanticError),
    "point_variable_twice": (NEUMANN2 + "bc pin: u = 0 at x = 0, x = 1\n", pdec.PdecSemanticError),
    "point_not_a_variable": (NEUMANN2 + "bc pin: u = 0 at x = 0, z = 0\n", pdec.PdecNameError),
    "point_outside": (NEUMANN2 + "bc pin: u = 0 at x = 0, y = 2\n", pdec.PdecSemanticError),
    "point_time_in_bc": (HEAT + "bc pin: u = 0 at x = 0, t = 0.5\n", pdec.PdecSemanticError),
    "point_dn_inside": (NEUMANN2 + "bc pin: dn(u) = 0 at x = 0.5, y = 0.5\n", pdec.PdecSemanticError),
    "point_dn_corner": (NEUMANN2 + "bc pin: dn(u) = 0 at x = 0, y = 1\n", pdec.PdecSemanticError),
    "point_inside_line": ("var x in [0, 1]\nvar y in [0, 1]\nvar z in [0, 1]\nfield u(x, y, z)\neq: lap(u) = 1\n"
                          "bc: u = 0 on boundary\nbc line: u = 0 at x = 0.5, y = 0.5\n", pdec.PdecSemanticError),
    "point_ic_without_time": ("var x in [0, 1]\nvar y in [0, 1]\ntime t in [0, 1]\nfield u(x, y, t)\n"
                              "eq: u_t = lap(u)\nic: u = 0\nbc: u = 0 on boundary\nic pin: u = 0 at x = 0, y = 0\n",
                              pdec.PdecSemanticError),
    "point_ic_not_at_time_face": (HEAT + "ic pin: u = 0 at t = 0.5, x = 0\n", pdec.PdecSemanticError),
    "point_exact": (NEUMANN2 + "bc pin: u = 0 at x = 0, y = 0 exact\n", pdec.PdecSemanticError),
    "exact_condition_on_derivative": (HEAD + "eq heat: u_t = u_xx\nic: u = sin(pi*x)\n"
                                      "bc ends: u_x = 0 on boundary(x) exact\n", pdec.PdecSemanticError),
    "exact_condition_value_with_field": (HEAD + "eq heat: u_t = u_xx\nic: u = sin(pi*x) exact\n"
                                         "bc: u = u^2 at x = 0 exact\nbc: u = 0 at x = 1\n", pdec.PdecSemanticError),
    "exact_condition_field_without_variable": (HEAD + "field v(x)\neq heat: u_t = u_xx\neq: v_xx = 1\nic: u = 0\n"
                                               "ic iv: v = 0 exact\nbc: u = 0 on boundary\nbc: v = 0 on boundary\n",
                                               pdec.PdecSemanticError),
    "exact_condition_in_stage": (HEAD + "eq heat: u_t = u_xx\nic: u = sin(pi*x)\nbc walls: u = 0 on boundary exact\n"
                                 "train:\n  stage: walls for 100\n", pdec.PdecSettingsError),
    "exact_condition_weighted": (HEAD + "eq heat: u_t = u_xx\nic: u = sin(pi*x)\nbc walls: u = 0 on boundary exact\n"
                                 "train:\n  weight.walls = 10\n", pdec.PdecSettingsError),
    "too_few_initial_conditions": (HEAD + "eq wave: u_tt = u_xx\nic: u = sin(pi*x)\nbc: u = 0 on boundary(x)\n",
                                   pdec.PdecSemanticError),
    # declarations
    "interval_empty": ("var x in [1, 0]\nfield u\neq: u_xx = 0\n", pdec.PdecSemanticError),
    "interval_overflow": ("var x in [0, 1e999]\nfield u\neq: u_xx = 0\n", pdec.PdecSemanticError),
    "constant_overflow": (HEAD + "const big = exp(1000)\neq: u_t = big*u_xx\n", pdec.PdecSemanticError),
    "constant_literal_overflow": (HEAD + "const big = 1e999\neq: u_t = big*u_xx\n", pdec.PdecSemanticError),
    "constant_uses_unknown": (HEAD + "unknown k = 1\nconst c = 2*k\neq: u_t = k*c*u_xx\n", pdec.PdecSemanticError),
    "constant_depends_on_field": (HEAD + "const c = 2*u\neq: u_t = c*u_xx\n", pdec.PdecSemanticError),
    "constant_not_real": (HEAD + "const c = sqrt(-1)\neq: u_t = c*u_xx\n", pdec.PdecSemanticError),
    "two_time_variables": ("time t in [0, 1]\ntime s in [0, 1]\nfield u\neq: u_t = u_s\n", pdec.PdecSemanticError),
    "no_variables": ("const c = 1\n", pdec.PdecSemanticError),
    "too_many_variables": ("var a in [0, 1]\nvar b in [0, 1]\nvar c in [0, 1]\nvar f in [0, 1]\nvar g in [0, 1]\n"
                           "field u\neq: u = 0\n", pdec.PdecSemanticError),
    "no_equations": ("var x in [0, 1]\nfield u\nbc: u = 0 at x = 0\n", pdec.PdecSemanticError),
    "field_without_variables": ("var x in [0, 1]\nfield u()\neq: u = 0\n", pdec.PdecSemanticError),
    "unknown_unused": (HEAT + "unknown k = 1\n", pdec.PdecSemanticError),
    "unknown_init_outside": (HEAT.replace("u_xx", "k*u_xx") + "unknown k = 20 in [0, 10]\n", pdec.PdecSemanticError),
    "unknown_positive_init": (HEAT.replace("u_xx", "k*u_xx") + "unknown k = -1 positive\n", pdec.PdecSemanticError),
    # exact solutions
    "exact_unknown_field": (HEAT + "exact: w = sin(pi*x)\n", pdec.PdecNameError),
    "exact_derivative": (HEAT + "exact: u = u_x\n", pdec.PdecSemanticError),
    "exact_uses_field": (HEAT + "exact: u = 2*u\n", pdec.PdecSemanticError),
    # data (mapping checks happen before the file is read)
    "data_bad_mapping": (HEAT + 'data obs: "obs.csv" x = x, t = t, q = u\n', pdec.PdecDataError),
    # tabulated coefficients (tables in tests/data)
    "coef_missing_file": (COEF.format('"missing.csv" x = x, a = a'), pdec.PdecDataError),
    "coef_missing_column": (COEF.format('"coef_line.csv" x = x, a = k'), pdec.PdecDataError),
    "coef_not_a_variable": (COEF.replace("coef a(x)", "coef a(x, z)").format('"coef_line.csv" x = x, a = a'),
                            pdec.PdecNameError),
    "coef_outside_range": (COEF.format('"coef_half.csv" x = x, a = a'), pdec.PdecDataError),
    "coef_too_few_points": (COEF.format('"coef_single.csv" x = x, a = a'), pdec.PdecDataError),
    "coef_bad_mapping": (COEF.format('"coef_line.csv" x = x, b = a'), pdec.PdecDataError),
    "coef_bad_method": (COEF.format('quadratic "coef_line.csv" x = x, a = a'), pdec.PdecSemanticError),
    "coef_in_exact": (COEF.format('"coef_line.csv" x = x, a = a') + "exact: u = a\n", pdec.PdecSemanticError),
    # training settings
    "setting_unknown_key": (HEAT + "train:\n  lrr = 0.01\n", pdec.PdecSettingsError),
    "setting_bad_choice": (HEAT + "train:\n  activation = relu6\n", pdec.PdecSettingsError),
    "setting_bad_inputs": (HEAT + "train:\n  inputs = centered\n", pdec.PdecSettingsError),
    "setting_bad_init": (HEAT + "train:\n  init = glorot_unifrom\n", pdec.PdecSettingsError),
    "setting_unknown_term": (HEAT + "train:\n  points.heta = 100\n", pdec.PdecSettingsError),
    "stage_unknown_term": (HEAT + "train:\n  stage: heat, end for 100\n", pdec.PdecSettingsError),
    "setting_int_overflow": (HEAT + "train:\n  adam = 1e400\n", pdec.PdecSettingsError),
    "setting_width_overflow": (HEAT + "train:\n  layers = [20, 1e400]\n", pdec.PdecSettingsError),
    "setting_seed_too_large": (HEAT + "train:\n  seed = 1e30\n", pdec.PdecSettingsError),
    "setting_lr_infinite": (HEAT + "train:\n  lr = 1e400\n", pdec.PdecSettingsError),
    "setting_weight_infinite": (HEAT + "train:\n  weight.ends = 1e999\n", pdec.PdecSettingsError),
    "setting_bad_device_index": (HEAT + "train:\n  device = cuda:1e400\n", pdec.PdecSettingsError),
    "setting_given_twice": (HEAT + "train:\n  adam = 10\n  adam = 20\n", pdec.PdecSettingsError),
    "setting_inputs_with_fourier_features": (HEAT + "train:\n  fourier_features = 8\n  inputs = unit\n",
                                             pdec.PdecSettingsError),
    "setting_inputs_with_exact_periodic": (HEAD + "eq heat: u_t = u_xx\nic: u = sin(2*pi*x) exact\n"
                                           "periodic: u in x exact\ntrain:\n  inputs = unit\n",
                                           pdec.PdecSettingsError),
    "train_block_twice": (HEAT + "train:\n  adam = 10\ntrain:\n  lbfgs = 0\n", pdec.PdecSyntaxError),
    "constant_applies_field": (HEAD + "field v(x)\nconst a = v(1)\neq: u_t = a\n", pdec.PdecSemanticError),
    # domains
    "domain_unknown_piece": (PLATE + "domain plate = rectangle - hole\nbc: u = 0 on boundary(hoel)\n",
                             pdec.PdecNameError),
    "domain_empty": (PLATE + "domain plate = rectangle((-0.1, -0.1), (0.1, 0.1)) - disk((0, 0), 0.5)\n",
                     pdec.PdecSemanticError),
    "domain_zero_radius": (PLATE + "domain plate = rectangle - disk((0, 0), 0)\n", pdec.PdecSemanticError),
    "domain_too_small": (PLATE + "domain plate = rectangle - disk((0, 0), 1e-9)\n", pdec.PdecSemanticError),
    "domain_number_too_large": (PLATE + "domain plate = rectangle - disk((1e9, 0), 1)\n", pdec.PdecSemanticError),
    "domain_piece_not_on_boundary": (PLATE + "domain inner = disk((0.3, 0.3), 0.05)\n"
                                     "domain plate = rectangle - hole - inner\nbc: u = 1 on boundary(inner)\n",
                                     pdec.PdecSemanticError),
    "domain_time_variable": ("var x in [0, 1]\ntime t in [0, 1]\nfield u(x, t)\neq: u_t = u_xx\nic: u = 0\n"
                             "domain rod = disk((0.5, 0.5), 0.5)\nbc: u = 0 on boundary\n", pdec.PdecSemanticError),
    "domain_outside_box": (PLATE + "domain plate = rectangle + disk((0.5, 0), 0.2)\n", pdec.PdecSemanticError),
    "domain_unknown_shape": (PLATE + "domain plate = rectangle - circle((0, 0), 0.1)\n", pdec.PdecNameError),
    "domain_shape_arguments": (PLATE + "domain plate = rectangle - disk((0, 0))\n", pdec.PdecSemanticError),
    "domain_polygon_crossing": (PLATE + "domain plate = polygon((0, 0), (0.4, 0.4), (0.4, 0), (0, 0.4))\n",
                                pdec.PdecSemanticError),
    "domain_not_part": (PLATE + "domain plate = rectangle - disk((0, 0), 0.2)\nbc: u = 0 on boundary(hole)\n",
                        pdec.PdecSemanticError),
    "domain_face_not_on_boundary": (PLATE + "domain plate = rectangle - rectangle((0.4, -0.5), (0.5, 0.5))\n"
                                    "bc: u = 0 at x = 0.5\n", pdec.PdecSemanticError),
    "domain_point_outside": (PLATE + PLATE_BC + "bc pin: u = 0 at x = 0.3, y = 0.3\n", pdec.PdecSemanticError),
    "domain_exact_plane_through_domain": (PLATE + "domain plate = rectangle - polygon((-0.2, -0.2), (0.2, -0.2), "
                                         "(0, 0.2))\nbc edges: u = 1 on boundary(rectangle) exact\n"
                                         "bc tri: u = 0 on boundary(polygon1) exact\n", pdec.PdecSemanticError),
    "domain_periodic": (PLATE + PLATE_BC + "periodic: u in x\n", pdec.PdecSemanticError),
    "domain_named_like_a_shape": (PLATE + "domain disk = rectangle - hole\n", pdec.PdecNameError),
    "domain_used_before_declared": (PLATE + "domain plate = rectangle - holes\ndomain holes = hole\n",
                                    pdec.PdecSemanticError),
    "domain_polygon_edge_out_of_range": (PLATE + "domain plate = rectangle - polygon((-0.2, -0.2), (0.2, -0.2), "
                                         "(0, 0.2))\nbc edges: u = 1 on boundary(rectangle)\n"
                                         "bc tri: u = 0 on boundary(polygon1:4)\n", pdec.PdecSemanticError),
    "domain_polygon_edge_not_on_boundary": (PLATE + "domain plate = rectangle - polygon((0.1, -0.5), (0.5, -0.5), "
                                            "(0.5, 0))\nbc cut: u = 0 on boundary(polygon1:1)\n",
                                            pdec.PdecSemanticError),
    "domain_polygon_edge_of_a_disk": (PLATE + "domain plate = rectangle - hole\nbc: u = 0 on boundary(hole:1)\n",
                                      pdec.PdecSemanticError),
    "domain_polygon_edge_unknown": (PLATE + "domain tri = polygon((-0.2, -0.2), (0.2, -0.2), (0, 0.2))\n"
                                    "domain plate = rectangle - tri\nbc: u = 0 on boundary(tir:1)\n",
                                    pdec.PdecNameError),
    "domain_polygon_edge_without_domain": (NEUMANN2 + "bc pin: u = 0 on boundary(hull:1)\n",
                                           pdec.PdecSemanticError),
    # time marching
    "windows_without_time": (POISSON + "train:\n  windows = 4\n", pdec.PdecSemanticError),
    "windows_with_unknowns": (HEAD + "unknown k = 1 positive\neq: u_t = k*u_xx\nic: u = sin(pi*x)\n"
                              "bc: u = 0 on boundary(x)\ndata: \"heat_few.csv\" x = x, t = t, u = u\n"
                              "train:\n  windows = 4\n", pdec.PdecSemanticError),
    # unknown functions
    "function_of_missing_variable": (K1.format("unknown k(y) = 1\n"), pdec.PdecNameError),
    "function_of_field": (K1.format("unknown D(u) = 1\n").replace("d(k*", "d(D*"), pdec.PdecSemanticError),
    "function_without_variables": (K1.format("unknown k() = 1\n"), pdec.PdecSemanticError),
    "function_unused": (K1.format("unknown k(x) = 1\n").replace("d(k*", "d("), pdec.PdecSemanticError),
    "function_wrong_arguments": (K2.format("unknown k(x) = 1\n").replace("d(k*", "d(k(x, y)*"),
                                 pdec.PdecSemanticError),
    "function_derivative_other_variable": (K2.format("unknown k(x) = 1\n").replace("- u_yy", "- k_y*u_yy"),
                                           pdec.PdecSemanticError),
    "function_name_clash": (K1.format("unknown u(x) = 1\n"), pdec.PdecNameError),
    "function_truth_other_variable": (K2.format("unknown k(x) = 1 true 1 + y\n"), pdec.PdecSemanticError),
    "function_truth_uses_field": (K1.format("unknown k(x) = 1 true 1 + u\n"), pdec.PdecSemanticError),
    "function_positive_init": (K1.format("unknown k(x) = -1 positive\n"), pdec.PdecSemanticError),
    "function_in_constant": (K1.format("unknown k(x) = 1\nconst c = 2*k\n"), pdec.PdecSemanticError),
    "function_in_exact_condition": (K1.format("unknown k(x) = 1\n").replace("bc: u = 0 on boundary",
                                    "bc: u = k at x = 0 exact\nbc: u = 0 at x = 1"), pdec.PdecSemanticError),
    # equation discovery (a `discover(...)` library)
    "discover_empty": (LIB + "eq: u_t = discover()\n", pdec.PdecSemanticError),
    "discover_duplicate": (LIB + "eq: u_t = discover(u*u_x, u_xx, -3*u_x*u)\n", pdec.PdecSemanticError),
    "discover_not_a_field_term": (LIB + "eq: u_t = discover(u_xx, x^2)\n", pdec.PdecSemanticError),
    "discover_with_unknown": (LIB + "unknown a = 1\neq: u_t = discover(u_xx, a*u)\n", pdec.PdecSemanticError),
    "discover_in_condition": (LIB + "eq: u_t = discover(u_xx)\nbc: u = discover(u_x) at x = 0\n",
                              pdec.PdecSemanticError),
    "discover_in_let": (LIB + "let f = discover(u_xx)\neq: u_t = f\n", pdec.PdecSemanticError),
    "discover_not_a_term": (LIB + "eq: u_t = 2*discover(u_xx, u)\n", pdec.PdecSemanticError),
    "discover_twice": (LIB + "eq: u_t = discover(u_xx) + discover(u)\n", pdec.PdecSemanticError),
    "discover_only_library": (LIB + "eq: 0 = discover(u_t, u_xx)\n", pdec.PdecSemanticError),
    "discover_candidate_is_the_rest": (LIB + "eq: u_t = discover(u_xx, 2*u_t)\n", pdec.PdecSemanticError),
    "discover_without_data": (HEAD + "eq: u_t = discover(u_xx, u)\nic: u = sin(pi*x)\n", pdec.PdecSemanticError),
    "discover_as_a_name": (HEAD + "const discover = 1\neq: u_t = u_xx\n", pdec.PdecNameError),
    "discover_bare": (LIB + "eq: u_t = discover*u_xx\n", pdec.PdecSemanticError),
    "windows_derivative_ic": (HEAD + "eq wave: u_tt = u_xx\nic value: u = sin(pi*x)\nic speed: u_t = 0\n"
                              "bc: u = 0 on boundary(x)\ntrain:\n  windows = 4\n", pdec.PdecSemanticError),
    "param_empty_interval": ("param nu in [0.05, 0.005]\n" + HEAT.replace("u_xx", "nu*u_xx"), pdec.PdecSemanticError),
    "param_unused": ("param nu in [0.005, 0.05]\n" + HEAT, pdec.PdecSemanticError),
    "param_as_a_place": ("param nu in [0.005, 0.05]\n" + HEAT.replace("u_xx", "nu*u_xx") + "bc: u = 0 at nu = 0.005\n",
                         pdec.PdecSemanticError),
}


def render(spec: str) -> tuple[type[BaseException], str]:
    try:
        pdec.load(spec)
    except PdecError as error:
        return type(error), str(error)
    raise AssertionError("the spec loaded without error")


def test_every_golden_error_has_its_spec():
    """No stale golden file, no spec without one: the table and the folder name the same cases."""
    assert {p.stem for p in GOLDEN.glob("*.txt")} == set(BAD_SPECS)


@pytest.mark.parametrize("name", sorted(BAD_SPECS))
def test_golden_error(name, monkeypatch):
    spec, kind = BAD_SPECS[name]
    monkeypatch.chdir(DATA)
    cls, message = render(spec)
    message = message.replace(str(DATA.resolve()), "<tests/data>")  # the same golden file on every machine
    golden = GOLDEN / f"{name}.txt"
    if UPDATE:
        golden.write_text(message + "\n", encoding="utf-8")
    assert cls is kind, message
    assert message + "\n" == golden.read_text(encoding="utf-8")
    assert "\n" in message and "^" in message, "every golden error points at the spec with a caret"


POISSON_EQ = "var x in [0, 1]\nfield u\nbc: u = 0 on boundary\neq: u_xx = "
HOSTILE = {
    "empty": ("", "is empty"),
    "blank": ("   \n\t\n", "is empty"),
    "not_utf8": (b"var x in [0, 1]\n\xff\xfe", "not UTF-8"),
    "empty_file": (b"", "is empty"),
    "latin1_file": ("var x in [0, 1]\n# caf\u00e9\n".encode("latin-1"), "not UTF-8"),
    "missing_file": ("missing_spec_file.pde", "no such file"),
    "parens_10000": (POISSON_EQ + "(" * 10000 + "1" + ")" * 10000 + "\n", "too long"),
    "parens_10000_lines": (POISSON_EQ + "(\n" * 10000 + "1" + ")\n" * 10000 + "\n", "nested too deeply"),
    "unbalanced_parens_10000": (POISSON_EQ + "(\n" * 10000 + "\n", "nested too deeply"),
    "parens_150": (POISSON_EQ + "(" * 150 + "1" + ")" * 150 + "\n", "nested too deeply"),
    "minus_5000": (POISSON_EQ + "-" * 5000 + "1\n", "nested too deeply"),
    "powers_3000": (POISSON_EQ + "2^" * 3000 + "1\n", "nested too deeply"),
    "functions_1000": (POISSON_EQ + "sin(" * 1000 + "x" + ")" * 1000 + "\n", "nested too deeply"),
    "megabyte_name": (POISSON_EQ + "a" * 1_000_000 + "\n", "line 4 is too long"),
    "megabyte_garbage": ("@" * 1_000_000 + "\n", "line 1 is too long"),
    "megabyte_comment": ("#" + "c" * 1_000_000 + "\n", "too long"),
    "megabyte_sum": (POISSON_EQ + "1+" * 500_000 + "1 = 0\n", "too long"),
    "many_long_lines": (("# " + "c" * 9000 + "\n") * 30, "the spec is too long"),
    "long_name": (POISSON_EQ + "a" * 9_000 + "\n", "unknown name 'aaaa"),
    "long_sum": (POISSON_EQ + "x+" * 4_000 + "1 = 0\n", "'='"),
    "number_overflow": (POISSON_EQ + "1e999\n", "too large"),
    "power_overflow": (POISSON_EQ + "10^10^10\n", "too large"),
    "complex_power": (POISSON_EQ + "(-8)^(1/3.5)\n", "not a real number"),
    "constant_overflow": ("const c = 1e308*10\n" + POISSON_EQ + "c\n", "constant 'c' is not a finite number"),
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_input_is_a_clean_error(name, tmp_path, monkeypatch):
    spec, fragment = HOSTILE[name]
    monkeypatch.chdir(tmp_path)
    if isinstance(spec, bytes):
        (tmp_path / "bad.pde").write_bytes(spec)
        spec = tmp_path / "bad.pde"
    with pytest.raises(PdecError) as info:
        pdec.load(spec)
    assert fragment in str(info.value)
    assert len(str(info.value)) < 2000, "long lines are cut in messages"


def test_binary_file_object_not_utf8():
    import io

    with pytest.raises(PdecError, match="not UTF-8"):
        pdec.load(io.BytesIO(b"\x80abc"))


def test_missing_path_object():
    with pytest.raises(PdecError, match="no such file"):
        pdec.load(Path("/nonexistent/dir/spec.pde"))


def test_warning_with_data_instead_of_error():
    spec = (HEAD.replace("[0, 1]", "[-1, 1]", 1) + "eq wave: u_tt = u_xx\nic: u = sin(pi*x)\nbc: u = 0 on boundary(x)\n"
            'data obs: "../examples/data/burgers_shock.mat" x = x, t = t, u = usol sample 10\n')
    path = Path(__file__).parent / "spec_under_test.pde"
    import io

    stream = io.StringIO(spec)
    stream.name = str(path)
    problem = pdec.load(stream)
    assert [w.message for w in problem.warnings] == [
        "'u' has a time derivative of order 2 (in eq 'wave') but 1 initial condition"
    ]
    assert str(problem.warnings[0]).startswith(f"{path}:4:1: warning:")
    assert "(data terms may be enough)" in str(problem.warnings[0])


def test_endless_file_is_read_only_up_to_a_bound():
    import io

    from pdec.language.frontend import MAX_READ

    endless = io.BytesIO(b"\0" * (MAX_READ + 10))  # /dev/zero, a pipe that never ends: read() would not return
    with pytest.raises(PdecError, match="too large for a spec"):
        pdec.load(endless)
    assert endless.tell() == MAX_READ + 1
