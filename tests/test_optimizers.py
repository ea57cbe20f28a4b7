"""The second phase's optimisers (pdec.train.optimizers) and the trainer's use of them: known minimisers, the
Gauss-Newton step against a dense solve, the float64 switch, resume, and the default against L-BFGS."""

import json

import pytest
import torch

import pdec
from pdec.compiler.driver import jacobian_lowering
from pdec.core.registry import OPTIMIZERS
from pdec.core.settings import OPTIMIZERS as SETTING_CHOICES
from pdec.nn.networks import make_net
from pdec.run.results import load_result
from pdec.train.optimizers import (
    GRAM_SPLIT,
    METHODS,
    DenseQuasiNewton,
    LevenbergMarquardt,
    curvature,
    damped_step,
    gram_matrix,
    runnable,
)
from pdec.train.trainer import Trainer


def rosenbrock_residuals(p: torch.Tensor) -> torch.Tensor:
    """Rosenbrock as least squares: r = (10 (y - x^2), 1 - x); minimiser (1, 1), minimum 0."""
    return torch.stack([10 * (p[1] - p[0] ** 2), 1 - p[0]])


def linear_problem(seed: int = 0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """An overdetermined, ill-conditioned linear least-squares problem and its exact minimiser."""
    g = torch.Generator().manual_seed(seed)
    A = torch.randn(40, 6, generator=g, dtype=torch.float64) @ torch.diag(
        torch.tensor([1.0, 3.0, 10.0, 30.0, 100.0, 300.0], dtype=torch.float64))
    b = torch.randn(40, generator=g, dtype=torch.float64)
    return A, b, torch.linalg.lstsq(A, b[:, None]).solution[:, 0]


@pytest.mark.parametrize("method", ["bfgs", "ssbfgs", "ssbroyden"])
def test_quasi_newton_reaches_rosenbrock_minimiser(method):
    p = torch.nn.Parameter(torch.tensor([-1.2, 1.0], dtype=torch.float64))
    opt = DenseQuasiNewton([p], method, max_iter=200)

    def closure():
        opt.zero_grad()
        loss = rosenbrock_residuals(p).pow(2).sum()
        loss.backward()
        return loss

    for _ in range(3):
        opt.step(closure)
    assert torch.allclose(p.detach(), torch.ones(2, dtype=torch.float64), atol=1e-9)


@pytest.mark.parametrize("method", ["bfgs", "ssbfgs", "ssbroyden"])
def test_quasi_newton_solves_linear_least_squares_to_round_off(method):
    A, b, exact = linear_problem()
    p = torch.nn.Parameter(torch.zeros(6, dtype=torch.float64))
    opt = DenseQuasiNewton([p], method, max_iter=100)

    def closure():
        opt.zero_grad()
        loss = (A @ p - b).pow(2).sum()
        loss.backward()
        return loss

    opt.step(closure)
    assert torch.allclose(p.detach(), exact, rtol=0, atol=1e-7 * exact.abs().max())  # the loss is at round-off


def test_chunks_continue_without_evaluating_again_unless_the_objective_changed():
    from pdec.train.optimizers import chunk

    p = torch.nn.Parameter(torch.tensor([-1.2, 1.0], dtype=torch.float64))
    opt = DenseQuasiNewton([p], "ssbroyden")
    calls = []

    def closure():
        calls.append(p.detach().clone())
        opt.zero_grad()
        loss = rosenbrock_residuals(p).pow(2).sum()
        loss.backward()
        return loss

    chunk(opt, 5, closure)
    first, end = len(calls), p.detach().clone()
    loss, done, _ = chunk(opt, 5, closure, same=True)
    assert done == 5 and loss == float(rosenbrock_residuals(end).pow(2).sum())  # the row's loss: where it ended
    assert len(calls) > first and not any(torch.equal(c, end) for c in calls[first:])  # not evaluated there again
    before, end = len(calls), p.detach().clone()
    chunk(opt, 5, closure, same=False)  # new points or weights: the loss where the run stands is evaluated first
    assert torch.equal(calls[before], end)


@pytest.mark.parametrize("method", ["bfgs", "ssbfgs", "ssbroyden"])
def test_one_pass_update_is_the_textbook_update(method):
    # H_new = c H + U W^T, applied with addmm_, against the update written out as matrices: every method satisfies the
    # secant equation H_new y = s; plain BFGS equals (I - rho s y^T) H (I - rho y s^T) + rho s s^T (Nocedal and
    # Wright, 6.17); and the H_new @ new_g it returns for the next direction is the product itself.
    g = torch.Generator().manual_seed(3)
    P = 7
    A = torch.randn(P, P, generator=g, dtype=torch.float64)
    H = A @ A.T + P * torch.eye(P, dtype=torch.float64)
    grad = torch.randn(P, generator=g, dtype=torch.float64)
    t = 0.7
    s = -t * (H @ grad)
    B = torch.randn(P, P, generator=g, dtype=torch.float64)
    y = (B @ B.T + torch.eye(P, dtype=torch.float64)) @ s  # the gradient change of a convex quadratic: y^T s > 0
    new_g = grad + y
    optimizer = DenseQuasiNewton([torch.nn.Parameter(torch.zeros(P, dtype=torch.float64))], method)
    updated, Hg = optimizer._update(H.clone(), s, grad, new_g, t, method)
    assert torch.allclose(updated @ y, s, atol=1e-12)
    assert torch.allclose(Hg, updated @ new_g, atol=1e-12)
    assert torch.allclose(updated, updated.T, atol=1e-12)
    if method == "bfgs":
        rho = 1.0 / float(y @ s)
        left = torch.eye(P, dtype=torch.float64) - rho * torch.outer(s, y)
        assert torch.allclose(updated, left @ H @ left.T + rho * torch.outer(s, s), atol=1e-12)


@pytest.mark.parametrize("rows", [40, 4])  # more rows than parameters (normal equations), fewer (kernel form)
def test_levenberg_marquardt_solves_least_squares(rows):
    A, b, _ = linear_problem(1)
    A, b = A[:rows], b[:rows]
    p = torch.nn.Parameter(torch.zeros(6, dtype=torch.float64))
    opt = LevenbergMarquardt([p], max_iter=30)
    opt.step(lambda jac: (A @ p - b, A) if jac else A @ p - b)
    if rows >= 6:
        exact = torch.linalg.lstsq(A, b[:, None]).solution[:, 0]
        assert torch.allclose(p.detach(), exact, atol=1e-9)
    else:  # underdetermined: a zero-residual solution
        assert (A @ p.detach() - b).abs().max() < 1e-9


def test_curvature_is_exact_for_quadratic_residuals():
    """r_i(p) = a_i . p + p^T Q_i p / 2: the second directional derivative along v is v^T Q_i v, whatever h."""
    g = torch.Generator().manual_seed(3)
    A, Q = torch.randn(5, 4, generator=g, dtype=torch.float64), torch.randn(5, 4, 4, generator=g, dtype=torch.float64)

    def residuals(p):
        return A @ p + 0.5 * torch.einsum("j,ijk,k->i", p, Q, p)

    p, v = torch.randn(4, generator=g, dtype=torch.float64), torch.randn(4, generator=g, dtype=torch.float64)
    J = torch.autograd.functional.jacobian(residuals, p)
    exact = torch.einsum("j,ijk,k->i", v, Q, v)
    for h in (0.1, 0.5):
        assert torch.allclose(curvature(residuals(p + h * v), residuals(p), J @ v, h), exact, atol=1e-12)


def rosenbrock_iterations(steep: float, accelerate: float) -> int:
    """Levenberg-Marquardt's Jacobians from (-1.2, 1) to within 1e-10 of (1, 1) on r = (steep (y - x^2), 1 - x)."""
    p = torch.nn.Parameter(torch.tensor([-1.2, 1.0], dtype=torch.float64))
    opt = LevenbergMarquardt([p], max_iter=1, accelerate=accelerate)

    def residuals(q):
        return torch.stack([steep * (q[1] - q[0] ** 2), 1 - q[0]])

    def closure(jac):
        r = residuals(p)
        return (r, torch.autograd.functional.jacobian(residuals, p.detach())) if jac else r

    for n in range(1, 1001):
        opt.step(closure)
        if float((p.detach() - 1).abs().max()) < 1e-10:
            return n
    return 10**9


def test_geodesic_acceleration_follows_a_narrow_valley():
    """Transtrum and Sethna's case for it: in Rosenbrock's valley made 10x narrower the plain method creeps (57
    Jacobians here), the accelerated one follows the valley's curve (21)."""
    plain, accelerated = rosenbrock_iterations(100.0, 0.0), rosenbrock_iterations(100.0, 0.75)
    assert plain < 10**9 and accelerated < plain / 2


def test_levenberg_marquardt_reaches_rosenbrock_minimiser():
    p = torch.nn.Parameter(torch.tensor([-1.2, 1.0], dtype=torch.float64))
    opt = LevenbergMarquardt([p], max_iter=100)

    def closure(jac):
        r = rosenbrock_residuals(p)
        if not jac:
            return r
        return r, torch.autograd.functional.jacobian(rosenbrock_residuals, p.detach())

    opt.step(closure)
    assert torch.allclose(p.detach(), torch.ones(2, dtype=torch.float64), atol=1e-10)


def test_registry_and_settings_agree():
    assert OPTIMIZERS.names == METHODS == SETTING_CHOICES[1:] and SETTING_CHOICES[0] == "auto"


def test_auto_picks_by_size_and_lm_falls_back_with_a_reason():
    assert runnable("auto", 1341, lambda: (0, ""), 1, False) == ("ssbroyden", "")
    assert runnable("auto", 20_000, lambda: (0, ""), 1, False) == ("lbfgs", "")
    method, why = runnable("lm", 1341, lambda: (10**6, ""), 1, False)  # a 10^6 x 1341 Jacobian: 10 GiB
    assert method == "ssbroyden" and "GiB" in why
    assert runnable("lm", 1341, lambda: (100, ""), 2, False)[0] == "ssbroyden"  # several processes
    assert runnable("ssbroyden", 50_000, lambda: (0, ""), 1, False)[0] == "lbfgs"


POISSON = """
var x in [0, 1]
field u(x)
unknown k = 0.5 positive
eq poisson: -k * u_xx = pi^2 * sin(pi*x)
bc left:  u = 0 at x = 0
bc right: u = 0 at x = 1
data obs: "obs.csv" x = x, u = u
"""


def small_trainer(tmp_path, **overrides):
    (tmp_path / "obs.csv").write_text("x,u\n" + "".join(f"{i / 10},{0.0}\n" for i in range(1, 10)))
    spec = tmp_path / "p.pde"
    spec.write_text(POISSON)
    compiled = pdec.compile(spec)
    settings = compiled.settings.replace(layers=(5, 5), interior=7, boundary=1, adam=3, iterations=2, **overrides)
    return Trainer(compiled, settings, tmp_path / "run", quiet=True, plots=False)


def test_jacobian_of_the_stacked_residuals_matches_autograd_and_the_loss(tmp_path):
    trainer = small_trainer(tmp_path, dtype="float64")
    points = trainer.points(1, trainer.terms)
    trainer.state.balancer.weights.update({t: w for t, w in zip(trainer.terms, (0.5, 2.0, 3.0, 1.5), strict=False)})
    r, J = trainer.stacked(points, True)
    loss = trainer.weighted(trainer.losses(points, trainer.terms))
    assert float(r @ r) == pytest.approx(float(loss.detach()), rel=1e-12)  # |r|^2 is exactly the weighted loss
    flat = torch.cat([p.detach().reshape(-1) for p in trainer.params])
    sizes = [p.numel() for p in trainer.params]

    def as_function(vector):
        chunks = torch.split(vector, sizes)
        with torch.no_grad():
            for p, c in zip(trainer.params, chunks, strict=True):
                p.copy_(c.view_as(p))
        return trainer.stacked(points, False)

    # finite differences in float64 against the per-point Jacobian
    eps = 1e-6
    for j in range(0, len(flat), max(1, len(flat) // 12)):
        e = torch.zeros_like(flat)
        e[j] = eps
        numeric = (as_function(flat + e) - as_function(flat - e)) / (2 * eps)
        assert torch.allclose(J[:, j], numeric, atol=1e-7, rtol=1e-5), j
    as_function(flat)
    # the damped step in both forms (normal equations, kernel/Woodbury) against a dense solve
    for rows in (len(r), 10):
        Jr, rr = J[:rows], r[:rows]
        mu = 1e-3 * float((Jr * Jr).sum(1).mean())
        dense = -torch.linalg.solve(Jr.T @ Jr + mu * torch.eye(len(flat), dtype=J.dtype), Jr.T @ rr)
        assert torch.allclose(damped_step(Jr, rr, mu), dense, rtol=1e-8, atol=1e-10 * float(dense.abs().max()))


def test_gauss_newton_step_equals_a_dense_least_squares_solve():
    g = torch.Generator().manual_seed(3)
    J = torch.randn(50, 8, generator=g, dtype=torch.float64)
    r = torch.randn(50, generator=g, dtype=torch.float64)
    gauss_newton = torch.linalg.lstsq(J, -r[:, None]).solution[:, 0]
    assert torch.allclose(damped_step(J, r, 1e-13), gauss_newton, atol=1e-10)
    # fewer rows than parameters: mu -> 0 gives the minimum-norm Gauss-Newton step (the pseudo-inverse's)
    minimum_norm = -torch.linalg.pinv(J[:5]) @ r[:5]
    assert torch.allclose(damped_step(J[:5], r[:5], 1e-13), minimum_norm, atol=1e-9)


@pytest.mark.parametrize("shape", [(GRAM_SPLIT + 37, GRAM_SPLIT + 3), (GRAM_SPLIT + 3, GRAM_SPLIT + 37), (40, 7)])
def test_gram_matrix_is_the_dense_product_on_either_side(shape):
    """The lower block triangle, mirrored, equals J^T J (more rows) or J J^T (fewer), to round-off, exactly symmetric;
    sides that do not split evenly into the blocks included."""
    J = torch.randn(*shape, generator=torch.Generator().manual_seed(5), dtype=torch.float64)
    dense = J.T @ J if shape[0] >= shape[1] else J @ J.T
    G = gram_matrix(J)
    assert G.shape == dense.shape and torch.equal(G, G.T)
    assert torch.allclose(G, dense, rtol=0, atol=1e-12 * float(dense.abs().max()))


@pytest.mark.parametrize("method", ["ssbroyden", "lm"])
def test_second_phase_in_float64_resumes_exactly(tmp_path, method):
    spec = tmp_path / "p.pde"
    spec.write_text(POISSON.replace('data obs: "obs.csv" x = x, u = u\n', "").replace("unknown k = 0.5 positive\n", "")
                    .replace("-k * u_xx", "-u_xx"))
    compiled = pdec.compile(spec)
    common = dict(layers=[6, 6], interior=24, boundary=2, adam=20, optimizer=method, eval_every=5, quiet=True,
                  plots=False)
    whole = pdec.fit(compiled, out=tmp_path / "whole", iterations=20, **common)
    assert whole.history.rows[-1]["dtype"] == "float64"
    assert next(whole.net.parameters()).dtype == torch.float64
    def interrupt(trainer, row):
        if row["step"] >= 30:
            raise KeyboardInterrupt

    first = pdec.fit(compiled, out=tmp_path / "split", iterations=20, callback=interrupt, **common)
    assert first.interrupted
    resumed = pdec.fit(compiled, resume=tmp_path / "split", iterations=20, **{k: v for k, v in common.items()
                                                                              if k not in ("quiet", "plots")},
                       quiet=True, plots=False)
    a = [p.detach() for p in whole.net.parameters()]
    b = [p.detach() for p in resumed.net.parameters()]
    assert all(torch.equal(x, y) for x, y in zip(a, b, strict=True))
    rows = [r for r in resumed.history.rows if r["phase"] == "adam"]
    assert rows and all(r["dtype"] == "float32" for r in rows)


def test_dtype_forces_one_precision(tmp_path):
    spec = tmp_path / "p.pde"
    spec.write_text("var x in [0, 1]\nfield u(x)\neq line: u_xx = 0\nbc a: u = 0 at x = 0\nbc b: u = 1 at x = 1\n")
    result = pdec.fit(pdec.compile(spec), out=tmp_path / "r", layers=[4], interior=8, adam=3, iterations=3,
                      dtype="float32", quiet=True, plots=False)
    assert {r["dtype"] for r in result.history.rows} == {"float32"}
    settings = json.loads((tmp_path / "r" / "settings.json").read_text())
    assert settings["dtype"] == "float32" and settings["optimizer"] == "auto"
    assert {r["phase"] for r in result.history.rows} == {"adam", "ssbroyden"}


def test_lbfgs_shorthand_sets_both(tmp_path):
    settings = pdec.compile("examples/poisson1d.pde").settings
    assert (settings.optimizer, settings.iterations) == ("lbfgs", 200) or settings.optimizer != "lbfgs"
    s = settings.replace(lbfgs=7)
    assert (s.optimizer, s.iterations) == ("lbfgs", 7)


POISSON_2D = """
var x in [0, 1]
var y in [0, 1]
field u(x, y)
eq poisson: u_xx + u_yy = -2 * pi^2 * sin(pi*x) * sin(pi*y)
bc walls: u = 0 on boundary
exact: u = sin(pi*x) * sin(pi*y)
"""


def test_the_default_second_phase_beats_float32_lbfgs(tmp_path):
    """Same network, points and Adam phase: self-scaled Broyden in float64 against the old float32 L-BFGS.

    Measured (seeds 0-2): 1.0e-3, 1.2e-3, 9.7e-4 (L-BFGS, float32) against 3.0e-5, 2.5e-5, 2.5e-5 (the default).
    """
    spec = tmp_path / "p.pde"
    spec.write_text(POISSON_2D)
    compiled = pdec.compile(spec)
    common = dict(layers=[16, 16, 16], interior=300, boundary=80, adam=300, iterations=300, quiet=True, plots=False)
    before = pdec.fit(compiled, out=tmp_path / "before", optimizer="lbfgs", dtype="float32", **common)
    now = pdec.fit(compiled, out=tmp_path / "now", **common)
    assert now.metrics["errors"]["u"] < 1e-4
    assert now.metrics["errors"]["u"] < before.metrics["errors"]["u"] / 10


def test_a_loaded_run_predicts_in_the_precision_it_finished_in(tmp_path):
    spec = tmp_path / "p.pde"
    spec.write_text(POISSON_2D)
    result = pdec.fit(pdec.compile(spec), out=tmp_path / "r", layers=[8], interior=50, boundary=20, adam=20,
                      iterations=10, quiet=True, plots=False)
    loaded = load_result(tmp_path / "r")
    assert next(loaded.net.parameters()).dtype == torch.float64
    points = [[0.3, 0.4], [0.71, 0.2]]
    assert (loaded.predict(points) == result.predict(points)).all()  # bit for bit, not through float32


def test_lm_runs_where_adam_takes_one_backward_pass(tmp_path, capsys):
    """A first partial at a point (the beam's u_x = 0 at x = 0) is one backward pass in the generated code, which
    torch.func cannot transform; Levenberg-Marquardt's Jacobian is built on the problem lowered with the forward mode
    in every point set, and it reaches the exact solution, ``-x^4/24 + x^3/6 - x^2/4``."""  # noqa: D205, D209
    compiled = pdec.compile("benchmarks/specs/optimizers/beam.pde")
    assert not compiled.plan.forward("bc:slope@x=0")  # Adam and the quasi-Newton methods keep the cheaper pass
    result = pdec.fit(compiled, out=tmp_path / "r", adam=500, iterations=80, optimizer="lm", quiet=False, plots=False)
    assert "optimizer lm" not in capsys.readouterr().err  # no fallback
    assert {r["phase"] for r in result.history.rows} == {"adam", "lm"}
    assert result.metrics["errors"]["u"] < 1e-4  # 4.4e-6 when written


def test_the_jacobian_lowering_computes_the_same_residuals():
    """Every point set in the forward mode: the same residuals as the one-pass sets' backward pass, to round-off,
    with no backward pass left (the beam's slope, and first partials on the edges of a square)."""
    neumann = """
var x in [0, 1]
var y in [0, 1]
field u(x, y)
eq poisson: -lap(u) = 2*pi^2*cos(pi*x)*cos(pi*y)
bc sides: dn(u) = 0 on boundary
bc pin: u = 1 at x = 0, y = 0
"""
    for spec in ("benchmarks/specs/optimizers/beam.pde", neumann):
        compiled = pdec.compile(spec, dtype="float64")
        lowered = jacobian_lowering(compiled)
        one_pass = [s for s, p in compiled.plan.sets.items() if p.passes == 1 and not compiled.plan.forward(s)]
        assert one_pass and all(lowered.plan.forward(s) for s, p in lowered.plan.sets.items() if p.passes)
        net = make_net(compiled, compiled.settings, torch.device("cpu"), torch.float64)
        g = torch.Generator().manual_seed(0)
        points = {}
        for name, ps in compiled.point_sets.items():
            box = torch.rand(16, len(compiled.variables), generator=g, dtype=torch.float64)
            for i, v in enumerate(compiled.variables):  # the face's fixed coordinates (x = 0 ...) as the set has them
                if v in ps.region:
                    box[:, i] = float(ps.region[v])
            points[name] = box
        theta = compiled.unknowns.values()
        plain = compiled.evaluate(net, points, None, theta)
        forward = lowered.evaluate(net, points, None, theta)
        assert plain.keys() == forward.keys() == compiled.terms.keys()
        for t in plain:
            assert torch.allclose(plain[t], forward[t], rtol=1e-12, atol=1e-12), t
    assert jacobian_lowering(lowered) is lowered  # nothing left to change
    autograd = pdec.compile(neumann, lowering="autograd")
    assert jacobian_lowering(autograd) is autograd  # LM then falls back, saying why (below)


def test_partials_of_exact_conditions_inside_a_transform_equal_autograds():
    """The partials of a function of the points (an exact condition's g and d) by nested jacfwd, as LM's per-point
    Jacobian needs them inside torch.func, equal the backward passes' (and the hand-derived ones)."""  # noqa: D205, D209
    from pdec.compiler.runtime import input_partials, transformed_partials

    def function(X):
        x, y = X[:, :1], X[:, 1:2]
        return (x**2 * y, torch.sin(x)), (torch.exp(y) * x,)

    X = torch.rand(7, 2, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    indices = [(1, 0), (0, 1), (2, 0), (1, 1), (0, 2)]
    by_autograd = input_partials(function, X, indices)
    by_jacfwd = transformed_partials(function, X, indices)
    inside = torch.func.vmap(lambda x: input_partials(function, x[None], indices)[0][3][0])(X)  # the detection
    for a, b in zip(by_autograd, by_jacfwd, strict=True):
        for p, q in zip(a, b, strict=True):
            assert torch.allclose(p, q, rtol=1e-12, atol=1e-12)
    x, y = X[:, 0], X[:, 1]
    assert torch.allclose(by_jacfwd[0][3][:, 0], 2 * y) and torch.allclose(inside[:, 0], 2 * y)  # d2(x^2 y)/dx2
    assert torch.allclose(by_jacfwd[0][4], torch.stack([2 * x, 0 * x], 1))  # (1, 1): 2x for x^2 y, 0 for sin x


def test_lm_runs_with_exact_conditions(tmp_path, capsys):
    """Conditions marked exact build the network (u = g + d n); LM's Jacobian carries g's and d's partials too."""
    spec = """
var x in [0, 1]
var y in [0, 1]
field u(x, y)
eq poisson: -lap(u) = 2*pi^2*sin(pi*x)*sin(pi*y)
bc walls: u = 0 on boundary exact
exact: u = sin(pi*x)*sin(pi*y)
train:
  layers = [16, 16]
  interior = 300
  adam = 200
  iterations = 40
  optimizer = lm
"""
    result = pdec.fit(pdec.compile(spec), out=tmp_path / "r", quiet=False, plots=False)
    assert "optimizer lm" not in capsys.readouterr().err
    assert {r["phase"] for r in result.history.rows} == {"adam", "lm"}
    assert result.metrics["errors"]["u"] < 1e-3  # 1.9e-5 when written


def test_lm_falls_back_under_the_autograd_lowering(tmp_path, capsys):
    compiled = pdec.compile("benchmarks/specs/optimizers/beam.pde", lowering="autograd")
    result = pdec.fit(compiled, out=tmp_path / "r", adam=20, iterations=5, optimizer="lm", quiet=False, plots=False)
    assert "optimizer lm: its per-point Jacobian cannot be built" in capsys.readouterr().err
    assert {r["phase"] for r in result.history.rows} == {"adam", "ssbroyden"}
