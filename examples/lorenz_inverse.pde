# Lorenz system: discover (sigma, rho, beta) from an observed trajectory.
# Data: examples/data/lorenz.csv, made by examples/data/make_lorenz.py with (10, 15, 8/3).

time t in [0, 3]
field x(t), y(t), z(t)

unknown sigma = 1 positive true 10
unknown rho   = 1 positive true 15
unknown beta  = 1 positive true 8/3

eq dx: x_t = sigma*(y - x)
eq dy: y_t = x*(rho - z) - y
eq dz: z_t = x*y - beta*z

ic x0: x = -8
ic y0: y = 7
ic z0: z = 27

data traj: "data/lorenz.csv" t = t, x = x, y = y, z = z

# Fit the trajectory first; when the equations switch on, the unknowns are fitted to it with the network frozen
# (see docs/training.md), then everything trains together.
train:
  layers = [40, 40, 40]
  interior = 1000
  lr = 2e-3
  lr_decay = 0.5
  decay_every = 2000
  adam = 11000
  iterations = 600
  stage: traj for 3000
