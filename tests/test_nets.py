import math

import numpy as np
import pytest
import torch

import pdec
from pdec.core.settings import ACTIVATIONS
from pdec.nn.networks import MLP, build_net


def test_inputs_normalised_from_bounds():
    net = MLP({"x": (-2.0, 6.0), "t": (0.0, 0.5)}, ["u", "v"], [4])
    z = net.normalise(torch.tensor([[-2.0, 0.0], [6.0, 0.5], [2.0, 0.25]]))
    torch.testing.assert_close(z, torch.tensor([[-1.0, -1.0], [1.0, 1.0], [0.0, 0.0]]))


def test_unit_inputs_map_the_box_onto_zero_one():
    net = MLP({"x": (-2.0, 6.0), "t": (0.0, 0.5)}, ["u"], [4], inputs="unit")
    z = net.normalise(torch.tensor([[-2.0, 0.0], [6.0, 0.5], [2.0, 0.25]]))
    torch.testing.assert_close(z, torch.tensor([[0.0, 0.0], [1.0, 1.0], [0.5, 0.5]]))


def test_raw_inputs_reach_the_first_layer_as_they_are():
    net = MLP({"x": (-2.0, 6.0), "t": (0.0, 0.5)}, ["u"], [4], inputs="raw")
    x = torch.tensor([[-2.0, 0.0], [6.0, 0.5], [2.0, 0.25]])
    torch.testing.assert_close(net.normalise(x), x)
    first = net.body[0]
    torch.testing.assert_close(net(x), net.body[1:](x @ first.weight.T + first.bias))


def test_glorot_uniform_weights_lie_within_the_bound_with_glorots_variance():
    net = MLP({"x": (0.0, 1.0)}, ["u"], [400, 300], generator=torch.Generator().manual_seed(3), init="glorot_uniform")
    w = net.body[2].weight.detach().double()  # 400 -> 300
    bound = math.sqrt(6 / (400 + 300))
    assert float(w.abs().max()) <= bound
    assert float(w.abs().max()) > 0.99 * bound  # 120,000 draws reach the edge
    assert abs(float(w.var()) / (2 / 700) - 1) < 0.02  # the same variance as the normal draw
    assert abs(float(w.pow(4).mean() / w.var() ** 2) - 1.8) < 0.03  # uniform's kurtosis (a normal's is 3)
    assert float(net.body[2].bias.abs().max()) == 0.0


def test_the_init_and_raw_settings_reach_the_network():
    from pdec.nn.networks import make_net

    spec = "var x in [2, 4]\nfield u(x)\neq poisson: u_xx = 1\nbc ends: u = 0 on boundary\n"
    compiled = pdec.compile(spec + "train:\n  inputs = raw\n  init = glorot_uniform\n  layers = [64, 64]\n")
    net = make_net(compiled, compiled.settings, torch.device("cpu"), torch.float64)
    x = torch.tensor([[2.0], [4.0]], dtype=torch.float64)
    torch.testing.assert_close(net.normalise(x), x)
    w = net.body[2].weight
    assert float(w.abs().max()) <= math.sqrt(6 / 128)
    assert abs(float(w.pow(4).mean() / w.var() ** 2) - 1.8) < 0.1


def test_a_checkpoint_from_before_the_input_setting_loads_centred():
    old = build_net(("x",), {"x": (2, 4)}, ("u",), (8,), "sin", inputs="centred")
    state = {k: v for k, v in old.state_dict().items() if k != "offset"}  # written before the buffer existed
    fresh = build_net(("x",), {"x": (2, 4)}, ("u",), (8,), "sin", seed=5, inputs="unit")
    fresh.load_state_dict(state)
    x = torch.tensor([[2.0], [3.3], [4.0]])
    torch.testing.assert_close(fresh.normalise(x), torch.tensor([[-1.0], [0.3], [1.0]]))
    torch.testing.assert_close(fresh(x), old(x))


@pytest.mark.parametrize("name", ACTIVATIONS)
def test_output_per_field(name):
    net = MLP({"x": (0.0, 1.0), "y": (0.0, 1.0)}, ["u", "v", "p"], [5, 5], name)
    assert net(torch.rand(7, 2)).shape == (7, 3)


def test_xavier_init_and_zero_bias():
    net = build_net(("x", "y"), {"y": (0, 1), "x": (0, 1)}, ("u",), (400, 400), "tanh", seed=0)
    linear = net.body[2]
    assert linear.weight.std().item() == pytest.approx(math.sqrt(2.0 / 800), rel=0.05)
    assert (linear.bias == 0).all()
    assert net.variables == ("x", "y")


