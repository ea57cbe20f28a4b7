"""The forward mode's run time: the functions a generated module calls to carry jets through pdec's networks.

These are real functions, imported and tested like any other, and copied by source into every generated module that
uses the forward mode (:func:`runtime_source`, as pdec.compiler.interpolation copies its interpolant), so the
generated module stays standalone: torch only. They may use only torch, ``grad`` (defined here and in every generated
module's header), ``DERIVATIVES`` and each other.

- :func:`mlp_layers` asks a network for its description (``forward_mode_layers``), or None: the autograd path;
- :func:`logged`: `log` parameters' columns read as their logarithm;
- :func:`inputs`, :func:`embedded`, :func:`side_by_side`: the first layer's inputs as a jet (box scaling, input map);
- :func:`dense`, :func:`scaled`, :func:`doubled`, :func:`difference`: linear maps of jets;
- :func:`fourier_derivatives`, :func:`derivatives`: ``[f(z), f'(z), ...]``, the activations' in closed form from
  pdec.compiler.activations (its ``CLOSED_FORMS``, copied too, and its ``DERIVATIVES`` table, written out);
- :func:`input_partials`: the partials of a function of the points alone (exact conditions), by autograd, or by
  ``torch.func.jacfwd`` inside a torch.func transform (:func:`transformed_partials`).

A jet is the tuple ``(value, partial, ...)`` in the plan's carried order (pdec.compiler.forward).
"""

from __future__ import annotations

import inspect

import torch

from pdec.compiler.activations import CLOSED_FORMS, DERIVATIVES


def grad(y, X, ones):
    """The gradient of y [N, 1] w.r.t. every column of X [N, d] (one backward pass, kept for higher orders)."""
    if not y.requires_grad:
        return torch.zeros_like(X)
    return torch.autograd.grad(y, X, ones, create_graph=True, allow_unused=True, materialize_grads=True)[0]


def mlp_layers(net):
    """A pdec network as the forward mode reads it (a dict: pdec.nn.networks.MLP.forward_mode_layers), or None.

    Keys: inputs (the box scaling or the input map), features (Fourier frequencies or None), encoders (the modified
    MLP's U and V layers or None), hidden [(weight, bias, activation)], head (weight, bias), output ((gain, shift) or
    None), constraint (exact conditions: X -> (g columns, d columns), or None). None for any other network (a
    callable, a wrapper, an unknown activation): those take the autograd path.
    """
    describe = getattr(net, "forward_mode_layers", None)
    mlp = describe() if callable(describe) else None
    if mlp is None or not mlp["hidden"]:
        return None
    if any(activation not in DERIVATIVES for _, _, activation in [*mlp["hidden"], *(mlp["encoders"] or ())]):
        return None
    return mlp


def logged(X, logs):
    """X with the columns of the mask logs read as their logarithm (`log` parameters; None: X itself).

    No partial is taken in such a column (pdec.language.parameters.check_log_derivatives), so the partials of the
    other columns pass through unchanged.
    """
    if logs is None:
        return X
    return torch.where(logs, torch.log(torch.where(logs, X, torch.ones_like(X))), X)


def inputs(description, X, indices):
    """The first layer's inputs as a jet (value, then the partials at indices), and whether it is affine in X.

    ("box", lo, scale, offset): the box scaled onto [-1, 1] or [0, 1]; affine: its partials are constant rows
    (scale[i] in column i, order one; None from the second order on). ("embedding", ...): the input map (embedded).
    """
    if description[0] != "box":
        return embedded(description, X, indices)
    _, lo, scale, offset = description
    rows = torch.diag(scale)
    partials = [rows[a.index(1)].unsqueeze(0) if sum(a) == 1 else None for a in indices]
    return ((X - lo) * scale - offset, *partials), True


