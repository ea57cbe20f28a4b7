"""Forward-mode lowering: the partials of a point set propagated through pdec's MLP (Taylor mode), as torch source.

Instead of nested backward passes, the generated code carries the value and every partial a point set needs through
the layers in one forward pass. A linear layer maps each partial by its weight matrix (the bias goes to the value
only). An activation ``f`` combines them by Faa di Bruno's formula: the partial ``a`` of ``f(z)`` is the sum, over
the set partitions of ``a``'s differentiations, of ``f^(k)(z)`` (``k`` blocks) times the product of the blocks'
partials of ``z``. The first layer's partials are constant rows (``scale[i] * weight[:, i]``) and vanish from the
second order on, so only the one-block-per-differentiation term survives there. One ordinary backward pass of the
loss then gives the parameter gradients.

This module writes the source only: ``HELPERS`` (the activations' derivatives in closed form and ``mlp_layers``, which
recognises pdec's MLP) and one ``jet_<point set>`` function per point set (``jet_function``). The generated module
stays standalone (torch only); any network that is not pdec's MLP takes the autograd path.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from functools import cache

from pdec.derivatives import Index, SetPlan, order_key, partial_name
from pdec.lower import identifier


def head_indices(set_plan: SetPlan) -> tuple[Index, ...]:
    """The multi-indices read from the network's output: the value (0), then every needed partial's, by order."""
    zero = set_plan.roots[0].index
    found = {p.index for p in set_plan.needed} | {zero}
    return tuple(sorted(found, key=order_key))


def _set_partitions(items: tuple[int, ...]) -> Iterator[list[list[int]]]:
    """Every partition of ``items`` (positions) into nonempty blocks."""
    if not items:
        yield []
        return
    first, rest = items[0], items[1:]
    for partition in _set_partitions(rest):
        yield [[first], *partition]
        for i in range(len(partition)):
            yield partition[:i] + [[first, *partition[i]]] + partition[i + 1 :]


@cache
def faa_di_bruno(index: Index) -> tuple[tuple[int, tuple[Index, ...]], ...]:
    """The terms of partial ``index`` of ``f(z)``: ``(count, blocks)`` for ``count * f^(len(blocks))(z) * prod z_b``.

    Each set partition of the differentiations gives one term; partitions with the same multiset of blocks are counted
    together. ``faa_di_bruno((2,))`` is ``((1, ((2,),)), (1, ((1,), (1,))))``: ``f' z_xx + f'' z_x**2``.
    """
    directions = tuple(i for i, n in enumerate(index) for _ in range(n))
    counts: Counter = Counter()
    for partition in _set_partitions(tuple(range(len(directions)))):
        blocks = []
        for block in partition:
            b = [0] * len(index)
            for position in block:
                b[directions[position]] += 1
            blocks.append(tuple(b))
        counts[tuple(sorted(blocks, key=order_key))] += 1
    return tuple((n, blocks) for blocks, n in sorted(counts.items(), key=lambda kv: (len(kv[0]), kv[0])))


class _Names:
    """The Python names of a jet function: ``h__x`` (activation output), ``z__x`` (pre-activation), ``s[k]``."""

    def __init__(self, variables: tuple[str, ...]) -> None:
        self.variables = variables

    def __call__(self, stem: str, index: Index) -> str:
        return identifier(partial_name(stem, index, self.variables))


def _activation_lines(indices: Iterable[Index], names: _Names, first: bool, indent: str) -> list[str]:
    """Lines ``h__a = sum count * s[k] * prod z__b`` for every index, one ``torch.addcmul`` per term.

    Products of several partials are computed once (``_p0 = z__x * z__x``). In the first layer the pre-activation is
    linear in the inputs: its partials are ``w__b`` (order 1 only), so one term per index remains.
    """
    stem, prefix = ("w", "_q") if first else ("z", "_p")
    lines: list[str] = []
    products: dict[tuple[Index, ...], str] = {}

    def product(blocks: tuple[Index, ...]) -> str:
        if len(blocks) == 1:
            return names(stem, blocks[0])
        if blocks not in products:
            factor = product(blocks[:-1])
            products[blocks] = f"{prefix}{len(products)}"
            lines.append(f"{indent}{products[blocks]} = {factor} * {names(stem, blocks[-1])}")
        return products[blocks]

    for a in indices:
        target = names("h", a)
        terms = [(n, b) for n, b in faa_di_bruno(a) if not (first and any(sum(i) > 1 for i in b))]
        for i, (count, blocks) in enumerate(terms):
            factor, scale = product(blocks), f", value={count}" if count != 1 else ""
            if i == 0:
                lines.append(f"{indent}{target} = s[{len(blocks)}] * {factor}" + (f" * {count}" if scale else ""))
            else:
                lines.append(f"{indent}{target} = torch.addcmul({target}, s[{len(blocks)}], {factor}{scale})")
    return lines


def jet_function(fname: str, set_plan: SetPlan, variables: tuple[str, ...]) -> str:
    """Source of ``fname(mlp, X)``: the network's outputs and their partials (``head_indices``) at ``X``."""
    names = _Names(variables)
    indices, heads = set_plan.carried, head_indices(set_plan)
    order = max(sum(a) for a in indices)
    outputs = ", ".join(names("_out", a) for a in heads)
    lines = [
        f"def {fname}(mlp, X):",
        f'    """pdec\'s MLP and its partials at X [N, {len(variables)}], propagated forward through the layers."""',
        "    (lo, scale), hidden, head, output = mlp",
        "    weight, bias, activation = hidden[0]",
        f"    s = derivatives(activation, torch.addmm(bias, (X - lo) * scale - 1.0, weight.mT), {order})",
    ]
    for a in indices:
        if sum(a) == 1:
            column = a.index(1)
            lines.append(f"    {names('w', a)} = scale[{column}] * weight[:, {column}]  # d(first layer)/d input")
    lines.append("    h = s[0]")
    lines += _activation_lines(indices, names, True, "    ")
    lines += [
        "    for weight, bias, activation in hidden[1:]:",
        f"        s = derivatives(activation, torch.addmm(bias, h, weight.mT), {order})",
        *(f"        {names('z', a)} = {names('h', a)} @ weight.mT" for a in indices),
        "        h = s[0]",
    ]
    lines += _activation_lines(indices, names, False, "        ")
    lines += [
        "    weight, bias = head",
        f"    {names('_out', heads[0])} = torch.addmm(bias, h, weight.mT)",
        *(f"    {names('_out', a)} = {names('h', a)} @ weight.mT" for a in heads[1:]),
        "    if output is not None:  # the output map y * gain + shift",
        "        gain, shift = output",
        f"        {names('_out', heads[0])} = {names('_out', heads[0])} * gain + shift",
        *(f"        {names('_out', a)} = {names('_out', a)} * gain" for a in heads[1:]),
        f"    return {outputs}",
    ]
    return "\n" + "\n".join(lines)