def test_seeded_init_reproducible_and_global_rng_untouched():
    state = torch.get_rng_state()
    a = build_net(("x",), {"x": (0, 1)}, ("u",), (8,), "tanh", seed=3)
    b = build_net(("x",), {"x": (0, 1)}, ("u",), (8,), "tanh", seed=3)
    assert torch.equal(torch.get_rng_state(), state)
    for p, q in zip(a.parameters(), b.parameters(), strict=True):
        assert torch.equal(p, q)


def test_output_scales_from_observations():
    from pdec.nn.networks import output_scales

    u = np.array([[1.0, 10.0], [3.0, 30.0]])
    w = np.array([[5.0], [7.0], [np.nan]])
    shift, gain = output_scales(("u", "v", "p"), [(("u", "v"), u), (("u",), w)])
    assert shift[0] == pytest.approx(4.0) and gain[0] == pytest.approx(np.std([1, 3, 5, 7]))
    assert shift[1] == pytest.approx(20.0) and gain[1] == pytest.approx(10.0)
    assert (shift[2], gain[2]) == (0.0, 1.0)  # unobserved
    assert output_scales(("u",), [(("u",), np.full((4, 1), 2.5))]) == ([2.5], [1.0])  # constant readings


def test_output_map_applied_and_saved_with_the_weights():
    net = build_net(("x",), {"x": (0, 1)}, ("u", "v"), (8,), "tanh", seed=0)
    x = torch.rand(5, 1)
    plain = net(x)
    net.scale_outputs([1.0, -2.0], [3.0, 0.5])
    torch.testing.assert_close(net(x), plain * torch.tensor([3.0, 0.5]) + torch.tensor([1.0, -2.0]))
    fresh = build_net(("x",), {"x": (0, 1)}, ("u", "v"), (8,), "tanh", seed=1)
    fresh.load_state_dict(net.state_dict())
    torch.testing.assert_close(fresh(x), net(x))
    old = {
        k: v
        for k, v in build_net(("x",), {"x": (0, 1)}, ("u", "v"), (8,), "tanh").state_dict().items()
        if k not in ("shift", "gain")
    }  # a checkpoint written before the output map existed
    fresh.load_state_dict(old)
    assert not fresh.output_scaled
    torch.testing.assert_close(fresh(x), plain)


def test_the_spec_setting_reaches_the_network():
    from pdec.nn.networks import make_net

    spec = "var x in [2, 4]\nfield u(x)\neq poisson: u_xx = 1\nbc ends: u = 0 on boundary\n"
    for setting, ends in (("", [-1.0, 1.0]), ("train:\n  inputs = unit\n", [0.0, 1.0])):
        compiled = pdec.compile(spec + setting)
        net = make_net(compiled, compiled.settings, torch.device("cpu"), torch.float32)
        z = net.normalise(torch.tensor([[2.0], [4.0]]))
        torch.testing.assert_close(z, torch.tensor([ends]).T)


SQUARE = "var x in [0, 1]\nvar y in [0, 1]\nfield u(x, y)\neq helmholtz: lap(u) + u = 1\n"


@pytest.mark.parametrize(
    "walls, train, expected",
    [
        ("bc walls: u = 0 on boundary exact\n", "  activation = sin\n", "unit"),  # sine, no condition in the loss
        ("bc walls: u = 0 on boundary\n", "  activation = sin\n", "centred"),  # the walls a loss term
        ("bc walls: u = 0 on boundary exact\n", "", "centred"),  # tanh
        ("bc walls: u = 0 on boundary exact\n", "  activation = sin\n  fourier_features = 8\n", "centred"),
        ("bc walls: u = 0 on boundary exact\n", "  activation = sin\n  inputs = centred\n", "centred"),  # as set
        ("bc walls: u = 0 on boundary\n", "  activation = sin\n  inputs = unit\n", "unit"),
    ],
)
def test_auto_input_range_follows_the_rule(walls, train, expected):
    from pdec.nn.networks import input_range, make_net

    compiled = pdec.compile(SQUARE + walls + "train:\n" + train)
    assert input_range(compiled, compiled.settings) == expected
    net = make_net(compiled, compiled.settings, torch.device("cpu"), torch.float32)
    inner = getattr(net, "net", net)  # exact walls wrap the MLP
    if inner.embedding is None:
        ends = {"unit": [0.0, 1.0], "centred": [-1.0, 1.0]}[expected]
        z = inner.normalise(torch.tensor([[0.0, 0.0], [1.0, 1.0]]))
        torch.testing.assert_close(z[:, 0], torch.tensor(ends))


def test_auto_leaves_an_embedded_network_centred():
    from pdec.nn.networks import input_range

    spec = (
        "var x in [0, 1]\ntime t in [0, 1]\nfield u(x, t)\neq heat: u_t = u_xx\nic: u = sin(2*pi*x) exact\n"
        "periodic: u in x exact\ntrain:\n  activation = sin\n"
    )
    compiled = pdec.compile(spec)
    assert not any(t.kind != "pde" for t in compiled.terms.values())  # every condition exact ...
    assert input_range(compiled, compiled.settings) == "centred"  # ... but the periodic embedding replaces the box


