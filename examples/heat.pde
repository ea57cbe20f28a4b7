# Heat equation with diffusivity k on a rod with cold ends.
# Exact solution u = exp(-k pi^2 t) sin(pi x).
# Budget: 500 Adam steps, then 400 iterations of self-scaled Broyden in float64, chosen on seed 0 to take no more
# CPU time than the float32 L-BFGS spec before it (benchmarks/results/budgets.md).

var x in [0, 1]
time t in [0, 1]
field u(x, t)
const k = 0.4

eq heat: u_t = k * u_xx

ic: u = sin(pi*x)
bc ends: u = 0 on boundary(x)

exact: u = exp(-k*pi^2*t) * sin(pi*x)

train:
  interior = 2000
  boundary = 200
  adam = 500
  iterations = 400
