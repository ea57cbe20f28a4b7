# Poisson equation with a tabulated conductivity: -div(a grad u) = f on the unit square, u = 0 on the boundary.
# The conductivity a(x, y) = 1 + sin(2 pi x) cos(pi y) / 2 is read from a 41 x 41 table (data/make_conductivity.py)
# and interpolated multilinearly; f applies the same operator to that formula (A) and to the exact solution
# u = sin(pi x) sin(pi y) (U), so the interpolation of the table is the only departure from a manufactured problem.
# Target: relative L2 error of u at most 1e-2. Measured as written (`pdec run examples/poisson_coefficient.pde
# --seed 0 --threads 1`): 6.3e-04, in 92 s of training (108 s wall) on one thread of a shared 2-core CPU.

var x in [0, 1]
var y in [0, 1]
field u(x, y)
coef a(x, y) = "data/conductivity.csv" x = x, y = y, a = a

let A = 1 + sin(2*pi*x)*cos(pi*y)/2
let U = sin(pi*x)*sin(pi*y)
eq darcy: -d(a*u_x, x) - d(a*u_y, y) = -d(A*d(U, x), x) - d(A*d(U, y), y)

bc wall: u = 0 on boundary

exact: u = sin(pi*x)*sin(pi*y)

train:
  interior = 2000
  boundary = 400
  adam = 3000
  iterations = 300
