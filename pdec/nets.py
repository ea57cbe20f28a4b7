"""Networks: settings -> the MLP that maps physical coordinates ``[N, d]`` to fields ``[N, m]``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch
from torch import nn

from pdec.settings import ACTIVATIONS


class Sin(nn.Module):
    """The sine activation (SIREN-style networks)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Apply ``sin`` elementwise."""
        return torch.sin(x)


def activation(name: str) -> nn.Module:
    """Return a fresh activation module by name (one of ``pdec.settings.ACTIVATIONS``)."""
    table = {"tanh": nn.Tanh, "sin": Sin, "gelu": nn.GELU, "silu": nn.SiLU, "softplus": nn.Softplus, "relu": nn.ReLU}
    if name not in table:
        raise ValueError(f"unknown activation {name!r}; choices: {', '.join(ACTIVATIONS)}")
    return table[name]()


class MLP(nn.Module):
    """A fully connected network whose first operation maps the box ``bounds`` onto ``[-1, 1]^d``.

    Args:
        bounds: ``{variable: (lo, hi)}`` in input-column order.
        fields: the output names, one output each.
        layers: hidden widths.
        activation_name: the hidden activation.

        generator: the torch generator the initial weights are drawn from (the global one if None).

    Weights are Xavier (Glorot) normal, biases zero.
    """

    def __init__(
        self,
        bounds: Mapping[str, tuple[float, float]],
        fields: Sequence[str],
        layers: Sequence[int],
        activation_name: str = "tanh",
        generator: torch.Generator | None = None,
    ) -> None:
        super().__init__()
        self.variables = tuple(bounds)
        self.fields = tuple(fields)
        lo = torch.tensor([float(bounds[v][0]) for v in self.variables])
        hi = torch.tensor([float(bounds[v][1]) for v in self.variables])
        self.register_buffer("lo", lo)
        self.register_buffer("scale", 2.0 / (hi - lo))
        widths = [len(self.variables), *layers, len(self.fields)]
        modules: list[nn.Module] = []
        for i, (n_in, n_out) in enumerate(zip(widths[:-1], widths[1:], strict=True)):
            linear = nn.utils.skip_init(nn.Linear, n_in, n_out)  # no draw from the global generator
            nn.init.xavier_normal_(linear.weight, generator=generator)
            nn.init.zeros_(linear.bias)
            modules.append(linear)
            if i < len(widths) - 2:
                modules.append(activation(activation_name))
        self.body = nn.Sequential(*modules)

    def normalise(self, x: torch.Tensor) -> torch.Tensor:
        """Map physical coordinates to ``[-1, 1]`` per column."""
        return (x - self.lo) * self.scale - 1.0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Evaluate the fields at points ``x`` ``[N, d]`` (physical coordinates); returns ``[N, m]``."""
        return self.body(self.normalise(x))


def build_net(
    variables: Sequence[str],
    bounds: Mapping[str, tuple[float, float]],
    fields: Sequence[str],
    layers: Sequence[int],
    activation_name: str,
    seed: int = 0,
) -> MLP:
    """Build the MLP of a compiled problem (bounds in the variables' column order), initialised from ``seed``."""
    ordered = {v: bounds[v] for v in variables}
    return MLP(ordered, fields, layers, activation_name, torch.Generator().manual_seed(seed))
