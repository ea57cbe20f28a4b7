# Viscous Burgers for a range of viscosities, trained once on a log scale (benchmarks/bench_parametric.py --family
# burgers): specs/parametric/burgers.pde with the parameter s = log(nu), so that the network reads log(nu) and the
# points spread evenly over it (each factor of nu gets as many). The same family, network, points and budget.
var x in [-1, 1]
time t in [0, 1]
param s in [log(0.005/pi), log(0.05/pi)]
let nu = exp(s)
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
