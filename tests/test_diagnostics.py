"""Run diagnostics: stalled terms, extreme weights, divergence, unlearned fields and a loss still falling at the end,
on hand-made histories."""

import pytest

from pdec.run.history import Row
from pdec.train.diagnostics import (
    CAUSAL_CLOSED,
    EXTREME,
    OVERFIT,
    OVERFIT_FLOOR,
    STALL_STEPS,
    STILL_FALLING,
    causal_closed,
    diagnose,
    diverged,
    extreme_weights,
    overfitted,
    stalled_terms,
    still_falling,
    unlearned,
)

TERMS = ("pde:burgers", "ic:initial", "bc:left")


def _rows(n, ic, pde=1e-5, weight_pde=1.0, step0=1):
    return [
        Row.from_flat({"step": step0 + i, "loss:pde:burgers": pde, "loss:ic:initial": ic(i), "loss:bc:left": 1e-6,
                       "weight:pde:burgers": weight_pde, "weight:ic:initial": 1.0, "weight:bc:left": 3.0})
        for i in range(n)
    ]


def test_a_term_stuck_far_above_the_others_is_named():
    rows = _rows(STALL_STEPS + 50, ic=lambda i: 0.49 + 0.001 * (i % 3))
    (found,) = stalled_terms(rows, TERMS)
    assert found.kind == "stalled" and found.subject == "ic:initial"
    assert "ic:initial has not fallen" in found.message and "weight.initial" in found.message


