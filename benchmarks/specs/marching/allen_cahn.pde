# Allen-Cahn (examples/allen_cahn.pde's problem) marched over ten windows, for bench_marching.py: the windowed spec
# the example used on 2026-12-01 before one window with the same total budget proved better (benchmarks/results/
# marching.md). Reference: examples/data/AC.mat (see examples/data/README.md for provenance).

var x in [-1, 1]
time t in [0, 1]
field u(x, t)
const eps = 0.0001

eq allen_cahn: u_t - eps*u_xx + 5*u^3 - 5*u = 0

ic: u = x^2 * cos(pi*x) exact
periodic: u, u_x in x exact

reference: "../../../examples/data/AC.mat" x = x, t = tt, u = uu

train:
  layers = [64, 64, 64, 64]
  network = modified_mlp
  fourier_features = 64
  fourier_scale = 2
  windows = 10
  interior = 2000
  adam = 1000
  lbfgs = 1000
