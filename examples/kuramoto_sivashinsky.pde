# Kuramoto-Sivashinsky equation (fourth order), periodic in x (the setting of Wang, Sankaran, Perdikaris 2022).
# Reference solution: examples/data/ks.npz, a Fourier spectral solution (examples/data/make_ks.py).
# Like allen_cahn.pde, it uses the exact initial value and periodicity, Fourier features, the modified MLP, causal
# weights and RAD points (docs/training.md).

var x in [0, 2*pi]
time t in [0, 1]
field u(x, t)
const alpha = 100/16
const beta  = 100/16^2
const gamma = 100/16^4

eq ks: u_t + alpha*u*u_x + beta*u_xx + gamma*u_xxxx = 0

ic: u = cos(x) * (1 + sin(x)) exact
periodic: u, u_x, u_xx, u_xxx in x exact

reference: "data/ks.npz" x = x, t = t, u = u

train:
  layers = [64, 64, 64, 64]
  network = modified_mlp
  fourier_features = 64
  fourier_scale = 1
  causal = 1
  sampler = rad
  resample = 1000
  interior = 2000
  adam = 10000
  lr_decay = 0.9
  decay_every = 1000
  iterations = 0
