"""How accurate is the Poisson-Boltzmann example's reference? A second, independent solution to measure it against.

Run from the repository root (about a minute and 1 GB on one thread)::

    python benchmarks/check_pb_reference.py

examples/poisson_boltzmann.pde is scored against PINNacle's COMSOL solution (examples/data/poisson_boltzmann2d.dat,
3,236 nodes). This script solves the same problem, ``-(u_xx + u_yy) + k^2 u = f`` on [-1, 1]^2 minus four disks,
``u = 0.2`` on the square and ``u = 1`` on the circles, by finite differences: the five-point stencil on a uniform
grid, with Shortley-Weller's unequal arms where a grid line crosses a circle (second order). It solves on grids of
N = 200, 400 and 800 cells a side, extrapolates the two finest (Richardson: ``(4 u_800 - u_400) / 3`` at the
400-grid's nodes), interpolates that to the COMSOL nodes (cubic on the grid, with the disks filled by their boundary
value, so nodes within 0.01 of a circle are left out), and prints the relative L2 differences. The result is in
benchmarks/README.md ("The Poisson-Boltzmann reference").
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla
from scipy.interpolate import RegularGridInterpolator

ROOT = Path(__file__).resolve().parent.parent
K, A, MU1, MU2 = 8.0, 10.0, 1.0, 4.0  # examples/poisson_boltzmann.pde's constants
DISKS = (((0.5, 0.5), 0.2), ((0.4, -0.4), 0.4), ((-0.2, -0.7), 0.1), ((-0.6, 0.5), 0.3))
EDGE, CIRCLE = 0.2, 1.0


def source(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return A * (MU1**2 + x**2 + MU2**2 + y**2) * np.sin(MU1 * np.pi * x) * np.sin(MU2 * np.pi * y)


def in_holes(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return np.any([(x - cx) ** 2 + (y - cy) ** 2 < r**2 for (cx, cy), r in DISKS], axis=0)


def arm(x: np.ndarray, y: np.ndarray, dx: float, dy: float, h: float) -> np.ndarray:
    """The distance from each point along (dx, dy) to the nearest circle crossing within h (h where there is none)."""
    best = np.full(x.shape, h)
    for (cx, cy), r in DISKS:
        px, py = x - cx, y - cy
        b = px * dx + py * dy
        disc = b * b - (px * px + py * py - r * r)
        root = np.sqrt(np.maximum(disc, 0.0))
        for s in (-b - root, -b + root):
            hit = (disc >= 0) & (s > 1e-14) & (s <= h * (1 + 1e-12))
            best = np.where(hit, np.minimum(best, s), best)
    return best


def solve(n: int) -> tuple[np.ndarray, np.ndarray]:
    """The finite-difference solution on an (n + 1) x (n + 1) grid; NaN inside the disks."""
    h = 2.0 / n
    g = np.linspace(-1.0, 1.0, n + 1)
    X, Y = np.meshgrid(g, g, indexing="ij")
    hole = in_holes(X, Y)
    unknown = np.zeros_like(hole)
    unknown[1:-1, 1:-1] = ~hole[1:-1, 1:-1]
    index = -np.ones(X.shape, dtype=np.int64)
    index[unknown] = np.arange(unknown.sum())
    rows_i, cols_j = np.nonzero(unknown)
    x, y, k = X[rows_i, cols_j], Y[rows_i, cols_j], index[rows_i, cols_j]
    rhs = source(x, y)
    diag = np.full(len(k), K * K)
    rows, cols, vals = [], [], []
    for di, dj in ((1, 0), (0, 1)):
        arms = []
        for sign in (1, -1):
            ni, nj = rows_i + sign * di, cols_j + sign * dj
            into_hole = hole[ni, nj]
            length = np.where(into_hole, arm(x, y, sign * di, sign * dj, h), h)
            arms.append((length, ni, nj, into_hole))
        (hr, ri, rj, r_hole), (hl, li, lj, l_hole) = arms
        for length, ni, nj, into_hole in ((hr, ri, rj, r_hole), (hl, li, lj, l_hole)):
            c = -2.0 / ((hl + hr) * length)  # -u'' ~ -2/(hl + hr) ((u_r - u)/hr - (u - u_l)/hl)
            diag -= c
            neighbour = index[ni, nj]
            known = neighbour < 0
            rhs -= np.where(known, c * np.where(into_hole, CIRCLE, EDGE), 0.0)
            rows.append(k[~known]), cols.append(neighbour[~known]), vals.append(c[~known])
    rows.append(k), cols.append(k), vals.append(diag)
    matrix = sp.csc_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(len(k),) * 2)
    u = np.full(X.shape, np.nan)
    u[unknown] = spla.spsolve(matrix, rhs)
    u[0, :] = u[-1, :] = u[:, 0] = u[:, -1] = EDGE
    return g, u


def main() -> None:
    grids = {n: solve(n) for n in (200, 400, 800)}
    for coarse, fine in ((200, 400), (400, 800)):
        a, b = grids[coarse][1], grids[fine][1][:: fine // coarse, :: fine // coarse]
        both = ~np.isnan(a) & ~np.isnan(b)
        print(f"N = {coarse} against {fine} at the {coarse}-grid's nodes: relative L2 difference "
              f"{np.linalg.norm((a - b)[both]) / np.linalg.norm(b[both]):.2e}")
    g, u400 = grids[400]
    extrapolated = (4 * grids[800][1][::2, ::2] - u400) / 3
    data = np.loadtxt(ROOT / "examples" / "data" / "poisson_boltzmann2d.dat", comments="%")
    x, y, comsol = data.T
    clearance = np.min([np.hypot(x - cx, y - cy) - r for (cx, cy), r in DISKS], axis=0)
    for name, values in (("N = 800", grids[800]), ("extrapolated", (g, extrapolated))):
        grid, field = values
        interpolate = RegularGridInterpolator((grid, grid), np.where(np.isnan(field), CIRCLE, field), method="cubic")
        ours = interpolate(np.column_stack([x, y]))
        for away in (0.01, 0.05):
            m = clearance > away
            gap = np.linalg.norm(ours[m] - comsol[m]) / np.linalg.norm(comsol[m])
            print(f"{name}: COMSOL against finite differences at the {m.sum()} nodes farther than {away} from a "
                  f"circle: relative L2 {gap:.2e}, largest {np.abs(ours[m] - comsol[m]).max():.1e}")


if __name__ == "__main__":
    main()
