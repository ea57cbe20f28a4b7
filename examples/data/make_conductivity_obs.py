"""Generate conductivity_obs.csv: 100 noisy readings of u for examples/conductivity_inverse.pde.

The problem: -(k u_x)_x = f on [0, 1], u(0) = u(1) = 0, with the conductivity k(x) = 1 + sin(pi x) / 2 and the
manufactured solution u(x) = sin(pi x); f = -(k u_x)_x is derived symbolically here (sympy) and written in the spec
the same way (pdec differentiates `-d(K*d(U, x), x)`). The readings sit at 100 uniformly random points of [0, 1]
(seed 11), with Gaussian noise of 1% of the standard deviation of u (pdec's `noise` convention), 12 significant digits.
Columns `x,u`. Run: python examples/data/make_conductivity_obs.py (rewrites conductivity_obs.csv beside this file;
prints f, which the spec's right-hand side equals).
"""

from pathlib import Path

import numpy as np
import sympy

READINGS = 100
NOISE = 0.01
SEED = 11


def main():
    """Derive f, draw the readings, write the CSV."""
    x = sympy.Symbol("x", real=True)
    k = 1 + sympy.sin(sympy.pi * x) / 2
    u = sympy.sin(sympy.pi * x)
    f = sympy.simplify(-sympy.diff(k * sympy.diff(u, x), x))
    print(f"f(x) = {f}")
    rng = np.random.default_rng(SEED)
    points = np.sort(rng.uniform(0.0, 1.0, READINGS))
    values = sympy.lambdify(x, u, "numpy")(points)
    values = values + NOISE * values.std() * rng.standard_normal(READINGS)
    out = Path(__file__).with_name("conductivity_obs.csv")
    np.savetxt(out, np.column_stack([points, values]), delimiter=",", header="x,u", comments="", fmt="%.12g")


if __name__ == "__main__":
    main()
