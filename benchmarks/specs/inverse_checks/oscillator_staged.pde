# oscillator.pde with the docs' stage recipe (docs/language.md, "Training"): the readings alone first.
time t in [0, 10]
field y(t)

unknown c = 1 positive true 0.4
unknown k = 1 positive true 4

eq osc: y_tt + c*y_t + k*y = 0

ic y0: y = 1
ic v0: y_t = 0

data obs: "oscillator.csv" t = t, y = y

train:
  stage: obs for 2000
