"""Fitting (CompiledProblem -> Result): the one place that knows both the trainer and time marching.

``fit(compiled, **options)`` trains one network (pdec.train.trainer), or, for a spec with time windows, one network
per window (pdec.train.marching), which the trainer is handed rather than importing: marching builds on the trainer.
``pdec.fit`` is this function; ``pdec run`` calls it.
"""

from __future__ import annotations

from typing import Any


def fit(compiled: Any, **options: Any) -> Any:
    """Train a compiled problem and return its Result (a ``pdec.run.results.Result``).

    Args:
        compiled: a CompiledProblem (``pdec.compile``; see docs/architecture.md).
        **options: ``out``, ``resume``, ``quiet``, ``callback``, ``plots`` and training settings replacing the spec's
            (``adam=200``, ``weighting="fixed"``, ...), as ``pdec.train.trainer.train`` takes them.
    """
    from pdec.train.marching import train_windows  # torch: imported when a run starts, not with pdec
    from pdec.train.trainer import train

    return train(compiled, march=train_windows, **options)
