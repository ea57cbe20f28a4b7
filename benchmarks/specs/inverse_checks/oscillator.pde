# A damped oscillator, inverse: find the damping c and the stiffness k from 50 noisy readings of y.
# Written as a user would, no train block: the defaults size everything.
# Data: oscillator.csv, made by make_oscillator.py (c = 0.4, k = 4, 1% noise); a least-squares fit of the
# closed form to the same readings gives c within 0.07%, k within 0.09% (make_oscillator.py prints it).
time t in [0, 10]
field y(t)

unknown c = 1 positive true 0.4
unknown k = 1 positive true 4

eq osc: y_tt + c*y_t + k*y = 0

ic y0: y = 1
ic v0: y_t = 0

data obs: "oscillator.csv" t = t, y = y
