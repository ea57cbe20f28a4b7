"""The weighted residual vector of a problem and its Jacobian, for Gauss-Newton type steps (pdec.train.optimizers).

Every loss term is a mean of squared residuals, so the weighted loss ``sum_k lambda_k mean(r_k^2)`` is ``|r|^2``
for the vector ``r`` that stacks each term's rows scaled by ``sqrt(lambda_k / (N_k c_k))`` (its weight over its
points times its residual columns). That is the loss Adam and the quasi-Newton methods see, so Levenberg-Marquardt
minimises the same thing. The Jacobian ``J = dr/dp`` (over the network's parameters, then the unknowns') is built
point by point: each row depends on its own point only, so ``torch.func.vmap`` of ``torch.func.jacrev`` over the
points costs a few batched passes, where ``jacrev`` of the whole vector would cost one backward pass per row.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import torch

from pdec.compiler.driver import CompiledProblem


@dataclass(frozen=True)
class ResidualProblem:
    """What the residual vector needs of a run.

    Attributes:
        compiled: the CompiledProblem (its ``evaluate``).
        net: the network (an ``nn.Module``; its parameters are the Jacobian's first columns).
        unknowns: the unknowns (pdec.compiler.unknowns.Unknowns; their raw parameters are the last columns).
        terms: the terms in the vector, in order.
        sets_of: term -> the point sets it is evaluated on.
    """

    compiled: CompiledProblem
    net: torch.nn.Module
    unknowns: torch.nn.Module
    terms: Sequence[str]
    sets_of: Mapping[str, Sequence[str]]


class _Residuals(torch.nn.Module):
    """The compiled residuals as a module over the network and the unknowns (for ``torch.func.functional_call``)."""

    def __init__(self, problem: ResidualProblem) -> None:
        super().__init__()
        self.net, self.unknowns, self.compiled = problem.net, problem.unknowns, problem.compiled

    def forward(self, name: str, x: torch.Tensor, y: torch.Tensor | None) -> dict[str, torch.Tensor]:
        """The residuals of the terms of point set ``name`` at ``x`` (observed values ``y`` for data)."""
        targets = None if y is None else {name: y}
        return self.compiled.evaluate(self.net, {name: x}, targets, self.unknowns.values())


def _rows(found: Mapping[str, torch.Tensor], terms: Sequence[str], scale: Mapping[str, float], n: int) -> torch.Tensor:
    """One point set's scaled residual rows, point by point (each point's terms and columns together)."""
    return torch.cat([found[t].reshape(n, -1) * scale[t] for t in terms], dim=1).reshape(-1)


def residual_vector(
    problem: ResidualProblem,
    points: Mapping[str, torch.Tensor],
    targets: Mapping[str, torch.Tensor],
    weights: Mapping[str, float],
    jacobian: bool,
) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
    """``r`` (``[M]``, with ``|r|^2`` the weighted loss), or ``(r, J)`` with ``J`` ``[M, P]`` when ``jacobian``.

    Args:
        problem: the run's compiled problem, network, unknowns and terms.
        points: point-set name -> points ``[N, d]``.
        targets: data point-set name -> observed values ``[N, k]``.
        weights: the loss weights ``lambda_k`` by term.
        jacobian: also return the Jacobian over every parameter.
    """
    module = _Residuals(problem)
    sets = [s for s in points if any(s in problem.sets_of[t] for t in problem.terms)]
    parts = {s: module(s, points[s], targets.get(s)) for s in sets}  # one batched pass per point set
    rows = {t: sum(parts[s][t].numel() for s in sets if t in parts[s]) for t in problem.terms}
    scale = {t: math.sqrt(weights[t] / max(1, rows[t])) for t in problem.terms}
    own = {s: [t for t in problem.terms if t in parts[s]] for s in sets}
    r = torch.cat([_rows(parts[s], own[s], scale, len(points[s])) for s in sets])
    if not jacobian:
        return r
    names = [f"net.{n}" for n, _ in problem.net.named_parameters()]
    names += [f"unknowns.{n}" for n, _ in problem.unknowns.named_parameters()]
    values = tuple(p.detach() for p in problem.net.parameters()) + tuple(
        p.detach() for p in problem.unknowns.parameters()
    )
    blocks = []
    for s in sets:

        def one(params: tuple, x: torch.Tensor, y: torch.Tensor | None, s: str = s) -> torch.Tensor:
            found = torch.func.functional_call(
                module, dict(zip(names, params, strict=True)), (s, x[None], None if y is None else y[None])
            )
            return torch.cat([found[t].reshape(-1) * scale[t] for t in own[s]])

        y = targets.get(s)
        jac = torch.func.vmap(torch.func.jacrev(one), in_dims=(None, 0, None if y is None else 0))(values, points[s], y)
        blocks.append(torch.cat([j.reshape(j.shape[0] * j.shape[1], -1) for j in jac], dim=1))
    return r.detach(), torch.cat(blocks)


def jacobian_probe(
    problem: ResidualProblem, points: Mapping[str, torch.Tensor], targets: Mapping[str, torch.Tensor]
) -> tuple[int, str]:
    """The residual vector's length, and why its Jacobian cannot be built here ("" when it can).

    The Jacobian is tried on two points of every point set. It fails where the generated code takes a backward pass
    (``lowering = autograd``, or a network the forward mode cannot carry partials through, such as a marched
    window's; the trainer gives LM the problem lowered with the forward mode in every point set,
    pdec.compiler.driver.jacobian_lowering): ``torch.func`` cannot transform ``requires_grad_``.
    """
    weights = dict.fromkeys(problem.terms, 1.0)
    rows = len(residual_vector(problem, points, targets, weights, False))
    few = {s: x[:2] for s, x in points.items()}
    try:
        residual_vector(problem, few, {s: y[:2] for s, y in targets.items()}, weights, True)
    except Exception as exc:  # any failure to build it: LM falls back, saying why (never a traceback)
        if "requires_grad_" in str(exc) or "functorch" in str(exc):
            why = (
                "its partials take a backward pass, which torch.func cannot transform (under `lowering = autograd`, "
                "or with a network the forward mode does not carry partials through, such as a later time window's)"
            )
        else:
            why = (str(exc).splitlines() or [type(exc).__name__])[0][:200]
        return rows, f"its per-point Jacobian cannot be built for this problem: {why}"
    return rows, ""


__all__ = ["ResidualProblem", "jacobian_probe", "residual_vector"]
