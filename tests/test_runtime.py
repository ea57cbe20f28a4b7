"""The forward mode's run time (pdec/compiler/runtime.py), tested as the real functions the generated modules copy."""

from __future__ import annotations

import ast
import builtins

import torch
from test_activations import ORDER, autograd_derivatives, points

from pdec.compiler import runtime
from pdec.compiler.driver import compile as compile_spec
from pdec.nn.networks import make_net


def test_the_fourier_features_derivatives_match_autograd():
    p = torch.linspace(-3.0, 3.0, 13, dtype=torch.float64).reshape(-1, 1)
    found = runtime.fourier_derivatives(p, ORDER)
    cos = autograd_derivatives(torch.cos, p, ORDER)
    sin = autograd_derivatives(torch.sin, p, ORDER)
    for k in range(ORDER + 1):
        torch.testing.assert_close(found[k], torch.cat([cos[k], sin[k]], 1), rtol=1e-12, atol=1e-12)


def test_linear_maps_of_jets():
    torch.manual_seed(0)
    jet = (torch.randn(4, 3, dtype=torch.float64), torch.randn(4, 3, dtype=torch.float64), None)
    weight, bias = torch.randn(2, 3, dtype=torch.float64), torch.randn(2, dtype=torch.float64)
    value, partial, missing = runtime.dense(jet, weight, bias)
    torch.testing.assert_close(value, jet[0] @ weight.T + bias)
    torch.testing.assert_close(partial, jet[1] @ weight.T)  # the bias goes to the value only
    assert missing is None
    assert value.stride() == (1, 4) and partial.stride() == (1, 4)  # point-major: a CPU BLAS's faster product
    gain, shift = torch.tensor([2.0], dtype=torch.float64), torch.tensor([-1.0], dtype=torch.float64)
    scaled = runtime.scaled(jet[:2], gain, shift)
    torch.testing.assert_close(scaled[0], jet[0] * 2 - 1)
    torch.testing.assert_close(scaled[1], jet[1] * 2)
    doubled = runtime.doubled(jet)
    assert doubled[0] is jet[0] and doubled[1].shape == (4, 6) and doubled[2] is None
    other = (torch.ones(4, 3, dtype=torch.float64), torch.full((4, 3), 2.0, dtype=torch.float64))
    for a, b, c in zip(runtime.difference(jet[:2], other), jet[:2], other, strict=True):
        torch.testing.assert_close(a, b - c)


def test_the_box_inputs_are_affine_with_constant_partials():
    X = torch.tensor([[0.5, 2.0], [1.0, 3.0]], dtype=torch.float64)
    lo, scale = torch.tensor([0.0, 2.0], dtype=torch.float64), torch.tensor([2.0, 0.5], dtype=torch.float64)
    (value, dx, dy, dxx), affine = runtime.inputs(("box", lo, scale, 1.0), X, ((1, 0), (0, 1), (2, 0)))
    assert affine and dxx is None
    torch.testing.assert_close(value, (X - lo) * scale - 1.0)
    torch.testing.assert_close(dx, torch.tensor([[2.0, 0.0]], dtype=torch.float64))
    torch.testing.assert_close(dy, torch.tensor([[0.0, 0.5]], dtype=torch.float64))


def test_input_partials_match_autograd_and_are_detached():
    X = torch.tensor([[0.3, -0.2], [0.1, 0.7]], dtype=torch.float64)

    def function(Y):
        return [[torch.sin(Y[:, :1]) * Y[:, 1:] ** 2], [Y[:, :1] * Y[:, 1:], Y[:, 1:] ** 3]]

    (g, g_x, _, g_yy), (d, d_x, _, d_yy) = runtime.input_partials(function, X, ((1, 0), (0, 1), (0, 2)))
    x, y = X[:, :1], X[:, 1:]
    torch.testing.assert_close(g_x, torch.cos(x) * y**2)
    torch.testing.assert_close(g_yy, 2 * torch.sin(x))
    torch.testing.assert_close(d_x, torch.cat([y, 0 * y], 1))
    torch.testing.assert_close(d_yy, torch.cat([0 * y, 6 * y], 1))
    assert not any(t.requires_grad for t in (g, g_x, g_yy, d, d_x, d_yy))


def test_mlp_layers_reads_pdecs_networks_only():
    compiled = compile_spec("var x in [0, 1]\nfield u(x)\neq poisson: u_xx = 0\n", dtype="float64")
    assert runtime.mlp_layers(make_net(compiled, compiled.settings, torch.device("cpu"), torch.float64)) is not None
    plain = torch.nn.Sequential(torch.nn.Linear(1, 4), torch.nn.Tanh(), torch.nn.Linear(4, 1))
    assert runtime.mlp_layers(plain) is None
    assert runtime.mlp_layers(lambda X: X) is None


def test_the_copied_source_is_self_contained():
    """Every name the copied functions read is torch, a builtin, grad, DERIVATIVES or another copied function."""
    source = runtime.runtime_source()
    tree = ast.parse(source)
    defined = {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}
    defined |= {t.id for n in tree.body if isinstance(n, ast.Assign) for t in n.targets}
    assert defined == {f.__name__ for f in runtime.RUNTIME} | {"DERIVATIVES"}
    local = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
    local |= {a.arg for n in ast.walk(tree) if isinstance(n, ast.arguments) for a in n.args}
    read = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
    assert read - local - defined - set(vars(builtins)) == {"torch", "grad"}
    namespace = {"torch": torch, "grad": runtime.grad}
    exec(compile(source, "<runtime>", "exec"), namespace)  # noqa: S102 - pdec's own source
    z = points()
    for name in runtime.DERIVATIVES:
        for a, b in zip(namespace["derivatives"](name, z, 3), runtime.derivatives(name, z, 3), strict=True):
            assert torch.equal(a, b)


def test_the_generated_module_carries_the_runtime_and_imports_no_pdec():
    compiled = compile_spec("var x in [0, 1]\nfield u(x)\neq poisson: u_xx = 0\n", dtype="float64")
    assert runtime.runtime_source() in compiled.source
    assert "pdec" not in {n.split(".")[0] for n in _imported(compiled.source)}


def _imported(source: str) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            names.add(node.module or "")
    return names
