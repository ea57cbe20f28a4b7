# Viscous Burgers (examples/burgers.pde) in pdec's best configuration for the methods ablation (bench_methods.py):
# exact initial value and walls, Fourier features, the modified MLP, causal weights, RAD points near the shock.

var x in [-1, 1]
time t in [0, 1]
field u(x, t)
const nu = 0.01/pi

eq burgers: u_t + u*u_x = nu * u_xx

ic initial: u = -sin(pi*x) exact
bc walls:   u = 0 on boundary exact

reference: "../../../examples/data/burgers_shock.mat" x = x, t = t, u = usol

train:
  layers = [128, 128, 128, 128]
  network = modified_mlp
  fourier_features = 64
  fourier_scale = 1
  causal = 1
  sampler = rad
  resample = 1000
  interior = 8000
  adam = 20000
  lr_decay = 0.9
  decay_every = 2000
  lbfgs = 0
