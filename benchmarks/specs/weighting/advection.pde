# Periodic linear advection of a sine wave (exact: the shifted sine).
var x in [0, 2]
time t in [0, 1]
field u(x, t)
eq adv: u_t + u_x = 0
ic init: u = sin(pi*x)
periodic: u, u_x in x
exact: u = sin(pi*(x - t))
train:
  adam = 3000
  lbfgs = 0
