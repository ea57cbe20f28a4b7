# Flow over a backward-facing step: steady incompressible Navier-Stokes at nu = 1/100, PINNacle's NS2d-CG
# (Hao et al. 2024). The channel [0, 4] x [0, 2] minus the block [0, 2] x [1, 2]; a parabolic inflow
# u = 4 y (1 - y) at x = 0 (y in [0, 1]), p = 0 at the outlet x = 4, no slip on every other wall.
# Reference: examples/data/ns_0_obstacle.dat (COMSOL, from PINNacle; see examples/data/README.md).
# The conditions on the channel's outer edges are built into the network (`exact`); those on the step's two edges
# stay loss terms (the plane of each passes through the channel, so it has no distance function).
# Measured (benchmarks/bench_pinnacle.py --steps 1000 --points 0.25, seed 0: this spec with 1,000 interior and 100
# points per condition, 1,000 Adam and 400 L-BFGS steps, 36 s on one CPU thread): relative L2 error over u, v and
# p pooled 1.6e-1 (u 1.2e-1, v 6.9e-1, p 6.8e-1).

var x in [0, 4]
var y in [0, 2]
field u(x, y), v(x, y), p(x, y)
const nu = 1/100

domain step = rectangle((0, 1), (2, 2))
domain channel = rectangle - step

eq momentum_x: u*u_x + v*u_y + p_x = nu*lap(u)
eq momentum_y: u*v_x + v*v_y + p_y = nu*lap(v)
eq continuity: u_x + v_y = 0

bc inlet_u: u = 4*y*(1 - y) at x = 0 exact
bc inlet_v: v = 0 at x = 0 exact
bc outlet: p = 0 at x = 4 exact
bc walls_u: u = 0 on boundary(y) exact
bc walls_v: v = 0 on boundary(y) exact
bc step_u: u = 0 on boundary(step)
bc step_v: v = 0 on boundary(step)

reference: "data/ns_0_obstacle.dat" x = x, y = y, u = "u (m/s)", v = "v (m/s)", p = "p (Pa)"

train:
  layers = [50, 50, 50, 50]
  interior = 4000
  boundary = 400
  adam = 5000
  iterations = 2000
