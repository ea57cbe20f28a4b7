# Staged heat equation: the initial condition alone, then the walls with it, then everything.
var x in [0, 1]
time t in [0, 1]
field u(x, t)

eq heat: u_t = 0.4 * u_xx

ic start: u = sin(pi*x)
bc ends: u = 0 on boundary(x)

exact: u = exp(-0.4*pi^2*t) * sin(pi*x)

train:
  stage: start for 15
  stage: start, ends for 15
