# Kuramoto-Sivashinsky (examples/kuramoto_sivashinsky.pde) in pdec's best configuration for the methods ablation
# (bench_methods.py). Reference: examples/data/ks.npz, a Fourier spectral solution (ETDRK4, 256 modes), written by
# examples/data/make_ks.py.

var x in [0, 2*pi]
time t in [0, 1]
field u(x, t)
const alpha = 100/16
const beta  = 100/16^2
const gamma = 100/16^4

eq ks: u_t + alpha*u*u_x + beta*u_xx + gamma*u_xxxx = 0

ic: u = cos(x) * (1 + sin(x)) exact
periodic: u, u_x, u_xx, u_xxx in x exact

reference: "../../../examples/data/ks.npz" x = x, t = t, u = u

train:
  layers = [128, 128, 128, 128]
  network = modified_mlp
  fourier_features = 64
  fourier_scale = 1
  causal = 1
  sampler = rad
  resample = 1000
  interior = 4000
  adam = 20000
  lr_decay = 0.9
  decay_every = 2000
  lbfgs = 0
