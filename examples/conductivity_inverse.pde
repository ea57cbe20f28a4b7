# Inverse problem for an unknown function: find the conductivity k(x) of -(k u_x)_x = f on [0, 1] from 100 noisy
# readings of u. The truth is k = 1 + sin(pi x)/2 with u = sin(pi x); f applies the operator to both (K, U).
# Data: examples/data/conductivity_obs.csv, 100 readings at random points with 1% noise
#   (python examples/data/make_conductivity_obs.py).
# k is a network of its own (`function_layers`), kept positive; the flux k u_x is fixed only up to a constant by the
# equation, and u_x = 0 at x = 1/2 fixes that constant here (docs/language.md, "Unknown functions").
# Target: relative L2 error of k at most 5% (benchmarks/results/inverse_functions.md).

var x in [0, 1]
field u(x)

unknown k(x) = 1 positive true 1 + sin(pi*x)/2

let K = 1 + sin(pi*x)/2
let U = sin(pi*x)
eq flux: -d(k*u_x, x) = -d(K*d(U, x), x)

bc ends: u = 0 on boundary

data readings: "data/conductivity_obs.csv" x = x, u = u

exact: u = sin(pi*x)

train:
  layers = [20, 20, 20]
  function_layers = [20, 20]
  interior = 200
  adam = 3000
  iterations = 500
