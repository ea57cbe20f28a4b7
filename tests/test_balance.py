import numpy as np
import pytest
import torch
from trainer_problems import heat2d, poisson1d, small

from pdec.compiler.terms import Term
from pdec.core.settings import Settings
from pdec.language.problem import Kind
from pdec.train.balance import Fixed, InverseDirichlet, MaxAvg, MaxAvgUnweighted, ReLoBRaLo, make_balancer
from pdec.train.trainer import Trainer

TERMS = ("pde:a", "bc:b", "bc:c")


def _fd_gradients(trainer, points, h=1e-6):
    """Central finite differences of every term's loss w.r.t. every network weight and bias (float64)."""
    params = trainer.net_params
    grads = {k: [] for k in trainer.terms}
    with torch.no_grad():
        for p in params:
            flat = p.view(-1)
            for i in range(flat.numel()):
                old = flat[i].item()
                flat[i] = old + h
                up = {k: float(v) for k, v in trainer.losses(points, trainer.terms).items()}
                flat[i] = old - h
                down = {k: float(v) for k, v in trainer.losses(points, trainer.terms).items()}
                flat[i] = old
                for k in grads:
                    grads[k].append((up[k] - down[k]) / (2 * h))
    return {k: np.array(v) for k, v in grads.items()}


def test_inverse_dirichlet_matches_hand_computation(tmp_path):
    compiled = poisson1d(layers=(3,), interior=16, dtype="float64", weighting="inverse_dirichlet")
    trainer = Trainer(compiled, compiled.problem.settings, tmp_path)
    points = trainer.points(1, trainer.terms)
    fd = _fd_gradients(trainer, points)
    sigma = {k: np.std(g, ddof=1) for k, g in fd.items()}  # unbiased std over all weights and biases
    top = max(sigma.values())
    expected = {k: 0.5 * 1.0 + 0.5 * top / s for k, s in sigma.items()}  # alpha = 0.5, lambda = 1 at start

    losses = trainer.losses(points, trainer.terms)
    assert trainer.state.balancer.due(1)
    trainer.balanced_gradients(losses)
    for k in trainer.terms:
        assert trainer.state.balancer.weights[k] == pytest.approx(expected[k], rel=1e-6)
    assert trainer.state.balancer.weights["pde:poisson"] < trainer.state.balancer.weights["bc:left"]
    # the step's gradient is sum_k lambda_k g_k, with no further backward pass
    combined = torch.cat([p.grad.reshape(-1) for p in trainer.net_params]).numpy()
    np.testing.assert_allclose(combined, sum(expected[k] * fd[k] for k in fd), rtol=1e-5, atol=1e-8)


def test_grouped_inverse_dirichlet_matches_hand_computation(tmp_path):
    """The default without data is the grouped rule: one weight for the equations, one for the conditions (their
    gradients summed)."""
    compiled = heat2d(layers=(3,), interior=16, boundary=8, dtype="float64")
    trainer = Trainer(compiled, compiled.settings, tmp_path)
    assert trainer.state.balancer.name == "inverse_dirichlet_grouped_capped"
    assert not any(trainer.state.balancer.isolated.values())  # an initial line and two walls: no isolated points
    points = trainer.points(1, trainer.terms)
    fd = _fd_gradients(trainer, points)
    sigma = {"pde": np.std(fd["pde:heat"], ddof=1), "conditions": np.std(fd["ic:initial"] + fd["bc:walls"], ddof=1)}
    top = max(sigma.values())
    expected = {k: 0.5 + 0.5 * top / sigma["pde" if k == "pde:heat" else "conditions"] for k in fd}
    trainer.balanced_gradients(trainer.losses(points, trainer.terms))
    for k in trainer.terms:
        assert trainer.state.balancer.weights[k] == pytest.approx(expected[k], rel=1e-6)
    assert trainer.state.balancer.weights["ic:initial"] == trainer.state.balancer.weights["bc:walls"] != 1.0


