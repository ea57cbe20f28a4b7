# Heat equation inverse problem: find the diffusivity k from noisy temperature readings.
# Data: examples/data/heat_obs.csv, 400 readings of exp(-0.4 pi^2 t) sin(pi x) with 1% noise, made with
#   pdec sample examples/heat.pde -n 400 --noise 0.01 --seed 7 -o examples/data/heat_obs.csv

var x in [0, 1]
time t in [0, 1]
field u(x, t)

unknown k = 1 positive true 0.4

eq heat: u_t = k * u_xx

ic: u = sin(pi*x)
bc ends: u = 0 on boundary(x)

data readings: "data/heat_obs.csv" x = x, t = t, u = u

train:
  layers = [20, 20, 20]
  interior = 1000
  boundary = 100
  adam = 3000
  iterations = 300
