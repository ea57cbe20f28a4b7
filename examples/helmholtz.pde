# Helmholtz equation on [-1, 1]^2 with a manufactured source (Wang, Teng, Perdikaris 2021).
# Exact solution u = sin(a1 pi x) sin(a2 pi y).

var x in [-1, 1]
var y in [-1, 1]
field u(x, y)
const k = 1
const a1 = 1
const a2 = 4

eq helmholtz: lap(u) + k^2*u = (k^2 - (a1^2 + a2^2)*pi^2) * sin(a1*pi*x) * sin(a2*pi*y)

bc wall: u = 0 on boundary

exact: u = sin(a1*pi*x) * sin(a2*pi*y)

train:
  layers = [50, 50, 50]
  interior = 4000
  boundary = 800
  adam = 5000
  iterations = 3000
