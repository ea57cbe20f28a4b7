# The Bratu problem for a range of lam, trained once (benchmarks/bench_parametric.py): u(x, lam).
# No elementary closed form; the benchmark's references come from scipy's solve_bvp (the lower branch).
var x in [0, 1]
param lam in [0.5, 3]
field u(x)

eq bratu: u_xx + lam*exp(u) = 0
bc ends: u = 0 on boundary

train:
  layers = [20, 20, 20]
  interior = 500
  boundary = 100
  adam = 1500
  iterations = 500
