# DeepXDE examples/pinn_forward/ode_system.py: y1' = y2, y2' = -y1 on t in [0, 10], y1(0) = 0, y2(0) = 1
time t in [0, 10]
field y1(t), y2(t)

eq first:  y1_t = y2
eq second: y2_t = -y1
ic start1: y1 = 0
ic start2: y2 = 1
# DeepXDE evaluates the equation at its boundary points too (its PDE residual covers num_domain + num_boundary
# points); the four lines below put the equation at t = 0 and t = 10, and the weights in the train block make the
# loss DeepXDE's: each equation's mean over all 37 points (35/37 on the interior's mean, 1/37 on each end).
ic first_start:  y1_t = y2
ic second_start: y2_t = -y1
bc first_end:    y1_t = y2 at t = 10
bc second_end:   y2_t = -y1 at t = 10

exact: y1 = sin(t), y2 = cos(t)

# DeepXDE: FNN [1, 50, 50, 50, 2] tanh, num_domain 35, num_boundary 2, Adam lr 1e-3 for 20,000 iterations
train:
  layers = [50, 50, 50]
  activation = tanh
  interior = 35
  boundary = 2
  lr = 1e-3
  adam = 20000
  lbfgs = 0
  weighting = fixed
  weight.first = 0.9459459
  weight.second = 0.9459459
  weight.first_start = 0.0270270
  weight.second_start = 0.0270270
  weight.first_end = 0.0270270
  weight.second_end = 0.0270270
