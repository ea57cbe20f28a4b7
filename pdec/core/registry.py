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


# Loss weightings (pdec.train.balance): each a Balancer class.
WEIGHTINGS = Registry(
    "weighting",
    {
        "inverse_dirichlet_grouped": "pdec.train.balance:GroupedInverseDirichlet",
        "inverse_dirichlet": "pdec.train.balance:InverseDirichlet",
        "inverse_dirichlet_equations": "pdec.train.balance:EquationInverseDirichlet",
        "inverse_dirichlet_data_capped": "pdec.train.balance:DataCappedInverseDirichlet",
        "inverse_dirichlet_grouped_capped": "pdec.train.balance:GroupedCappedInverseDirichlet",
        "fixed": "pdec.train.balance:Fixed",
        "max_avg": "pdec.train.balance:MaxAvg",
        "max_avg_unweighted": "pdec.train.balance:MaxAvgUnweighted",
        "relobralo": "pdec.train.balance:ReLoBRaLo",
    },
)

# Point rules (pdec.train.sampling): each ``f(n, dim, seed) -> [n, dim]`` points in the unit cube, or a Sampler subclass
# that sees the model (pdec.train.adaptive: residual-based adaptive collocation, redrawn every ``resample`` steps).
SAMPLERS = Registry(
    "sampler",
    {
        "random": "pdec.train.sampling:random_points",
        "lhs": "pdec.train.sampling:lhs_points",
        "sobol": "pdec.train.sampling:sobol_points",
        "halton": "pdec.train.sampling:halton_points",
        "grid": "pdec.train.sampling:grid_points",
        "rad": "pdec.train.adaptive:RAD",
        "rar_d": "pdec.train.adaptive:RARD",
    },
)

# Hidden activations (pdec.compiler.activations): each its Activation record (module class, torch function, closed-form
# derivatives for the forward mode); calling the record gives a fresh nn.Module.
ACTIVATIONS = Registry(
    "activation",
    {
        "tanh": "pdec.compiler.activations:TANH",
        "sin": "pdec.compiler.activations:SIN",
        "gelu": "pdec.compiler.activations:GELU",
        "silu": "pdec.compiler.activations:SILU",
        "softplus": "pdec.compiler.activations:SOFTPLUS",
        "relu": "pdec.compiler.activations:RELU",
    },
)

# Network architectures (pdec.nn.networks): each ``f(compiled, settings, generator) -> nn.Module`` (physical coordinates
# [N, d] -> fields [N, m], with ``head``, ``fields`` and ``scale_outputs``).
NETWORKS = Registry("network", {"mlp": "pdec.nn.networks:mlp", "modified_mlp": "pdec.nn.networks:modified_mlp"})

# The second training phase's optimisers (pdec.train.optimizers): each a factory ``(params, chunk, lr) -> Optimizer``.
OPTIMIZERS = Registry(
    "optimizer",
    {
        "lbfgs": "pdec.train.optimizers:lbfgs",
        "bfgs": "pdec.train.optimizers:bfgs",
        "ssbfgs": "pdec.train.optimizers:ssbfgs",
        "ssbroyden": "pdec.train.optimizers:ssbroyden",
        "lm": "pdec.train.optimizers:levenberg_marquardt",
    },
)
