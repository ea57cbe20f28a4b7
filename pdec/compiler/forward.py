"""Forward-mode lowering: the partials of a point set carried through pdec's networks (Taylor mode), as torch source.

Instead of nested backward passes, the generated code carries the value and every partial a point set needs (a
*jet*: the tuple ``(value, partial, ...)`` in the plan's carried order) through the network in one forward pass:

- the inputs: the box scaling is affine (its partials are constant rows of order one); pdec's input map embeds an
  exactly periodic variable as cos and sin, whose pure partials are closed-form, and random Fourier features
  ``[cos p, sin p]`` of a projection ``p`` are an activation like any other;
- a linear layer maps each partial by its weight matrix (the bias goes to the value only);
- an activation ``f`` combines them by Faa di Bruno's formula: the partial ``a`` of ``f(z)`` is the sum, over the
  set partitions of ``a``'s differentiations, of ``f^(k)(z)`` (``k`` blocks) times the product of the blocks'
  partials of ``z``; when ``z`` is affine in the inputs (a first layer on the box scaling) one term per partial
  remains;
- the modified MLP's gate ``V + h * (U - V)`` takes Leibniz's rule, the encoders' jets ``U``, ``V`` computed once;
- exact conditions ``u = g + d * n`` take Leibniz's rule too: ``g`` and ``d`` depend on the points only, so their
  partials come from autograd on those small functions, not on the network.

One ordinary backward pass of the loss then gives the parameter gradients.

This module writes, per set of carried partials, the source of the functions of ``jet_functions``; they call the
run time of pdec.compiler.runtime (the activations' derivatives in closed form, the input maps, and ``mlp_layers``,
which asks a network for its description), whose functions the generated module copies. The generated module stays
standalone (torch only); a network pdec did not build takes the autograd path.
"""

from __future__ import annotations

import itertools
import math
from collections import Counter
from collections.abc import Iterable, Iterator
from functools import cache

from pdec.compiler.derivatives import Index, SetPlan, order_key, partial_name
from pdec.compiler.lower import identifier


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


def leibniz(index: Index) -> tuple[tuple[int, Index], ...]:
    """The terms of partial ``index`` of a product ``f * g``: ``(binomial, b)`` for ``binomial * f_b * g_(index - b)``.

    Every ``b <= index`` (componentwise) once, the value's first: ``leibniz((2,))`` is
    ``((1, (0,)), (2, (1,)), (1, (2,)))``, that is ``f g'' + 2 f' g' + f'' g``.
    """
    terms = [
        (math.prod(math.comb(n, k) for n, k in zip(index, b, strict=True)), b)
        for b in itertools.product(*(range(n + 1) for n in index))
    ]
    return tuple(sorted(terms, key=lambda term: order_key(term[1])))


class _Names:
    """The Python names of a jet function: ``h__x`` (activation output), ``z__x`` (pre-activation), ``s[k]``."""

    def __init__(self, variables: tuple[str, ...]) -> None:
        self.variables = variables

    def __call__(self, stem: str, index: Index) -> str:
        return identifier(partial_name(stem, index, self.variables))

    def jet(self, stem: str, indices: Iterable[Index]) -> str:
        """``h, h__x, h__t``: a jet's names, the value's (index zero) first, joined for unpacking or returning."""
        return ", ".join(self(stem, a) for a in indices)

    def labels(self, indices: Iterable[Index]) -> str:
        """``x, t, x__x``: the partials' names without a stem (for docstrings)."""
        return ", ".join(partial_name("", a, self.variables).lstrip("_") for a in indices)


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


def _activate_function(fname: str, indices: tuple[Index, ...], names: _Names) -> str:
    """Source of ``activate_<fname>(s, z, affine)``: the jet of ``f(z)`` from the jet of ``z`` (Faa di Bruno)."""
    outputs = ", ".join(names("h", a) for a in indices)
    affine = ", ".join(names("w", a) if sum(a) == 1 else "_" for a in indices)
    lines = [
        f"def activate_{fname}(s, z, affine=False):",
        f'    """The jet of f(z) from the jet of z (value, partials {names.labels(indices)}), s = [f(z), f\'(z), ...].',
        "",
        "    Faa di Bruno's formula. affine: z is affine in the inputs (a first layer on the box scaling), its",
        "    partials are constant rows of order one (None above), so one term per partial remains.",
        '    """',
        "    if affine:",
        f"        _, {affine} = z",
        *_activation_lines(indices, names, True, "        "),
        f"        return s[0], {outputs}",
        f"    _, {', '.join(names('z', a) for a in indices)} = z",
        *_activation_lines(indices, names, False, "    "),
        f"    return s[0], {outputs}",
    ]
    return "\n".join(lines)


def _layer_function(fname: str, order: int) -> str:
    """Source of ``layer_<fname>``: a dense layer, then the activation, jet in and jet out."""
    return "\n".join(
        [
            f"def layer_{fname}(jet, weight, bias, activation, affine=False):",
            '    """The jet of activation(jet @ weight.T + bias): a dense layer, then the activation."""',
            "    z = dense(jet, weight, bias)",
            f"    return activate_{fname}(derivatives(activation, z[0], {order}), z, affine)",
        ]
    )


