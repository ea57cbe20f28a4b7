"""Generate conductivity.csv: a(x, y) = 1 + sin(2 pi x) cos(pi y) / 2 on a 41 x 41 grid of [0, 1]^2.

The tabulated coefficient of examples/poisson_coefficient.pde (whose right-hand side applies the same operator to this
formula and to the exact solution). Rows x-major, columns `x,y,a`, 12 significant digits.
Run: python examples/data/make_conductivity.py (rewrites conductivity.csv beside this file).
"""

from pathlib import Path

import numpy as np

NODES = 41


def conductivity(x, y):
    """The conductivity the table samples."""
    return 1.0 + 0.5 * np.sin(2 * np.pi * x) * np.cos(np.pi * y)


def main():
    """Tabulate and write the CSV."""
    axis = np.linspace(0.0, 1.0, NODES)
    x, y = np.meshgrid(axis, axis, indexing="ij")
    table = np.column_stack([x.ravel(), y.ravel(), conductivity(x, y).ravel()])
    out = Path(__file__).with_name("conductivity.csv")
    np.savetxt(out, table, delimiter=",", header="x,y,a", comments="", fmt="%.12g")


if __name__ == "__main__":
    main()
