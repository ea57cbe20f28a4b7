"""Equation discovery's record: the discovered equations, their terms and the rounds -> discovered.json, .tex, .pde.

A spec with a ``discover(...)`` library trains in rounds (pdec.train.discovery); :class:`Discovery` is what they
found, ``Result.discovery`` on the Python side and three files at the top of the run directory:

    discovered.json   each equation: its text, LaTeX, terms (kept or dropped, value, interval, share); the rounds
    discovered.tex    the equations in LaTeX
    discovered.pde    the spec with each library replaced by its discovered sum, ready for ``pdec run``
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pdec.run.intervals import Interval

JSON = "discovered.json"
TEX = "discovered.tex"
SPEC = "discovered.pde"


@dataclass(frozen=True)
class Term:
    """One candidate term after discovery.

    Attributes:
        coefficient: its coefficient's name (``burgers__1``).
        term: the candidate as written (``u*u_x``).
        value: the coefficient's final value (0 for a dropped term).
        kept: whether the term is in the discovered equation.
        share: the size of its contribution relative to its equation's largest term, when last measured.
        dropped_in: the round whose measurement dropped it (None when kept).
        interval: the coefficient's confidence interval in the last round (kept terms with readings; else None).
    """

    coefficient: str
    term: str
    value: float
    kept: bool
    share: float
    dropped_in: int | None = None
    interval: Interval | None = None

    def __str__(self) -> str:
        if not self.kept:
            return f"{self.term}: dropped after round {self.dropped_in} (share {self.share:.3g})"
        found = str(self.interval).partition(" = ")[2] if self.interval is not None else f"{self.value:.6g}"
        return f"{self.term}: {found} (share {self.share:.3g})"

    def to_dict(self) -> dict[str, Any]:
        """The JSON form."""
        interval = None if self.interval is None else self.interval.to_dict()
        return {"coefficient": self.coefficient, "term": self.term, "value": self.value, "kept": self.kept,
                "share": self.share, "dropped_in": self.dropped_in, "interval": interval}


@dataclass(frozen=True)
class Equation:
    """A discovered equation: ``text`` in pdec syntax (``u_t = -1.00002*u*u_x + 0.00318*u_xx``), ``latex``, terms."""

    name: str
    text: str
    latex: str
    terms: tuple[Term, ...]

    @property
    def kept(self) -> tuple[Term, ...]:
        """The terms in the discovered equation."""
        return tuple(t for t in self.terms if t.kept)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form."""
        return {"equation": self.text, "latex": self.latex, "terms": [t.to_dict() for t in self.terms]}


@dataclass(frozen=True)
class Round:
    """One training round: the coefficients' values and shares at its end, the terms it dropped, its cost."""

    index: int
    values: dict[str, float]
    shares: dict[str, float]
    dropped: tuple[str, ...]
    steps: int
    seconds: float
    loss: float

    def to_dict(self) -> dict[str, Any]:
        """The JSON form."""
        return {"round": self.index, "values": self.values, "shares": self.shares, "dropped": list(self.dropped),
                "steps": self.steps, "seconds": self.seconds, "loss": self.loss}


@dataclass(frozen=True)
class Discovery:
    """What equation discovery found (``Result.discovery``).

    Attributes:
        equations: equation name -> the discovered Equation.
        rounds: the training rounds, the first with the whole library.
        threshold: the share below which a term was dropped (``discover_threshold``).
        stable: whether the last round dropped nothing (else the rounds ran out: ``discover_rounds``).
        spec: the spec with each library replaced by its discovered sum (``discovered.pde``).
        run_dir: the run directory (each round's run in ``round-K`` under it).
    """

    equations: dict[str, Equation]
    rounds: tuple[Round, ...]
    threshold: float
    stable: bool
    spec: str
    run_dir: Path | None = None

    def __getitem__(self, name: str) -> Equation:
        return self.equations[name]

    def __str__(self) -> str:
        rounds = f"{len(self.rounds)} round{'s' if len(self.rounds) > 1 else ''}"
        state = "stable" if self.stable else "not stable: the rounds ran out (discover_rounds)"
        lines = [f"discovered (sequential thresholding at share {self.threshold:g}, {rounds}, {state}):"]
        for eq in self.equations.values():
            lines.append(f"  {eq.name}: {eq.text}")
            lines += [f"    {t}" for t in eq.terms]
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (``discovered.json``)."""
        return {"method": "sequential thresholding with retraining", "threshold": self.threshold,
                "stable": self.stable, "equations": {k: e.to_dict() for k, e in self.equations.items()},
                "rounds": [r.to_dict() for r in self.rounds], "spec": SPEC}

    def latex(self) -> str:
        """The equations as a LaTeX ``align`` block (``discovered.tex``)."""
        lines = [eq.latex.replace(" = ", " &= ", 1) for eq in self.equations.values()]
        return "\\begin{align}\n" + " \\\\\n".join(f"  {line}" for line in lines) + "\n\\end{align}\n"


__all__ = ["JSON", "SPEC", "TEX", "Discovery", "Equation", "Round", "Term"]