@pytest.mark.parametrize(
    ("problem", "start", "sums"),
    [
        (heat2d, {}, {"equations": ["pde:heat"], "constraints": ["ic:initial", "bc:walls"]}),
        (poisson1d, {"pde:poisson": 3.0}, {"equations": ["pde:poisson"]}),  # and u(0), u(1): one weighted pass
    ],
)
def test_group_gradients_give_the_per_term_weights_and_step(tmp_path, problem, start, sums):
    """One backward pass per group, one for the terms outside every group: the per-term path's weights and step."""
    found = []
    for per_term in (True, False):
        compiled = problem(layers=(3,), interior=16, boundary=8, dtype="float64")
        trainer = Trainer(compiled, compiled.settings, tmp_path / str(per_term))
        trainer.state.balancer.weights.update(start)
        losses = trainer.losses(trainer.points(1, trainer.terms), trainer.terms)
        assert trainer.state.balancer.gradient_sums(losses) == sums
        if per_term:  # every term's own gradient, summed per group by the balancer
            trainer.state.balancer.gradient_sums = lambda losses: {k: [k] for k in losses}
        trainer.balanced_gradients(losses)
        found.append((dict(trainer.state.balancer.weights), torch.cat([p.grad.reshape(-1) for p in trainer.params])))
    (weights, step), (group_weights, group_step) = found
    assert group_weights == pytest.approx(weights, rel=1e-12, abs=0.0)
    assert weights != dict.fromkeys(weights, 1.0)
    torch.testing.assert_close(group_step, step, rtol=1e-12, atol=1e-15)


def test_a_lone_group_at_its_weights_reads_no_gradient():
    """An equation and conditions at points only: the lone group's ratio is 1, so its gradient cannot move it."""
    terms = {k: v for k, v in _split_terms().items() if k in ("pde:a", "bc:e")}
    b = make_balancer(terms, Settings())
    assert b.gradient_sums(dict.fromkeys(terms)) == {}
    b.update(dict.fromkeys(terms), {})
    assert b.weights == {"pde:a": 1.0, "bc:e": 1.0}
    b.weights["pde:a"] = 3.0  # away from 1 (a weight restored from elsewhere): the moving average moves it
    assert b.gradient_sums(dict.fromkeys(terms)) == {"equations": ["pde:a"]}
    b.update(dict.fromkeys(terms), {"equations": [torch.tensor([1.0, -1.0, 3.0])]})
    assert b.weights == {"pde:a": 2.0, "bc:e": 1.0}


def test_conditions_at_isolated_points_keep_weight_one(tmp_path):
    """u(0) = u(1) = 0 of a 1-D problem: met exactly at a point, their gradient vanishes; they stay at weight 1."""
    compiled = poisson1d(**small())
    trainer = Trainer(compiled, compiled.settings, tmp_path)
    assert trainer.state.balancer.isolated == {"pde:poisson": False, "bc:left": True, "bc:right": True}
    terms = {k: Term(k, Kind(k.split(":")[0]), (), (), bare=k.split(":")[1], isolated=k == "bc:c") for k in TERMS}
    g = {
        "pde:a": [torch.tensor([1.0, -1.0, 3.0])],
        "bc:b": [torch.tensor([0.1, 0.2])],
        "bc:c": [torch.tensor([1e-9, 0.0])],
    }
    b = make_balancer(terms, Settings())
    b.update(dict.fromkeys(TERMS), g)
    ratio = np.std([1, -1, 3], ddof=1) / np.std([0.1, 0.2], ddof=1)
    assert b.weights == pytest.approx({"pde:a": 1.0, "bc:b": 0.5 + 0.5 * ratio, "bc:c": 1.0})
    per_term = InverseDirichlet(terms, Settings())  # the paper's rule is unchanged
    per_term.update(dict.fromkeys(TERMS), g)
    assert per_term.weights["bc:c"] > 1e8


def test_grouped_equals_per_term_with_one_equation_and_one_condition():
    """The multi-scale Poisson benchmark has one equation and one condition: there the default is the paper's rule."""
    terms = ("pde:poisson", "bc:wall")
    per_term = InverseDirichlet(terms, Settings())
    grouped = make_balancer(terms, Settings())
    gen = torch.Generator().manual_seed(0)
    for scale in (1.0, 1e-3, 1e-6):
        g = {
            "pde:poisson": [torch.randn(7, generator=gen), None],
            "bc:wall": [scale * torch.randn(7, generator=gen), None],
        }
        per_term.update(dict.fromkeys(terms), g)
        grouped.update(dict.fromkeys(terms), g)
        assert grouped.weights == per_term.weights