def embedded(description, X, indices):
    """The InputMap before its Fourier features: its columns and their partials at indices, and whether affine.

    A column 2 (x - lo) / L - 1 has one partial, 2 / L. A periodic variable's columns cos(a) and sin(a),
    a = 2 pi modes (x - lo) / L, have pure partials only: the n-th is (2 pi modes / L)**n times the entry n steps on
    in the cycle cos, -sin, -cos, sin (sin is three steps on from cos). A seam variable's column sin(b),
    b = pi (x - lo) / L (pdec.language.corners.seam_variables), follows them: its n-th partial is (pi / L)**n times
    the entry n steps on in the cycle sin, cos, -sin, -cos. Zero partials are zero rows [1, width].
    Without periodic columns the map is affine: constant rows of order one (None from the second order on).
    """
    _, lo, length, periodic, modes, seams = description
    unit, modes = (X - lo) / length, modes.to(X.dtype)
    blocks = [[] for _ in range(len(indices) + 1)]
    for j, wrapped in enumerate(periodic):
        orders = [a[j] if sum(a) == a[j] else 0 for a in indices]
        if wrapped:
            angle = 2 * torch.pi * unit[:, j : j + 1] * modes
            c, s = torch.cos(angle), torch.sin(angle)
            cycle, rate = (c, -s, -c, s), torch.cat([modes, modes]) * (2 * torch.pi / length[j])
            blocks[0].append(torch.cat([c, s], 1))
            zero = X.new_zeros(1, 2 * len(modes))
            for k, n in enumerate(orders, 1):
                blocks[k].append(torch.cat([cycle[n % 4], cycle[(n + 3) % 4]], 1) * rate**n if n else zero)
            if seams[j]:
                half = torch.pi * unit[:, j : j + 1]
                s1, c1 = torch.sin(half), torch.cos(half)
                steps = (s1, c1, -s1, -c1)
                blocks[0].append(s1)
                for k, n in enumerate(orders, 1):
                    blocks[k].append(steps[n % 4] * (torch.pi / length[j]) ** n if n else X.new_zeros(1, 1))
        else:
            blocks[0].append(2 * unit[:, j : j + 1] - 1)
            for k, n in enumerate(orders, 1):
                blocks[k].append((2 / length[j : j + 1]).unsqueeze(0) if n == 1 else X.new_zeros(1, 1))
    affine = not any(periodic)
    rows = zip(indices, blocks[1:], strict=True)
    partials = [None if affine and sum(a) > 1 else side_by_side(b, X.shape[0]) for a, b in rows]
    return (torch.cat(blocks[0], 1), *partials), affine


def side_by_side(blocks, n):
    """The blocks concatenated by columns: one row [1, width] if every block is a row, else [n, width]."""
    if all(b.shape[0] == 1 for b in blocks):
        return torch.cat(blocks, 1)
    return torch.cat([b.expand(n, -1) for b in blocks], 1)


def dense(jet, weight, bias=None):
    """The jet of jet @ weight.T + bias: each partial mapped by the weight, the bias to the value only (None stays).

    Each product is taken as weight @ p.T, so its result lies point-major in memory ([width, N] read transposed) and
    the elementwise operations that follow keep that layout. With N points and a narrow layer, a CPU BLAS runs this
    form 1.2-2.1x faster than p @ weight.T in float64 (benchmarks/results/step.md, "Layout of the layer products").
    """
    value = (weight @ jet[0].mT).mT if bias is None else torch.addmm(bias.unsqueeze(1), weight, jet[0].mT).mT
    return (value, *(None if p is None else (weight @ p.mT).mT for p in jet[1:]))


def scaled(jet, gain, shift):
    """The jet of the output map y * gain + shift."""
    return (jet[0] * gain + shift, *(p * gain for p in jet[1:]))


def doubled(jet):
    """The jet of [p, p] (the partials side by side twice): the argument of the Fourier features [cos p, sin p]."""
    return (jet[0], *(None if p is None else torch.cat([p, p], 1) for p in jet[1:]))


def difference(a, b):
    """The jet of a - b."""
    return tuple(x - y for x, y in zip(a, b, strict=True))


