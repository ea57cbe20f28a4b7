"""Networks: settings -> the MLP that maps physical coordinates ``[N, d]`` to fields ``[N, m]``."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from pdec.compiler.activations import Sin as Sin  # the sine module, where it lived before the activations' records
from pdec.compiler.activations import recognised
from pdec.compiler.constraints import Constrained, Constraints
from pdec.compiler.runtime import logged
from pdec.core.errors import PdecRunError, PdecSettingsError
from pdec.core.intervals import is_log, read_as
from pdec.core.registry import ACTIVATIONS, NETWORKS
from pdec.nn.embeddings import InputMap, input_map


def activation(name: str) -> nn.Module:
    """Return a fresh activation module by name (its record in pdec.compiler.activations, named by the registry)."""
    return ACTIVATIONS.load(name)()


INPUT_OFFSETS = {"centred": 1.0, "unit": 0.0, "raw": 0.0}  # z = (x - lo) * scale - offset: [-1, 1], [0, 1], x


class MLP(nn.Module):
    """A fully connected network whose first operation maps the box ``bounds`` onto ``[-1, 1]^d`` (or ``[0, 1]^d``).

    Args:
        bounds: ``{variable: (lo, hi)}`` in input-column order.
        fields: the output names, one output each.
        layers: hidden widths.
        activation_name: the hidden activation.
        generator: the torch generator the initial weights are drawn from (the global one if None).
        embedding: an input map replacing the box scaling (pdec.nn.embeddings: periodic and Fourier features).
        inputs: ``centred`` (the box onto ``[-1, 1]``), ``unit`` (onto ``[0, 1]``) or ``raw`` (the coordinates as
            they are; docs/training.md, "Network"); ``auto`` is resolved by :func:`input_range` before a network is
            built.
        init: the weights' draw, ``glorot_normal`` or ``glorot_uniform`` (:func:`dense`).

    Weights are Xavier (Glorot) normal or uniform, biases zero. Outputs are ``body(x) * gain + shift`` per field once
    ``scale_outputs`` has set them (e.g. the mean and std of a field's observations), so the last layer works at unit
    scale whatever the field's units; both are buffers, saved with the weights.
    """

    def __init__(
        self,
        bounds: Mapping[str, tuple[float, float]],
        fields: Sequence[str],
        layers: Sequence[int],
        activation_name: str = "tanh",
        generator: torch.Generator | None = None,
        embedding: InputMap | None = None,
        inputs: str = "centred",
        init: str = "glorot_normal",
    ) -> None:
        super().__init__()
        self.variables = tuple(bounds)
        self.fields = tuple(fields)
        read = [read_as(bounds[v]) for v in self.variables]  # a `log` parameter's column is read as its logarithm
        lo, hi = torch.tensor([r[0] for r in read]), torch.tensor([r[1] for r in read])
        offset = INPUT_OFFSETS[inputs]
        self.register_buffer("logged", torch.tensor([is_log(bounds[v]) for v in self.variables]))
        self.log_columns = bool(self.logged.any())  # skip the map when no column is logged
        raw = inputs == "raw"
        self.register_buffer("lo", torch.zeros_like(lo) if raw else lo)
        self.register_buffer("scale", torch.ones_like(lo) if raw else (1.0 + offset) / (hi - lo))
        self.register_buffer("offset", torch.full_like(lo, offset))
        self.embedding = embedding
        width = len(self.variables) if embedding is None else embedding.width
        self.body = self.build_body([width, *layers, len(self.fields)], activation_name, generator, init)
        self.register_buffer("shift", torch.zeros(len(self.fields)))
        self.register_buffer("gain", torch.ones(len(self.fields)))
        self.output_scaled = False  # skip the identity affine map: no extra autograd nodes when unused

    def build_body(
        self, widths: Sequence[int], activation_name: str, generator: torch.Generator | None, init: str
    ) -> nn.Module:
        """The dense layers ``widths[0] -> ... -> widths[-1]`` with the activation between them."""
        modules: list[nn.Module] = []
        for i, (n_in, n_out) in enumerate(zip(widths[:-1], widths[1:], strict=True)):
            modules.append(dense(n_in, n_out, generator, init))
            if i < len(widths) - 2:
                modules.append(activation(activation_name))
        return nn.Sequential(*modules)

    def scale_outputs(self, shift: Sequence[float], gain: Sequence[float]) -> None:
        """Set the per-field output map ``y * gain + shift`` (``gain`` > 0)."""
        self.shift.copy_(torch.as_tensor(shift, dtype=self.shift.dtype))
        self.gain.copy_(torch.as_tensor(gain, dtype=self.gain.dtype))
        self.output_scaled = bool(torch.any(self.shift != 0) or torch.any(self.gain != 1))

    def load_state_dict(self, state_dict: Mapping[str, Any], strict: bool = True, assign: bool = False) -> Any:
        """Load weights and the output map (old checkpoints without one keep the identity)."""
        state = dict(state_dict)
        state.setdefault("shift", torch.zeros_like(self.shift))
        state.setdefault("gain", torch.ones_like(self.gain))
        state.setdefault("offset", torch.ones_like(self.offset))  # checkpoints from before the setting: [-1, 1]
        state.setdefault("logged", torch.zeros_like(self.logged))  # checkpoints from before `log` parameters
        out = super().load_state_dict(state, strict, assign)
        self.output_scaled = bool(torch.any(self.shift != 0) or torch.any(self.gain != 1))
        self.log_columns = bool(self.logged.any())
        return out

    @property
    def head(self) -> nn.Linear:
        """The output layer."""
        return self.body[-1]

    def normalise(self, x: torch.Tensor) -> torch.Tensor:
        """Map physical coordinates to ``[-1, 1]`` (or ``[0, 1]``) per column, or through the input map, if any; a
        ``log`` parameter's column is mapped from its logarithm (:func:`pdec.compiler.runtime.logged`)."""  # noqa: D205, D209
        if self.log_columns:
            x = logged(x, self.logged)
        if self.embedding is not None:
            return self.embedding(x)
        return (x - self.lo) * self.scale - self.offset

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Evaluate the fields at points ``x`` ``[N, d]`` (physical coordinates); returns ``[N, m]``."""
        y = self.body(self.normalise(x))
        return y * self.gain + self.shift if self.output_scaled else y

    def forward_mode_layers(self) -> dict | None:
        """The network as the forward mode reads it (pdec/compiler/forward.py), or None where that does not apply.

        Returns ``{"logs", "inputs", "features", "encoders", "hidden", "head", "output", "constraint"}``: the columns
        read as their logarithm (a boolean mask, or None), the input map
        (``("box", lo, scale, offset)`` or the embedding's, :meth:`InputMap.forward_mode_inputs`), the Fourier
        frequencies (or None), the modified MLP's encoders ``[(weight, bias, activation name)] * 2`` (or None), the
        hidden layers, the output layer ``(weight, bias)``, the output map ``(gain, shift)`` (or None) and the exact
        constraints (None here; :class:`pdec.compiler.constraints.Constrained` adds them). None when a subclass changes
        ``forward`` or ``normalise``, the body or input map is not pdec's, or an activation has no closed-form
        derivatives there.
        It must describe ``forward`` exactly (tests/test_forward.py checks that both lowerings agree).
        """
        if type(self).forward is not MLP.forward or type(self).normalise is not MLP.normalise:
            return None
        if self.embedding is None:
            inputs, features = ("box", self.lo, self.scale, self.offset), None
        else:
            describe = getattr(self.embedding, "forward_mode_inputs", None)
            inputs, features = (describe() if callable(describe) else None) or (None, None)
        body = forward_mode_body(self.body)
        if inputs is None or body is None:
            return None
        output = (self.gain, self.shift) if self.output_scaled else None
        logs = self.logged if self.log_columns else None
        return {"logs": logs, "inputs": inputs, "features": features, **body, "output": output, "constraint": None}


def forward_mode_body(body: nn.Module) -> dict | None:
    """``{"encoders", "hidden", "head"}`` of a plain (sequential) or modified body for the forward mode, or None."""
    if type(body) is not nn.Sequential:
        describe = getattr(body, "forward_mode_layers", None)
        return describe() if callable(describe) else None
    modules = list(body)
    linears, activations = modules[0::2], [forward_mode_name(m) for m in modules[1::2]]
    if None in activations or not all(isinstance(m, nn.Linear) for m in linears):
        return None
    hidden = [(m.weight, m.bias, a) for m, a in zip(linears[:-1], activations, strict=True)]
    return {"encoders": None, "hidden": hidden, "head": (linears[-1].weight, linears[-1].bias)}


def forward_mode_name(module: nn.Module) -> str | None:
    """The name under which the forward-mode lowering knows an activation module (None: it does not)."""
    found = recognised(module)
    return None if found is None else found.name


def dense(n_in: int, n_out: int, generator: torch.Generator | None, init: str = "glorot_normal") -> nn.Linear:
    """A linear layer with Xavier (Glorot) weights, normal or uniform (``init``), and zero biases, from ``generator``.

    Both draws have the variance ``2 / (n_in + n_out)``; the uniform one (on ``+-sqrt(6 / (n_in + n_out))``) is
    DeepXDE's and Keras's default, the normal one pdec's.
    """
    linear = nn.utils.skip_init(nn.Linear, n_in, n_out)  # no draw from the global generator
    draw = nn.init.xavier_uniform_ if init == "glorot_uniform" else nn.init.xavier_normal_
    draw(linear.weight, generator=generator)
    nn.init.zeros_(linear.bias)
    return linear


class ModifiedBody(nn.Module):
    """The modified MLP of Wang, Teng, Perdikaris (2021): every hidden layer gated between two encodings of the input.

    ``U = act(W_u z)``, ``V = act(W_v z)``; each hidden layer ``h = act(W h + b)`` becomes ``h * U + (1 - h) * V``
    (so all hidden widths are equal); the output layer is linear.
    """

    def __init__(
        self, widths: Sequence[int], activation_name: str, generator: torch.Generator | None, init: str
    ) -> None:
        super().__init__()
        hidden = set(widths[1:-1])
        if len(hidden) != 1:
            raise PdecRunError(
                f"the modified MLP needs equal hidden widths, got {list(widths[1:-1])}",
                hint="e.g. layers = [64, 64, 64]",
            )
        width = widths[1]
        self.encode_u, self.encode_v = (dense(widths[0], width, generator, init) for _ in "uv")
        self.hidden = nn.ModuleList(dense(n_in, width, generator, init) for n_in in widths[:-2])
        self.out = dense(width, widths[-1], generator, init)
        self.act = activation(activation_name)

    def __getitem__(self, index: int) -> nn.Module:
        """``body[-1]`` is the output layer (the trainer's ``head``), as for a sequential body."""
        if index != -1:
            raise IndexError(index)
        return self.out

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """The outputs for first-layer inputs ``z``."""
        u, v = self.act(self.encode_u(z)), self.act(self.encode_v(z))
        h = z
        for layer in self.hidden:
            h = self.act(layer(h))
            h = h * u + (1 - h) * v
        return self.out(h)

    def forward_mode_layers(self) -> dict | None:
        """``{"encoders", "hidden", "head"}`` for the forward mode (compiler/forward.py), or None (changed forward)."""
        name = forward_mode_name(self.act)
        if type(self).forward is not ModifiedBody.forward or name is None:
            return None
        encoders = [(m.weight, m.bias, name) for m in (self.encode_u, self.encode_v)]
        hidden = [(m.weight, m.bias, name) for m in self.hidden]
        return {"encoders": encoders, "hidden": hidden, "head": (self.out.weight, self.out.bias)}


class ModifiedMLP(MLP):
    """The :class:`MLP` with the modified body (:class:`ModifiedBody`); same input map and output scaling."""

    def build_body(
        self, widths: Sequence[int], activation_name: str, generator: torch.Generator | None, init: str
    ) -> nn.Module:
        """The gated body."""
        return ModifiedBody(widths, activation_name, generator, init)


def mlp(compiled: Any, settings: Any, generator: torch.Generator) -> MLP:
    """The multilayer perceptron of a compiled problem (``settings.layers`` wide, ``settings.activation``)."""
    return _network(MLP, compiled, settings, generator)


def modified_mlp(compiled: Any, settings: Any, generator: torch.Generator) -> MLP:
    """The modified MLP of a compiled problem (:class:`ModifiedMLP`)."""
    return _network(ModifiedMLP, compiled, settings, generator)


def _network(cls: type[MLP], compiled: Any, settings: Any, generator: torch.Generator) -> MLP:
    """``cls`` for a compiled problem, with its input map (exactly periodic variables, Fourier features) if any."""
    bounds = {v: compiled.bounds[v] for v in compiled.variables}
    read = {v: read_as(b) for v, b in bounds.items()}  # an input map sees a `log` parameter's logarithm
    constraints = getattr(compiled, "constraints", None)
    periodic = [compiled.variables[c] for c, _, _ in constraints.periodic] if constraints else []
    seams = [compiled.variables[c] for c in getattr(constraints, "seams", ())] if constraints else []
    features, scale = getattr(settings, "fourier_features", 0), getattr(settings, "fourier_scale", 1.0)
    embedding = input_map(read, periodic, features, scale, generator, seams)
    inputs = input_range(compiled, settings)
    init = getattr(settings, "init", "glorot_normal")
    return cls(bounds, compiled.fields, settings.layers, settings.activation, generator, embedding, inputs, init)


def input_range(compiled: Any, settings: Any) -> str:
    """The box's map onto the first layer: ``settings.inputs``, with ``auto`` resolved for this problem.

    ``auto`` is ``unit`` (the box onto [0, 1]) for a sine network whose every condition is exact (no condition is
    a loss term) and whose first layer sees the box (no Fourier features, no exactly periodic variable: an input
    map replaces the box scaling), and ``centred`` (onto [-1, 1]) otherwise. Measured on three Helmholtz
    problems (benchmarks/results/sine_inputs.md): with exact walls the smaller range gave 5x and 6.5x lower errors on
    the unit square and 1.2x on [-1, 1]^2; with the walls as a loss term it left the network at u = 0.

    An explicit ``unit`` with such an input map would be ignored: a PdecSettingsError
    (pdec.language.symbolic.check_inputs locates it in the spec; this catches the trainer's overrides).
    """
    from pdec.language.symbolic import inputs_ignored  # torch-free; the message pdec check gives

    inputs = getattr(settings, "inputs", "centred")
    constraints = getattr(compiled, "constraints", None)
    features = getattr(settings, "fourier_features", 0)
    periodic = [compiled.variables[c] for c, _, _ in constraints.periodic] if constraints is not None else []
    ignored = inputs_ignored(inputs, features, periodic)
    if ignored is not None:
        raise PdecSettingsError(ignored[0], hint=ignored[1])
    if inputs != "auto":
        return inputs
    conditions = any(t.kind not in ("pde", "data") for t in getattr(compiled, "terms", {}).values())  # as loss terms
    embedded = features or periodic
    return "unit" if settings.activation == "sin" and not embedded and not conditions else "centred"


def build_net(
    variables: Sequence[str],
    bounds: Mapping[str, tuple[float, float]],
    fields: Sequence[str],
    layers: Sequence[int],
    activation_name: str,
    seed: int = 0,
    inputs: str = "centred",
) -> MLP:
    """Build the MLP of a compiled problem (bounds in the variables' column order), initialised from ``seed``."""
    ordered = {v: bounds[v] for v in variables}
    generator = torch.Generator().manual_seed(seed)
    return MLP(ordered, fields, layers, activation_name, generator, inputs=inputs)


DEFAULT_NETWORK = "mlp"


@dataclass
class NetworkShape:
    """What :func:`make_net` reads of a compiled problem, for a network built without compiling one.

    A loaded run (pdec.run.results) and a time window (pdec.nn.windows.shapes) build their networks from this;
    :func:`pdec.nn.windows.chain` builds a copy whose ``constraints`` carry the initial values (:meth:`replace`).
    """

    variables: tuple[str, ...]
    fields: tuple[str, ...]
    bounds: Mapping[str, tuple[float, float]]
    constraints: Constraints | None
    terms: Mapping[str, Any] = field(default_factory=dict)  # no data terms: no output scales

    def replace(self, **changes: Any) -> NetworkShape:
        """A copy with some fields replaced (as :meth:`pdec.compiler.driver.CompiledProblem.replace`)."""
        return dataclasses.replace(self, **changes)


def make_net(
    compiled: Any, settings: Any, device: torch.device, dtype: torch.dtype, kind: str | None = None
) -> nn.Module:
    """The network factory: the architecture ``kind`` (pdec.core.registry.NETWORKS) for a compiled problem.

    The network is built from ``settings`` (weights drawn from ``settings.seed``) and moved to ``device`` in
    ``dtype``; with ``output_scale = data``, each observed field's outputs are scaled to the mean and std of its
    readings. ``kind`` defaults to ``settings.network``. With exact conditions (pdec.compiler.constraints) the network
    is wrapped so that its outputs satisfy them by construction.
    """
    kind = kind or getattr(settings, "network", DEFAULT_NETWORK)
    net = NETWORKS.load(kind)(compiled, settings, torch.Generator().manual_seed(settings.seed)).to(device, dtype)
    observed = [(t.observed, t.readings.values) for t in compiled.terms.values() if t.readings is not None]
    if settings.output_scale == "data" and observed:
        net.scale_outputs(*output_scales(compiled.fields, observed))
    constraints = getattr(compiled, "constraints", None)
    return Constrained(net, constraints) if constraints is not None and constraints.pieces else net


def output_scales(fields: Sequence[str], observed: Sequence[tuple[Sequence[str], np.ndarray]]) -> tuple[list, list]:
    """Per-field ``(shift, gain)``: the mean and std of every observation of the field; ``(0, 1)`` if unobserved.

    ``observed`` holds ``(field names, [N, len(names)] values)`` per data set. A field whose readings are all equal
    keeps gain 1 (its shift is still the mean).
    """
    shift, gain = [0.0] * len(fields), [1.0] * len(fields)
    for i, name in enumerate(fields):
        columns = [values[:, list(names).index(name)] for names, values in observed if name in names]
        if not columns:
            continue
        readings = np.concatenate(columns)
        readings = readings[np.isfinite(readings)]
        if readings.size == 0:
            continue
        mean, std = float(readings.mean()), float(readings.std())
        shift[i] = mean
        gain[i] = std if std > 1e-8 * max(1.0, abs(mean)) else 1.0
    return shift, gain