def test_inverse_dirichlet_second_update_is_moving_average():
    b = InverseDirichlet(TERMS, Settings(alpha=0.25))
    g = {"pde:a": [torch.tensor([1.0, -1.0, 3.0])], "bc:b": [torch.tensor([0.1, 0.2])], "bc:c": [None, torch.ones(2)]}
    b.update(dict.fromkeys(TERMS), g)
    first = dict(b.weights)
    b.update(dict.fromkeys(TERMS), g)
    sd = {"pde:a": np.std([1, -1, 3], ddof=1), "bc:b": np.std([0.1, 0.2], ddof=1)}
    hat_b = sd["pde:a"] / sd["bc:b"]
    assert first["bc:b"] == pytest.approx(0.25 + 0.75 * hat_b, rel=1e-6)
    assert b.weights["bc:b"] == pytest.approx(0.25 * first["bc:b"] + 0.75 * hat_b, rel=1e-6)


def test_zero_sigma_is_skipped_without_inf_or_nan():
    b = InverseDirichlet(TERMS, Settings())
    g = {"pde:a": [torch.randn(10)], "bc:b": [torch.zeros(10)], "bc:c": [None]}
    b.update(dict.fromkeys(TERMS), g)
    assert b.weights["bc:b"] == 1.0 and b.weights["bc:c"] == 1.0
    assert b.weights["pde:a"] == pytest.approx(1.0)
    assert all(np.isfinite(list(b.weights.values())))
    b.update(dict.fromkeys(("bc:b",)), {"bc:b": [torch.zeros(3)]})  # nothing live at all
    assert b.weights["bc:b"] == 1.0


def test_max_avg_hand_computation():
    """The reference codes divide by the mean gradient of the *weighted* term: lambda_hat = max / (lambda mean)."""
    b = MaxAvg(TERMS, Settings(alpha=0.5))
    g = {"pde:a": [torch.tensor([0.5, -4.0])], "bc:b": [torch.tensor([1.0, -3.0])], "bc:c": [torch.zeros(2)]}
    b.update(dict.fromkeys(TERMS), g)
    assert b.weights["pde:a"] == 1.0
    first = 0.5 + 0.5 * 4.0 / (1.0 * 2.0)  # lambda = 1 at the first update
    assert b.weights["bc:b"] == pytest.approx(first)
    assert b.weights["bc:c"] == 1.0  # mean |g| = 0: skipped
    b.update(dict.fromkeys(TERMS), g)
    assert b.weights["bc:b"] == pytest.approx(0.5 * first + 0.5 * 4.0 / (first * 2.0))


def test_max_avg_settles_at_the_square_root_of_the_unweighted_variant():
    g = {"pde:a": [torch.tensor([0.5, -400.0])], "bc:b": [torch.tensor([1.0, -3.0])], "bc:c": [torch.ones(2)]}
    weighted, unweighted = MaxAvg(TERMS, Settings()), MaxAvgUnweighted(TERMS, Settings())
    for _ in range(200):
        weighted.update(dict.fromkeys(TERMS), g)
        unweighted.update(dict.fromkeys(TERMS), g)
    assert unweighted.weights["bc:b"] == pytest.approx(400.0 / 2.0)
    assert weighted.weights["bc:b"] == pytest.approx((400.0 / 2.0) ** 0.5, rel=1e-6)
    assert make_balancer(TERMS, Settings(weighting="max_avg_unweighted")).name == "max_avg_unweighted"


def test_fixed_uses_bare_names_and_never_updates():
    b = make_balancer(TERMS, Settings(weighting="fixed", weights={"b": 10.0}))
    assert isinstance(b, Fixed)
    assert b.weights == {"pde:a": 1.0, "bc:b": 10.0, "bc:c": 1.0}
    assert not b.due(1) and not b.due(11)