def _product_lines(target: str, start: str, left: str, right: str, a: Index, names: _Names) -> list[str]:
    """Lines ``target = start + (left * right)_a`` by Leibniz's rule, one ``torch.addcmul`` per term."""
    lines = []
    for i, (count, b) in enumerate(leibniz(a)):
        rest = tuple(n - k for n, k in zip(a, b, strict=True))
        scale = f", value={count}" if count != 1 else ""
        first = start if i == 0 else target
        lines.append(f"    {target} = torch.addcmul({first}, {names(left, b)}, {names(right, rest)}{scale})")
    return lines


def _gate_function(fname: str, indices: tuple[Index, ...], names: _Names) -> str:
    """Source of ``gate_<fname>``: the modified MLP's gate ``V + h * (U - V)``, its jet by Leibniz's rule."""
    full = ((0,) * len(indices[0]), *indices)
    lines = [
        f"def gate_{fname}(hs, vs, ws):",
        '    """The modified MLP\'s gate h * U + (1 - h) * V = V + h * W, W = U - V: its jet (Leibniz)."""',
        f"    {names.jet('h', full)} = hs",
        f"    {names.jet('v', full)} = vs",
        f"    {names.jet('w', full)} = ws",
    ]
    for a in full:
        lines += _product_lines(names("g", a), names("v", a), "h", "w", a, names)
    return "\n".join([*lines, f"    return {names.jet('g', full)}"])


def _constrain_function(fname: str, set_plan: SetPlan, names: _Names) -> str:
    """Source of ``constrain_<fname>``: exact conditions ``u = g + d * n``, the outputs read, by Leibniz's rule."""
    indices, heads = set_plan.carried, head_indices(set_plan)
    full = (heads[0], *indices)
    lines = [
        f"def constrain_{fname}(ns, transform, X):",
        '    """Exact conditions u = g + d * n (pdec.constraints): u\'s value and partials read, by Leibniz\'s rule.',
        "",
        "    g and d depend on the points only: their partials come from autograd on transform, not on the network.",
        '    """',
        f"    {names.jet('n', full)} = ns",
        f"    ({names.jet('g', full)}), ({names.jet('d', full)}) = input_partials(transform, X, {indices!r})",
    ]
    for a in heads:
        lines += _product_lines(names("u", a), names("g", a), "d", "n", a, names)
    return "\n".join([*lines, f"    return {names.jet('u', heads)}"])


def _jet_function(fname: str, set_plan: SetPlan, names: _Names) -> str:
    """Source of ``jet_<fname>(mlp, X)``: the network's outputs and their partials (``head_indices``) at ``X``."""
    indices, heads = set_plan.carried, head_indices(set_plan)
    outputs = ", ".join(names("_out", a) if a in heads else "_" for a in (heads[0], *indices))
    lines = [
        f"def jet_{fname}(mlp, X):",
        f'    """pdec\'s network and its partials ({names.labels(indices)}) at X [N, {len(indices[0])}].',
        "",
        f"    Returns the outputs [N, m] and their partials {names.labels(heads[1:])}; mlp: the network (mlp_layers).",
        '    """',
        f'    e, affine = inputs(mlp["inputs"], logged(X, mlp["logs"]), {indices!r})',
        '    if mlp["features"] is not None:  # random Fourier features [cos p, sin p] of p = e @ frequencies',
        '        p = dense(e, mlp["features"].mT)',
        f"        e = activate_{fname}(fourier_derivatives(p[0], {max(map(sum, indices))}), doubled(p), affine)",
        "        affine = False",
        f'    h = layer_{fname}(e, *mlp["hidden"][0], affine)',
        '    gated = mlp["encoders"] is not None',
        "    if gated:  # the modified MLP: h <- V + h * (U - V) after every hidden layer; U and V computed once",
        f'        u, v = (layer_{fname}(e, *encoder, affine) for encoder in mlp["encoders"])',
        "        w = difference(u, v)",
        f"        h = gate_{fname}(h, v, w)",
        '    for layer in mlp["hidden"][1:]:',
        f"        h = layer_{fname}(h, *layer)",
        "        if gated:",
        f"            h = gate_{fname}(h, v, w)",
        '    out = dense(h, *mlp["head"])',
        '    if mlp["output"] is not None:  # the output map y * gain + shift',
        '        out = scaled(out, *mlp["output"])',
        '    if mlp["constraint"] is not None:  # exact conditions: u = g + d * out',
        f'        return constrain_{fname}(out, mlp["constraint"], X)',
        f"    {outputs} = out",
        f"    return {names.jet('_out', heads)}",
    ]
    return "\n".join(lines)


def jet_functions(fname: str, set_plan: SetPlan, variables: tuple[str, ...]) -> str:
    """Source of a point set's forward mode: ``activate_``, ``layer_``, ``gate_``, ``constrain_`` and ``jet_<fname>``.

    ``jet_<fname>(mlp, X)`` returns the network's outputs and their partials (``head_indices``) at ``X``.
    """
    names = _Names(variables)
    order = max(sum(a) for a in set_plan.carried)
    chunks = [
        _activate_function(fname, set_plan.carried, names),
        _layer_function(fname, order),
        _gate_function(fname, set_plan.carried, names),
        _constrain_function(fname, set_plan, names),
        _jet_function(fname, set_plan, names),
    ]
    return "\n" + "\n\n\n".join(chunks)

