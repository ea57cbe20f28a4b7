# The Euler-Bernoulli beam (DeepXDE's Euler_beam.py): u'''' = -1 on [0, 1], clamped at x = 0, free at x = 1.
# Written as a user would, no train block: the defaults size everything.
var x in [0, 1]
field u(x)

eq beam: u_xxxx = -1
bc clamp:  u = 0 at x = 0
bc slope:  u_x = 0 at x = 0
bc moment: u_xx = 0 at x = 1
bc shear:  u_xxx = 0 at x = 1

exact: u = -x^4/24 + x^3/6 - x^2/4