def test_update_schedule_and_reset():
    b = InverseDirichlet(TERMS, Settings(update_every=10))
    assert [s for s in range(1, 25) if b.due(s)] == [1, 11, 21]
    b.weights["bc:b"] = 7.0
    b.reset()
    assert b.weights["bc:b"] == 1.0 and b.due(5)


def test_relobralo_weights_finite_and_state_round_trip():
    b = ReLoBRaLo(TERMS, Settings(seed=3))
    losses = [
        {"pde:a": torch.tensor(v), "bc:b": torch.tensor(1.0 / v), "bc:c": torch.tensor(0.5)} for v in (1.0, 2.0, 4.0)
    ]
    b.update(losses[0])
    assert b.weights == pytest.approx(dict.fromkeys(TERMS, 1.0))
    b.update(losses[1])
    state = b.state_dict()
    b.update(losses[2])
    after = dict(b.weights)
    c = ReLoBRaLo(TERMS, Settings(seed=99))
    c.load_state_dict(state)
    c.update(losses[2])
    assert c.weights == after
    assert all(np.isfinite(list(after.values()))) and all(w > 0 for w in after.values())
    assert after["pde:a"] > after["bc:b"]  # the growing loss gains weight


def _softmax_weights(now, then, t=0.1, eps=1e-7):
    ratio = np.array([now[k] / (t * then[k] + eps) for k in now])
    e = np.exp(ratio - ratio.max())
    return dict(zip(now, len(now) * e / e.sum(), strict=True))


def test_relobralo_warm_up_follows_the_authors_code():
    """Update 0 keeps lambda = 1 and records the reference losses; update 1 jumps to bal(1, 0) (alpha = 0, rho = 1);
    from update 2 on, lambda = rho 0.999 lambda + (1 - rho) 0.999 bal(t, 0) + 0.001 bal(t, t - 1)."""
    b = ReLoBRaLo(TERMS, Settings(seed=0))
    l0 = {"pde:a": 1.0, "bc:b": 1.0, "bc:c": 1.0}
    l1 = {"pde:a": 0.5, "bc:b": 0.9, "bc:c": 0.2}
    l2 = {"pde:a": 0.4, "bc:b": 0.1, "bc:c": 0.1}
    b.update({k: torch.tensor(v) for k, v in l0.items()})
    assert b.weights == dict.fromkeys(TERMS, 1.0)
    b.update({k: torch.tensor(v) for k, v in l1.items()})
    jump = _softmax_weights(l1, l0)
    assert b.weights == pytest.approx(jump)
    assert max(abs(w - 1.0) for w in b.weights.values()) > 0.1  # no 1,000-step crawl away from 1
    rho = float(np.random.default_rng(0).random() < 0.99)
    b.update({k: torch.tensor(v) for k, v in l2.items()})
    to_prev, to_init = _softmax_weights(l2, l1), _softmax_weights(l2, l0)
    for k in TERMS:
        hist = rho * jump[k] + (1 - rho) * to_init[k]
        assert b.weights[k] == pytest.approx(0.999 * hist + 0.001 * to_prev[k])
    b.reset()
    b.update({k: torch.tensor(v) for k, v in l2.items()})
    assert b.weights == dict.fromkeys(TERMS, 1.0)  # the warm-up restarts when a term switches on


def test_balancers_read_kinds_and_isolated_points_from_the_term_records():
    from pathlib import Path

    from pdec.compiler.driver import compile as compile_spec
    from pdec.language.problem import Kind

    spec = Path(__file__).parent / "golden" / "trajectories" / "euler_beam.pde"
    compiled = compile_spec(spec)
    balancer = make_balancer(compiled.terms, compiled.settings)
    assert balancer.kind == {name: t.kind for name, t in compiled.terms.items()}
    assert balancer.groups(dict.fromkeys(compiled.terms)) == {"equations": ["pde:beam"]}  # the points stay at 1
    assert balancer.isolated == {"pde:beam": False, "bc:clamp": True, "bc:slope": True, "bc:moment": True,
                                 "bc:shear": True}
    assert compiled.terms["pde:beam"].kind is Kind.PDE


