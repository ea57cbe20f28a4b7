# The heat equation u_t = k u_xx for the interval coverage study (benchmarks/bench_inverse.py coverage --ode heat):
# DATA is replaced by each synthetic data set's path.
var x in [0, 1]
time t in [0, 1]
field u(x, t)
unknown k = 1 positive true 0.4
eq heat: u_t = k*u_xx
ic: u = sin(pi*x)
bc ends: u = 0 on boundary(x)
data obs: "DATA" x = x, t = t, u = u
train:
  layers = [20, 20, 20]
  interior = 1000
  boundary = 100
