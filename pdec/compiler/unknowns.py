"""The unknowns of an inverse problem: declared Unknown records -> a torch module of constrained parameters.

An unknown number is one raw parameter; an unknown function (``unknown k(x) = 1``) is a small network of its own
(:class:`FunctionNet`), which the generated code calls on its variables' columns (pdec.compiler.learned).
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import nn

from pdec.core.errors import PdecCompileError
from pdec.language.problem import Unknown, UnknownFunction


def _softplus_inverse(y: float) -> float:
    """Return ``r`` with ``softplus(r) == y`` (to round-off) for ``y > 0``."""
    return y if y > 20 else y + math.log(-math.expm1(-y))


def raw_start(name: str, init: float, lo: float | None, hi: float | None, span: Any = None) -> float:
    """The raw value whose constrained value (:func:`constrained`) is ``init``."""
    inside = (lo is None or init > lo) and (hi is None or init < hi)
    if not inside:
        raise PdecCompileError(
            f"unknown '{name}' starts at {init}, not strictly inside its bounds [{lo}, {hi}]",
            span,
            "give an initial value inside the bounds",
        )
    if lo is not None and hi is not None:
        p = (init - lo) / (hi - lo)
        return math.log(p) - math.log1p(-p)
    if lo is not None:
        return _softplus_inverse(init - lo)
    if hi is not None:
        return _softplus_inverse(hi - init)
    return float(init)


def constrained(raw: torch.Tensor, lo: float | None, hi: float | None) -> torch.Tensor:
    """``raw`` (free), ``lo + softplus(raw)``, ``hi - softplus(raw)`` or ``lo + (hi - lo) * sigmoid(raw)``."""
    if lo is not None and hi is not None:
        return lo + (hi - lo) * torch.sigmoid(raw)
    if lo is not None:
        return lo + nn.functional.softplus(raw)
    if hi is not None:
        return hi - nn.functional.softplus(raw)
    return raw


class FunctionNet(nn.Module):
    """An unknown function's network: the columns of its variables ``[N, k]`` -> its values ``[N, 1]``.

    The box of its variables is mapped onto ``[-1, 1]``, then tanh hidden layers ``layers`` wide and a linear output
    ``r``, constrained like an unknown number (:func:`constrained`: ``positive`` is softplus). The output layer starts
    with zero weights and the bias whose constrained value is ``init``: the function starts as the constant ``init``;
    the hidden layers are Xavier-normal from ``generator`` (drawn in float32, whatever the dtype). Buffers, saved with
    the weights, describe it: ``columns`` (its variables' input columns in the problem), ``lo`` and ``scale`` (the box
    map), ``limits`` (lower and upper bound, NaN where there is none), so a checkpoint rebuilds it
    (:meth:`from_state`).
    """

    def __init__(
        self,
        columns: Sequence[int],
        bounds: Sequence[tuple[float, float]],
        layers: Sequence[int],
        init: float = 0.0,
        limits: tuple[float | None, float | None] = (None, None),
        generator: torch.Generator | None = None,
    ) -> None:
        super().__init__()
        lo = torch.tensor([float(b[0]) for b in bounds], dtype=torch.float64)
        hi = torch.tensor([float(b[1]) for b in bounds], dtype=torch.float64)
        self.register_buffer("columns", torch.tensor(list(columns), dtype=torch.long))
        self.register_buffer("lo", lo)
        self.register_buffer("scale", 2.0 / (hi - lo))
        self.register_buffer("limits", torch.tensor([math.nan if v is None else float(v) for v in limits]))
        self.output_bounds = limits  # (lower, upper) of the values, None where unbounded
        widths = [len(bounds), *layers, 1]
        modules: list[nn.Module] = []
        for i, (n_in, n_out) in enumerate(zip(widths[:-1], widths[1:], strict=True)):
            linear = nn.Linear(n_in, n_out, dtype=torch.float64)  # the start exact: cast to the run's dtype later
            with torch.no_grad():
                linear.weight.copy_(nn.init.xavier_normal_(torch.empty(n_out, n_in), generator=generator))
            nn.init.zeros_(linear.bias)
            modules += [linear, nn.Tanh()] if i < len(widths) - 2 else [linear]
        self.body = nn.Sequential(*modules)
        with torch.no_grad():
            self.body[-1].weight.zero_()
            self.body[-1].bias.fill_(raw_start("function", init, *limits) if math.isfinite(init) else 0.0)

    @classmethod
    def from_state(cls, state: Mapping[str, torch.Tensor]) -> FunctionNet:
        """The network a state dict describes (its buffers and weight shapes), its weights loaded."""
        weights = [k for k in state if k.startswith("body.") and k.endswith(".weight")]
        widths = [int(state[k].shape[0]) for k in sorted(weights, key=lambda k: int(k.split(".")[1]))]
        lo, scale = state["lo"].double(), state["scale"].double()
        bounds = [(float(a), float(a + 2.0 / s)) for a, s in zip(lo, scale, strict=True)]
        limits = tuple(None if math.isnan(float(v)) else float(v) for v in state["limits"])
        net = cls(state["columns"].tolist(), bounds, widths[:-1], math.nan, limits)
        net.load_state_dict(state)
        return net.to(state["lo"].dtype)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """The function at ``z`` ``[N, k]`` (its variables' columns, physical coordinates): ``[N, 1]``."""
        return constrained(self.body((z - self.lo) * self.scale - 1), *self.output_bounds)


class Unknowns(nn.Module):
    """The unknowns of an inverse problem, constrained by smooth reparameterisation.

    Each unknown number has one raw parameter ``raw[name]``, times its ``scale`` (1 unless equation discovery set one)
    below; its value is ``raw`` (free), ``lo + softplus(raw)``
    (lower bound; ``positive`` means ``lo = 0``), ``hi - softplus(raw)`` (upper bound) or
    ``lo + (hi - lo) * sigmoid(raw)`` (both). The raw parameter starts where the value equals ``init``. Each unknown
    function is a :class:`FunctionNet` in ``functions[name]`` (its weights drawn from ``seed``, ``layers`` wide).
    ``specs`` holds every declared record (``Unknown`` or ``UnknownFunction``), ``lr[name]`` its own learning rate or
    None. ``bounds`` gives the problem's variables (in column order) with their intervals.
    """

    def __init__(
        self,
        unknowns: tuple[Unknown, ...] = (),
        dtype: torch.dtype = torch.float32,
        functions: tuple[UnknownFunction, ...] = (),
        bounds: Mapping[str, tuple[float, float]] | None = None,
        layers: Sequence[int] = (20, 20),
        seed: int = 0,
    ) -> None:
        super().__init__()
        self.specs: dict[str, Unknown | UnknownFunction] = {u.name: u for u in (*unknowns, *functions)}
        self.bounds = {u.name: _bounds(u) for u in unknowns}
        self.scales = {u.name: float(u.scale) for u in unknowns}  # value = constrained(raw * scale)
        self.lr = {u.name: u.lr for u in (*unknowns, *functions)}
        self.raw = nn.ParameterDict(
            {u.name: nn.Parameter(torch.tensor(self._raw_init(u), dtype=dtype)) for u in unknowns}
        )
        self.variables = dict(bounds or {})
        self.functions = nn.ModuleDict()
        self.draw(seed, layers, dtype)

    def renew(self, settings: Any) -> Unknowns:
        """The unknown functions' networks drawn afresh for a run: ``settings.function_layers`` wide, from
        ``settings.seed`` (the trainer's; the compiler drew them from the spec's); returns ``self``."""  # noqa: D205, D209
        return self.draw(settings.seed, settings.function_layers)

    def draw(self, seed: int, layers: Sequence[int], dtype: torch.dtype | None = None) -> Unknowns:
        """Draw every unknown function's network afresh: ``layers`` wide, from ``seed``; returns ``self``.

        A network drawn again keeps the device and dtype of the one it replaces (else ``dtype``, else float32).
        """
        names = list(self.variables)
        for u in self.specs.values():
            if isinstance(u, UnknownFunction):
                old = self.functions[u.name].lo if u.name in self.functions else torch.empty(0, dtype=dtype)
                generator = torch.Generator().manual_seed((seed * 1_000_003 + zlib.crc32(u.name.encode())) % 2**63)
                columns = [names.index(a) for a in u.args]
                net = FunctionNet(columns, [self.variables[a] for a in u.args], layers, u.init, _bounds(u), generator)
                self.functions[u.name] = net.to(old.device, dtype or old.dtype)
        return self

    def _raw_init(self, u: Unknown) -> float:
        """The raw value whose constrained value is ``u.init``."""
        return raw_start(u.name, u.init, *self.bounds[u.name], u.span) / self.scales[u.name]

    def value(self, name: str) -> torch.Tensor:
        """The constrained value of one unknown number (a 0-d tensor in the graph of its raw parameter)."""
        scale = self.scales.get(name, 1.0)
        return constrained(self.raw[name] if scale == 1.0 else self.raw[name] * scale, *self.bounds[name])

    def values(self) -> dict[str, Any]:
        """Name -> constrained value (0-d tensors, differentiable); an unknown function's is its network (a module)."""
        return {**{name: self.value(name) for name in self.raw}, **dict(self.functions.items())}

    def floats(self) -> dict[str, float]:
        """Unknown number's name -> its constrained value as a Python float (unknown functions are not numbers)."""
        with torch.no_grad():
            return {name: float(self.value(name)) for name in self.raw}

    def forward(self) -> dict[str, Any]:
        """Same as ``values()``."""
        return self.values()

    def param_groups(self, lr: float) -> list[dict[str, Any]]:
        """Optimiser parameter groups: one per unknown (a function's: its network), its own ``lr`` or ``lr``."""
        groups = [{"params": [p], "lr": self.lr[n] if self.lr[n] is not None else lr} for n, p in self.raw.items()]
        for n, net in self.functions.items():
            groups.append({"params": list(net.parameters()), "lr": self.lr[n] if self.lr[n] is not None else lr})
        return groups


def _bounds(u: Unknown | UnknownFunction) -> tuple[float | None, float | None]:
    """The (lower, upper) bounds of an unknown, ``positive`` meaning a lower bound of 0."""
    lo = u.lower
    if u.positive:
        lo = 0.0 if lo is None else max(lo, 0.0)
    return (None if lo is None else float(lo)), (None if u.upper is None else float(u.upper))
