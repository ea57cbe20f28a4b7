"""Intervals of the inputs: a variable's or parameter's ``(lo, hi)``, on a linear or a log scale.

A parameter declared ``param nu in [lo, hi] log`` is sampled evenly in ``log(nu)`` (each factor of ten gets as many
points) and the network reads ``log(nu)`` in its place (pdec.nn.networks.MLP). Its interval is a
:class:`LogInterval`: still the pair ``(lo, hi)`` wherever a pair is read, with ``log`` set, so that every sampler
that spreads points over the box (pdec.train.sampling) spreads them with :func:`spread`. Torch-free.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np


class LogInterval(tuple):
    """The pair ``(lo, hi)`` (``0 < lo < hi``) of a parameter sampled and read on a log scale."""

    log = True

    def __new__(cls, lo: float, hi: float) -> LogInterval:  # noqa: D102
        return super().__new__(cls, (float(lo), float(hi)))

    def __repr__(self) -> str:
        return f"LogInterval({self[0]!r}, {self[1]!r})"

    def __reduce__(self) -> tuple:
        return LogInterval, (self[0], self[1])


def is_log(interval: Sequence[float]) -> bool:
    """Whether ``interval`` is on a log scale (a :class:`LogInterval`)."""
    return bool(getattr(interval, "log", False))


def spread(interval: Sequence[float], unit: np.ndarray) -> np.ndarray:
    """Map numbers in [0, 1] onto ``interval``: evenly, or evenly in the logarithm for a :class:`LogInterval`."""
    lo, hi = interval
    if is_log(interval):
        return np.exp(math.log(lo) + unit * (math.log(hi) - math.log(lo)))
    return lo + unit * (hi - lo)


def read_as(interval: Sequence[float]) -> tuple[float, float]:
    """The interval the network's first layer sees: ``(log lo, log hi)`` on a log scale, ``(lo, hi)`` otherwise."""
    lo, hi = interval
    return (math.log(lo), math.log(hi)) if is_log(interval) else (float(lo), float(hi))


def fraction(interval: Sequence[float], value: float) -> float:
    """Where ``value`` lies in ``interval``, from 0 to 1: the inverse of :func:`spread` (in the logarithm on a log
    scale)."""  # noqa: D205, D209
    lo, hi = read_as(interval)
    return ((math.log(value) if is_log(interval) else float(value)) - lo) / (hi - lo)


def spaced(interval: Sequence[float], n: int) -> np.ndarray:
    """``n`` values from ``lo`` to ``hi``, evenly spaced on the interval's scale (its ends and, for odd ``n``, its
    middle: the geometric mean on a log scale)."""  # noqa: D205, D209
    return spread(interval, np.linspace(0.0, 1.0, n))


__all__ = ["LogInterval", "fraction", "is_log", "read_as", "spaced", "spread"]
