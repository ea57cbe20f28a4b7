# Poisson equation in 1D: -u'' = pi^2 sin(pi x) on [0, 1], u(0) = u(1) = 0.
# Exact solution u = sin(pi x).

var x in [0, 1]
field u(x)

eq poisson: -u_xx = pi^2 * sin(pi*x)

bc left:  u = 0 at x = 0
bc right: u = 0 at x = 1

exact: u = sin(pi*x)

train:
  layers = [20, 20, 20]
  interior = 256
  boundary = 16
  adam = 2000
  iterations = 200
