"""One training run with overrides, its error curve logged: how the examples' budgets were chosen.

Run from the repository root (one torch thread)::

    python benchmarks/budget_curve.py examples/burgers.pde OUT adam=500 iterations=3600 seed=0

``OUT.jsonl`` gets ``{step, phase, time, error}`` at every evaluation (every 50 steps; the largest field's relative
L2 error), then a last line with the final errors, the unknowns' errors and the training seconds; ``OUT/`` is the
run directory. Values are Python literals (``layers=[20,20]``) or bare words (``optimizer=ssbroyden``).
"""

import ast
import json
import sys

import torch

import pdec


def main() -> None:
    """Parse ``SPEC OUT key=value ...``, train, log the curve."""
    torch.set_num_threads(1)
    spec, out, *pairs = sys.argv[1:]
    overrides = {}
    for pair in pairs:
        key, value = pair.split("=", 1)
        try:
            overrides[key] = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            overrides[key] = value
    compiled = pdec.compile(spec)
    with open(out + ".jsonl", "w") as log:

        def callback(trainer, row) -> None:  # row: a pdec.run.history.Row
            if row.errors:
                log.write(json.dumps({"step": row.step, "phase": row.phase, "time": row.time,
                                      "error": max(row.errors.values())}) + "\n")
                log.flush()

        result = pdec.fit(compiled, out=out, quiet=True, plots=False, callback=callback, eval_every=50, **overrides)
        m = result.metrics
        log.write(json.dumps({"final": m["errors"], "unknown_errors": m.get("unknown_errors"),
                              "seconds": m["wall_time"], "steps": m["steps"]}) + "\n")
    print(m["errors"], m.get("unknown_errors"), m["wall_time"])


if __name__ == "__main__":
    main()
