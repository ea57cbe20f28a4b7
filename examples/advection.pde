# Periodic advection at speed 30 (Krishnapriyan et al. 2021, "failure modes"; Wang et al. 2023, the expert's guide).
# A plain PINN fails at this speed; the exact periodicity, the exact initial value and causal training make it
# learnable. The exact solution is the initial profile carried along: u = sin(x - 30 t).

var x in [0, 2*pi]
time t in [0, 1]
field u(x, t)
const c = 30

eq advection: u_t + c*u_x = 0

ic initial: u = sin(x) exact
periodic: u in x exact

exact: u = sin(x - c*t)

train:
  layers = [64, 64, 64, 64]
  network = modified_mlp
  causal = 1
  interior = 4000
  adam = 10000
  lbfgs = 0
