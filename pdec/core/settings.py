"""Training settings: the schema, the defaults, and the checks on values written in a spec's ``train`` block.

Every setting has a default, so a spec without a ``train`` block still trains. Per-term maps (``points.NAME``,
``weight.NAME``) are keyed by the bare name of the equation, condition or data set (names are unique in a spec).
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from pdec.core import registry
from pdec.core.errors import PdecSettingsError, did_you_mean, short
from pdec.core.source import Span

ACTIVATIONS = registry.ACTIVATIONS.names
SAMPLERS = registry.SAMPLERS.names
WEIGHTINGS = registry.WEIGHTINGS.names
NETWORKS = registry.NETWORKS.names
DTYPES = ("auto", "float32", "float64")  # auto: Adam in float32, the second phase in float64
OPTIMIZERS = ("auto", *registry.OPTIMIZERS.names)  # auto: pdec.train.optimizers.runnable
OUTPUT_SCALES = ("data", "none")
# the box onto the first layer: [-1, 1], [0, 1] or as it is; auto: pdec.nn.networks.input_range
INPUTS = ("auto", "centred", "unit", "raw")
INITS = ("glorot_normal", "glorot_uniform")  # the dense layers' initial weights (pdec.nn.networks.dense)
LOWERINGS = ("forward", "autograd")  # how derivatives are computed (pdec.compiler.forward; nested autograd)


@dataclass(frozen=True)
class Stage:
    """A training phase in which only ``terms`` (bare names) are active, for ``steps`` optimiser steps."""

    terms: tuple[str, ...]
    steps: int
    span: Span | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class Settings:
    """Resolved training settings (see docs/language.md, section "train", for each one)."""

    seed: int = 0
    layers: tuple[int, ...] = (20, 20, 20, 20)
    activation: str = "tanh"
    network: str = "mlp"
    inputs: str = "auto"
    init: str = "glorot_normal"
    fourier_features: int = 0
    fourier_scale: float = 1.0
    output_scale: str = "data"
    interior: int = 2000
    boundary: int = 200
    points: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}))
    sampler: str = "sobol"
    resample: int = 0
    adam: int = 5000
    lr: float = 1e-3
    lr_decay: float = 1.0
    decay_every: int = 1000
    optimizer: str = "auto"
    iterations: int = 500
    resample_second: int = 0
    keep_best: bool = True
    fit_unknowns: int = 100
    function_layers: tuple[int, ...] = (20, 20)  # an unknown function's network (pdec.compiler.unknowns)
    data_first: float = 0.3
    weighting: str = "inverse_dirichlet_grouped_capped"
    causal: float = 0.0
    causal_bins: int = 32
    alpha: float = 0.5
    update_every: int = 10
    weights: Mapping[str, float] = field(default_factory=lambda: MappingProxyType({}))
    stages: tuple[Stage, ...] = ()
    dtype: str = "auto"
    device: str = "cpu"
    compile: bool = False
    lowering: str = "forward"
    exact_conditions: bool = False
    windows: int = 1
    eval_every: int = 100
    eval_points: int = 10000
    checkpoint_every: int = 1000
    tensorboard: bool = False
    # equation discovery (a `discover(...)` library; pdec.train.discovery): sequential thresholding with retraining
    discover_threshold: float = 0.05  # a term whose share of its equation's largest term is below this is dropped
    discover_rounds: int = 4  # retraining rounds at most, after the first training
    discover_adam: int = 1000  # Adam steps of each retraining round
    discover_iterations: int = 500  # second-phase iterations of each retraining round
    scale: bool = True  # a spec with units: train it non-dimensionalised (pdec.language.scaling)

    @property
    def compile_settings(self) -> CompileSettings:
        """The settings the compiler uses (the rest belong to the trainer)."""
        return CompileSettings(self.dtype, self.compile, self.lowering)

    def replace(self, **overrides: Any) -> Settings:
        """Return a copy with ``overrides`` applied and checked (keys as in the spec, ``points.NAME`` included)."""
        return apply(self, [(k, v, None) for k, v in overrides.items()])

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict of every setting."""
        out = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if f.name == "stages":
                value = [{"terms": list(s.terms), "steps": s.steps} for s in value]
            elif isinstance(value, Mapping):
                value = dict(value)
            elif isinstance(value, tuple):
                value = list(value)
            out[f.name] = value
        return out


