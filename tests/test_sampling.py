import numpy as np
import pytest
from scipy.stats import qmc
from trainer_problems import FAST, heat2d, poisson1d, poisson_inverse

from pdec.core.settings import SAMPLERS, Settings
from pdec.train.sampling import Sampler, box_points, eval_points, line_points, split_counts, unit_points

BOUNDS = {"x": (-1.0, 1.0), "t": (0.0, 2.0), "y": (3.0, 4.0)}


@pytest.mark.parametrize("sampler", [s for s in SAMPLERS if s != "grid"])
def test_unit_points_shape_range_and_seed(sampler):
    a = unit_points(100, 3, sampler, seed=7)
    assert a.shape == (100, 3)
    assert (a >= 0).all() and (a <= 1).all()
    np.testing.assert_array_equal(a, unit_points(100, 3, sampler, seed=7))
    assert not np.array_equal(a, unit_points(100, 3, sampler, seed=8))


def test_grid_rounds_up_to_full_grid_of_cell_centres():
    g = unit_points(10, 2, "grid", seed=0)
    assert g.shape == (16, 2)
    np.testing.assert_allclose(np.unique(g[:, 0]), [0.125, 0.375, 0.625, 0.875])


@pytest.mark.parametrize("sampler", SAMPLERS)
def test_interior_points_inside_box(sampler):
    p = box_points(200, BOUNDS, {}, sampler, seed=1)
    for j, (lo, hi) in enumerate(BOUNDS.values()):
        assert (p[:, j] >= lo).all() and (p[:, j] <= hi).all()


@pytest.mark.parametrize("sampler", SAMPLERS)
def test_face_points_fix_one_coordinate(sampler):
    p = box_points(50, BOUNDS, {"t": 2.0}, sampler, seed=1)
    assert (p[:, 1] == 2.0).all()
    assert (p[:, 0] >= -1).all() and (p[:, 0] <= 1).all() and (p[:, 2] >= 3).all() and (p[:, 2] <= 4).all()
    assert len(np.unique(p[:, 0])) > 1


def test_point_face_has_one_row():
    p = box_points(16, {"x": (0.0, 1.0)}, {"x": 1.0}, "sobol", seed=0)
    np.testing.assert_array_equal(p, [[1.0]])


def test_sobol_discrepancy_lower_than_random():
    sobol = unit_points(256, 2, "sobol", seed=3)
    rand = unit_points(256, 2, "random", seed=3)
    assert qmc.discrepancy(sobol) < qmc.discrepancy(rand)


def test_split_counts_proportional_and_exact_total():
    assert split_counts(100, {"a": 2.0, "b": 1.0, "c": 1.0}) == {"a": 50, "b": 25, "c": 25}
    counts = split_counts(7, {"a": 1.0, "b": 1.0, "c": 1.0})
    assert sum(counts.values()) == 7 and max(counts.values()) - min(counts.values()) <= 1
    assert split_counts(1, {"a": 1.0, "b": 1.0}) == {"a": 1, "b": 1}  # every piece gets a point


def test_sampler_counts_per_condition_and_overrides():
    c = heat2d(**FAST)
    s = Sampler(c, Settings(interior=300, boundary=40, points={"initial": 25}))
    pts = s.draw()
    assert pts["interior"].shape == (300, 2)
    assert len(pts["ic:initial@t=0"]) == 25
    assert len(pts["bc:walls@x=-1"]) + len(pts["bc:walls@x=1"]) == 40
    assert (pts["ic:initial@t=0"][:, 1] == 0).all() and (pts["bc:walls@x=1"][:, 0] == 1).all()
    s2 = Sampler(c, Settings(interior=300, points={"heat": 123}))
    assert len(s2.draw()["interior"]) == 123


def test_sampler_rounds_reproducible_and_distinct():
    c = heat2d(**FAST)
    a, b = Sampler(c, Settings(seed=1)), Sampler(c, Settings(seed=1))
    np.testing.assert_array_equal(a.draw(3)["interior"], b.draw(3)["interior"])
    assert not np.array_equal(a.draw(3)["interior"], a.draw(4)["interior"])
    assert not np.array_equal(a.draw(0)["interior"], Sampler(c, Settings(seed=2)).draw(0)["interior"])


def test_a_problem_in_one_variable_gets_evenly_spaced_equation_points():
    c = poisson1d(**FAST)  # x in [0, 1]
    s = Sampler(c, Settings(seed=3, interior=35))
    np.testing.assert_allclose(np.sort(s.draw(0)["interior"][:, 0]), (np.arange(35) + 0.5) / 35, atol=1e-15)
    later = np.sort(s.draw(2)["interior"][:, 0])
    gaps = np.diff(later)
    np.testing.assert_allclose(gaps, 1 / 35, atol=1e-12)  # a later round: the same lattice, moved
    assert 0 <= later[0] < 1 / 35 and not np.allclose(later, (np.arange(35) + 0.5) / 35)
    np.testing.assert_array_equal(later, np.sort(Sampler(c, Settings(seed=3, interior=35)).draw(2)["interior"][:, 0]))
    np.testing.assert_array_equal(line_points(35, 0, 9), line_points(35, 0, 3))  # round 0 needs no seed
    lhs = np.sort(Sampler(c, Settings(seed=3, interior=35, sampler="lhs")).draw(0)["interior"][:, 0])
    assert np.diff(lhs).max() > 1.2 / 35  # another rule keeps its own points (and their wider gaps)
    assert len(Sampler(heat2d(**FAST), Settings(interior=35)).draw(0)["interior"]) == 35  # two variables: Sobol


@pytest.mark.parametrize("sampler", ["sobol", "grid"])
def test_the_heldout_draw_is_fixed_and_no_training_round(sampler):
    c = heat2d(**FAST)
    s = Sampler(c, Settings(seed=1, interior=300, sampler=sampler))
    held = s.heldout({"interior"})
    assert list(held) == ["interior"] and held["interior"].shape == (300, 2)
    again = Sampler(c, Settings(seed=1, interior=300, sampler=sampler)).heldout({"interior"})
    np.testing.assert_array_equal(held["interior"], again["interior"])
    for r in range(4):
        assert not np.isin(held["interior"], s.draw(r)["interior"]).all(axis=1).any()  # no point shared
    other = Sampler(c, Settings(seed=2, interior=300, sampler=sampler)).heldout({"interior"})
    assert not np.array_equal(other["interior"], held["interior"])


def test_data_point_sets_keep_their_points():
    c = poisson_inverse(**FAST)
    s = Sampler(c, Settings())
    np.testing.assert_allclose(s.draw(0)["data:obs"], s.draw(5)["data:obs"])
    assert s.draw()["data:obs"].shape == (16, 1)
    np.testing.assert_allclose(s.targets()["data:obs"], np.sin(np.pi * s.draw()["data:obs"]), rtol=1e-6)


def test_eval_points_fixed():
    np.testing.assert_array_equal(eval_points(BOUNDS, 64), eval_points(BOUNDS, 64))
