# Exponential decay y' = -a y for the interval coverage study (benchmarks/bench_inverse.py coverage; in small,
# tests/test_intervals.py): DATA is replaced by each synthetic data set's path.
time t in [0, 2]
field y(t)
unknown a = 1 positive true 1.5
eq decay: y_t = -a*y
ic: y = 1
data obs: "DATA" t = t, y = y
train:
  layers = [16, 16]
  interior = 200
  stage: obs for 400
