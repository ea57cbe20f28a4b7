# Euler-Bernoulli cantilever beam (the DeepXDE Euler beam example): clamped at x = 0, free at x = 1; four point conditions.
var x in [0, 1]
field u(x)
eq beam: u_xxxx = -1
bc clamp: u = 0 at x = 0
bc clamp_slope: u_x = 0 at x = 0
bc free_moment: u_xx = 0 at x = 1
bc free_shear: u_xxx = 0 at x = 1
exact: u = -x^4/24 + x^3/6 - x^2/4
train:
  layers = [20, 20, 20]
  interior = 100
  adam = 10000
  lbfgs = 0
