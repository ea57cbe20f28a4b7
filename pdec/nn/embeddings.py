"""Input maps: physical coordinates ``[N, d]`` -> the first layer's inputs (box scaling, periodic and Fourier features).

The plain network scales the box onto ``[-1, 1]^d`` (pdec.nn.networks.MLP.normalise). An :class:`InputMap` replaces that
when a variable is exactly periodic (``periodic: u in x exact``) or random Fourier features are on
(``fourier_features = M``):

- an exactly periodic variable ``x`` in ``[lo, hi]`` enters as ``cos(2 pi k (x - lo) / L)`` and
  ``sin(2 pi k (x - lo) / L)``, ``k = 1..modes``: every output, and every derivative of every order, then takes
  equal values at both ends, by construction;
- a *seam* variable (pdec.language.corners.seam_variables: periodic in value only, with an initial value whose slope
  differs at the two ends, as Allen-Cahn's ``x^2 cos(pi x)``: 2 and -2 at x = -1 and 1) enters also as
  ``sin(pi (x - lo) / L)``, zero at both ends with slopes ``pi / L`` and ``-pi / L`` there: every output still takes
  equal values at both ends, but its slope may jump across the seam, as the solution's does;
- random Fourier features (Tancik et al. 2020; Wang, Wang, Perdikaris 2021) map the scaled inputs ``z`` to
  ``[cos(z B), sin(z B)]`` with a fixed ``B`` drawn from ``N(0, fourier_scale^2)``, ``[width, M]``: the network
  then represents high frequencies without the spectral bias of a plain MLP.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import torch
from torch import nn

PERIODIC_MODES = 1  # harmonics of an exactly periodic variable's embedding (the network builds higher ones)


class InputMap(nn.Module):
    """Physical coordinates -> scaled inputs, periodic variables embedded, then optional random Fourier features.

    Args:
        bounds: ``{variable: (lo, hi)}`` in input-column order.
        periodic: the variables embedded as periodic (their period is their interval's length).
        features: the number of random Fourier frequencies (0: none); the output then has ``2 * features`` columns.
        scale: the standard deviation of the frequencies.
        generator: where the frequencies are drawn from.
        seams: the periodic variables whose slope may jump at the seam: each gains the column ``sin(pi (x - lo) / L)``.
    """

    def __init__(
        self,
        bounds: Mapping[str, tuple[float, float]],
        periodic: Sequence[str] = (),
        features: int = 0,
        scale: float = 1.0,
        generator: torch.Generator | None = None,
        seams: Sequence[str] = (),
    ) -> None:
        super().__init__()
        names = tuple(bounds)
        lo = torch.tensor([float(bounds[v][0]) for v in names])
        hi = torch.tensor([float(bounds[v][1]) for v in names])
        self.register_buffer("lo", lo)
        self.register_buffer("length", hi - lo)
        self.register_buffer("periodic", torch.tensor([v in periodic for v in names], dtype=torch.bool))
        self.register_buffer("modes", torch.arange(1, PERIODIC_MODES + 1, dtype=torch.float32))
        self.seams = tuple(v in seams and v in periodic for v in names)
        width = len(names) + (2 * PERIODIC_MODES - 1) * int(self.periodic.sum()) + sum(self.seams)
        self.features = features
        if features:
            frequencies = torch.randn(width, features, generator=generator) * scale
            self.register_buffer("frequencies", frequencies)
        self.width = 2 * features if features else width

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The first layer's inputs for points ``x`` ``[N, d]``."""
        unit = (x - self.lo) / self.length  # [0, 1] per column
        columns = []
        for j in range(x.shape[1]):
            if self.periodic[j]:
                angle = 2 * math.pi * unit[:, j : j + 1] * self.modes.to(x.dtype)
                columns += [torch.cos(angle), torch.sin(angle)]
                if self.seams[j]:
                    columns.append(torch.sin(math.pi * unit[:, j : j + 1]))
            else:
                columns.append(2 * unit[:, j : j + 1] - 1)
        z = torch.cat(columns, dim=1)
        if not self.features:
            return z
        projected = z @ self.frequencies
        return torch.cat([torch.cos(projected), torch.sin(projected)], dim=1)

    def forward_mode_inputs(self) -> tuple[tuple, torch.Tensor | None] | None:
        """The map as the forward mode reads it (pdec/compiler/forward.py), or None (a subclass changing ``forward``).

        Returns ``(("embedding", lo, length, periodic, modes, seams), frequencies or None)``, ``periodic`` and
        ``seams`` tuples of bools.
        """
        if type(self).forward is not InputMap.forward:
            return None
        periodic = tuple(bool(p) for p in self.periodic.tolist())
        description = ("embedding", self.lo, self.length, periodic, self.modes, self.seams)
        return description, (self.frequencies if self.features else None)


def input_map(
    bounds: Mapping[str, tuple[float, float]],
    periodic: Sequence[str],
    features: int,
    scale: float,
    generator: torch.Generator,
    seams: Sequence[str] = (),
) -> InputMap | None:
    """The input map of a network, or None when the plain box scaling is enough (no periodic embedding, no features)."""
    if not periodic and not features:
        return None
    return InputMap(bounds, periodic, features, scale, generator, seams)


__all__ = ["PERIODIC_MODES", "InputMap", "input_map"]