def fourier_derivatives(p, n):
    """[cos p, sin p] side by side and its first n derivatives: cos cycles through cos, -sin, -cos, sin."""
    c, s = torch.cos(p), torch.sin(p)
    cycle = (c, -s, -c, s)
    return [torch.cat([cycle[k % 4], cycle[(k + 3) % 4]], 1) for k in range(n + 1)]


def input_partials(function, X, indices):
    """Jets of a function of the points alone: function(X) gives groups of [N, 1] columns; one jet per group.

    Each partial comes from its parent (one order lower), one backward pass per column and parent. Unless X requires
    grad, the results are detached: they do not depend on the network. Inside a torch.func transform (Levenberg-
    Marquardt's per-point Jacobian), which refuses ``requires_grad_``, they come from :func:`transformed_partials`.
    """
    keep = X.requires_grad
    if not keep and torch._C._functorch.is_functorch_wrapped_tensor(X):
        return transformed_partials(function, X, indices)
    with torch.enable_grad():
        Y = X if keep else X.detach().requires_grad_(True)
        groups = function(Y)
        ones, zero = torch.ones_like(Y[:, :1]), (0,) * Y.shape[1]
        found, gradients = {zero: [c for group in groups for c in group]}, {}
        for index in indices:
            j = next(i for i, n in enumerate(index) if n)
            parent = index[:j] + (index[j] - 1,) + index[j + 1 :]
            if parent not in gradients:
                gradients[parent] = [grad(c, Y, ones) for c in found[parent]]
            found[index] = [g[:, j : j + 1] for g in gradients[parent]]
    jets, start = [], 0
    for group in groups:
        columns = [torch.cat(found[a][start : start + len(group)], 1) for a in (zero, *indices)]
        jets.append(tuple(c if keep else c.detach() for c in columns))
        start += len(group)
    return jets


def transformed_partials(function, X, indices):
    """:func:`input_partials` inside a torch.func transform: the partials by nested ``torch.func.jacfwd``, row by row.

    ``jacfwd`` applied n times to one point's columns gives every partial of order n at once (a [k, d, ..., d]
    table); each multi-index reads its entry.
    """
    groups = function(X)
    values = torch.cat([c for group in groups for c in group], 1)

    def columns(x):  # one point [d] -> its columns [k]
        return torch.cat([c for group in function(x[None]) for c in group], 1)[0]

    tables, f = {}, columns
    for n in range(1, max((sum(index) for index in indices), default=0) + 1):
        f = torch.func.jacfwd(f)
        if any(sum(index) == n for index in indices):
            tables[n] = torch.func.vmap(f)(X)  # [N, k, d, ..., d]
    found = {}
    for index in indices:
        at = tuple(j for j, count in enumerate(index) for _ in range(count))
        found[index] = tables[sum(index)][(slice(None), slice(None), *at)]
    jets, start = [], 0
    for group in groups:
        stop = start + len(group)
        jets.append((values[:, start:stop], *(found[index][:, start:stop] for index in indices)))
        start = stop
    return jets


def derivatives(activation, z, n):
    """[f(z), f'(z), ..., f^(n)(z)] for the activation named, in closed form."""
    return DERIVATIVES[activation](z, n)


# What a generated module copies, in this order (its header copies ``grad``: the autograd lowering needs it too).
RUNTIME = (
    mlp_layers,
    logged,
    inputs,
    embedded,
    side_by_side,
    dense,
    scaled,
    doubled,
    difference,
    fourier_derivatives,
    input_partials,
    transformed_partials,
    derivatives,
    *CLOSED_FORMS,
)


def runtime_source() -> str:
    """The source of the generated module's forward-mode runtime: :data:`RUNTIME`'s functions, then ``DERIVATIVES``."""
    table = "".join(f'    "{name}": {function.__name__},\n' for name, function in DERIVATIVES.items())
    functions = "\n\n".join(inspect.getsource(f) for f in RUNTIME)
    return f"{functions}\n\nDERIVATIVES = {{\n{table}}}\n"
