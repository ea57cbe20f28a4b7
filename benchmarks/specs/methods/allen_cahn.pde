# Allen-Cahn (examples/allen_cahn.pde) in pdec's best configuration for the methods ablation (bench_methods.py):
# exact initial value and periodicity, Fourier features, the modified MLP, causal weights, RAD points.

var x in [-1, 1]
time t in [0, 1]
field u(x, t)
const eps = 0.0001

eq allen_cahn: u_t - eps*u_xx + 5*u^3 - 5*u = 0

ic: u = x^2 * cos(pi*x) exact
periodic: u, u_x in x exact

reference: "../../../examples/data/AC.mat" x = x, t = tt, u = uu

train:
  layers = [128, 128, 128, 128]
  network = modified_mlp
  fourier_features = 64
  fourier_scale = 2
  causal = 1
  sampler = rad
  resample = 1000
  interior = 8000
  adam = 20000
  lr_decay = 0.9
  decay_every = 2000
  lbfgs = 0
