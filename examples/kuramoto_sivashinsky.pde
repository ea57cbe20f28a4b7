# Kuramoto-Sivashinsky equation (fourth order), periodic in x (Wang, Sankaran, Perdikaris 2022 setting).

var x in [0, 2*pi]
time t in [0, 1]
field u(x, t)
const alpha = 100/16
const beta  = 100/16^2
const gamma = 100/16^4

eq ks: u_t + alpha*u*u_x + beta*u_xx + gamma*u_xxxx = 0

ic: u = cos(x) * (1 + sin(x))
periodic: u, u_x, u_xx, u_xxx in x

train:
  layers = [64, 64, 64, 64]
  activation = tanh
  interior = 4000
  adam = 10000
  lbfgs = 500
