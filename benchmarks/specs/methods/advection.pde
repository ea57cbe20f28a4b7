# Periodic advection at speed 30 (examples/advection.pde) in pdec's best configuration for the methods ablation
# (bench_methods.py). Exact solution: u = sin(x - 30 t).

var x in [0, 2*pi]
time t in [0, 1]
field u(x, t)
const c = 30

eq advection: u_t + c*u_x = 0

ic initial: u = sin(x) exact
periodic: u in x exact

exact: u = sin(x - c*t)

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
