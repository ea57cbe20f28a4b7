# Damped oscillator y'' + c y' + k y = 0 for the interval coverage study (benchmarks/bench_inverse.py coverage
# --ode oscillator): DATA is replaced by each synthetic data set's path.
time t in [0, 10]
field y(t)
unknown c = 1 positive true 0.4
unknown k = 1 positive true 4
eq osc: y_tt + c*y_t + k*y = 0
ic y0: y = 1
ic v0: y_t = 0
data obs: "DATA" t = t, y = y
train:
  stage: obs for 800