SPLIT = ("pde:a", "pde:b", "bc:c", "data:d", "bc:e")


def _split_terms():
    """Two equations, a condition on a face, a data set and a condition at an isolated point."""
    kinds = {"pde": Kind.PDE, "bc": Kind.BC, "data": Kind.DATA}
    return {k: Term(k, kinds[k.split(":")[0]], (), (), bare=k.split(":")[1], isolated=k == "bc:e") for k in SPLIT}


def _split_grads():
    return {
        "pde:a": [torch.tensor([1.0, -1.0, 3.0])],
        "pde:b": [torch.tensor([2.0, -1.0, 3.0])],
        "bc:c": [torch.tensor([0.1, 0.2, 0.0])],
        "data:d": [torch.tensor([0.01, 0.02, 0.0])],
        "bc:e": [torch.tensor([1e-9, 0.0, 0.0])],
    }


def test_per_equation_groups_each_equation_alone_the_conditions_and_the_data_apart():
    b = make_balancer(_split_terms(), Settings(weighting="inverse_dirichlet_equations"))
    assert b.groups(dict.fromkeys(SPLIT)) == {
        "pde:a": ["pde:a"], "pde:b": ["pde:b"], "conditions": ["bc:c"], "data": ["data:d"],
    }
    b.update(dict.fromkeys(SPLIT), _split_grads())
    sd = {k: np.std(v[0].numpy(), ddof=1) for k, v in _split_grads().items()}
    top = max(sd["pde:a"], sd["pde:b"], sd["bc:c"], sd["data:d"])
    expected = {k: 0.5 + 0.5 * top / sd[k] for k in ("pde:a", "pde:b", "bc:c", "data:d")}
    assert b.weights == pytest.approx({**expected, "bc:e": 1.0}, rel=1e-6)


def test_per_equation_is_the_grouped_rule_with_one_equation_and_data_only():
    """An ODE's inverse problem (one equation, conditions at points, one data set): the grouped rule, term for term."""
    terms = {k: v for k, v in _split_terms().items() if k != "pde:b" and k != "bc:c"}
    default = make_balancer(terms, Settings(weighting="inverse_dirichlet_grouped"))
    per_equation = make_balancer(terms, Settings(weighting="inverse_dirichlet_equations"))
    gen = torch.Generator().manual_seed(0)
    for scale in (1.0, 1e-3, 1e-6):
        g = {k: [scale ** (k == "data:d") * torch.randn(7, generator=gen)] for k in terms}
        default.update(dict.fromkeys(terms), g)
        per_equation.update(dict.fromkeys(terms), g)
        assert per_equation.weights == default.weights


def _only_the_cap(weighting, weights):
    """The weights after one update of a rule without the isolated condition, from ``weights`` with ``alpha = 1``
    (the moving average keeps them): what the cap alone makes of them."""  # noqa: D205, D209
    terms = {k: v for k, v in _split_terms().items() if k != "bc:e"}
    b = make_balancer(terms, Settings(weighting=weighting))
    b.weights.update(weights)
    b.alpha = 1.0
    g = _split_grads()
    b.update(dict.fromkeys(terms), {k: g[k] for k in terms})
    return b.weights


