# Multi-scale Poisson at k = 4 (benchmarks/bench_poisson_id.py), 1,500 Adam steps.
var x in [0, 1]
var y in [0, 1]
field u(x, y)
const w = 4*pi
eq poisson: lap(u) = -2*w^2*cos(w*x)*sin(w*y)
bc wall: u = cos(w*x)*sin(w*y) on boundary
exact: u = cos(w*x)*sin(w*y)
train:
  layers = [50, 50, 50]
  interior = 2500
  boundary = 400
  lr = 1e-3
  eval_points = 4096
  adam = 1500
  lbfgs = 0
