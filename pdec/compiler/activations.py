"""The hidden activations: one record each (name, torch function, module, closed-form derivatives), defined once.

An :class:`Activation` is all pdec knows about one activation, and every user reads it from here:

- the registry (pdec.core.registry ``ACTIVATIONS``, torch-free) names each record, so the settings accept its name
  and ``ACTIVATIONS.load(name)()`` builds a fresh module;
- the networks (pdec.nn.networks) build ``record()`` between their layers, and the forward mode reads an activation
  module as the record that :func:`recognised` finds (its class, with the settings its derivatives assume);
- the forward mode (pdec.compiler.runtime) evaluates ``record.derivatives(z, n)``, ``[f(z), f'(z), ..., f^(n)(z)]``
  in closed form: the functions below, which every generated module copies by source with the table
  ``DERIVATIVES`` (name -> derivatives), so that it stays standalone (torch only).

Adding an activation is one record here (its derivatives a function of ``z`` and ``n`` using torch only, listed in
:data:`CLOSED_FORMS`) and one registry line naming it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn


class Sin(nn.Module):
    """The sine activation (SIREN-style networks)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Apply ``sin`` elementwise."""
        return torch.sin(x)


# ---------------------------------------------------------------------------------------------------------------------
# The closed forms: copied by source into generated modules (torch only; no annotations, as the rest of the run time)
# ---------------------------------------------------------------------------------------------------------------------


def squared(d, k, c, start):
    """Add c times the k-th derivative of f**2 to start, from the derivatives d of f (Leibniz's rule, pairs once).

    One torch.addcmul per pair of factors, no temporaries; start may be a 0-dim tensor (broadcast).
    """
    total, binomial = start, 1
    for j in range(k // 2 + 1):
        coefficient = c * binomial * (1 if 2 * j == k else 2)
        total = torch.addcmul(total, d[j], d[k - j], value=coefficient)
        binomial = binomial * (k - j) // (j + 1)
    return total


def tanh_derivatives(z, n):
    """tanh: t' = 1 - t**2 and t^(k+1) = -(t**2)^(k) for k >= 1."""
    d = [torch.tanh(z)]
    for k in range(n):
        d.append(squared(d, k, -1, z.new_ones(()) if k == 0 else z.new_zeros(())))
    return d


def sin_derivatives(z, n):
    """sin: the derivatives cycle through sin, cos, -sin, -cos."""
    s, c = torch.sin(z), torch.cos(z)
    cycle = (s, c, -s, -c) if n >= 2 else (s, c)
    return [cycle[k % 4] for k in range(n + 1)]


def sigmoid_derivatives(z, n):
    """The logistic sigmoid g and its derivatives: g' = g - g**2, so g^(k+1) = g^(k) - (g**2)^(k)."""
    d = [torch.sigmoid(z)]
    for k in range(n):
        d.append(squared(d, k, -1, d[k]))
    return d


def silu_derivatives(z, n):
    """silu(z) = z * g(z): silu^(k) = z * g^(k) + k * g^(k - 1)."""
    g = sigmoid_derivatives(z, n)
    return [torch.nn.functional.silu(z)] + [z * g[k] + k * g[k - 1] for k in range(1, n + 1)]


def softplus_derivatives(z, n):
    """Softplus: its derivative is the sigmoid; like torch, the identity above the threshold 20 (slope 1, then 0)."""
    g = sigmoid_derivatives(z, max(n - 1, 0))
    inside = (z <= 20).to(z.dtype)
    d = [torch.nn.functional.softplus(z)]
    if n >= 1:
        d.append(g[0] * inside + (1 - inside))
    return d + [g[k - 1] * inside for k in range(2, n + 1)]


def gelu_derivatives(z, n):
    """gelu(z) = z * Phi(z): gelu' = Phi + z * phi, gelu^(k) = phi^(k - 2) - phi^(k) (phi' = -z * phi)."""
    p = [torch.exp(-0.5 * z * z) * 0.3989422804014327]  # phi, the normal density
    for k in range(n):
        p.append(-(z * p[k] + k * p[k - 1]) if k else -z * p[0])
    d = [torch.nn.functional.gelu(z)]
    if n >= 1:
        d.append(0.5 * (1 + torch.erf(z * 0.7071067811865476)) + z * p[0])
    return d + [p[k - 2] - p[k] for k in range(2, n + 1)]


def relu_derivatives(z, n):
    """relu: the step function, then zeros (as autograd gives)."""
    d = [torch.relu(z)]
    if n >= 1:
        d.append((z > 0).to(z.dtype))
    return d + [torch.zeros_like(z)] * (n - 1)


# What a generated module copies from here, in this order (sigmoid and squared: the others' building blocks).
CLOSED_FORMS = (
    squared,
    tanh_derivatives,
    sin_derivatives,
    sigmoid_derivatives,
    silu_derivatives,
    softplus_derivatives,
    gelu_derivatives,
    relu_derivatives,
)


# ---------------------------------------------------------------------------------------------------------------------
# The records
# ---------------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Activation:
    """One hidden activation: everything pdec knows about it.

    Attributes:
        name: the name the settings accept (``activation = tanh``) and the forward mode's tables use.
        function: the activation as a torch function of a tensor (``torch.tanh``); ``module`` computes it, and it is
            ``derivatives(z, 0)[0]``.
        module: the ``nn.Module`` class the networks build (no arguments: its defaults) and the forward mode
            recognises.
        derivatives: ``(z, n) -> [f(z), f'(z), ..., f^(n)(z)]`` in closed form (one of :data:`CLOSED_FORMS`).
        settings: ``(attribute, value)`` pairs a module must have for ``derivatives`` to describe it (gelu's exact
            form, softplus's beta and threshold); a module with other values takes the autograd path.
    """

    name: str
    function: Callable[[torch.Tensor], torch.Tensor]
    module: type[nn.Module]
    derivatives: Callable[[torch.Tensor, int], list[torch.Tensor]]
    settings: tuple[tuple[str, Any], ...] = ()

    def __call__(self) -> nn.Module:
        """A fresh module of this activation (what ``pdec.core.registry.ACTIVATIONS.load(name)()`` gives)."""
        return self.module()

    def describes(self, module: nn.Module) -> bool:
        """Whether ``module`` computes this activation as ``derivatives`` assumes (its class, exactly, and settings)."""
        return type(module) is self.module and all(getattr(module, k, None) == v for k, v in self.settings)


TANH = Activation("tanh", torch.tanh, nn.Tanh, tanh_derivatives)
SIN = Activation("sin", torch.sin, Sin, sin_derivatives)
GELU = Activation("gelu", nn.functional.gelu, nn.GELU, gelu_derivatives, (("approximate", "none"),))
SILU = Activation("silu", nn.functional.silu, nn.SiLU, silu_derivatives)
SOFTPLUS = Activation(
    "softplus", nn.functional.softplus, nn.Softplus, softplus_derivatives, (("beta", 1), ("threshold", 20))
)
RELU = Activation("relu", torch.relu, nn.ReLU, relu_derivatives)

# Every activation pdec knows, by name, in display order (the registry lists the same names, in this order).
ACTIVATIONS = {a.name: a for a in (TANH, SIN, GELU, SILU, SOFTPLUS, RELU)}

# name -> closed-form derivatives: the table the run time reads (pdec.compiler.runtime.derivatives), copied as such.
DERIVATIVES = {name: a.derivatives for name, a in ACTIVATIONS.items()}


def recognised(module: nn.Module) -> Activation | None:
    """The activation a module computes, if it is one pdec knows in closed form (see :meth:`Activation.describes`)."""
    return next((a for a in ACTIVATIONS.values() if a.describes(module)), None)
