# Wave equation on a string fixed at both ends, released from rest.
# Exact solution u = sin(pi x) cos(c pi t).

var x in [0, 1]
time t in [0, 1]
field u(x, t)
const c = 2

eq wave: u_tt = c^2 * u_xx

ic shape: u = sin(pi*x)
ic rest:  u_t = 0 at t = 0
bc ends:  u = 0 on boundary(x)

exact: u = sin(pi*x) * cos(c*pi*t)

# Adam leaves the error near 0.5 here whatever its length; the float64 second phase (self-scaled Broyden, `auto`) does
# the work, and on three layers (2,209 parameters) an iteration costs about 0.035 CPU s against 0.055 s on four:
# 1.8e-4, 5.3e-5 and 8.1e-5 on seeds 0-2 in 87-91 CPU s, where the float32 spec took 100 s for 3.8e-3 on seed 0
# (benchmarks/results/budgets.md).
train:
  layers = [32, 32, 32]
  interior = 3000
  boundary = 200
  adam = 1000
  iterations = 2000
