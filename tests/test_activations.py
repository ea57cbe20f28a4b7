"""The activations' records (pdec/compiler/activations.py): one per activation, read by the registry, the networks
and the forward mode; their closed-form derivatives against autograd."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from pdec.compiler import runtime
from pdec.compiler.activations import ACTIVATIONS, CLOSED_FORMS, DERIVATIVES, Activation, Sin, recognised, squared
from pdec.core import registry
from pdec.core.settings import Settings
from pdec.nn import networks

ORDER = 5  # the highest derivative the tests check (the forward mode carries partials to any order)


def autograd_derivatives(function, z: torch.Tensor, n: int) -> list[torch.Tensor]:
    """``[f(z), f'(z), ..., f^(n)(z)]`` by nested autograd (elementwise f: the gradient of the sum)."""
    z = z.detach().requires_grad_(True)
    found = [function(z)]
    for _ in range(n):
        last = found[-1]
        if not last.requires_grad:  # piecewise polynomial (relu): the rest is zero, as autograd gives
            found.append(torch.zeros_like(z))
            continue
        found.append(torch.autograd.grad(last.sum(), z, create_graph=True, materialize_grads=True)[0])
    return [d.detach() for d in found]


def points() -> torch.Tensor:
    """Pre-activations: a spread around zero, away from relu's kink, and both sides of softplus's threshold 20.

    Not 20 itself: there torch's softplus takes its first derivative from the sigmoid but its second as zero.
    """
    z = torch.linspace(-4.0, 4.0, 41, dtype=torch.float64)
    z = z[z.abs() > 1e-3]
    return torch.cat([z, torch.tensor([19.5, 20.5, 30.0, -30.0], dtype=torch.float64)]).reshape(-1, 1)


@pytest.mark.parametrize("name", list(ACTIVATIONS))
@pytest.mark.parametrize("n", [0, 1, 2, ORDER])
def test_each_activations_closed_form_derivatives_match_autograd(name, n):
    """The closed forms against nested autograd through the module the networks build, to 1e-12 (float64)."""
    z = points()
    found = ACTIVATIONS[name].derivatives(z, n)
    expected = autograd_derivatives(ACTIVATIONS[name](), z, n)
    assert len(found) == n + 1
    for k, (a, b) in enumerate(zip(found, expected, strict=True)):
        assert a.shape == z.shape and a.dtype == torch.float64, (name, k)
        torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-12, msg=f"{name}: derivative {k}")


def test_squared_is_leibnizs_rule_for_a_square():
    z = torch.linspace(-2.0, 2.0, 9, dtype=torch.float64).reshape(-1, 1)
    d = autograd_derivatives(torch.tanh, z, ORDER)
    squares = autograd_derivatives(lambda x: torch.tanh(x) ** 2, z, ORDER)
    for k in range(ORDER + 1):
        found = squared(d, k, 3.0, z.new_ones(()))
        torch.testing.assert_close(found, 1 + 3 * squares[k], rtol=1e-12, atol=1e-12)


def test_the_registry_names_each_record_in_order():
    assert registry.ACTIVATIONS.names == tuple(ACTIVATIONS)
    for name, record in ACTIVATIONS.items():
        assert registry.ACTIVATIONS.load(name) is record and record.name == name


@pytest.mark.parametrize("name", list(ACTIVATIONS))
def test_a_record_is_its_module_its_function_and_its_derivatives(name):
    record = ACTIVATIONS[name]
    module = registry.ACTIVATIONS.load(name)()  # a fresh module, as before the records
    assert type(module) is record.module and module is not record()
    assert networks.forward_mode_name(module) == name and recognised(module) is record
    z = points()
    torch.testing.assert_close(module(z), record.function(z), rtol=0, atol=0)
    torch.testing.assert_close(record.derivatives(z, 0)[0], record.function(z), rtol=0, atol=0)
    assert record.derivatives in CLOSED_FORMS and DERIVATIVES[name] is record.derivatives
    assert runtime.DERIVATIVES is DERIVATIVES


@pytest.mark.parametrize(
    "module",
    [nn.GELU(approximate="tanh"), nn.Softplus(beta=2.0), nn.Softplus(threshold=10.0), nn.Sigmoid(), nn.Identity()],
    ids=repr,
)
def test_modules_the_closed_forms_do_not_describe_are_not_recognised(module):
    assert recognised(module) is None and networks.forward_mode_name(module) is None


def test_a_subclass_is_not_recognised():
    """A subclass may change ``forward``: only the record's own class is read by the forward mode."""

    class Shifted(nn.Tanh):
        def forward(self, x):
            return torch.tanh(x) + 1

    assert recognised(Shifted()) is None and recognised(nn.Softplus(beta=1, threshold=20)) is not None


@pytest.mark.parametrize("name", list(ACTIVATIONS))
def test_the_networks_build_each_record(name):
    bounds = {"x": (0.0, 1.0)}
    net = networks.MLP(bounds, ("u",), [4, 4], name, torch.Generator().manual_seed(0))
    built = [m for m in net.body if not isinstance(m, nn.Linear)]
    assert [type(m) for m in built] == [ACTIVATIONS[name].module] * 2
    assert [h[2] for h in net.forward_mode_layers()["hidden"]] == [name, name]
    assert Settings(activation=name).activation == name


def test_the_sine_module_is_still_where_it_was():
    assert networks.Sin is Sin and isinstance(ACTIVATIONS["sin"](), Sin)
    assert isinstance(ACTIVATIONS["tanh"], Activation)
