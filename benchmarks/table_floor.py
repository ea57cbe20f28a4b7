"""How far examples/poisson_coefficient.pde's exact solution is from the solution of its problem with a linear table.

The spec's right-hand side applies -div(A grad U) to the formula A = 1 + sin(2 pi x) cos(pi y) / 2 that the table
samples and to U = sin(pi x) sin(pi y). With the table interpolated multilinearly (``linear``, the default), the
conductivity differs from A between the nodes and its first derivative jumps at every grid line, so U is not the
problem's solution. This script solves that problem by finite differences (five-point stencil, the conductivity of
the bilinear interpolant at the cell faces, scipy's sparse solver) on N x N cells and prints its relative L2
distance from U: the floor under any training's error against U. Run: python benchmarks/table_floor.py (about 1 min).
"""

from pathlib import Path

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spl
from scipy.interpolate import RegularGridInterpolator

TABLE = Path(__file__).resolve().parent.parent / "examples" / "data" / "conductivity.csv"


def rhs(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """-div(A grad U) for the formula A and the exact U, in closed form."""
    pi = np.pi
    a = 1 + np.sin(2 * pi * x) * np.cos(pi * y) / 2
    ax, ay = pi * np.cos(2 * pi * x) * np.cos(pi * y), -pi / 2 * np.sin(2 * pi * x) * np.sin(pi * y)
    u = np.sin(pi * x) * np.sin(pi * y)
    ux, uy = pi * np.cos(pi * x) * np.sin(pi * y), pi * np.sin(pi * x) * np.cos(pi * y)
    return -(ax * ux + ay * uy) + a * 2 * pi**2 * u


def floor(n: int) -> float:
    """The relative L2 distance between U and the finite-difference solution of the linear-table problem."""
    table = np.loadtxt(TABLE, delimiter=",", skiprows=1)
    nodes = np.unique(table[:, 0])
    linear = RegularGridInterpolator((nodes, nodes), table[:, 2].reshape(len(nodes), len(nodes)))
    h, x = 1.0 / n, np.linspace(0.0, 1.0, n + 1)
    i, j = (g.ravel() for g in np.meshgrid(np.arange(1, n), np.arange(1, n), indexing="ij"))
    index = lambda a, b: (a - 1) * (n - 1) + (b - 1)  # noqa: E731
    faces = {(1, 0): (h / 2, 0), (-1, 0): (-h / 2, 0), (0, 1): (0, h / 2), (0, -1): (0, -h / 2)}
    rows, cols, vals, diagonal = [], [], [], 0.0
    for (di, dj), (dx, dy) in faces.items():
        a = linear(np.column_stack([x[i] + dx, x[j] + dy]))
        diagonal = diagonal + a / h**2
        inside = (i + di >= 1) & (i + di <= n - 1) & (j + dj >= 1) & (j + dj <= n - 1)
        rows.append(index(i, j)[inside]), cols.append(index(i + di, j + dj)[inside]), vals.append(-a[inside] / h**2)
    rows.append(index(i, j)), cols.append(index(i, j)), vals.append(diagonal)
    size = (n - 1) ** 2
    matrix = sp.csc_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(size, size))
    u = spl.spsolve(matrix, rhs(x[i], x[j]))
    exact = np.sin(np.pi * x[i]) * np.sin(np.pi * x[j])
    return float(np.linalg.norm(u - exact) / np.linalg.norm(exact))


if __name__ == "__main__":
    for cells in (200, 400, 800):
        print(f"{cells} x {cells} cells: relative L2 distance from U {floor(cells):.3e}")
