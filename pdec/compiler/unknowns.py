"""The unknowns of an inverse problem: declared Unknown records -> a torch module of constrained parameters."""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

from pdec.core.errors import PdecCompileError
from pdec.language.problem import Unknown


def _softplus_inverse(y: float) -> float:
    """Return ``r`` with ``softplus(r) == y`` (to round-off) for ``y > 0``."""
    return y if y > 20 else y + math.log(-math.expm1(-y))


class Unknowns(nn.Module):
    """The unknown parameters of an inverse problem, constrained by smooth reparameterisation.

    Each unknown has one raw parameter ``raw[name]``; its value is ``raw`` (free), ``lo + softplus(raw)`` (lower
    bound; ``positive`` means ``lo = 0``), ``hi - softplus(raw)`` (upper bound) or ``lo + (hi - lo) * sigmoid(raw)``
    (both). The raw parameter starts where the value equals ``init``. ``lr[name]`` is its own learning rate or None.
    """

    def __init__(self, unknowns: tuple[Unknown, ...] = (), dtype: torch.dtype = torch.float32) -> None:
        super().__init__()
        self.specs = {u.name: u for u in unknowns}
        self.bounds = {u.name: _bounds(u) for u in unknowns}
        self.lr = {u.name: u.lr for u in unknowns}
        self.raw = nn.ParameterDict(
            {u.name: nn.Parameter(torch.tensor(self._raw_init(u), dtype=dtype)) for u in unknowns}
        )

    def _raw_init(self, u: Unknown) -> float:
        """The raw value whose constrained value is ``u.init``."""
        lo, hi = self.bounds[u.name]
        inside = (lo is None or u.init > lo) and (hi is None or u.init < hi)
        if not inside:
            raise PdecCompileError(
                f"unknown '{u.name}' starts at {u.init}, not strictly inside its bounds [{lo}, {hi}]",
                u.span,
                "give an initial value inside the bounds",
            )
        if lo is not None and hi is not None:
            p = (u.init - lo) / (hi - lo)
            return math.log(p) - math.log1p(-p)
        if lo is not None:
            return _softplus_inverse(u.init - lo)
        if hi is not None:
            return _softplus_inverse(hi - u.init)
        return float(u.init)

    def value(self, name: str) -> torch.Tensor:
        """The constrained value of one unknown (a 0-d tensor in the graph of its raw parameter)."""
        raw = self.raw[name]
        lo, hi = self.bounds[name]
        if lo is not None and hi is not None:
            return lo + (hi - lo) * torch.sigmoid(raw)
        if lo is not None:
            return lo + nn.functional.softplus(raw)
        if hi is not None:
            return hi - nn.functional.softplus(raw)
        return raw

    def values(self) -> dict[str, torch.Tensor]:
        """Name -> constrained value (0-d tensors, differentiable)."""
        return {name: self.value(name) for name in self.raw}

    def floats(self) -> dict[str, float]:
        """Name -> constrained value as a Python float."""
        with torch.no_grad():
            return {name: float(v) for name, v in self.values().items()}

    def forward(self) -> dict[str, torch.Tensor]:
        """Same as ``values()``."""
        return self.values()

    def param_groups(self, lr: float) -> list[dict[str, Any]]:
        """Optimiser parameter groups: one per unknown, with its own ``lr`` or the default ``lr``."""
        return [{"params": [p], "lr": self.lr[n] if self.lr[n] is not None else lr} for n, p in self.raw.items()]


def _bounds(u: Unknown) -> tuple[float | None, float | None]:
    """The (lower, upper) bounds of an unknown, ``positive`` meaning a lower bound of 0."""
    lo = u.lower
    if u.positive:
        lo = 0.0 if lo is None else max(lo, 0.0)
    return (None if lo is None else float(lo)), (None if u.upper is None else float(u.upper))
