"""Generate oscillator.csv: 50 noisy readings of a damped oscillator, for oscillator*.pde in this folder.

y'' + c y' + k y = 0 with c = 0.4, k = 4, y(0) = 1, y'(0) = 0 on t in [0, 10]; closed form (underdamped):
y = exp(-c t / 2) (cos(w t) + c / (2 w) sin(w t)), w = sqrt(k - c^2 / 4).
Readings at 50 evenly spaced times (both ends included), with Gaussian noise of 1% of the clean readings' standard
deviation (pdec's `noise 0.01` convention), numpy's default_rng(0).
Run: python benchmarks/specs/inverse_checks/make_oscillator.py (rewrites oscillator.csv beside this file, and prints
the yardstick: a nonlinear least-squares fit of the closed form to the same readings, scipy's curve_fit).
"""

from pathlib import Path

import numpy as np

C, K = 0.4, 4.0
N, NOISE, SEED = 50, 0.01, 0


def closed_form(t, c, k):
    """The solution of y'' + c y' + k y = 0, y(0) = 1, y'(0) = 0 (underdamped: k > c^2 / 4)."""
    w = np.sqrt(k - c * c / 4.0)
    return np.exp(-c * t / 2.0) * (np.cos(w * t) + c / (2.0 * w) * np.sin(w * t))


def readings():
    """The times and the noisy readings."""
    t = np.linspace(0.0, 10.0, N)
    y = closed_form(t, C, K)
    rng = np.random.default_rng(SEED)
    return t, y + NOISE * np.std(y) * rng.standard_normal(N)


def yardstick(t, y):
    """curve_fit of the closed form from (1, 1), as pdec starts: the fitted (c, k) and their standard errors."""
    from scipy.optimize import curve_fit

    p, cov = curve_fit(closed_form, t, y, p0=[1.0, 1.0])
    return p, np.sqrt(np.diag(cov))


def main():
    """Write the CSV and print the least-squares yardstick."""
    t, y = readings()
    out = Path(__file__).with_name("oscillator.csv")
    np.savetxt(out, np.column_stack([t, y]), delimiter=",", header="t,y", comments="", fmt="%.12g")
    try:
        (c, k), (dc, dk) = yardstick(t, y)
    except ImportError:
        return
    print(
        f"least squares: c = {c:.6g} ({100 * abs(c / C - 1):.3g}% off, s.e. {100 * dc / C:.2g}%), "
        f"k = {k:.6g} ({100 * abs(k / K - 1):.3g}% off, s.e. {100 * dk / K:.2g}%)"
    )


if __name__ == "__main__":
    main()
