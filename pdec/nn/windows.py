"""Time windows: the problem on each window of the time interval, and the networks that join them (pdec.train.marching).

``windows = N`` splits ``[t0, T]`` into N equal windows, each with a network of its own (pdec.train.marching trains them
in turn). Window ``k``'s initial values are window ``k - 1``'s solution at ``t_k``, imposed by construction
(:func:`carried`), so the joined solution (:class:`Marched`) is continuous.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from pdec.compiler.constraints import Constraints, ExactPiece, constraints_of
from pdec.language.problem import Condition, DataSet, Face, Kind, Problem, max_order
from pdec.nn.networks import NetworkShape, make_net


def edges(problem: Problem, windows: int) -> list[float]:
    """The ``windows + 1`` edges of the equal time windows."""
    t = problem.time
    return [float(x) for x in np.linspace(float(t.lo), float(t.hi), windows + 1)]


def window_problem(problem: Problem, k: int, windows: int) -> Problem:
    """The spec on window ``k``: the time interval ``[t_k, t_k+1]``, the initial values at ``t_k``, the data and the
    reference readings inside the window."""  # noqa: D205, D209
    t = problem.time
    lo, hi = edges(problem, windows)[k : k + 2]
    variables = tuple(dataclasses.replace(v, lo=lo, hi=hi) if v.is_time else v for v in problem.variables)
    conditions = tuple(_moved(c, t.name, lo) if isinstance(c, Condition) and c.kind == Kind.IC else c
                       for c in problem.conditions)
    column = [v.name for v in problem.variables].index(t.name)
    data = tuple(d for d in (_inside(d, column, lo, hi) for d in problem.data) if d is not None)
    reference = None if problem.reference is None else _inside(problem.reference, column, lo, hi)
    return dataclasses.replace(problem, variables=variables, conditions=conditions, data=data, reference=reference)


def _moved(c: Condition, time: str, lo: float) -> Condition:
    """An initial condition with its face at ``time = lo``."""
    pieces = tuple(dataclasses.replace(p, face=Face(time, lo, "lo")) if p.face is not None else p for p in c.pieces)
    return dataclasses.replace(c, pieces=pieces)


def _inside(data: DataSet, column: int, lo: float, hi: float) -> DataSet | None:
    """The readings of ``data`` with times in ``[lo, hi]`` (None when there are none)."""
    keep = (data.points[:, column] >= lo) & (data.points[:, column] <= hi)
    if not keep.any():
        return None
    return dataclasses.replace(data, points=data.points[keep], values=data.values[keep])


class Carried:
    """The initial values of window ``k``: window ``k - 1``'s network at ``t = t_k`` (its parameters frozen).

    A callable ``X [N, d] -> [N, pieces]`` for :class:`pdec.compiler.constraints.Constraints`: the other exact pieces
    keep the spec's values (``values``), the initial-value pieces (``carried``: (piece, field) pairs) read ``previous``.

    Reading ``previous`` means evaluating every window before it (each starts from the one before), so with gradients
    on, the values and their spatial partials up to ``order`` are computed once per set of points and cached; the
    call returns their Taylor polynomial about those points, ``sum_a c_a (X - X0)^a / a!``, whose value and partials
    at ``X = X0`` are the cached ones exactly (the training asks no higher partial than ``order``). Other points (an
    evaluation, a new round of points) are computed afresh.
    """

    CACHED = 8  # point sets remembered (one per point set of the window, and a few rounds)

    def __init__(self, values: Callable | None, previous: nn.Module, carried: Sequence[tuple[int, int]],
                 count: int, column: int, t0: float, order: int) -> None:
        self.values, self.previous, self.carried = values, previous, tuple(carried)
        self.count, self.column, self.t0, self.order = count, column, t0, order
        self.cache: list[tuple[torch.Tensor, dict[tuple[int, ...], torch.Tensor]]] = []

    def __call__(self, X: torch.Tensor) -> torch.Tensor:
        """Each exact piece's value at ``X``: the spec's, or the previous window's at ``t_k``."""
        before = self.carried_at(X) if not torch.is_grad_enabled() else self.polynomial(X)
        columns = list(self.values(X).split(1, dim=1)) if self.values is not None else [None] * self.count
        for i, (piece, _) in enumerate(self.carried):
            columns[piece] = before[:, i : i + 1]
        return torch.cat(columns, 1)

    def at_start(self, X: torch.Tensor) -> torch.Tensor:
        """``X`` with its time column set to ``t_k``."""
        return torch.cat([X[:, : self.column], torch.full_like(X[:, :1], self.t0), X[:, self.column + 1 :]], 1)

    def carried_at(self, X: torch.Tensor) -> torch.Tensor:
        """The previous window's carried fields ``[N, len(carried)]`` at ``(x, t_k)``.

        The previous network is evaluated in its own precision (float64 once its second phase has run, while this
        window's Adam runs in float32) and the values come back in ``X``'s.
        """
        start = self.at_start(X).to(parameter_dtype(self.previous, X.dtype))
        return self.previous(start)[:, [field for _, field in self.carried]].to(X.dtype)

    def polynomial(self, X: torch.Tensor) -> torch.Tensor:
        """The Taylor polynomial of :meth:`carried_at` about the cached points equal to ``X`` (computed on a miss)."""
        X0, coefficients = self.lookup(X)
        space = [j for j in range(X.shape[1]) if j != self.column]
        h = X[:, space] - X0[:, space]  # zero: only the partials of the powers survive
        total = None
        for index, c in coefficients.items():
            term = c
            for j, n in enumerate(index):
                if n:
                    term = term * h[:, j : j + 1] ** n / math.factorial(n)
            total = term if total is None else total + term
        return total

    def lookup(self, X: torch.Tensor) -> tuple[torch.Tensor, dict[tuple[int, ...], torch.Tensor]]:
        """The cached points equal to ``X`` and their partials, computing them on a miss."""
        key = X.detach()
        for X0, coefficients in self.cache:
            if X0.shape == key.shape and X0.device == key.device and torch.equal(X0, key):
                return X0, coefficients
        X0 = key.clone()
        self.cache = [(X0, self.partials(X0)), *self.cache][: self.CACHED]
        return self.cache[0]

    def partials(self, X0: torch.Tensor) -> dict[tuple[int, ...], torch.Tensor]:
        """The carried fields' spatial partials at ``X0`` up to ``order``: multi-index over the spatial columns ->
        ``[N, len(carried)]`` (each from its parent one order lower; detached)."""  # noqa: D205, D209
        space = [j for j in range(X0.shape[1]) if j != self.column]
        Y = X0.detach().requires_grad_(True)
        with torch.enable_grad():
            zero = (0,) * len(space)
            found = {zero: self.carried_at(Y)}
            for index in multi_indices(len(space), self.order):
                j = next(i for i, n in enumerate(index) if n)
                parent = found[index[:j] + (index[j] - 1,) + index[j + 1 :]]
                columns = [column_partial(parent[:, c], Y, space[j], sum(index) < self.order)
                           for c in range(parent.shape[1])]
                found[index] = torch.cat(columns, 1)
        return {a: v.detach() for a, v in found.items()}


