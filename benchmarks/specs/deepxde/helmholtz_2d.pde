# DeepXDE examples/pinn_forward/Helmholtz_Dirichlet_2d.py (n = 2): -lap(u) - k0^2 u = k0^2 sin(k0 x) sin(k0 y) on
# [0, 1]^2, u = 0 on the boundary, k0 = 2 pi n. DeepXDE's script imposes u = 0 as a hard constraint (output
# multiplied by x(1-x)y(1-y)); this spec keeps the walls as a loss term, pdec's default (helmholtz_2d_exact.pde
# makes them exact).
var x in [0, 1]
var y in [0, 1]
field u(x, y)
const k0 = 4*pi

eq helmholtz: -lap(u) - k0^2*u = k0^2*sin(k0*x)*sin(k0*y)
bc walls: u = 0 on boundary

exact: u = sin(k0*x)*sin(k0*y)

# DeepXDE: FNN [2, 150, 150, 150, 1] sin, num_domain 400, num_boundary 80, Adam lr 1e-3 for 5,000 iterations.
# DeepXDE evaluates the equation at all 480 of its points (domain and boundary); pdec at 480 interior points.
train:
  layers = [150, 150, 150]
  activation = sin
  interior = 480
  boundary = 80
  lr = 1e-3
  adam = 5000
  lbfgs = 0
