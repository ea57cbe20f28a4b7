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

train:
  layers = [32, 32, 32, 32]
  interior = 3000
  boundary = 200
  adam = 5000
  iterations = 2000