PERIODIC_HEAT = "var x in [0, 1]\ntime t in [0, 1]\nfield u(x, t)\neq heat: u_t = u_xx\nic: u = sin(2*pi*x)\n"


@pytest.mark.parametrize(
    "extra, overrides, reason",
    [
        ("periodic: u in x\ntrain:\n  fourier_features = 8\n  inputs = unit\n", {}, "Fourier features"),
        ("periodic: u in x exact\ntrain:\n  inputs = unit\n", {}, "exactly periodic variable (x"),
        ("periodic: u in x\ntrain:\n  exact_conditions = true\n  inputs = unit\n", {}, "exactly periodic"),
        ("periodic: u in x exact\n", {"inputs": "unit"}, "exactly periodic"),  # the compiler's overrides
        ("periodic: u in x\ntrain:\n  inputs = unit\n", {"fourier_features": 4}, "Fourier features"),
        ("periodic: u in x exact\ntrain:\n  inputs = raw\n", {}, "exactly periodic variable (x"),
    ],
    ids=["features", "periodic", "exact_conditions", "override_inputs", "override_features", "raw"],
)
def test_unit_inputs_under_an_input_map_are_an_error_at_the_setting(extra, overrides, reason):
    """An input map (Fourier features, an exactly periodic variable) replaces the box scaling: `unit` is refused."""

    with pytest.raises(pdec.PdecSettingsError, match="has no effect") as caught:
        pdec.compile(PERIODIC_HEAT + extra, **overrides)
    assert reason in caught.value.message and "replaces the box scaling" in caught.value.message
    setting = "inputs = raw" if "inputs = raw" in extra else "inputs = unit"
    assert f"`{setting}` has no effect" in caught.value.message
    written = setting in extra and not overrides  # overrides have no place in the text
    assert (caught.value.span is not None) == written  # located at the setting where the spec writes it
    if written:
        assert caught.value.span.text == setting


def test_unit_inputs_with_features_given_to_the_trainer_are_an_error(tmp_path):
    from pdec import fit
    from pdec.nn.networks import input_range

    compiled = pdec.compile(PERIODIC_HEAT + "periodic: u in x\n")
    assert input_range(compiled, compiled.settings.replace(inputs="unit")) == "unit"  # the box scaling: honoured
    with pytest.raises(pdec.PdecSettingsError, match="Fourier features"):
        input_range(compiled, compiled.settings.replace(inputs="unit", fourier_features=4))
    with pytest.raises(pdec.PdecSettingsError, match="Fourier features"):
        fit(compiled, out=tmp_path / "run", quiet=True, plots=False, inputs="unit", fourier_features=4, adam=1)
    for inputs in ("centred", "auto"):  # the input map's own range: no error
        settings = compiled.settings.replace(inputs=inputs, fourier_features=4)
        assert input_range(compiled, settings) == "centred"


def test_a_run_records_the_input_range_it_resolved(tmp_path):
    import json

    from pdec.run.results import load_result

    spec = SQUARE + "bc walls: u = 0 on boundary exact\ntrain:\n  activation = sin\n  layers = [8]\n"
    result = pdec.fit(pdec.compile(spec), out=tmp_path / "run", adam=2, lbfgs=0, interior=16, quiet=True, plots=False)
    assert json.loads((tmp_path / "run" / "settings.json").read_text())["inputs"] == "unit"
    points = np.array([[0.25, 0.5], [0.7, 0.1]])
    np.testing.assert_allclose(load_result(tmp_path / "run").predict(points), result.predict(points), rtol=1e-6)


def test_a_run_with_raw_inputs_and_uniform_weights_loads_back(tmp_path):
    import json

    from pdec.run.results import load_result

    spec = "var x in [2, 5]\nfield u(x)\neq poisson: u_xx = 1\nbc ends: u = 0 on boundary\n"
    spec += "train:\n  layers = [8]\n  inputs = raw\n  init = glorot_uniform\n"
    result = pdec.fit(pdec.compile(spec), out=tmp_path / "run", adam=3, lbfgs=0, interior=16, quiet=True, plots=False)
    stored = json.loads((tmp_path / "run" / "settings.json").read_text())
    assert (stored["inputs"], stored["init"]) == ("raw", "glorot_uniform")
    loaded = load_result(tmp_path / "run")
    x = torch.tensor([[2.0], [4.5]], dtype=loaded.net.lo.dtype)
    torch.testing.assert_close(loaded.net.normalise(x), x)  # the coordinates reach the first layer as they are
    points = np.array([[2.5], [4.9]])
    np.testing.assert_allclose(loaded.predict(points), result.predict(points), rtol=1e-6)