def test_data_capped_holds_the_data_at_most_at_every_other_weight():
    """The data never outweigh an equation or a condition (the isolated one, at 1, included)."""
    b = make_balancer(_split_terms(), Settings(weighting="inverse_dirichlet_data_capped"))
    assert b.groups(dict.fromkeys(SPLIT)) == {
        "equations": ["pde:a", "pde:b"], "conditions": ["bc:c"], "data": ["data:d"],
    }
    g = _split_grads()
    b.update(dict.fromkeys(SPLIT), g)
    sd = {k: np.std(v, ddof=1) for k, v in {
        "equations": g["pde:a"][0].numpy() + g["pde:b"][0].numpy(), "conditions": g["bc:c"][0].numpy(),
    }.items()}
    assert b.weights["pde:a"] == b.weights["pde:b"] == 1.0  # the largest spread
    assert b.weights["bc:c"] == pytest.approx(0.5 + 0.5 * sd["equations"] / sd["conditions"], rel=1e-6)
    assert b.weights["data:d"] == 1.0  # 0.5 + 0.5 * 1e2-ish without the cap
    assert b.weights["bc:e"] == 1.0
    # data with the largest spread keep their weight; the equations rise above it
    g = {**g, "data:d": [torch.tensor([30.0, -10.0, 0.0])]}
    b = make_balancer(_split_terms(), Settings(weighting="inverse_dirichlet_data_capped"))
    b.update(dict.fromkeys(SPLIT), g)
    assert b.weights["data:d"] == 1.0 < b.weights["pde:a"]
    # without the isolated condition the ceiling is the smaller of the equations' and the conditions' weights
    assert _only_the_cap("inverse_dirichlet_data_capped", {"pde:a": 8.0, "pde:b": 8.0, "bc:c": 5.0, "data:d": 300.0}) \
        == {"pde:a": 8.0, "pde:b": 8.0, "bc:c": 5.0, "data:d": 5.0}
    # a data-only stage: nothing to cap against
    b = make_balancer(_split_terms(), Settings(weighting="inverse_dirichlet_data_capped"))
    b.update({"data:d": None}, {"data:d": g["data:d"]})
    assert b.weights["data:d"] == 1.0


def test_data_capped_is_the_default_without_data():
    """A forward problem (no data) trains under the capped rule exactly as under the default."""
    terms = {k: v for k, v in _split_terms().items() if k != "data:d"}
    default = make_balancer(terms, Settings())
    capped = make_balancer(terms, Settings(weighting="inverse_dirichlet_data_capped"))
    gen = torch.Generator().manual_seed(1)
    for scale in (1.0, 1e-3, 1e-6):
        g = {k: [scale ** (k == "bc:c") * torch.randn(7, generator=gen)] for k in terms}
        default.update(dict.fromkeys(terms), g)
        capped.update(dict.fromkeys(terms), g)
        assert capped.weights == default.weights


def test_grouped_capped_pools_the_data_with_the_conditions_and_caps_them():
    """The grouped rule's two groups (data with the conditions, their gradients summed), then the data capped."""
    b = make_balancer(_split_terms(), Settings(weighting="inverse_dirichlet_grouped_capped"))
    assert b.groups(dict.fromkeys(SPLIT)) == {"equations": ["pde:a", "pde:b"], "constraints": ["bc:c", "data:d"]}
    g = _split_grads()
    b.update(dict.fromkeys(SPLIT), g)
    sd = {k: np.std(v, ddof=1) for k, v in {
        "equations": g["pde:a"][0].numpy() + g["pde:b"][0].numpy(),
        "constraints": g["bc:c"][0].numpy() + g["data:d"][0].numpy(),
    }.items()}
    assert b.weights["pde:a"] == b.weights["pde:b"] == 1.0  # the largest spread
    assert b.weights["bc:c"] == pytest.approx(0.5 + 0.5 * sd["equations"] / sd["constraints"], rel=1e-6)
    assert b.weights["bc:c"] > 10.0
    assert b.weights["data:d"] == 1.0  # the group's weight, capped at the equations' (and bc:e's) 1
    assert b.weights["bc:e"] == 1.0
    # without the isolated condition the data follow their group down to the equations' weight, not below
    grouped = "inverse_dirichlet_grouped_capped"
    start = {"pde:a": 8.0, "pde:b": 8.0, "bc:c": 5.0, "data:d": 5.0}
    assert _only_the_cap(grouped, start) == start
    assert _only_the_cap(grouped, {**start, "pde:a": 2.0, "pde:b": 2.0}) == {**start, "pde:a": 2.0, "pde:b": 2.0,
                                                                             "data:d": 2.0}


