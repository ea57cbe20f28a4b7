# DeepXDE examples/pinn_forward/Helmholtz_Dirichlet_2d.py (n = 2): -lap(u) - k0^2 u = k0^2 sin(k0 x) sin(k0 y) on
# [0, 1]^2, u = 0 on the boundary, k0 = 2 pi n. DeepXDE's script imposes u = 0 as a hard constraint (output
# multiplied by x(1-x)y(1-y)); its hard_constraint = False branch, which this spec restates, keeps the walls as a
# loss term of weight 100 (helmholtz_2d_exact.pde makes them exact).
var x in [0, 1]
var y in [0, 1]
field u(x, y)
const k0 = 4*pi

eq helmholtz: -lap(u) - k0^2*u = k0^2*sin(k0*x)*sin(k0*y)
bc walls: u = 0 on boundary
# DeepXDE evaluates the equation at its 80 boundary points too, in one mean with its 400 domain points; the line
# below puts it on the walls, and the weights in the train block make the loss DeepXDE's: that mean (400/480 and
# 80/480) plus 100 times the walls' mean square.
bc helmholtz_walls: -lap(u) - k0^2*u = k0^2*sin(k0*x)*sin(k0*y) on boundary

exact: u = sin(k0*x)*sin(k0*y)

# DeepXDE: FNN [2, 150, 150, 150, 1] sin, num_domain 400, num_boundary 80, Adam lr 1e-3 for 5,000 iterations.
train:
  layers = [150, 150, 150]
  activation = sin
  interior = 400
  points.walls = 80
  points.helmholtz_walls = 80
  lr = 1e-3
  adam = 5000
  lbfgs = 0
  weighting = fixed
  weight.helmholtz = 0.8333333
  weight.helmholtz_walls = 0.1666667
  weight.walls = 100
