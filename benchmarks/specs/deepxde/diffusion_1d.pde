# DeepXDE examples/pinn_forward/diffusion_1d.py: u_t = u_xx - exp(-t) (sin(pi x) - pi^2 sin(pi x)) on
# [-1, 1] x [0, 1], u = exact on the x faces and at t = 0
var x in [-1, 1]
time t in [0, 1]
field u(x, t)

eq diffusion: u_t = u_xx - exp(-t)*(sin(pi*x) - pi^2*sin(pi*x))
bc walls:   u = sin(pi*x)*exp(-t) on boundary
ic initial: u = sin(pi*x)

exact: u = sin(pi*x)*exp(-t)

# DeepXDE: FNN [2, 32, 32, 32, 1] tanh, num_domain 40, num_boundary 20, num_initial 10,
# Adam lr 1e-3 for 10,000 iterations. DeepXDE evaluates the equation at all 70 of its points (domain, boundary
# and initial); pdec at 70 interior points.
train:
  layers = [32, 32, 32]
  activation = tanh
  interior = 70
  points.walls = 20
  points.initial = 10
  lr = 1e-3
  adam = 10000
  lbfgs = 0