@pytest.mark.parametrize("drop, same_as", [
    (("data:d",), "inverse_dirichlet_grouped"),  # a forward problem: the grouped rule
    (("bc:c",), "inverse_dirichlet_data_capped"),  # conditions only at isolated points (an ODE): the 3-group rule
])
def test_grouped_capped_equals_the_other_rules_where_their_groups_agree(drop, same_as):
    """Without data, or without conditions off isolated points, the rule is an older one term for term."""
    terms = {k: v for k, v in _split_terms().items() if k not in drop}
    ours = make_balancer(terms, Settings(weighting="inverse_dirichlet_grouped_capped"))
    theirs = make_balancer(terms, Settings(weighting=same_as))
    gen = torch.Generator().manual_seed(2)
    for scale in (1.0, 1e-3, 1e-6):
        g = {k: [scale ** (k in ("bc:c", "data:d")) * torch.randn(7, generator=gen)] for k in terms}
        ours.update(dict.fromkeys(terms), g)
        theirs.update(dict.fromkeys(terms), g)
        assert ours.weights == theirs.weights


OSCILLATOR = """
time t in [0, 10]
field y(t)
unknown c = 1 positive true 0.4
unknown k = 1 positive true 4
eq osc: y_tt + c*y_t + k*y = 0
ic y0: y = 1
ic v0: y_t = 0
data obs: "obs.csv" t = t, y = y
train:
  stage: obs for 1000
"""


def test_capped_data_leave_the_equation_fitted_on_noisy_readings(tmp_path):
    """A damped oscillator's c and k from 50 readings with 1% noise (benchmarks/specs/inverse_checks/).

    After the data-only stage the readings are fitted and their gradient is small; the default's inverse Dirichlet
    weight then holds them at about 1e3 times the equation's, and the network follows the noise: the equation's loss
    stays near 1e-3 and c ends 0.1% from the least-squares value. Held at most at the equation's weight, the data
    leave the equation fitted (loss below 1e-5), and c and k land where a least-squares fit of the closed form to the
    same readings puts them (c 0.07%, k 0.09% off the truth). About 10 s.
    """
    from pdec import fit
    from pdec.compiler.driver import compile as compile_spec

    t = np.linspace(0.0, 10.0, 50)
    w = np.sqrt(4.0 - 0.04)
    y = np.exp(-0.2 * t) * (np.cos(w * t) + 0.2 / w * np.sin(w * t))
    y = y + 0.01 * np.std(y) * np.random.default_rng(0).standard_normal(50)
    np.savetxt(tmp_path / "obs.csv", np.column_stack([t, y]), delimiter=",", header="t,y", comments="")
    (tmp_path / "osc.pde").write_text(OSCILLATOR)
    result = fit(compile_spec(tmp_path / "osc.pde"), out=tmp_path / "run", quiet=True, plots=False, adam=2500,
                 iterations=300, weighting="inverse_dirichlet_data_capped")
    history = result.history
    joint = np.isfinite(history["loss:pde:osc"])
    assert (history["weight:data:obs"][joint] <= history["weight:pde:osc"][joint]).all()
    assert result.metrics["losses"]["pde:osc"] < 1e-5  # the default: 7e-4
    # scipy's curve_fit of the closed form to these readings: c = 0.400283, k = 3.99657 (make_oscillator.py);
    # the default ends 0.11% and 0.05% away from them
    assert result.unknowns["c"] == pytest.approx(0.400283, rel=3e-4)
    assert result.unknowns["k"] == pytest.approx(3.99657, rel=3e-4)


def test_an_l_bfgs_second_phase_finds_heat_inverse_diffusivity(tmp_path):
    """examples/heat_inverse.pde as written, with L-BFGS (what `auto` takes above 5,000 parameters) after Adam.

    With the data apart from the conditions (inverse_dirichlet_data_capped, three groups) the equation's weight
    climbs to about 1,000 while the initial condition and the capped data stay at 1; Adam ends with the equation met
    at k = 0.28 and L-BFGS stops 13.9% off. Pooled with the conditions, the data hold k: within 0.1% of 0.4 (its 400
    readings with 1% noise determine it to about 0.12%). About 12 s.
    """
    from pdec import fit
    from pdec.compiler.driver import compile as compile_spec

    result = fit(compile_spec("examples/heat_inverse.pde"), out=tmp_path / "run", quiet=True, plots=False,
                 optimizer="lbfgs")
    assert result.settings.weighting == "inverse_dirichlet_grouped_capped"
    assert abs(result.unknowns["k"] - 0.4) / 0.4 < 1e-2
