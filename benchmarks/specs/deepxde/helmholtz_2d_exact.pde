# DeepXDE examples/pinn_forward/Helmholtz_Dirichlet_2d.py (n = 2): -lap(u) - k0^2 u = k0^2 sin(k0 x) sin(k0 y) on
# [0, 1]^2, u = 0 on the boundary, k0 = 2 pi n. DeepXDE's script imposes u = 0 as a hard constraint (output
# multiplied by x(1-x)y(1-y)); here pdec's `exact` keyword does the same (u = D * N, D vanishing on the walls).
var x in [0, 1]
var y in [0, 1]
field u(x, y)
const k0 = 4*pi

eq helmholtz: -lap(u) - k0^2*u = k0^2*sin(k0*x)*sin(k0*y)
bc walls: u = 0 on boundary exact
# DeepXDE evaluates the equation at its 80 boundary points too, in one mean with its 400 domain points; the line
# below puts it on the walls, and the weights in the train block make the loss that mean (400/480 and 80/480).
bc helmholtz_walls: -lap(u) - k0^2*u = k0^2*sin(k0*x)*sin(k0*y) on boundary

exact: u = sin(k0*x)*sin(k0*y)

# DeepXDE: FNN [2, 150, 150, 150, 1] sin, num_domain 400, num_boundary 80, Adam lr 1e-3 for 5,000 iterations, the
# inputs as they are (on [0, 1]): `inputs = unit`, what pdec's `auto` gives a sine network whose walls are exact
# when no condition is a loss term (the equation on the walls is one here).
train:
  layers = [150, 150, 150]
  activation = sin
  inputs = unit
  interior = 400
  boundary = 80
  lr = 1e-3
  adam = 5000
  lbfgs = 0
  weighting = fixed
  weight.helmholtz = 0.8333333
  weight.helmholtz_walls = 0.1666667
