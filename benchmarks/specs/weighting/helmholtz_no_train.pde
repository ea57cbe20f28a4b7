# 2-D Helmholtz (examples/helmholtz.pde) with no train block: the defaults sized to the problem.
var x in [-1, 1]
var y in [-1, 1]
field u(x, y)
const k = 1
const a1 = 1
const a2 = 4
eq helmholtz: lap(u) + k^2*u = (k^2 - pi^2*(a1^2 + a2^2)) * sin(a1*pi*x) * sin(a2*pi*y)
bc walls: u = 0 on boundary
exact: u = sin(a1*pi*x)*sin(a2*pi*y)
