# Viscous Burgers equation with a shock forming at x = 0 (Raissi, Perdikaris, Karniadakis 2019).
# Reference solution: examples/data/burgers_shock.mat (see examples/data/README.md for provenance).

var x in [-1, 1]
time t in [0, 1]
field u(x, t)
const nu = 0.01/pi

eq burgers: u_t + u*u_x = nu * u_xx

ic initial: u = -sin(pi*x)
bc left:    u = 0 at x = -1
bc right:   u = 0 at x = 1

reference: "data/burgers_shock.mat" x = x, t = t, u = usol

train:
  layers = [20, 20, 20, 20]
  interior = 10000
  points.initial = 100
  points.left = 50
  points.right = 50
  adam = 500
  iterations = 5000
