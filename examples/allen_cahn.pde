# Allen-Cahn equation with periodic boundaries (Raissi, Perdikaris, Karniadakis 2019, section 3.2).
# Reference solution: examples/data/AC.mat (see examples/data/README.md for provenance).
# A plain PINN stays near u = 0 here. The value's periodicity is built into the network (`exact`). The initial value
# x^2 cos(pi x) has equal values but slopes 2 and -2 at x = -1 and 1: the network therefore also sees a seam column
# sin(pi (x + 1) / 2), which lets its slope jump at the seam, and the slope's periodicity, which holds for t > 0 but
# not at t = 0, is a loss term (docs/training.md, "Exact conditions"). A 3x32 network in float64 with self-scaled
# Broyden replaced the 4x64 modified MLP with 64 Fourier features, 10,000 Adam steps and 10,000 L-BFGS iterations
# (1.2e-3 in about 2,700 s): benchmarks/results/budgets.md.

var x in [-1, 1]
time t in [0, 1]
field u(x, t)
const eps = 0.0001

eq allen_cahn: u_t - eps*u_xx + 5*u^3 - 5*u = 0

ic: u = x^2 * cos(pi*x)
periodic: u in x exact
periodic slope: u_x in x

reference: "data/AC.mat" x = x, t = tt, u = uu

train:
  layers = [32, 32, 32]
  interior = 4000
  adam = 1000
  iterations = 6000
