# DeepXDE examples/pinn_forward/Euler_beam.py: u'''' = -1 on [0, 1], clamped at x = 0 (u = u' = 0),
# free at x = 1 (u'' = u''' = 0)
var x in [0, 1]
field u(x)

eq beam: u_xxxx = -1
bc clamp:  u = 0 at x = 0
bc slope:  dn(u) = 0 at x = 0
bc moment: u_xx = 0 at x = 1
bc shear:  u_xxx = 0 at x = 1
# DeepXDE evaluates the equation at its boundary points too (its PDE residual covers num_domain + num_boundary
# points); the `bc ... on boundary` line below puts the equation at both ends as well, and the weights in the
# train block make the loss DeepXDE's: the equation's mean over all 12 points (10/12 on the interior's mean, 2/12
# on the ends').
bc beam_ends: u_xxxx = -1 on boundary

exact: u = -x^4/24 + x^3/6 - x^2/4

# DeepXDE: FNN [1, 20, 20, 20, 1] tanh, num_domain 10, num_boundary 2, Adam lr 1e-3 for 10,000 iterations
train:
  layers = [20, 20, 20]
  activation = tanh
  interior = 10
  boundary = 2
  lr = 1e-3
  adam = 10000
  lbfgs = 0
  weighting = fixed
  weight.beam = 0.8333333
  weight.beam_ends = 0.1666667