def parameter_dtype(module: nn.Module, default: torch.dtype) -> torch.dtype:
    """The floating-point type of ``module``'s parameters (``default`` when it has none)."""
    return next((p.dtype for p in module.parameters()), default)


def column_partial(column: torch.Tensor, Y: torch.Tensor, j: int, more: bool) -> torch.Tensor:
    """``d column / d Y[:, j]`` ``[N, 1]`` (rows independent), kept differentiable when ``more`` orders follow."""
    if not column.requires_grad:  # a constant partial: every higher one is zero
        return torch.zeros_like(Y[:, :1])
    g = torch.autograd.grad(column.sum(), Y, create_graph=more, retain_graph=True, allow_unused=True)[0]
    return torch.zeros_like(Y[:, :1]) if g is None else g[:, j : j + 1]


def multi_indices(dims: int, order: int) -> list[tuple[int, ...]]:
    """Every multi-index over ``dims`` variables of total order 1 to ``order``, lower orders first."""
    return sorted((a for a in itertools.product(range(order + 1), repeat=dims) if 0 < sum(a) <= order), key=sum)


def carried(constraints: Constraints, previous: nn.Module, column: int, t0: float, order: int) -> Constraints:
    """``constraints`` with every initial-value piece (the face of the time column) reading ``previous`` at ``t0``.

    ``order``: the highest spatial partial the residuals take (the cache's Taylor order, :class:`Carried`). A carried
    piece's values are a function of their own (``keys``) and agree with the walls at ``t0``, where ``previous``
    meets them exactly: no pair with a carried piece disagrees (pdec.compiler.constraints.boolean_sum).
    """
    found = [(i, p.field) for i, p in enumerate(constraints.pieces)
             if isinstance(p, ExactPiece) and p.column == column and p.side == "lo"]
    values = Carried(constraints.values, previous, found, len(constraints.pieces), column, t0, order)
    now = {i for i, _ in found}
    keys = tuple(("carried", i) if i in now else key
                 for i, key in enumerate(constraints.keys or range(len(constraints.pieces))))
    disagree = frozenset(pair for pair in constraints.disagree if not now & set(pair))
    return dataclasses.replace(constraints, values=values, source=constraints.source + "\n# initial values: carried\n",
                               keys=keys, disagree=disagree)


