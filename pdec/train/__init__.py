"""Training (CompiledProblem -> Result): sampling, networks' losses balanced, optimisers, schedule, the loop.

In order: sampling.py, balance.py, causal.py, diagnostics.py, jacobian.py, optimizers.py, console.py,
distributed.py, adaptive.py, schedule.py, checkpoint.py, metrics.py, inverse.py -> trainer.py (``Trainer``, one
network's run) -> marching.py (time windows: one Trainer per window). pdec.fit chooses between the last two.
"""
