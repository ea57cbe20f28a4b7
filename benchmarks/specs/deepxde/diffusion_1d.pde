# DeepXDE examples/pinn_forward/diffusion_1d.py: u_t = u_xx - exp(-t) (sin(pi x) - pi^2 sin(pi x)) on
# [-1, 1] x [0, 1], u = exact on the x faces and at t = 0
var x in [-1, 1]
time t in [0, 1]
field u(x, t)

eq diffusion: u_t = u_xx - exp(-t)*(sin(pi*x) - pi^2*sin(pi*x))
bc walls:   u = sin(pi*x)*exp(-t) on boundary
ic initial: u = sin(pi*x)
# DeepXDE evaluates the equation at its 20 boundary and 10 initial points too, in one mean with its 40 domain
# points; the two lines below put it there, and the weights in the train block make the loss DeepXDE's (40/70,
# 20/70 and 10/70 on the three means; the conditions at 1).
bc diffusion_walls: u_t = u_xx - exp(-t)*(sin(pi*x) - pi^2*sin(pi*x)) on boundary
ic diffusion_start: u_t = u_xx - exp(-t)*(sin(pi*x) - pi^2*sin(pi*x))

exact: u = sin(pi*x)*exp(-t)

# DeepXDE: FNN [2, 32, 32, 32, 1] tanh, num_domain 40, num_boundary 20, num_initial 10,
# Adam lr 1e-3 for 10,000 iterations.
train:
  layers = [32, 32, 32]
  activation = tanh
  interior = 40
  points.walls = 20
  points.initial = 10
  points.diffusion_walls = 20
  points.diffusion_start = 10
  lr = 1e-3
  adam = 10000
  lbfgs = 0
  weighting = fixed
  weight.diffusion = 0.5714286
  weight.diffusion_walls = 0.2857143
  weight.diffusion_start = 0.1428571
