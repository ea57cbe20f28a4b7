# Periodic advection at speed 30 (Krishnapriyan et al. 2021, "failure modes"; Wang et al. 2023, the expert's guide).
# A plain PINN fails at this speed: the profile turns over almost five times in [0, 1]. The exact solution is the
# initial profile carried along: u = sin(x - 30 t).
# Time marching (`windows = 10`, docs/training.md): ten windows of 0.1 trained in turn, each starting exactly from
# the last one's solution, so each network sees half a turn. adam and iterations are per window.
# A 3x32 network (2,209 parameters, self-scaled Broyden in float64 under `auto`) measured 3.2e-5 in 255 s (seed 0,
# 2026-12-07), where a 4x64 modified MLP with 2,000 Adam steps per window had 3.9e-4 in about 630 s
# (benchmarks/results/budgets.md).

var x in [0, 2*pi]
time t in [0, 1]
field u(x, t)
const c = 30

eq advection: u_t + c*u_x = 0

ic initial: u = sin(x) exact
periodic: u in x exact

exact: u = sin(x - c*t)

train:
  layers = [32, 32, 32]
  windows = 10
  interior = 2000
  adam = 1000
  iterations = 500
