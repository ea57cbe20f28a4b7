# oscillator.pde with examples/lorenz_inverse.pde's train block, as it is there (stage renamed to this data set).
time t in [0, 10]
field y(t)

unknown c = 1 positive true 0.4
unknown k = 1 positive true 4

eq osc: y_tt + c*y_t + k*y = 0

ic y0: y = 1
ic v0: y_t = 0

data obs: "oscillator.csv" t = t, y = y

train:
  layers = [40, 40, 40]
  interior = 1000
  lr = 2e-3
  lr_decay = 0.5
  decay_every = 2000
  adam = 11000
  iterations = 3000
  stage: obs for 3000
