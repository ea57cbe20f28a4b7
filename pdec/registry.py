"""Registries: one per extension axis (weightings, samplers, activations, networks), the names the settings accept.

Each entry names where its implementation lives (``"module:attribute"``), so the settings and the command line know
the choices without importing torch, and adding a strategy, a sampler, an activation or a network is one line here
plus its implementation. ``Registry.load(name)`` imports the implementation when a run needs it.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any


@dataclass(frozen=True)
class Registry:
    """The choices of one extension axis: name -> ``"module:attribute"`` of the implementation, in display order."""

    axis: str
    entries: Mapping[str, str]

    def __post_init__(self) -> None:
        object.__setattr__(self, "entries", MappingProxyType(dict(self.entries)))

    @property
    def names(self) -> tuple[str, ...]:
        """The accepted names (the settings' choices)."""
        return tuple(self.entries)

    def load(self, name: str) -> Any:
        """The implementation registered as ``name`` (ValueError naming the choices for an unknown name)."""
        if name not in self.entries:
            raise ValueError(f"unknown {self.axis} {name!r}; choices: {', '.join(self.entries)}")
        module, _, attribute = self.entries[name].partition(":")
        return getattr(importlib.import_module(module), attribute)


# Loss weightings (pdec.balance): each a Balancer class.
WEIGHTINGS = Registry(
    "weighting",
    {
        "inverse_dirichlet_grouped": "pdec.balance:GroupedInverseDirichlet",
        "inverse_dirichlet": "pdec.balance:InverseDirichlet",
        "inverse_dirichlet_equations": "pdec.balance:EquationInverseDirichlet",
        "inverse_dirichlet_data_capped": "pdec.balance:DataCappedInverseDirichlet",
        "fixed": "pdec.balance:Fixed",
        "max_avg": "pdec.balance:MaxAvg",
        "max_avg_unweighted": "pdec.balance:MaxAvgUnweighted",
        "relobralo": "pdec.balance:ReLoBRaLo",
    },
)

# Point rules (pdec.sampling): each ``f(n, dim, seed) -> [n, dim]`` points in the unit cube, or a Sampler subclass
# that sees the model (pdec.adaptive: residual-based adaptive collocation, redrawn every ``resample`` steps).
SAMPLERS = Registry(
    "sampler",
    {
        "random": "pdec.sampling:random_points",
        "lhs": "pdec.sampling:lhs_points",
        "sobol": "pdec.sampling:sobol_points",
        "halton": "pdec.sampling:halton_points",
        "grid": "pdec.sampling:grid_points",
        "rad": "pdec.adaptive:RAD",
        "rar_d": "pdec.adaptive:RARD",
    },
)

# Hidden activations (pdec.nets): each an nn.Module class taking no arguments.
ACTIVATIONS = Registry(
    "activation",
    {
        "tanh": "torch.nn:Tanh",
        "sin": "pdec.nets:Sin",
        "gelu": "torch.nn:GELU",
        "silu": "torch.nn:SiLU",
        "softplus": "torch.nn:Softplus",
        "relu": "torch.nn:ReLU",
    },
)

# Network architectures (pdec.nets): each ``f(compiled, settings, generator) -> nn.Module`` (physical coordinates
# [N, d] -> fields [N, m], with ``head``, ``fields`` and ``scale_outputs``).
NETWORKS = Registry("network", {"mlp": "pdec.nets:mlp", "modified_mlp": "pdec.nets:modified_mlp"})

# The second training phase's optimisers (pdec.optimizers): each a factory ``(params, chunk, lr) -> Optimizer``.
OPTIMIZERS = Registry(
    "optimizer",
    {
        "lbfgs": "pdec.optimizers:lbfgs",
        "bfgs": "pdec.optimizers:bfgs",
        "ssbfgs": "pdec.optimizers:ssbfgs",
        "ssbroyden": "pdec.optimizers:ssbroyden",
        "lm": "pdec.optimizers:levenberg_marquardt",
    },
)
