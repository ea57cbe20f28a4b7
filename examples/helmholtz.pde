# Helmholtz equation on [-1, 1]^2 with a manufactured source (Wang, Teng, Perdikaris 2021).
# Exact solution u = sin(a1 pi x) sin(a2 pi y).
# Budget: a 3x32 network, 1,000 Adam steps, then 2,000 iterations of self-scaled Broyden in float64 (`auto`);
# 3x50 with 5,000 Adam steps and 3,000 L-BFGS iterations ended near 4e-4 (benchmarks/results/budgets.md).

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
  layers = [32, 32, 32]
  interior = 4000
  boundary = 800
  adam = 1000
  iterations = 2000