@dataclass(frozen=True)
class CompileSettings:
    """The compile-time settings: the generated code's floating-point type, ``torch.compile``, the lowering.

    ``lowering``: ``forward`` propagates the partials through pdec's networks (others: autograd); ``autograd`` takes
    nested backward passes.
    """

    dtype: str = "float32"
    compile: bool = False
    lowering: str = "forward"

    @property
    def torch_dtype(self) -> Any:
        """The torch dtype (imports torch)."""
        return torch_dtype(self.dtype)


def torch_dtype(name: str) -> Any:
    """The torch dtype named ``name`` (one of DTYPES); the one place a dtype name is resolved (imports torch)."""
    import torch

    return {"auto": torch.float32, "float32": torch.float32, "float64": torch.float64}[name]


def sized_defaults(variables: int, fields: int, order: int) -> Settings:
    """The defaults for a problem of this size: the base a spec's ``train`` block is applied to.

    A larger problem gets a larger network, more points and more steps (docs/training.md, "Defaults"):

    - layers: 3 hidden layers for one variable, 4 otherwise; 20 wide when variables + fields <= 2, 32 up to 5, 64
      beyond (up to 5, a network small enough for the dense second phase: docs/measurements.md, "Problems written as
      users would");
    - interior points: 500, 2,000, 5,000 and 10,000 for 1, 2, 3 and 4+ variables;
    - Adam steps: 1,000 for a network the dense second phase takes (variables + fields <= 5), else 5,000; doubled for
      several fields and again for third or higher derivatives; then up to 2,000 second-phase iterations
      (``optimizer``), 1,000 for the larger networks. The dense second phase gains more per second than Adam once
      Adam has found the solution's shape (docs/measurements.md, "Problems written as users would": on four of
      six specs 4-7x lower errors than 5,000 + 1,000 for 0.9-1.3x the time, on two the same or 3x higher in less).

    Args:
        variables: the number of independent variables, time included.
        fields: the number of fields.
        order: the highest total derivative order in the equations.
    """
    size = variables + fields
    dense = size <= 5  # a network of at most a few thousand parameters: self-scaled Broyden (optimizer = auto)
    width = 20 if size <= 2 else 32 if dense else 64
    depth = 3 if variables == 1 else 4
    interior = {1: 500, 2: 2000, 3: 5000}.get(variables, 10000)
    adam = (1000 if dense else 5000) * (2 if fields > 1 else 1) * (2 if order >= 3 else 1)
    return Settings(layers=(width,) * depth, interior=interior, adam=adam, iterations=2000 if dense else 1000)


