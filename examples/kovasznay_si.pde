# Kovasznay flow in physical units: water (nu = 1e-6 m^2/s, rho = 1000 kg/m^3) behind a grid of 2 cm spacing at a
# mean velocity of 1 mm/s, Re = U*Lg/nu = 20: the flow of examples/kovasznay.pde in metres, m/s and pascals.
# Trained as written: pdec checks the units and non-dimensionalises the problem (`pdec check` states the scales).

const U = 1e-3 [m/s]
const Lg = 0.02 [m]
const nu = 1e-6 [m^2/s]
const rho = 1000 [kg/m^3]
const Re = U*Lg/nu
const lam = Re/2 - sqrt(Re^2/4 + 4*pi^2)

var x in [-0.01, 0.02] [m]
var y in [-0.01, 0.03] [m]
field u(x, y) [m/s], v(x, y) [m/s], p(x, y) [Pa]

let conv_u = u*u_x + v*u_y
let conv_v = u*v_x + v*v_y

eq momentum_x: conv_u + p_x/rho = nu*lap(u)
eq momentum_y: conv_v + p_y/rho = nu*lap(v)
eq continuity: u_x + v_y = 0

bc wall_u: u = U*(1 - exp(lam*x/Lg)*cos(2*pi*y/Lg)) on boundary
bc wall_v: v = U*lam/(2*pi) * exp(lam*x/Lg) * sin(2*pi*y/Lg) on boundary
bc outlet_p: p = rho*U^2*(1 - exp(2*lam))/2 at x = 0.02

exact: u = U*(1 - exp(lam*x/Lg)*cos(2*pi*y/Lg)), v = U*lam/(2*pi) * exp(lam*x/Lg) * sin(2*pi*y/Lg), \
       p = rho*U^2*(1 - exp(2*lam*x/Lg))/2

train:
  layers = [50, 50, 50, 50]
  interior = 2600
  boundary = 400
  adam = 2000
  optimizer = ssbroyden
  iterations = 800
