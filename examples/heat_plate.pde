# A steel plate 0.2 m wide in SI units: held at 300 K on the left, insulated on the right, starting 50 K warmer
# in its middle (a quarter sine). Trained as written: pdec checks the units and non-dimensionalises the problem
# (`pdec check` states the scales). Exact solution T = T0 + dT exp(-alpha (pi/(2L))^2 t) sin(pi x/(2L)).

const k = 45 [W/(m*K)]        # conductivity of carbon steel
const rho = 7850 [kg/m^3]
const c = 460 [J/(kg*K)]
const alpha = k/(rho*c)       # 1.25e-5 m^2/s: the plate cools over about L^2/alpha = 53 minutes
const L = 0.2 [m]
const T0 = 300 [K]
const dT = 50 [K]

var x in [0, L] [m]
time t in [0, 600] [s]
field T(x, t) [K]

eq heat: rho*c*T_t = k*T_xx
bc held: T = T0 at x = 0
bc insulated: -k*T_x = 0 [W/m^2] at x = L
ic: T = T0 + dT*sin(pi*x/(2*L))

exact: T = T0 + dT*exp(-alpha*(pi/(2*L))^2*t)*sin(pi*x/(2*L))

train:
  adam = 2000
  iterations = 300
