# Poisson equation with a tabulated conductivity: -div(a grad u) = f on the unit square, u = 0 on the boundary.
# The conductivity a(x, y) = 1 + sin(2 pi x) cos(pi y) / 2 is read from a 41 x 41 table (data/make_conductivity.py)
# and interpolated by cubic Hermite polynomials (`cubic`); f applies the same operator to that formula (A) and to the
# exact solution u = sin(pi x) sin(pi y) (U), so the interpolation of the table is the only departure from a
# manufactured problem. The equation differentiates a, and a multilinear table (the default `linear`) has a first
# derivative that jumps at every grid line: the solution then has kinks there and differs from U by 1.6e-4 (a
# finite-difference solution of the multilinear problem: benchmarks/table_floor.py), and training stopped at 4.2e-4
# (seed 0); with `cubic`, 4.1e-5, 2.1e-5 and 3.4e-5 on seeds 0-2. Budget: 1,500 Adam steps, then 300 iterations of
# self-scaled Broyden, chosen on seed 0 to take no more CPU time than the spec before it (benchmarks/results/budgets.md).
# Target: relative L2 error of u at most 1e-2.

var x in [0, 1]
var y in [0, 1]
field u(x, y)
coef a(x, y) = cubic "data/conductivity.csv" x = x, y = y, a = a

let A = 1 + sin(2*pi*x)*cos(pi*y)/2
let U = sin(pi*x)*sin(pi*y)
eq darcy: -d(a*u_x, x) - d(a*u_y, y) = -d(A*d(U, x), x) - d(A*d(U, y), y)

bc wall: u = 0 on boundary

exact: u = sin(pi*x)*sin(pi*y)

train:
  interior = 2000
  boundary = 400
  adam = 1500
  iterations = 300