# name -> (kind, constraint) ; kinds: int, float, choice, bool, widths
_SCHEMA: dict[str, tuple[str, Any]] = {
    "seed": ("int", 0),
    "layers": ("widths", None),
    "activation": ("choice", ACTIVATIONS),
    "network": ("choice", NETWORKS),
    "inputs": ("choice", INPUTS),
    "init": ("choice", INITS),
    "fourier_features": ("int", 0),
    "fourier_scale": ("float", "positive"),
    "output_scale": ("choice", OUTPUT_SCALES),
    "interior": ("int", 1),
    "boundary": ("int", 1),
    "sampler": ("choice", SAMPLERS),
    "resample": ("int", 0),
    "adam": ("int", 0),
    "lr": ("float", "positive"),
    "lr_decay": ("float", "unit"),
    "decay_every": ("int", 1),
    "optimizer": ("choice", OPTIMIZERS),
    "iterations": ("int", 0),
    "resample_second": ("int", 0),
    "keep_best": ("bool", None),
    "fit_unknowns": ("int", 0),
    "function_layers": ("widths", None),
    "data_first": ("float", "unit_open"),
    "weighting": ("choice", WEIGHTINGS),
    "causal": ("float", "nonnegative"),
    "causal_bins": ("int", 1),
    "alpha": ("float", "unit_open"),
    "update_every": ("int", 1),
    "dtype": ("choice", DTYPES),
    "device": ("device", None),
    "compile": ("bool", None),
    "lowering": ("choice", LOWERINGS),
    "exact_conditions": ("bool", None),
    "windows": ("int", 1),
    "eval_every": ("int", 1),
    "eval_points": ("int", 1),
    "checkpoint_every": ("int", 1),
    "tensorboard": ("bool", None),
    "discover_threshold": ("float", "unit_open"),
    "discover_rounds": ("int", 0),
    "discover_adam": ("int", 0),
    "discover_iterations": ("int", 0),
    "scale": ("bool", None),
}
_MAPS = {"points": ("int", 1), "weight": ("float", "nonnegative")}
MAX_INT = 2**31 - 1  # counts (steps, points, seeds) beyond this are mistakes, and overflow torch and numpy
MAX_WIDTH = 65536  # widest hidden layer
KNOWN_KEYS = tuple(_SCHEMA) + tuple(f"{m}.NAME" for m in _MAPS) + ("lbfgs",)
LEGACY = {"lbfgs": "lbfgs"}  # `lbfgs = N`: N iterations of L-BFGS (optimizer = lbfgs, iterations = N)


def apply(base: Settings, items: Iterable[tuple[str, Any, Span | None]]) -> Settings:
    """Check ``(key, value, span)`` items and return ``base`` with them applied.

    Keys are setting names or ``points.NAME`` / ``weight.NAME``; values are Python numbers, strings (names),
    booleans or lists as the parser produced them. Raises PdecSettingsError naming the item's span.
    """
    changes: dict[str, Any] = {}
    maps = {"points": dict(base.points), "weight": dict(base.weights)}
    seen: set[str] = set()
    for key, value, span in items:
        if key in seen:
            raise PdecSettingsError(f"'{key}' is set twice", span, "keep one line per setting")
        if key in ("optimizer", "iterations") and seen & set(LEGACY):
            raise PdecSettingsError(f"'{key}' after `lbfgs = N`, which already chose both", span,
                                    "write either `lbfgs = N` or `optimizer` and `iterations`, not both")
        seen.add(key)
        head, dot, tail = key.partition(".")
        if dot and head in _MAPS:
            if not tail:
                raise PdecSettingsError(f"'{key}' needs a term name after the dot", span, f"e.g. {head}.left")
            maps[head][tail] = _check(key, value, *_MAPS[head], span)
        elif key in _SCHEMA:
            changes[key] = _check(key, value, *_SCHEMA[key], span)
        elif key in LEGACY:
            if {"optimizer", "iterations"} & seen:
                raise PdecSettingsError(f"'{key}' sets both the optimizer and its iterations", span,
                                        "write either `lbfgs = N` or `optimizer` and `iterations`, not both")
            changes["iterations"] = _check(key, value, "int", 0, span)
            changes["optimizer"] = LEGACY[key]
        else:
            hint = did_you_mean(key, list(_SCHEMA) + list(_MAPS)) or "known settings: " + ", ".join(KNOWN_KEYS)
            raise PdecSettingsError(f"unknown training setting '{key}'", span, hint)
    changes["points"] = MappingProxyType(maps["points"])
    changes["weights"] = MappingProxyType(maps["weight"])
    return dataclasses.replace(base, **changes)


