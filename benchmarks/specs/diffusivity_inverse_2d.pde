# A spatially varying diffusivity in 2-D: find D(x, y) in -div(D grad u) = f on the unit square from noisy readings
# of u (benchmarks/bench_inverse.py diffusivity writes them to DATA: 400 uniformly random points, 1% noise).
# The truth is D = 1 + sin(pi x) y / 2 with u = sin(pi x) sin(pi y); f applies the operator to both (K, U).
# D is fixed by the equation along the lines of grad u, which all end at the centre, where grad u = 0 and the
# equation reads D lap u = -f: so D is determined everywhere (no constant is left free, unlike the 1-D flux).

var x in [0, 1]
var y in [0, 1]
field u(x, y)

unknown D(x, y) = 1 positive true 1 + sin(pi*x)*y/2

let K = 1 + sin(pi*x)*y/2
let U = sin(pi*x)*sin(pi*y)
eq diffusion: -d(D*u_x, x) - d(D*u_y, y) = -d(K*d(U, x), x) - d(K*d(U, y), y)

bc walls: u = 0 on boundary

data readings: "DATA" x = x, y = y, u = u

exact: u = sin(pi*x)*sin(pi*y)

train:
  layers = [32, 32, 32]
  function_layers = [20, 20]
  interior = 1000
  adam = 3000
  iterations = 500