@pytest.mark.parametrize(
    "ic, n, why",
    [
        (lambda i: 0.5 * 0.999**i, STALL_STEPS + 50, "still falling (halves within the window)"),
        (lambda i: 0.5, STALL_STEPS // 2, "too short a history to judge"),
        (lambda i: 5e-4, STALL_STEPS + 50, "within a factor 100 of the others"),
        (lambda i: 0.5 if i == 0 else 1e-3, STALL_STEPS + 50, "fell 500-fold, then levelled off: converged"),
    ],
)
def test_no_stall_reported(ic, n, why):
    assert stalled_terms(_rows(n, ic=ic), TERMS) == [], why


def test_extreme_weights_name_the_heaviest_and_the_lightest_term():
    row = _rows(1, ic=lambda i: 0.5, weight_pde=2 * EXTREME)[0]
    (found,) = extreme_weights(row, TERMS)
    assert found.subject == "pde:burgers" and "ic:initial" in found.message and "2.00e+05" in found.message
    assert extreme_weights(_rows(1, ic=lambda i: 0.5, weight_pde=EXTREME / 10)[0], TERMS) == []


def test_divergence_and_unlearned_fields_only_at_the_end():
    rows = _rows(10, ic=lambda i: 0.1 * 10**i)
    rows[-1]["error:u"] = 0.98
    assert [f.kind for f in diverged(rows, TERMS)] == ["diverged"]
    assert [f.subject for f in unlearned(rows)] == ["u"]
    assert diagnose(rows, TERMS) == []  # during the run: neither is judged
    assert {f.kind for f in diagnose(rows, TERMS, final=True)} == {"diverged", "error"}
    falling = _rows(10, ic=lambda i: 0.5 / (i + 1))
    falling[-1]["error:u"] = 1e-3
    assert diagnose(falling, TERMS, final=True) == []


def test_terms_switched_on_by_a_stage_are_not_a_rise():
    rows = _rows(10, ic=lambda i: 0.5 / (i + 1))
    for r in rows[:5]:
        del r["loss:pde:burgers"]  # a data-first stage: the equation switches on at step 6 with a large loss
    for r in rows[5:]:
        r["loss:pde:burgers"] = 10.0
    assert diverged(rows, TERMS) == []


def test_causal_weights_that_never_open_are_named():
    # examples/advection.pde at causal = 1, before it marched in time windows: the last time bin's weight stayed 0
    # for 10,000 steps (error 3.6).
    rows = _rows(STALL_STEPS + 10, ic=lambda i: 0.5 / (i + 1))
    for r in rows:
        r["causal:min_weight"] = 0.0
    (found,) = causal_closed(rows)
    assert found.kind == "causal" and "causal = 0.1" in found.message
    assert [f.kind for f in diagnose(rows, TERMS)] == ["causal"]  # during the run too
    rows[-1]["causal:min_weight"] = 2 * CAUSAL_CLOSED  # they opened: the later times train
    assert causal_closed(rows) == []
    assert causal_closed(rows[:STALL_STEPS // 2]) == []  # too short a history to judge


def test_an_equation_that_holds_only_at_its_points_is_named():
    rows = _rows(10, ic=lambda i: 0.5, pde=2.0)  # the equation's first recorded loss: 2
    (found,) = overfitted({"pde:burgers": (1e-9, 0.3, 35)}, rows)
    assert found.kind == "overfitted" and found.subject == "pde:burgers"
    assert "35 fresh points" in found.message and "resample" in found.message and "interior" in found.message
    ratio_too_small = {"pde:burgers": (1e-4, 0.9 * OVERFIT * 1e-4, 35)}
    both_tiny = {"pde:burgers": (1e-12, 0.9 * OVERFIT_FLOOR * 2.0, 35)}  # 1e9 times higher, still negligible
    assert overfitted(ratio_too_small, rows) == [] and overfitted(both_tiny, rows) == []
    # examples/allen_cahn.pde seed 2 on 2,000 points: first loss 12.3, 4.9e-7 at its points, 3.9e-4 at fresh ones
    # (800x, but only 3e-5 of the first loss); its error was 1.2e-2 against 1.2e-3 on 4,000 points
    allen_cahn = _rows(10, ic=lambda i: 0.5, pde=12.3)
    (found,) = overfitted({"pde:burgers": (4.9e-7, 3.9e-4, 2000)}, allen_cahn)
    assert found.subject == "pde:burgers"
    kinds = [f.kind for f in diagnose(rows, TERMS, final=True, heldout={"pde:burgers": (1e-9, 0.3, 35)})]
    assert kinds == ["overfitted"] and diagnose(rows, TERMS, heldout={"pde:burgers": (1e-9, 0.3, 35)}) == []


def _second_phase(factor_per_chunk, chunks=50, adam=100):
    """Adam rows, then a second phase of ``chunks`` rows 10 iterations apart, the loss times ``factor`` each."""
    rows = [Row.from_flat({"step": i, "phase": "adam", "loss": 1.0}) for i in range(1, adam + 1)]
    for k in range(chunks):
        loss = 1e-2 * factor_per_chunk**k
        rows.append(Row.from_flat({"step": adam + 10 * (k + 1), "phase": "ssbroyden", "loss": loss,
                                   "loss:pde:burgers": loss}))
    return rows


def test_a_second_phase_still_falling_fast_at_its_end_is_named():
    rows = _second_phase(0.8)  # 500 iterations; the last 100 (ten rows) fall 0.8**10 = 1/9.3 ...
    assert still_falling(rows) == []  # ... just short of the threshold
    rows = _second_phase(0.75)  # ... 1/17.8 here
    (found,) = still_falling(rows)
    assert found.kind == "still_falling" and 0.75**-10 > STILL_FALLING
    assert "18x over the last 100 of the 500 second-phase iterations" in found.message
    assert "--resume RUN --iterations 1000" in found.message and "pdec run SPEC" in found.message
    assert diagnose(rows, ("pde:burgers",), final=True) == []  # only a run whose steps ran out: not a converged one
    assert [f.kind for f in diagnose(rows, ("pde:burgers",), final=True, spent=True)] == ["still_falling"]
    assert diagnose(rows, ("pde:burgers",), spent=True) == []  # judged at the end only
    (window,) = diagnose(rows, ("pde:burgers",), final=True, spent=True, names=None)  # a marched run's window
    assert window.message.endswith("Raise `iterations`") and "--resume" not in window.message


@pytest.mark.parametrize(
    "rows, why",
    [
        (_second_phase(0.99), "levelled off"),
        (_second_phase(0.5)[:101], "one second-phase row: nothing to compare"),
        (_second_phase(0.5, chunks=0), "Adam only"),
    ],
)
def test_no_still_falling_reported(rows, why):
    assert still_falling(rows) == [], why
