# Lid-driven cavity: steady incompressible Navier-Stokes at Re = 100 on the unit square, PINNacle's NS2d-C
# (Hao et al. 2024). The lid (y = 1) moves with u = 4 x (1 - x); the other walls are at rest; the pressure, fixed
# only up to a constant by the equations, is pinned to 0 at the corner (0, 0) by a point condition.
# Reference: examples/data/lid_driven_a4.dat (COMSOL, from PINNacle; see examples/data/README.md).
# The velocity conditions are built into the network (`exact`); the pressure gauge is a loss term.
# Measured (benchmarks/bench_pinnacle.py --steps 1000 --points 0.25, seed 0: this spec with 1,000 interior points,
# 1,000 Adam and 400 L-BFGS steps, 34 s on one CPU thread): relative L2 error over u, v and p pooled 1.8e-1
# (u 1.5e-1, v 2.4e-1, p 1.8e-1). PINNacle reports about 4.7e-2 (vanilla) and 3.6e-2 (best) at 20,000 steps.

var x in [0, 1]
var y in [0, 1]
field u(x, y), v(x, y), p(x, y)
const nu = 1/100

eq momentum_x: u*u_x + v*u_y + p_x = nu*lap(u)
eq momentum_y: u*v_x + v*v_y + p_y = nu*lap(v)
eq continuity: u_x + v_y = 0

bc lid_u: u = 4*x*(1 - x) at y = 1 exact
bc lid_v: v = 0 at y = 1 exact
bc sides_u: u = 0 on boundary(x) exact
bc sides_v: v = 0 on boundary(x) exact
bc bottom_u: u = 0 at y = 0 exact
bc bottom_v: v = 0 at y = 0 exact
bc pin: p = 0 at x = 0, y = 0

reference: "data/lid_driven_a4.dat" x = x, y = y, u = "u @ Re=100", v = "v @ Re=100", p = "p @ Re=100"

train:
  layers = [50, 50, 50, 50]
  interior = 4000
  adam = 5000
  lbfgs = 2000