HELPERS = '''
def mlp_layers(net):
    """pdec's MLP as ((lo, scale), hidden [(weight, bias, activation)], head (weight, bias), (gain, shift) or None).

    None for any other network (a callable, a wrapper, an unknown activation): those take the autograd path.
    """
    describe = getattr(net, "forward_mode_layers", None)
    mlp = describe() if callable(describe) else None
    if mlp is None or not mlp[1] or any(activation not in DERIVATIVES for _, _, activation in mlp[1]):
        return None
    return mlp


def derivatives(activation, z, n):
    """[f(z), f'(z), ..., f^(n)(z)] for the activation named, in closed form."""
    return DERIVATIVES[activation](z, n)


def squared(d, k, c):
    """c times the k-th derivative of f**2, from the derivatives d of f (Leibniz's rule, each pair of factors once)."""
    total, binomial = None, 1
    for j in range(k // 2 + 1):
        coefficient = c * binomial * (1 if 2 * j == k else 2)
        if total is None:
            total = d[j] * d[k - j] * coefficient
        else:
            total = torch.addcmul(total, d[j], d[k - j], value=coefficient)
        binomial = binomial * (k - j) // (j + 1)
    return total


def tanh_derivatives(z, n):
    """tanh: t' = 1 - t**2, so t^(k+1) = -(t**2)^(k) for k >= 1."""
    d = [torch.tanh(z)]
    if n >= 1:
        d.append(1 - d[0] * d[0])
    for k in range(1, n):
        d.append(squared(d, k, -1))
    return d


def sin_derivatives(z, n):
    """sin: the derivatives cycle through sin, cos, -sin, -cos."""
    s, c = torch.sin(z), torch.cos(z)
    cycle = (s, c, -s, -c) if n >= 2 else (s, c)
    return [cycle[k % 4] for k in range(n + 1)]


def sigmoid_derivatives(z, n):
    """The logistic sigmoid g and its derivatives: g' = g - g**2, so g^(k+1) = g^(k) - (g**2)^(k)."""
    d = [torch.sigmoid(z)]
    for k in range(n):
        d.append(d[k] - squared(d, k, 1))
    return d


def silu_derivatives(z, n):
    """silu(z) = z * g(z): silu^(k) = z * g^(k) + k * g^(k - 1)."""
    g = sigmoid_derivatives(z, n)
    return [torch.nn.functional.silu(z)] + [z * g[k] + k * g[k - 1] for k in range(1, n + 1)]


def softplus_derivatives(z, n):
    """softplus' = g (the sigmoid); like torch, the identity above the threshold 20 (derivative 1, then 0)."""
    g = sigmoid_derivatives(z, max(n - 1, 0))
    inside = (z <= 20).to(z.dtype)
    d = [torch.nn.functional.softplus(z)]
    if n >= 1:
        d.append(g[0] * inside + (1 - inside))
    return d + [g[k - 1] * inside for k in range(2, n + 1)]


def gelu_derivatives(z, n):
    """gelu(z) = z * Phi(z): gelu' = Phi + z * phi, gelu^(k) = phi^(k - 2) - phi^(k) (phi' = -z * phi)."""
    p = [torch.exp(-0.5 * z * z) * 0.3989422804014327]  # phi, the normal density
    for k in range(n):
        p.append(-(z * p[k] + k * p[k - 1]) if k else -z * p[0])
    d = [torch.nn.functional.gelu(z)]
    if n >= 1:
        d.append(0.5 * (1 + torch.erf(z * 0.7071067811865476)) + z * p[0])
    return d + [p[k - 2] - p[k] for k in range(2, n + 1)]


def relu_derivatives(z, n):
    """relu: the step function, then zeros (as autograd gives)."""
    d = [torch.relu(z)]
    if n >= 1:
        d.append((z > 0).to(z.dtype))
    return d + [torch.zeros_like(z)] * (n - 1)


DERIVATIVES = {
    "tanh": tanh_derivatives,
    "sin": sin_derivatives,
    "gelu": gelu_derivatives,
    "silu": silu_derivatives,
    "softplus": softplus_derivatives,
    "relu": relu_derivatives,
}
'''
