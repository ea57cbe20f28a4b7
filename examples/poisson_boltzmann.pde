# Poisson-Boltzmann (screened Poisson) equation on a square with four holes: PINNacle's Poisson2d-CG (Hao et al. 2024).
# -(u_xx + u_yy) + k^2 u = f on [-1, 1]^2 minus four disks, u = 0.2 on the square's edges, u = 1 on the circles.
# Reference: examples/data/poisson_boltzmann2d.dat (COMSOL, from PINNacle; see examples/data/README.md).
# The conditions are loss terms: the reaction term k^2 u = 64 u ties u to the source locally, so a plain PINN does
# not collapse to the mean of the boundary values as on Poisson2d-C (examples/poisson_holes.pde), and building them
# into the network (`exact`, a product of eight distances) trained worse: 1.6e-1 against 4.2e-2 as loss terms at
# the reduced budget below (measured before exact conditions took the shared value at the square's corners). With
# that fixed (2026-12-07, this budget): the square's edges exact gave 8.2e-4, 2.2e-3 and 9.2e-4 on seeds 0-2 against
# 2.0e-3, 1.2e-3 and 1.8e-3 as written, and both conditions exact 4.6e-3 on seed 0; the seeds disagree, so the
# spec keeps its loss terms (benchmarks/results/budgets.md).
# A compact network suits the second phase: 3x32 (2,209 parameters; 4,600 residual rows) after 1,000 Adam steps takes
# Levenberg-Marquardt with geodesic acceleration (`optimizer = lm`), on new points every 20 iterations (on fixed
# points it fits them: 900x the training loss at fresh points). Its 100 iterations reach about 4e-4, where 3,000 of
# self-scaled Broyden (`auto`) reached 1.5e-3 to 2.0e-3 in the same time and 4x50 with float32 L-BFGS 7.7e-3 (the
# median of seeds 0-2 before 2026-12-06); docs/measurements.md, benchmarks/results/budgets.md.
# Measured (benchmarks/bench_pinnacle.py --steps 1000 --points 0.25, seed 0: this spec with 1,000 interior and 50
# points per condition, 1,000 Adam and 1,000 L-BFGS steps, 25 s on one CPU thread): relative L2 error 4.2e-2.
# PINNacle reports about 0.64 for its vanilla PINN and 1.4e-2 for its best method at 20,000 steps.

var x in [-1, 1]
var y in [-1, 1]
field u(x, y)
const k = 8
const A = 10
const mu1 = 1
const mu2 = 4

domain holes = disk((0.5, 0.5), 0.2) + disk((0.4, -0.4), 0.4) + disk((-0.2, -0.7), 0.1) + disk((-0.6, 0.5), 0.3)
domain plate = rectangle - holes

eq screened: -lap(u) + k^2*u = A*(mu1^2 + x^2 + mu2^2 + y^2)*sin(mu1*pi*x)*sin(mu2*pi*y)

bc edges: u = 0.2 on boundary(rectangle)
bc circles: u = 1 on boundary(holes)

reference: "data/poisson_boltzmann2d.dat" x = X, y = Y, u = "u (1)"

train:
  layers = [32, 32, 32]
  interior = 4000
  adam = 1000
  optimizer = lm
  iterations = 100
  resample_second = 20
