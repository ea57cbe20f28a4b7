# Equation discovery on a reaction-diffusion equation (Fisher-KPP): u_t = 0.1 u_xx + u - u^2, from 2,000 readings of
# examples/data/fisher.npz (scipy BDF, method of lines; examples/data/make_fisher.py). Library of 8 candidates.

var x in [0, 5]
time t in [0, 4]
field u(x, t)

eq fisher: u_t = discover(u, u^2, u^3, u_x, u*u_x, u_xx, u*u_xx, u_x^2)

data obs: "DATA" x = x, t = t, u = u sample 2000 seed 1234

train:
  layers = [20, 20, 20, 20]
  interior = 2000
  adam = 3000
  iterations = 1500
  discover_adam = 500
  discover_iterations = 1000
