# Heat conduction for a whole range of diffusivities, trained once: the network is u(x, t, k), and the run answers
# for any k in [0.05, 0.5] (`pdec predict RUN points.csv --param k=0.2`, `result.predict(xt, k=0.2)`).
# Target: relative L2 error below 1e-3 over the family (x, t and k), and at each of k = 0.05, 0.1, 0.2, 0.35, 0.5.
# Measured 2026-12-07 (seed 0, one thread, 45 s of CPU time on a shared 2-core machine): 1.7e-4 over the family;
# 5.3e-4, 1.5e-4, 1.1e-4, 9.5e-5 and 8.6e-4 at those five values (on a 41 x 41 grid of x and t).
var x in [0, 1]
time t in [0, 1]
param k in [0.05, 0.5]
field u(x, t)

eq heat: u_t = k*u_xx
ic initial: u = sin(pi*x)
bc ends: u = 0 on boundary

exact: u = exp(-k*pi^2*t)*sin(pi*x)

train:
  layers = [32, 32, 32]
  interior = 2000
  adam = 1500
  iterations = 600
