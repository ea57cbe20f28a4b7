"""Run diagnostics: history rows -> findings about terms that stopped learning, extreme weights and divergence.

A PINN that did not learn usually still "finishes": the loss is small because most terms are satisfied by a trivial
solution (u = 0, a constant), while the one term that drives the solution is stuck. These checks read the history
the trainer records (one row per step, see pdec.run.results.History) and say so, naming the term, the likely cause and
a fix. They are pure functions of the rows, run during training (each finding printed once) and at the end; at the
end they also say when a run stopped on its budget while its loss was still falling fast.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from pdec.run.history import Row

STALL_STEPS = 1000  # a term is stalled when its loss has not halved over this many steps ...
GAP = 100.0  # ... while every other active term's loss is at least this many times smaller ...
STUCK = 0.1  # ... and it is still above this fraction of its first loss (it never really started to fall)
EXTREME = 1e5  # the largest weight over the smallest above which the weights are reported as extreme
NOT_LEARNED = 0.5  # a relative L2 error at or above this at the end: the network has not learned the solution
CAUSAL_CLOSED = 0.01  # causal weights whose smallest stays below this for STALL_STEPS: the later times never train
OVERFIT = 100.0  # an equation's held-out loss this many times its training loss ...
OVERFIT_FLOOR = 1e-5  # ... and above this fraction of its first recorded loss: it fits its points, not the equation
STILL_FALLING = 10.0  # the second phase's loss fell at least this factor over ...
TAIL = 0.2  # ... its last fifth of iterations: the run ended on its budget, not on its progress


@dataclass(frozen=True)
class Finding:
    """One diagnosis: its kind (``stalled``, ``weights``, ``diverged``, ``still_falling``...), its subject, the text."""

    kind: str
    subject: str
    message: str

    @property
    def key(self) -> tuple[str, str]:
        """What makes two findings the same (printed once per run)."""
        return self.kind, self.subject


def diagnose(
    rows: Sequence[Row],
    terms: Sequence[str],
    final: bool = False,
    heldout: Mapping[str, tuple[float, float, int]] | None = None,
    spent: bool = False,
    names: tuple[str, str] | None = ("SPEC", "RUN"),
) -> list[Finding]:
    """All findings on the history ``rows`` of a run whose loss terms are ``terms``.

    Args:
        rows: history rows (pdec.run.history.Row: ``step``, ``losses``, ``weights``, ``causal``, ``errors``).
        terms: every term name of the problem.
        final: the run has ended: also judge the end state (divergence, equations that hold only at their points,
            errors of an unlearned solution).
        heldout: at the end, each equation's ``(training loss, held-out loss, points)`` (:func:`overfitted`).
        spent: the run ended because its steps ran out (not converged, not stopped): then a second phase whose loss
            was still falling fast is reported (:func:`still_falling`).
        names: the spec file and the run directory, for the command that continues such a run (None: a run that
            cannot be continued alone, such as one time window of a marched run).
    """
    if not rows:
        return []
    found = stalled_terms(rows, terms) + extreme_weights(rows[-1], terms) + causal_closed(rows)
    if final:
        found += diverged(rows, terms) + overfitted(heldout or {}, rows) + unlearned(rows)
        found += still_falling(rows, *(names or (None, None))) if spent else []
    return found


def stalled_terms(rows: Sequence[Row], terms: Sequence[str]) -> list[Finding]:
    """Terms whose loss has not halved over the last ``STALL_STEPS`` steps while all others are far below it.

    Only a term still above ``STUCK`` times its first recorded loss counts: one that has fallen by orders of magnitude
    and levelled off is converged (a residual with a large natural scale, such as a Helmholtz equation with a strong
    source, stays far above its conditions without anything being wrong).
    """
    last = rows[-1]
    start = next((r for r in rows if r.step >= last.step - STALL_STEPS), rows[0])
    if last.step - start.step < STALL_STEPS - 1 or start is last:
        return []
    window = [r for r in rows if r.step >= start.step]
    active = [k for k in terms if k in last.losses and k in start.losses]
    out = []
    for k in active:
        others = [last.losses[t] for t in active if t != k]
        now, then = last.losses[k], start.losses[k]
        best = min(r.losses.get(k, math.inf) for r in window)
        first = next(r.losses[k] for r in rows if k in r.losses)
        if others and best > 0.5 * then and now > GAP * max(others) and now > STUCK * first and now > 0:
            out.append(Finding("stalled", k, _stalled_message(k, now, max(others), last.step - start.step)))
    return out


def _stalled_message(term: str, loss: float, others: float, steps: int) -> str:
    """The text of a stalled-term finding."""
    name = term.split(":", 1)[-1]
    return (
        f"{term} has not fallen in the last {steps} steps (loss {loss:.2e}) while every other term is below "
        f"{others:.1e}: the network likely sits at a solution that satisfies the other terms trivially (such as "
        f"u = 0), which {term} alone cannot pull it away from. Try `weight.{name} = 10` with `weighting = fixed`, "
        "more Adam steps, or check that the condition and the equation agree"
    )


def extreme_weights(row: Row, terms: Sequence[str]) -> list[Finding]:
    """The weights of ``row`` when the largest is more than ``EXTREME`` times the smallest."""
    weights = {k: row.weights[k] for k in terms if k in row.losses and k in row.weights}
    positive = {k: w for k, w in weights.items() if w > 0}
    if len(positive) < 2:
        return []
    top, low = max(positive, key=positive.get), min(positive, key=positive.get)
    ratio = positive[top] / positive[low]
    if ratio <= EXTREME:
        return []
    message = (
        f"the weights span a factor {ratio:.1e}: {top} has {positive[top]:.2e} against {low}'s "
        f"{positive[low]:.2e}. A term that is already (nearly) satisfied has tiny gradients, and gradient-based "
        f"balancing amplifies them until it holds the network in place. Try `weighting = fixed`, or give {low} "
        "more points"
    )
    return [Finding("weights", top, message)]


def causal_closed(rows: Sequence[Row]) -> list[Finding]:
    """Causal weights whose smallest (the last time bin's) has stayed below ``CAUSAL_CLOSED`` for ``STALL_STEPS``.

    Then the equation is trained at the earliest times only, and the network is unconstrained at the later ones.
    """
    recent = [r.causal[""] for r in rows[-STALL_STEPS:] if "" in r.causal]  # the weight the equations share
    if len(rows) < STALL_STEPS or len(recent) < STALL_STEPS or max(recent) >= CAUSAL_CLOSED:
        return []
    message = (
        f"the causal weights of the last times stayed below {CAUSAL_CLOSED:g} for the last {STALL_STEPS} steps "
        f"(largest {max(recent):.2g}): the equation is trained at the earliest times only, and the later ones are "
        "left free. The tolerance `causal` is too strict for this residual's scale: lower it (e.g. causal = 0.1 or "
        "0.01), or train longer"
    )
    return [Finding("causal", "causal", message)]


def diverged(rows: Sequence[Row], terms: Sequence[str]) -> list[Finding]:
    """The run's unweighted loss (the sum of the term losses) ended above where it started, or is not finite.

    Only the terms trained from the first step count, so a stage switching more terms on is not a rise.
    """
    terms = [k for k in terms if k in rows[0].losses]
    first, last = _unweighted(rows[0], terms), _unweighted(rows[-1], terms)
    if math.isfinite(last) and last <= first:
        return []
    message = (
        f"the loss did not fall: the sum of the term losses went from {first:.3e} to {last:.3e}, so the run "
        "diverged or did not learn. Lower `lr`, or check the spec's scaling"
    )
    return [Finding("diverged", "loss", message)]


def _unweighted(row: Row, terms: Sequence[str]) -> float:
    """The sum of the term losses of one row."""
    return sum(row.losses[k] for k in terms if k in row.losses)


def unlearned(rows: Sequence[Row]) -> list[Finding]:
    """Fields whose last relative L2 error is at least ``NOT_LEARNED``."""
    errors: dict[str, float] = {}
    for row in rows:
        errors.update(row.errors)
    return [
        Finding(
            "error",
            field,
            f"the relative L2 error of {field} is {value:.3g}: the network has not learned the solution "
            "(see the warnings above for the term that held it back)",
        )
        for field, value in errors.items()
        if not value < NOT_LEARNED
    ]


def overfitted(heldout: Mapping[str, tuple[float, float, int]], rows: Sequence[Row]) -> list[Finding]:
    """Equations whose loss at held-out points (pdec.train.metrics.heldout_losses) is far above their training loss.

    ``heldout`` maps a term to ``(training loss, held-out loss, points)``. Only a held-out loss above
    ``OVERFIT_FLOOR`` times the term's first recorded loss counts (both tiny is not a finding).
    """
    out = []
    for term, (train, held, n) in heldout.items():
        first = next((r.losses[term] for r in rows if term in r.losses), math.inf)
        if held > OVERFIT * train and held > OVERFIT_FLOOR * first:
            out.append(Finding("overfitted", term, (
                f"{term} holds at its training points (loss {train:.2e}) but not at {n} fresh points "
                f"(loss {held:.2e}): the equation is not resolved between its points (the network fitted them, or "
                "the residual is concentrated where few points fall, such as a corner), and the solution may be wrong "
                "there. Raise `interior` (or `points.NAME`), or set `resample = N` to draw new points every N steps"
            )))
    return out


def still_falling(rows: Sequence[Row], spec: str | None = "SPEC", run: str | None = "RUN") -> list[Finding]:
    """The second phase's loss fell ``STILL_FALLING`` times or more over its last ``TAIL`` of iterations.

    ``spec`` and ``run`` (the spec file and the run directory) complete the command the finding gives; without them
    (a time window of a marched run, which resumes as a whole) it only says to raise ``iterations``.

    The run stopped because its iterations ran out while it was still making fast progress: more iterations will
    likely lower the error too. A second phase that levelled off (converged, or near its floor) falls far less over
    its last fifth. The weights are frozen in the second phase, so its losses compare.
    """
    second = [r for r in rows if r.phase not in (None, "adam") and r.loss is not None]
    adam = [r.step for r in rows if r.phase == "adam"]
    if len(second) < 2 or second[-1] is not rows[-1]:
        return []
    done = rows[-1].step - (max(adam) if adam else 0)  # the second phase's iterations
    start = next(r for r in second if r.step >= rows[-1].step - TAIL * done)
    now = rows[-1].loss
    if start is rows[-1] or not (now > 0 and start.loss >= STILL_FALLING * now):
        return []
    message = (
        f"the loss was still falling when the run ended: {start.loss / now:.0f}x over the last "
        f"{rows[-1].step - start.step} of the {done} second-phase iterations (to {now:.2e}), so more iterations will "
        "likely lower the error too. "
    )
    if spec is None or run is None:
        message += "Raise `iterations`"
    else:
        message += (f"Continue it from its checkpoint with `pdec run {spec} --resume {run} --iterations {2 * done}` "
                    "(in Python: pdec.fit(..., resume=..., iterations=...)), or raise `iterations`")
    return [Finding("still_falling", "loss", message)]
