# Viscous Burgers for a range of viscosities, trained once (benchmarks/bench_parametric.py --family burgers): u(x, t, nu).
# examples/burgers.pde with its constant made a parameter, and the same network, points and budget. The benchmark's
# references come from the Cole-Hopf transform (benchmarks/bench_parametric.py, burgers_reference).
var x in [-1, 1]
time t in [0, 1]
param nu in [0.005/pi, 0.05/pi]
field u(x, t)

eq burgers: u_t + u*u_x = nu * u_xx

ic initial: u = -sin(pi*x)
bc left:    u = 0 at x = -1
bc right:   u = 0 at x = 1

train:
  layers = [20, 20, 20, 20]
  interior = 10000
  points.initial = 100
  points.left = 50
  points.right = 50
  adam = 500
  iterations = 5000
