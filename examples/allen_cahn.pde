# Allen-Cahn equation with periodic boundaries (Raissi, Perdikaris, Karniadakis 2019, section 3.2).
# Reference solution: examples/data/AC.mat (see examples/data/README.md for provenance).

var x in [-1, 1]
time t in [0, 1]
field u(x, t)
const eps = 0.0001

eq allen_cahn: u_t - eps*u_xx + 5*u^3 - 5*u = 0

ic: u = x^2 * cos(pi*x)
periodic: u, u_x in x

reference: "data/AC.mat" x = x, t = tt, u = uu

train:
  layers = [64, 64, 64, 64]
  interior = 8000
  adam = 10000
  lbfgs = 1000
