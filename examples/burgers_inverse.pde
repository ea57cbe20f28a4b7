# Burgers inverse problem: discover both coefficients from 2000 scattered observations
# (Raissi, Perdikaris, Karniadakis 2019, section 4.1.1). True values: l1 = 1, l2 = 0.01/pi.
# A compact network (Raissi et al. used 8 hidden layers of 20): 4x20, 1,000 Adam steps, then 3,000 iterations of
# self-scaled Broyden in float64; less CPU time than the float32 L-BFGS spec before it (benchmarks/results/budgets.md).

var x in [-1, 1]
time t in [0, 1]
field u(x, t)

unknown l1 = 0.0 true 1
unknown l2 = 0.1 positive true 0.01/pi

eq burgers: u_t + l1*u*u_x = l2 * u_xx

data obs: "data/burgers_shock.mat" x = x, t = t, u = usol sample 2000 seed 1234

train:
  layers = [20, 20, 20, 20]
  interior = 2000
  adam = 1000
  iterations = 3000
