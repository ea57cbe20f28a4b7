"""The training schedule: Terms and Settings -> which terms train at each step, the resampling round, the lr factor.

Pure functions of the step (1-based), so a resumed run follows exactly the schedule of an uninterrupted one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from pdec.compiler.terms import Term
from pdec.core.errors import PdecRunError
from pdec.core.settings import Settings, Stage
from pdec.language.problem import Kind


@dataclass(frozen=True)
class Schedule:
    """Per step: the active terms (stages, then every term), the resampling round and the learning-rate factor.

    ``stages`` holds ``(last step, active term names)`` per stage.
    """

    terms: tuple[str, ...]
    stages: tuple[tuple[int, tuple[str, ...]], ...]
    settings: Settings

    def active(self, step: int) -> tuple[str, ...]:
        """The terms trained at ``step``: the stage's terms, then every term."""
        for end, terms in self.stages:
            if step <= end and step <= self.settings.adam:
                return terms
        return self.terms

    def round(self, step: int) -> int:
        """The resampling round of ``step``.

        0 without resampling; in the second phase the last Adam round, or with ``resample_second = K`` a new round
        every ``K`` iterations.
        """
        every, adam = self.settings.resample, max(self.settings.adam, 1)
        last = (min(step, adam) - 1) // every if every else 0
        again = self.settings.resample_second
        if step <= self.settings.adam or not again:
            return last
        return last + 1 + (step - self.settings.adam - 1) // again

    def lr_factor(self, step: int) -> float:
        """``lr_decay ** ((step - 1) // decay_every)``: the decay of the base learning rates at ``step``."""
        return self.settings.lr_decay ** ((step - 1) // self.settings.decay_every)


def schedule(terms: Mapping[str, Term], settings: Settings, has_unknowns: bool) -> Schedule:
    """The schedule of a run; PdecRunError when a stage names an unknown term or runs past the Adam steps."""
    by_bare = {t.bare: name for name, t in terms.items()}
    plan, end = [], 0
    for stage in settings.stages or default_stages(terms, settings, has_unknowns):
        missing = [n for n in stage.terms if n not in by_bare]
        if missing:
            raise PdecRunError(
                f"stage names unknown term(s) {', '.join(missing)}", stage.span, "known terms: " + ", ".join(by_bare)
            )
        end += stage.steps
        plan.append((end, tuple(name for name, t in terms.items() if t.bare in stage.terms)))
    if end > settings.adam:
        raise PdecRunError(
            f"the stages run to step {end}, past the {settings.adam} Adam steps",
            settings.stages[-1].span,
            f"stages switch terms on during Adam: set adam to at least {end}, or shorten the stages",
        )
    return Schedule(tuple(terms), tuple(plan), settings)


def default_stages(terms: Mapping[str, Term], settings: Settings, has_unknowns: bool) -> tuple[Stage, ...]:
    """Without stages in the spec, an inverse problem with data trains on the data alone first.

    ``data_first`` of the Adam steps fit the network to the observations; when the equations switch on, the
    unknowns are fitted to them with the network frozen (``pdec.train.inverse.fit_unknowns``), then everything trains
    together.
    """
    data = tuple(t.bare for t in terms.values() if t.kind == Kind.DATA)
    steps = round(settings.data_first * settings.adam)
    if not data or not has_unknowns or steps < 1:
        return ()
    return (Stage(data, steps),)
