"""Generate lorenz.csv: a Lorenz trajectory with (sigma, rho, beta) = (10, 15, 8/3), for examples/lorenz_inverse.pde.

Integrated with scipy's DOP853 at rtol = atol = 1e-12 from (x, y, z) = (-8, 7, 27) on t in [0, 3], sampled every 0.01.
Run: python examples/data/make_lorenz.py (rewrites lorenz.csv beside this file).
"""

from pathlib import Path

import numpy as np
from scipy.integrate import solve_ivp

SIGMA, RHO, BETA = 10.0, 15.0, 8.0 / 3.0


def lorenz(t, s):
    """Right-hand side of the Lorenz system."""
    x, y, z = s
    return [SIGMA * (y - x), x * (RHO - z) - y, x * y - BETA * z]


def main():
    """Integrate and write the CSV."""
    t = np.linspace(0.0, 3.0, 301)
    sol = solve_ivp(lorenz, (0.0, 3.0), [-8.0, 7.0, 27.0], t_eval=t, method="DOP853", rtol=1e-12, atol=1e-12)
    out = Path(__file__).with_name("lorenz.csv")
    table = np.column_stack([t, sol.y.T])
    np.savetxt(out, table, delimiter=",", header="t,x,y,z", comments="", fmt="%.12g")


if __name__ == "__main__":
    main()
