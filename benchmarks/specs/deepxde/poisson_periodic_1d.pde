# DeepXDE examples/pinn_forward/Poisson_periodic_1d.py: -u'' = pi^2 sin(pi x) on [-1, 1], u(-1) = 0, and
# PeriodicBC(geom, 0, boundary_r) with the default derivative_order 0: u(1) = u(-1) (u only, not u')
var x in [-1, 1]
field u(x)

eq poisson: -u_xx = pi^2*sin(pi*x)
bc left: u = sin(pi*x) at x = -1
periodic wrap: u in x
# DeepXDE evaluates the equation at its boundary points too (its PDE residual covers num_domain + num_boundary
# points); the `bc ... on boundary` line below puts the equation at both ends as well, and the weights in the
# train block make the loss DeepXDE's: the equation's mean over all 18 points (16/18 on the interior's mean, 2/18
# on the ends').
bc poisson_ends: -u_xx = pi^2*sin(pi*x) on boundary

exact: u = sin(pi*x)

# DeepXDE: FNN [1, 50, 50, 50, 1] tanh, num_domain 16, num_boundary 2, Adam lr 1e-3 for 10,000 iterations
train:
  layers = [50, 50, 50]
  activation = tanh
  interior = 16
  boundary = 2
  lr = 1e-3
  adam = 10000
  lbfgs = 0
  weighting = fixed
  weight.poisson = 0.8888889
  weight.poisson_ends = 0.1111111
