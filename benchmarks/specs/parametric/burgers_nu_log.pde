# Viscous Burgers for a range of viscosities, trained once with `nu` on a log scale (benchmarks/bench_parametric.py
# --family burgers): specs/parametric/burgers.pde with `log` on its parameter, so that the points spread evenly over
# log(nu) and the network reads log(nu). The same problem as burgers_log.pde, written with the keyword.
var x in [-1, 1]
time t in [0, 1]
param nu in [0.005/pi, 0.05/pi] log
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
