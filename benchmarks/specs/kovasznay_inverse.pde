# Kovasznay flow inverse problem: viscosity and two convection coefficients from velocity readings only.
# Pressure is never observed inside the domain. It is given on the boundary only: without that, (c1, c2, nu, p) could
# all be scaled together (p appears only through its gradient). An outlet value alone is not enough, because the
# exact pressure is constant along x = 1. True values: c1 = c2 = 1, nu = 1/Re = 0.05.
# The data file is written by benchmarks/bench_inverse.py from examples/kovasznay.pde's exact solution.

var x in [-0.5, 1]
var y in [-0.5, 1.5]
field u(x, y), v(x, y), p(x, y)
const Re = 20
const lam = Re/2 - sqrt(Re^2/4 + 4*pi^2)

unknown c1 = 0.5 positive true 1
unknown c2 = 0.5 positive true 1
unknown nu = 0.2 positive true 0.05

eq momentum_x: c1*(u*u_x + v*u_y) + p_x = nu*lap(u)
eq momentum_y: c2*(u*v_x + v*v_y) + p_y = nu*lap(v)
eq continuity: u_x + v_y = 0

bc wall_p: p = (1 - exp(2*lam*x))/2 on boundary

data velocity: "DATA" x = x, y = y, u = u, v = v

# Velocity first; when the equations switch on, the unknowns and the pressure's output layer are fitted to the
# velocity with the rest of the network frozen (docs/training.md), then everything trains together.
train:
  layers = [50, 50, 50, 50]
  interior = 2000
  boundary = 100
  adam = 5000
  lbfgs = 3000
  stage: velocity for 1500
