"""Generate fisher.npz: a Fisher-KPP reaction-diffusion reference for equation discovery (benchmarks/bench_discovery.py).

u_t = D u_xx + r u (1 - u) with D = 0.1, r = 1 on [0, 5], u_x = 0 at both ends, u(x, 0) = exp(-2 x^2) (a front that
travels right at about 2 sqrt(D r)), t in [0, 4]. Method of lines: second-order central differences on 401 points
(ghost points for the Neumann ends), integrated by scipy's BDF (solve_ivp, rtol 1e-10, atol 1e-12). Stored on every
second grid point every 0.04 (arrays x (201,), t (101,), u (101, 201)).
Run: python examples/data/make_fisher.py (rewrites fisher.npz beside this file).
"""

from pathlib import Path

import numpy as np
from scipy.integrate import solve_ivp

D, R = 0.1, 1.0


def write_fisher_reference(path: Path, points: int = 401) -> None:
    """The Fisher-KPP reference on ``points`` grid points, stored on every second one every 0.04."""
    x = np.linspace(0.0, 5.0, points)
    h = x[1] - x[0]

    def rhs(_t: float, u: np.ndarray) -> np.ndarray:
        padded = np.concatenate([[u[1]], u, [u[-2]]])  # u_x = 0 at both ends (ghost points)
        uxx = (padded[2:] - 2 * u + padded[:-2]) / h**2
        return D * uxx + R * u * (1 - u)

    t = np.linspace(0.0, 4.0, 101)
    found = solve_ivp(rhs, (0.0, 4.0), np.exp(-2 * x**2), method="BDF", t_eval=t, rtol=1e-10, atol=1e-12)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, x=x[::2], t=t, u=found.y[::2].T)  # (101, 201)


if __name__ == "__main__":
    write_fisher_reference(Path(__file__).with_name("fisher.npz"))
