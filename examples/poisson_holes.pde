# Laplace's equation on a square plate with four circular holes: PINNacle's Poisson2d-C (Hao et al. 2024).
# u = 1 on the square's edges, u = 0 on the circles. Reference: examples/data/poisson1_cg_data.dat (COMSOL, from
# PINNacle; see examples/data/README.md for provenance).
# With the conditions as loss terms a plain PINN sits at u = 0.5, the mean of the boundary values (PINNacle reports
# a relative L2 error of about 0.69 for its vanilla PINN); here both are built into the network (`exact`: distance
# functions of the edges and circles, docs/geometry.md) and only Laplace's equation is trained.
# A compact network suits the second phase: 3x32 (2,209 parameters) gets self-scaled Broyden in float64 (`auto`),
# which measured 4.2e-5 at the reference nodes after 1,000 Adam steps and 2,000 iterations (seed 0, 2026-12-07;
# benchmarks/results/budgets.md), where 4x50 with 2,000 + 2,000 steps ended at 1.0e-3 (float32 L-BFGS) and 2.9e-4
# (L-BFGS in float64). PINNacle's best reported is about 1.2e-2.
var x in [-0.5, 0.5]
var y in [-0.5, 0.5]
field u(x, y)

domain holes = disk((0.3, 0.3), 0.1) + disk((-0.3, 0.3), 0.1) + disk((0.3, -0.3), 0.1) + disk((-0.3, -0.3), 0.1)
domain plate = rectangle - holes

eq laplace: lap(u) = 0

bc edges: u = 1 on boundary(rectangle) exact
bc circles: u = 0 on boundary(holes) exact

reference: "data/poisson1_cg_data.dat" x = X, y = Y, u = "u (1)"

train:
  layers = [32, 32, 32]
  interior = 4000
  adam = 1000
  iterations = 2000
