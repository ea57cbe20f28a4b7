# Equation discovery: which terms make up Burgers' equation? From 2,000 scattered readings of u alone
# (examples/data/burgers_shock.mat, Raissi, Perdikaris, Karniadakis 2019), a library of 8 candidate terms is trained
# with the network and made sparse by sequential thresholding with retraining (docs/training.md, "Equation
# discovery"). The truth keeps two: u_t = -u*u_x + (0.01/pi)*u_xx, coefficients -1 and 0.0031831.
# Targets: exactly those two kept, within 1% (clean readings) and 5% (`noise 0.01`) (benchmarks/bench_discovery.py).

var x in [-1, 1]
time t in [0, 1]
field u(x, t)

eq burgers: u_t = discover(u, u^2, u^3, u_x, u*u_x, u^2*u_x, u_xx, u*u_xx)

data obs: "data/burgers_shock.mat" x = x, t = t, u = usol sample 2000 seed 1234

train:
  layers = [20, 20, 20, 20, 20, 20, 20, 20]
  interior = 2000
  adam = 3000
  iterations = 1500
  discover_adam = 500
  discover_iterations = 1000
