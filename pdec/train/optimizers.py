"""The second training phase's optimisers: L-BFGS, dense quasi-Newton methods, Levenberg-Marquardt.

The quasi-Newton methods are BFGS, self-scaled BFGS and self-scaled Broyden; Levenberg-Marquardt works on the
stacked residual vector (pdec.train.jacobian).

Each is a ``torch.optim.Optimizer`` whose ``step(closure)`` runs up to ``max_iter`` iterations, so the trainer
drives them all alike (a chunk of iterations per call, one history row per chunk):

- ``lbfgs``: torch's L-BFGS (strong-Wolfe line search, 50 pairs of history).
- ``bfgs``, ``ssbfgs``, ``ssbroyden``: a dense inverse-Hessian approximation ``H`` (``P x P``) updated from each
  step, with a strong-Wolfe line search. ``ssbfgs`` rescales ``H`` by ``tau = min(1, 1/b)`` before the BFGS update
  (Al-Baali's self-scaling); ``ssbroyden`` picks both the Broyden-family parameter and the scaling from the step
  (Al-Baali, Spedicato, Maggioni 2014), as Urban, Stefanou and Pons (2025) use for PINNs. Dense is right while
  ``P`` is a few thousand: ``H`` costs ``8 P^2`` bytes in float64 (80 MB at P = 3,000, 800 MB at 10,000) and every
  iteration ``O(P^2)`` work on top of the loss and its gradient; beyond :data:`DENSE_LIMIT` parameters the trainer
  uses L-BFGS instead.
- ``lm``: Levenberg-Marquardt on the residual vector ``r`` (rows scaled so that ``|r|^2`` is the weighted loss),
  with its Jacobian ``J`` (``M x P``); the step solves ``(J^T J + mu I) delta = -J^T r`` when ``M >= P``, or its
  kernel (Woodbury) form ``delta = -J^T (J J^T + mu I)^{-1} r`` when ``M < P``. The damping ``mu`` adapts to the
  ratio of the actual to the predicted decrease (Nielsen's rule), and each step adds geodesic acceleration (the
  residuals' curvature along it, Transtrum and Sethna 2012). Its ``step`` takes a closure returning ``(r, J)``
  when asked for the Jacobian and ``r`` otherwise (see :class:`LevenbergMarquardt`).

All linear algebra is torch (``torch.linalg``), so the same code runs on a GPU.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import Any

import torch
from torch.optim.lbfgs import _strong_wolfe  # torch's own strong-Wolfe line search (the one its L-BFGS uses)

METHODS = ("lbfgs", "bfgs", "ssbfgs", "ssbroyden", "lm")
AUTO_DENSE = 5_000  # parameters: up to this the default (``auto``) is self-scaled Broyden, beyond it L-BFGS
QUASI_NEWTON = ("bfgs", "ssbfgs", "ssbroyden")
DENSE_LIMIT = 12_000  # parameters: beyond this a dense H (1.15 GB in float64) is not worth it; L-BFGS instead
JACOBIAN_LIMIT = 2**30  # bytes of Jacobian (plus its Gram matrix) LM may hold; beyond, the next method


def runnable(method: str, size: int, probe: Callable[[], tuple[int, str]], world: int, causal: bool) -> tuple[str, str]:
    """``method``, or the next one that can run here, and a one-line reason when it changed ("" otherwise).

    ``auto`` (the default) is ``ssbroyden`` up to :data:`AUTO_DENSE` parameters and ``lbfgs`` beyond, where the
    dense matrix's ``O(P^2)`` work per iteration outweighs its better steps (benchmarks/results/optimizers.md).
    Levenberg-Marquardt needs one process, no causal weights and a Jacobian plus Gram matrix within
    :data:`JACOBIAN_LIMIT` bytes; a dense quasi-Newton method at most :data:`DENSE_LIMIT` parameters. The chain is
    LM -> self-scaled Broyden -> L-BFGS (L-BFGS runs anywhere, in bounded memory).

    Args:
        method: the method asked for (``settings.optimizer``).
        size: the number of parameters (network and unknowns).
        probe: the number of residual rows and why the Jacobian cannot be built ("" if it can); called for LM only.
        world: the number of processes.
        causal: whether causal weights are on.
    """
    why = ""
    if method == "auto":
        return ("ssbroyden" if size <= AUTO_DENSE else "lbfgs"), ""
    if method == "lm":
        if world > 1:
            why = "it runs in one process"
        elif causal:
            why = "its residual rows carry no causal weights"
        else:
            m, why = probe()
            need = 8 * (m * size + min(m, size) ** 2)
            if not why and need > JACOBIAN_LIMIT:
                budget = JACOBIAN_LIMIT / 2**30
                why = f"its Jacobian ({m} x {size}) needs {need / 2**30:.1f} GiB, over the {budget:g} GiB budget"
        if why:
            return "ssbroyden", f"optimizer lm: {why}; using ssbroyden instead"
    if method in QUASI_NEWTON and size > DENSE_LIMIT:
        return "lbfgs", (f"optimizer {method}: {size} parameters are too many for a dense Hessian "
                         f"(over {DENSE_LIMIT}); using lbfgs instead")
    return method, why


def chunk(optimizer: torch.optim.Optimizer, n: int, objective: Callable[..., Any],
          same: bool = False) -> tuple[float, int, bool]:
    """Run up to ``n`` iterations of ``optimizer`` on ``objective``: the loss at the start, iterations done, converged.

    ``converged`` is true when the optimiser stopped before ``n`` (gradient or progress below its tolerance, or no
    step that lowers the loss). ``same``: the objective is the previous call's (same points, same weights), so a
    dense quasi-Newton method may start from the loss and gradient it ended that call with instead of evaluating
    them again.
    """
    if isinstance(optimizer, DenseQuasiNewton) and not same:
        optimizer.forget()
    group = optimizer.param_groups[0]
    group["max_iter"] = n
    if "max_eval" in group:  # L-BFGS: at most 25 evaluations an iteration
        group["max_eval"] = 25 * n
    state = optimizer.state[group["params"][0]]
    before = state.get("n_iter", 0)
    loss = float(optimizer.step(objective).detach())
    done = state.get("n_iter", 0) - before
    return loss, done, done < n or bool(state.get("converged"))


def flat(tensors: Iterable[torch.Tensor]) -> torch.Tensor:
    """The tensors concatenated into one vector."""
    return torch.cat([t.reshape(-1) for t in tensors])


class DenseQuasiNewton(torch.optim.Optimizer):
    """BFGS, self-scaled BFGS or self-scaled Broyden with a dense inverse Hessian and a strong-Wolfe line search.

    Args:
        params: the parameters (one group).
        method: ``bfgs``, ``ssbfgs`` or ``ssbroyden``.
        lr: the first trial step of every line search (1 is the quasi-Newton step).
        max_iter: iterations per ``step`` call.
        tolerance_grad: stop when the largest gradient entry is below this.
        tolerance_change: stop when the loss or the step changes by less than this.

    The first trial step of each line search after the first is ``min(1, 1.01 * 2 (f_k - f_{k-1}) / g_k^T d_k)``
    times ``lr``: the minimiser of the quadratic through the last decrease, as SciPy's BFGS starts its line
    searches. With the unit step every time, two in three searches on Burgers overshot and paid a second loss
    evaluation (benchmarks/results/optimizers.md).
    """

    def __init__(
        self,
        params: Iterable[torch.Tensor],
        method: str = "ssbroyden",
        lr: float = 1.0,
        max_iter: int = 10,
        tolerance_grad: float = 0.0,
        tolerance_change: float = 1e-15,
    ) -> None:
        if method not in QUASI_NEWTON:
            raise ValueError(f"unknown quasi-Newton method {method!r}; known: {', '.join(QUASI_NEWTON)}")
        defaults = {"lr": lr, "max_iter": max_iter, "tolerance_grad": tolerance_grad,
                    "tolerance_change": tolerance_change, "method": method}
        super().__init__(params, defaults)
        self._params = self.param_groups[0]["params"]
        self.size = sum(p.numel() for p in self._params)

    def _vector(self) -> torch.Tensor:
        return flat(p.detach() for p in self._params)

    def _set(self, vector: torch.Tensor) -> None:
        offset = 0
        with torch.no_grad():
            for p in self._params:
                n = p.numel()
                p.copy_(vector[offset : offset + n].view_as(p))
                offset += n

    def _gradient(self) -> torch.Tensor:
        return flat(torch.zeros_like(p) if p.grad is None else p.grad for p in self._params)

    def _evaluate(self, closure: Callable[[], torch.Tensor], x: torch.Tensor, t: float, d: torch.Tensor):
        self._set(x + t * d)
        loss = float(closure())
        return loss, self._gradient()

    @torch.no_grad()
    def step(self, closure: Callable[[], torch.Tensor]) -> torch.Tensor:  # type: ignore[override]
        """Up to ``max_iter`` iterations; ``closure`` zeroes the gradients, returns the loss and back-propagates it.

        Returns the loss at the start of the call. ``state["n_iter"]`` counts the iterations done so far.
        """
        closure = torch.enable_grad()(closure)
        group = self.param_groups[0]
        state = self.state[self._params[0]]
        state.setdefault("n_iter", 0)
        x = self._vector()
        if "x_end" in state and torch.equal(state["x_end"], x):  # where the last call ended, on the same objective
            first, g = state["loss_end"], state["g_end"]
        else:
            first = closure()
            g = self._gradient()
        loss = float(first)
        if not math.isfinite(loss) or g.abs().max() <= group["tolerance_grad"]:
            return first
        H = state.get("H")
        if H is None or H.shape[0] != self.size or H.dtype != g.dtype:
            H = None
        Hg = None  # H @ g, carried from each update to the next iteration (one pass over H an iteration)
        for _ in range(group["max_iter"]):
            if H is not None and Hg is None:
                Hg = H @ g
            d = -g if H is None else -Hg
            gtd = float(g @ d)
            if not gtd < 0:  # not a descent direction (H lost positive definiteness): start again from steepest descent
                H, Hg, d = None, None, -g
                gtd = float(g @ d)
            if H is None:
                t = min(1.0, 1.0 / float(g.abs().sum())) * group["lr"]
            else:
                decrease = state.get("decrease", 0.0)  # f_{k-1} - f_k > 0 after a step
                t = group["lr"] * (min(1.0, -2.02 * decrease / gtd) if decrease > 0 else 1.0)
            new_loss, new_g, t, _ = _strong_wolfe(
                lambda x_, t_, d_: self._evaluate(closure, x_, t_, d_), x, t, d, loss, g, gtd,
                tolerance_change=group["tolerance_change"],
            )
            s = t * d
            x = x + s
            self._set(x)
            state["n_iter"] += 1
            if not math.isfinite(new_loss):
                loss = new_loss
                break
            H, Hg = self._update(H, s, g, new_g, t, group["method"])
            change = abs(new_loss - loss)
            state["decrease"] = loss - new_loss
            loss, g = new_loss, new_g
            small = min(change, float(s.abs().max())) < group["tolerance_change"]  # no progress in loss or step
            if small or g.abs().max() <= group["tolerance_grad"]:
                state["converged"] = True
                break
        state["H"] = H
        if math.isfinite(loss):
            state.update(x_end=x.clone(), loss_end=torch.tensor(loss, dtype=x.dtype), g_end=g)
        return first

    def forget(self) -> None:
        """Drop the loss and gradient kept from the last call (the objective changed: new points or weights).

        The last decrease stays: it only sizes the next line search's first trial step.
        """
        state = self.state[self._params[0]]
        for key in ("x_end", "loss_end", "g_end"):
            state.pop(key, None)

    def _update(self, H: torch.Tensor | None, s: torch.Tensor, g: torch.Tensor, new_g: torch.Tensor, t: float,
                method: str) -> tuple[torch.Tensor | None, torch.Tensor | None]:
        """The new inverse Hessian from the step ``s`` and the gradients before and after it, and ``H_new @ new_g``.

        Every method's update is ``H_new = c H + U W^T`` with ``U``, ``W`` of two or three columns, applied in one
        pass over ``H`` (``addmm_``); the one other pass is ``H @ [new_g, y]``, whose first column gives the next
        direction through the same low-rank form. At P = 8,000 this is two passes over 512 MB an iteration where
        separate rank-one updates took ten.
        """
        y = new_g - g
        ys = float(y @ s)
        if H is not None:
            both = H @ torch.stack((new_g, y), 1)
            Hg, Hy = both[:, 0], both[:, 1]
        if not ys > 1e-12 * float(y @ y) ** 0.5 * float(s @ s) ** 0.5:  # no curvature along s: keep H
            return (H, Hg) if H is not None else (None, None)
        rho = 1.0 / ys
        if H is None:  # the first update: H0 = (y^T s / y^T y) I (Nocedal and Wright, 6.20)
            gamma = ys / float(y @ y)
            H = torch.eye(self.size, dtype=s.dtype, device=s.device) * gamma
            Hg, Hy = new_g * gamma, y * gamma
        yHy = float(y @ Hy)
        h = yHy * rho
        b = -t * rho * float(s @ g)  # s^T B s / y^T s, with B s = -t g
        if method in ("bfgs", "ssbfgs"):
            c = 1.0 / min(1.0, 1.0 / b) if method == "ssbfgs" and b > 0 else 1.0  # Al-Baali's scaling, 1 / tau
            U = torch.stack((Hy, s), 1)
            W = torch.stack((-rho * c * s, rho * (1.0 + c * h) * s - rho * c * Hy), 1)
        else:  # self-scaled Broyden: the family parameter theta and the scaling tau from a = b h - 1 (>= 0)
            a = max(b * h - 1.0, 0.0)
            if a < 1e-12 or b <= 0:
                theta, tau = 0.0, min(1.0, 1.0 / b) if b > 0 else 1.0
            else:
                root = math.sqrt(a / (1.0 + a))
                rho_minus = min(1.0, h * (1.0 - root))
                theta_minus, theta_plus = (rho_minus - 1.0) / a, 1.0 / rho_minus
                theta = max(theta_minus, min(theta_plus, (1.0 - b) / b))
                sigma = 1.0 + theta * a
                sigma_root = abs(sigma) ** (1.0 / (1.0 - self.size))
                scale = min(1.0, 1.0 / b)
                tau = min(scale * sigma_root, sigma) if theta <= 0 else scale * min(sigma_root, 1.0 / theta)
            phi = (1.0 - theta) / (1.0 + a * theta)
            v = s * rho - Hy / yHy
            c = 1.0 / tau  # H_new = (H - Hy Hy^T / yHy + phi yHy v v^T) / tau + rho s s^T
            U = torch.stack((Hy, v, s), 1)
            W = torch.stack((-(c / yHy) * Hy, (c * phi * yHy) * v, rho * s), 1)
        Hg = c * Hg + U @ (W.T @ new_g)
        H.addmm_(U, W.T, beta=c)
        return H, Hg


GRAM_BLOCKS = 4  # column blocks of the Gram product: the lower block triangle is 10 of their 16 products
GRAM_SPLIT = 1024  # sides below this take the one dense product (the blocks gain nothing there)


def gram_matrix(J: torch.Tensor) -> torch.Tensor:
    """The smaller Gram matrix of ``J``: ``J^T J`` with more rows than columns, ``J J^T`` otherwise.

    The matrix is symmetric, so only its lower block triangle is multiplied out (:data:`GRAM_BLOCKS` column blocks:
    0.625 of the dense product's work) and mirrored; for 4,600 x 2,209 in float64 on one CPU thread that took 0.42-0.55
    s against 0.76-0.83 s for ``J.T @ J``. Plain torch products, so it runs on any device.
    """
    A = J if J.shape[0] >= J.shape[1] else J.T  # the Gram matrix is A^T A
    n = A.shape[1]
    if n < GRAM_SPLIT:  # one product; its two triangles may differ in the last bit (the BLAS's kernels), so mirrored
        lower = (A.T @ A).tril()
        return lower + lower.tril(-1).T
    edges = [n * i // GRAM_BLOCKS for i in range(GRAM_BLOCKS + 1)]
    G = torch.zeros(n, n, dtype=A.dtype, device=A.device)
    for a, b in zip(edges[:-1], edges[1:], strict=True):
        G[a:b, :b] = A[:, a:b].T @ A[:, :b]
    lower = G.tril()
    return lower + lower.tril(-1).T


def damped_factor(gram: torch.Tensor, mu: float) -> torch.Tensor | None:
    """The Cholesky factor of ``gram + mu I`` (None if it fails in floating point)."""
    damped = gram + mu * torch.eye(gram.shape[0], dtype=gram.dtype, device=gram.device)
    factor, info = torch.linalg.cholesky_ex(damped)
    return None if int(info) != 0 else factor


def damped_solve(J: torch.Tensor, factor: torch.Tensor, r: torch.Tensor) -> torch.Tensor:
    """``-(J^T J + mu I)^{-1} J^T r`` from the factor of the smaller damped Gram matrix (:func:`damped_factor`)."""
    M, P = J.shape
    if M >= P:
        return -torch.cholesky_solve((J.T @ r)[:, None], factor)[:, 0]
    return -(J.T @ torch.cholesky_solve(r[:, None], factor)[:, 0])


def damped_step(J: torch.Tensor, r: torch.Tensor, mu: float, gram: torch.Tensor | None = None) -> torch.Tensor | None:
    """The Levenberg-Marquardt step ``delta = -(J^T J + mu I)^{-1} J^T r`` (None if the Cholesky factor fails).

    With more rows than parameters it factors the ``P x P`` matrix ``J^T J + mu I``; with fewer, the ``M x M`` kernel
    matrix ``J J^T + mu I``, using the Woodbury identity ``(J^T J + mu I)^{-1} J^T = J^T (J J^T + mu I)^{-1}``: the
    same step at the cost of the smaller side. ``gram`` is ``J^T J`` or ``J J^T`` (whichever is smaller) if known.
    """
    factor = damped_factor(gram_matrix(J) if gram is None else gram, mu)
    return None if factor is None else damped_solve(J, factor, r)


GEODESIC_STEP = 0.1  # the finite-difference step along delta for the residuals' curvature, as a fraction of delta


def curvature(shifted: torch.Tensor, r: torch.Tensor, Jd: torch.Tensor, h: float) -> torch.Tensor:
    """The residuals' second directional derivative along ``delta``, ``r_dd``, by a finite difference.

    ``shifted`` is ``r(p + h delta)``, ``Jd`` is ``J delta``:
    ``r_dd ~ (2 / h) ((r(p + h delta) - r(p)) / h - J delta)``, exact for residuals quadratic in the parameters
    (Transtrum and Sethna 2012, eq. 13).
    """
    return (2.0 / h) * ((shifted - r) / h - Jd)


class LevenbergMarquardt(torch.optim.Optimizer):
    """Levenberg-Marquardt on a residual vector: ``min |r(p)|^2`` with steps from ``(J^T J + mu I)``.

    ``step(closure)``: ``closure(jacobian)`` returns ``(r, J)`` (``[M]``, ``[M, P]``) when ``jacobian`` is true and
    ``r`` alone otherwise, both at the current parameters. A step that lowers ``|r|^2`` is kept and ``mu`` shrinks by
    Nielsen's factor ``max(1/3, 1 - (2 q - 1)^3)`` (``q`` the ratio of actual to predicted decrease); one that does
    not is undone and ``mu`` grows (by 2, 4, 8, ...).

    With ``accelerate`` (the default), each step is corrected for the residuals' curvature along it: geodesic
    acceleration (Transtrum and Sethna 2012, arXiv:1201.5885). From the velocity ``v`` (the plain step) it takes
    ``r_vv`` by one more residual evaluation (:func:`curvature`), solves ``a = -(J^T J + mu I)^{-1} J^T r_vv`` with
    the same Cholesky factor, and steps by ``v + a / 2``; a step with ``2 |a| > accelerate |v|`` is refused as too
    curved and ``mu`` grows. The extra cost is one residual evaluation and one triangular solve per try; on
    examples/poisson_boltzmann.pde it took the error after 120 iterations from 1.8e-3 to 3.0e-4 (docs/training.md).

    Args:
        params: the parameters (one group).
        mu: the initial damping, relative to the mean diagonal of ``J^T J``.
        max_iter: accepted-or-rejected iterations per call.
        accelerate: the largest ratio ``2 |a| / |v|`` accepted (Transtrum and Sethna's ``alpha``); 0: no acceleration.
    """

    def __init__(self, params: Iterable[torch.Tensor], mu: float = 1e-3, max_iter: int = 1,
                 accelerate: float = 0.75) -> None:
        super().__init__(params, {"lr": 1.0, "mu": mu, "max_iter": max_iter, "accelerate": accelerate})
        self._params = self.param_groups[0]["params"]

    def _add(self, delta: torch.Tensor, alpha: float = 1.0) -> None:
        offset = 0
        with torch.no_grad():
            for p in self._params:
                n = p.numel()
                p.add_(delta[offset : offset + n].view_as(p), alpha=alpha)
                offset += n

    @staticmethod
    def _more_damping(state: dict[str, Any], mu: float) -> None:
        """A refused step: ``mu`` grows by ``nu`` (2, then 4, 8, ... while steps keep being refused)."""
        state["mu"] = mu * state["nu"]
        state["nu"] *= 2.0

    def _accelerated(self, closure: Callable[[bool], Any], r: torch.Tensor, J: torch.Tensor, factor: torch.Tensor,
                     delta: torch.Tensor, Jd: torch.Tensor) -> torch.Tensor | None:
        """``delta`` plus half its geodesic acceleration, or None where ``2 |a| > accelerate |delta|``."""
        h = GEODESIC_STEP
        self._add(delta, alpha=h)
        rvv = curvature(closure(False).detach(), r, Jd, h)
        self._add(delta, alpha=-h)
        a = damped_solve(J, factor, rvv)
        if 2.0 * float(a.norm()) > self.param_groups[0]["accelerate"] * float(delta.norm()):
            return None
        return delta + 0.5 * a

    @torch.no_grad()
    def step(self, closure: Callable[[bool], Any]) -> torch.Tensor:  # type: ignore[override]
        """Up to ``max_iter`` iterations (one Jacobian each); returns ``|r|^2`` at the start of the call."""
        closure = torch.enable_grad()(closure)
        group = self.param_groups[0]
        state = self.state[self._params[0]]
        state.setdefault("n_iter", 0)
        state.setdefault("nu", 2.0)
        first = None
        for _ in range(group["max_iter"]):
            r, J = closure(True)
            r, J = r.detach(), J.detach()
            loss = float(r @ r)
            if first is None:
                first = torch.tensor(loss, dtype=r.dtype)
            if not math.isfinite(loss):
                break
            gram = gram_matrix(J)
            scale = float(gram.diagonal().mean())
            if "mu" not in state:
                state["mu"] = group["mu"] * scale
            state["mu"] = max(state["mu"], 1e-15 * scale)  # damping never below round-off of the Gram matrix
            g = J.T @ r
            for _attempt in range(30):
                mu = state["mu"]
                factor = damped_factor(gram, mu)
                if factor is None:  # not positive definite in floating point: more damping
                    self._more_damping(state, mu)
                    continue
                delta = damped_solve(J, factor, r)
                Jd = J @ delta
                # the linear model's predicted decrease of |r|^2 for the plain step; with acceleration the gain ratio
                # below sets the actual decrease of v + a/2 against it (a curved step that does better counts so)
                predicted = -(2.0 * float(g @ delta) + float(Jd @ Jd))
                if group["accelerate"]:
                    delta = self._accelerated(closure, r, J, factor, delta, Jd)
                    if delta is None:  # too curved to trust
                        self._more_damping(state, mu)
                        continue
                self._add(delta)
                new = closure(False).detach()
                new_loss = float(new @ new)
                actual = loss - new_loss
                if math.isfinite(new_loss) and actual > 0 and predicted > 0:
                    q = actual / predicted
                    state["mu"] = mu * max(1.0 / 3.0, 1.0 - (2.0 * q - 1.0) ** 3)
                    state["nu"] = 2.0
                    break
                self._add(delta, alpha=-1.0)
                self._more_damping(state, mu)
            else:
                state["converged"] = True
            state["n_iter"] += 1
            if state.get("converged"):
                break
        return first if first is not None else torch.tensor(float("nan"))


def lbfgs(params: Iterable[torch.Tensor], chunk: int, lr: float = 1.0) -> torch.optim.LBFGS:
    """Torch's L-BFGS (strong Wolfe, 50 pairs), ``chunk`` iterations per call."""
    return torch.optim.LBFGS(params, lr=lr, max_iter=chunk, max_eval=25 * chunk, history_size=50,
                             tolerance_change=1e-12, line_search_fn="strong_wolfe")


def bfgs(params: Iterable[torch.Tensor], chunk: int, lr: float = 1.0) -> DenseQuasiNewton:
    """Dense BFGS with a strong-Wolfe line search."""
    return DenseQuasiNewton(params, "bfgs", lr=lr, max_iter=chunk)


def ssbfgs(params: Iterable[torch.Tensor], chunk: int, lr: float = 1.0) -> DenseQuasiNewton:
    """Self-scaled BFGS (tau = min(1, 1/b))."""
    return DenseQuasiNewton(params, "ssbfgs", lr=lr, max_iter=chunk)


def ssbroyden(params: Iterable[torch.Tensor], chunk: int, lr: float = 1.0) -> DenseQuasiNewton:
    """Self-scaled Broyden (Al-Baali, Spedicato, Maggioni 2014)."""
    return DenseQuasiNewton(params, "ssbroyden", lr=lr, max_iter=chunk)


def levenberg_marquardt(params: Iterable[torch.Tensor], chunk: int, lr: float = 1.0) -> LevenbergMarquardt:
    """Levenberg-Marquardt on the stacked residual vector (``chunk`` Jacobians per call)."""
    return LevenbergMarquardt(params, max_iter=chunk)


__all__ = [
    "DENSE_LIMIT",
    "JACOBIAN_LIMIT",
    "METHODS",
    "DenseQuasiNewton",
    "LevenbergMarquardt",
    "chunk",
    "curvature",
    "damped_factor",
    "damped_solve",
    "damped_step",
    "flat",
    "runnable",
]