def train_block(block: Any, base: Settings, terms: Sequence[str], exact: Sequence[str] = ()) -> Settings:
    """A spec's ``train`` block (pdec.language.syntax.TrainBlock) applied to ``base``; stage and per-term names checked.

    ``terms`` are the bare names of the spec's equations, conditions and data sets; ``exact`` those of the conditions
    imposed by construction, which are not loss terms (no stage, weight or point count applies to them).
    """
    settings = apply(base, [(s.key, s.value, s.span) for s in block.settings])
    for s in block.settings:
        head, dot, tail = s.key.partition(".")
        if dot and tail in exact:
            raise PdecSettingsError(f"'{tail}' is exact: it is built into the network, not a loss term", s.span,
                                    "remove this line, or drop `exact` from the condition")
        if dot and tail not in terms:
            hint = did_you_mean(tail, terms) or "terms: " + ", ".join(terms)
            raise PdecSettingsError(f"'{s.key}' names no equation, condition or data set", s.span, hint)
    stages = []
    for item in block.stages:
        for ident in item.terms:
            if ident.name in exact:
                raise PdecSettingsError(f"'{ident.name}' is exact: it is built into the network, not trained",
                                        ident.span, "leave it out of the stage")
            if ident.name not in terms:
                hint = did_you_mean(ident.name, terms) or "terms: " + ", ".join(terms)
                raise PdecSettingsError(f"stage names an unknown term '{short(ident.name)}'", ident.span, hint)
        steps = item.steps.text
        if not steps.isdigit() or int(steps) < 1:
            raise PdecSettingsError(
                f"stage length must be a positive whole number of steps, got {steps}", item.steps.span
            )
        stages.append(Stage(tuple(i.name for i in item.terms), int(steps), item.span))
    return dataclasses.replace(settings, stages=tuple(stages)) if stages else settings


def _check(key: str, value: Any, kind: str, rule: Any, span: Span | None) -> Any:
    """Check one value against its kind and rule; return it normalised."""
    if kind == "int":
        if not _is_number(value) or value != int(value):
            raise PdecSettingsError(f"'{key}' must be a whole number, got {value!r}", span)
        if not rule <= value <= MAX_INT:
            raise PdecSettingsError(f"'{key}' must be between {rule} and {MAX_INT}, got {int(value)}", span)
        return int(value)
    if kind == "float":
        if not _is_number(value):
            raise PdecSettingsError(f"'{key}' must be a finite number, got {value!r}", span)
        ok = {"positive": value > 0, "nonnegative": value >= 0, "unit": 0 < value <= 1, "unit_open": 0 <= value < 1}
        if not ok[rule]:
            wanted = {"positive": "> 0", "nonnegative": ">= 0", "unit": "in (0, 1]", "unit_open": "in [0, 1)"}
            raise PdecSettingsError(f"'{key}' must be {wanted[rule]}, got {value}", span)
        return float(value)
    if kind == "choice":
        if not isinstance(value, str) or value not in rule:
            hint = (did_you_mean(str(value), rule) or "") + " choices: " + ", ".join(rule)
            raise PdecSettingsError(f"bad value {value!r} for '{key}'", span, hint.strip())
        return value
    if kind == "bool":
        if not isinstance(value, bool):
            raise PdecSettingsError(f"'{key}' must be true or false, got {value!r}", span)
        return value
    if kind == "device":
        if not isinstance(value, str) or not re.fullmatch(r"cpu|cuda(:[0-9]{1,3})?", value):
            raise PdecSettingsError(f"bad device {value!r}", span, "use cpu, cuda or cuda:N")
        return value
    # widths
    widths = value if isinstance(value, (list, tuple)) else None
    bad = lambda w: not _is_number(w) or w != int(w) or not 1 <= w <= MAX_WIDTH  # noqa: E731
    if not widths or any(bad(w) for w in widths):
        message = f"'{key}' must be a list of layer widths from 1 to {MAX_WIDTH}, got {value!r}"
        raise PdecSettingsError(message, span, "e.g. [20, 20, 20]")
    return tuple(int(w) for w in widths)


def _is_number(value: Any) -> bool:
    """Whether ``value`` is a finite int or float (not a bool)."""
    return not isinstance(value, bool) and isinstance(value, (int, float)) and math.isfinite(value)
