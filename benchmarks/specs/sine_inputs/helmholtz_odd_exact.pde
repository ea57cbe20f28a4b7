# DeepXDE's Helmholtz problem with hard walls (benchmarks/specs/deepxde/helmholtz_2d_exact.pde) with its solution
# replaced by one of the opposite symmetry about the box's centre: u = sin(3 pi x) sin(4 pi y) is odd under
# (x, y) -> (1 - x, 1 - y), where DeepXDE's sin(4 pi x) sin(4 pi y) is even. -lap(u) = 25 pi^2 u, so the forcing is
# (25 - 16) pi^2 u. Settings as DeepXDE's script (benchmarks/results/sine_inputs.md, "A third problem").
var x in [0, 1]
var y in [0, 1]
field u(x, y)
const k0 = 4*pi

eq helmholtz: -lap(u) - k0^2*u = 9*pi^2*sin(3*pi*x)*sin(k0*y)
bc walls: u = 0 on boundary exact

exact: u = sin(3*pi*x)*sin(k0*y)

train:
  layers = [150, 150, 150]
  activation = sin
  interior = 480
  boundary = 80
  lr = 1e-3
  adam = 5000
  lbfgs = 0