class Marched(nn.Module):
    """The joined solution: window ``k``'s network on ``[t_k, t_k+1]`` (a time on an edge takes the earlier window;
    the two agree there by construction)."""  # noqa: D205, D209

    def __init__(self, nets: Sequence[nn.Module], edges: Sequence[float], column: int) -> None:
        super().__init__()
        self.nets = nn.ModuleList(nets)
        self.column = column
        self.register_buffer("inner", torch.tensor(list(edges[1:-1]), dtype=torch.float64), persistent=False)
        self.edges = tuple(edges)

    @property
    def fields(self) -> tuple[str, ...]:
        """The output names."""
        return self.nets[0].fields

    def window(self, x: torch.Tensor) -> torch.Tensor:
        """The window of each point ``[N]``."""
        return torch.bucketize(x[:, self.column].detach().double().contiguous(), self.inner.to(x.device))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The fields at ``x`` ``[N, d]``, each point from its window's network."""
        index = self.window(x)
        out = None
        for k, net in enumerate(self.nets):
            rows = (index == k).nonzero().squeeze(1)
            if rows.numel() == 0:
                continue
            y = net(x[rows].to(parameter_dtype(net, x.dtype))).to(x.dtype)  # each window in its own precision
            out = x.new_zeros(len(x), y.shape[1]) if out is None else out
            out = out.index_copy(0, rows, y)
        return out if out is not None else x.new_zeros(0, len(self.fields))


def shapes(problem: Problem, windows: int) -> list[NetworkShape]:
    """What :func:`pdec.nn.networks.make_net` reads of each window (no compiling): a :class:`NetworkShape`."""
    out = []
    for k in range(windows):
        p = window_problem(problem, k, windows)
        out.append(NetworkShape(
            variables=tuple(v.name for v in p.variables),
            fields=tuple(f.name for f in p.fields),
            bounds={v.name: (float(v.lo), float(v.hi)) for v in p.variables},
            constraints=constraints_of(p),
        ))
    return out


def chain(problem: Problem, windows: Sequence[Any], settings: Any, device: torch.device, dtype: torch.dtype) -> Marched:
    """The windows' networks, each window's initial values wired to the one before.

    ``windows``: what :func:`pdec.nn.networks.make_net` reads of each window (its compiled problem, or :func:`shapes`).
    Each network after the first is built from a copy of its window whose ``constraints`` carry the previous
    network's values (``.replace``); the windows themselves are left as they are.
    """
    column = [v.name for v in problem.variables].index(problem.time.name)
    t_edges = edges(problem, len(windows))
    residuals = [e.residual for e in problem.equations]
    residuals += [p.residual for c in problem.conditions if isinstance(c, Condition) for p in c.pieces]
    nets: list[nn.Module] = []
    for k, w in enumerate(windows):
        if k:
            w = w.replace(constraints=carried(w.constraints, nets[-1], column, t_edges[k], max_order(residuals)))
        nets.append(make_net(w, settings, device, dtype))
    return Marched(nets, t_edges, column)


def marched_net(problem: Problem, settings: Any, device: torch.device, dtype: torch.dtype) -> Marched:
    """The joined network of a marched run, rebuilt from its problem and settings (for loading a run)."""
    return chain(problem, shapes(problem, settings.windows), settings, device, dtype)


def freeze(net: nn.Module) -> None:
    """No gradient into a finished window's parameters (the next window reads it as data)."""
    for p in net.parameters():
        p.requires_grad_(False)


__all__ = ["Carried", "Marched", "carried", "chain", "edges", "freeze", "marched_net", "shapes", "window_problem"]
