import math

import pytest
import torch

from pdec.nets import MLP, build_net
from pdec.settings import ACTIVATIONS


def test_inputs_normalised_from_bounds():
    net = MLP({"x": (-2.0, 6.0), "t": (0.0, 0.5)}, ["u", "v"], [4])
    z = net.normalise(torch.tensor([[-2.0, 0.0], [6.0, 0.5], [2.0, 0.25]]))
    torch.testing.assert_close(z, torch.tensor([[-1.0, -1.0], [1.0, 1.0], [0.0, 0.0]]))


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
