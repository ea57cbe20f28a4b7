"""Generate ks.npz: the Kuramoto-Sivashinsky reference for examples/kuramoto_sivashinsky.pde.

u_t + alpha u u_x + beta u_xx + gamma u_xxxx = 0 with alpha = 100/16, beta = 100/16^2, gamma = 100/16^4, periodic on
[0, 2 pi), u(x, 0) = cos(x) (1 + sin(x)), t in [0, 1] (the setting of Wang, Sankaran & Perdikaris 2022). Solved with
ETDRK4 (Kassam & Trefethen 2005) on 256 Fourier modes, dt = 2e-5; stored every 0.01 on every second grid point
(arrays x (128,), t (101,), u (101, 128)).
Run: python examples/data/make_ks.py (rewrites ks.npz beside this file).
"""

from pathlib import Path

import numpy as np


def write_ks_reference(path: Path, modes: int = 256, dt: float = 2e-5, every: int = 500) -> None:
    """The Kuramoto-Sivashinsky reference: ETDRK4 (Kassam & Trefethen 2005) on ``modes`` Fourier modes, every 0.01."""
    alpha, beta, gamma = 100 / 16, 100 / 16**2, 100 / 16**4
    x = 2 * np.pi * np.arange(modes) / modes
    k = np.fft.fftfreq(modes, 1.0 / modes)
    linear = beta * k**2 - gamma * k**4
    e, e2 = np.exp(dt * linear), np.exp(dt * linear / 2)
    roots = np.exp(1j * np.pi * (np.arange(1, 33) - 0.5) / 32)
    lr = dt * linear[:, None] + roots[None, :]
    q = dt * np.real(np.mean((np.exp(lr / 2) - 1) / lr, axis=1))
    f1 = dt * np.real(np.mean((-4 - lr + np.exp(lr) * (4 - 3 * lr + lr**2)) / lr**3, axis=1))
    f2 = dt * np.real(np.mean((2 + lr + np.exp(lr) * (-2 + lr)) / lr**3, axis=1))
    f3 = dt * np.real(np.mean((-4 - 3 * lr - lr**2 + np.exp(lr) * (4 - lr)) / lr**3, axis=1))

    def nonlinear(v: np.ndarray) -> np.ndarray:
        return -0.5j * alpha * k * np.fft.fft(np.real(np.fft.ifft(v)) ** 2)

    v = np.fft.fft(np.cos(x) * (1 + np.sin(x)))
    frames = [np.real(np.fft.ifft(v))]
    for step in range(1, int(round(1.0 / dt)) + 1):
        nv = nonlinear(v)
        a = e2 * v + q * nv
        na = nonlinear(a)
        b = e2 * v + q * na
        nb = nonlinear(b)
        c = e2 * a + q * (2 * nb - nv)
        v = e * v + nv * f1 + 2 * (na + nb) * f2 + nonlinear(c) * f3
        if step % every == 0:
            frames.append(np.real(np.fft.ifft(v)))
    t = np.linspace(0.0, 1.0, len(frames))
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, x=x[::2], t=t, u=np.array(frames)[:, ::2])  # 128 x 101 grid points


if __name__ == "__main__":
    write_ks_reference(Path(__file__).with_name("ks.npz"))
