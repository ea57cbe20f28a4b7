# Poisson equation on the unit square with homogeneous Dirichlet boundary.
# Exact solution u = sin(pi x) sin(pi y).
# Budget: 1,500 Adam steps, then 300 iterations of self-scaled Broyden in float64, chosen on seed 0 to take no more
# CPU time than the float32 L-BFGS spec before it (benchmarks/results/budgets.md).

var x in [0, 1]
var y in [0, 1]
field u(x, y)

eq poisson: lap(u) = -2*pi^2 * sin(pi*x) * sin(pi*y)

bc wall: u = 0 on boundary

exact: u = sin(pi*x) * sin(pi*y)

train:
  interior = 2000
  boundary = 400
  adam = 1500
  iterations = 300
