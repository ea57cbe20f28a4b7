"""A non-dimensionalised run in the user's units: ``scales.json``, the network called in them, errors and VTU data.

A spec with units trains on scaled variables and fields (pdec.language.scaling): ``x = x0 + L * x'`` and
``u = u0 + U * u'``. ``scales.json`` in the run directory records every ``(offset, scale)`` with its unit and the
number each residual was divided by; :class:`Rescaled` wraps the trained network so that it takes points and returns
fields in the user's units (``Result.predict``, ``pdec predict``, the plots).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from pdec.run.functions import LearnedFunction

SCALES = "scales.json"


class Rescaled(torch.nn.Module):
    """A network of the scaled variables and fields, called in the user's units: ``u = u0 + U * net((x - x0) / L)``.

    Args:
        net: the trained network (scaled points ``[N, d]`` -> scaled fields ``[N, m]``).
        variables: ``(offset, scale)`` per input column.
        fields: ``(offset, scale)`` per output column.
    """

    def __init__(self, net: torch.nn.Module, variables: Sequence[tuple[float, float]],
                 fields: Sequence[tuple[float, float]]) -> None:
        super().__init__()
        self.net = net
        p = next(net.parameters())
        as_tensor = lambda values: torch.tensor(values, dtype=p.dtype, device=p.device)  # noqa: E731
        self.register_buffer("x0", as_tensor([o for o, _ in variables]))
        self.register_buffer("length", as_tensor([s for _, s in variables]))
        self.register_buffer("u0", as_tensor([o for o, _ in fields]))
        self.register_buffer("scale", as_tensor([s for _, s in fields]))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The fields in the user's units at points in the user's units."""
        return self.u0 + self.scale * self.net((x - self.x0) / self.length)


def affine(scales: Mapping[str, Any], kind: str, names: Sequence[str]) -> list[tuple[float, float]]:
    """``(offset, scale)`` of each of ``names`` from a scales.json dict (``kind``: variables, fields or functions;
    ``(0, 1)`` where it has none, as in a scales.json written before unknown functions were scaled)."""  # noqa: D205, D209
    table = scales.get(kind, {})
    return [(float(table[n]["offset"]), float(table[n]["scale"])) if n in table else (0.0, 1.0) for n in names]


def rescaled(net: torch.nn.Module, scales: Mapping[str, Any], variables: Sequence[str],
             fields: Sequence[str]) -> Rescaled:
    """The network of a scaled run, in the user's units."""
    return Rescaled(net, affine(scales, "variables", variables), affine(scales, "fields", fields))


def rescaled_functions(functions: Mapping[str, Any], scales: Mapping[str, Any]) -> dict[str, Any]:
    """The unknown functions of a scaled run (``{name: LearnedFunction}``), called at points in the user's units and
    returning SI values: ``k = scale * net((x - x0) / L)``."""  # noqa: D205, D209
    out = {}
    for name, f in functions.items():
        values = affine(scales, "functions", [name])
        out[name] = LearnedFunction(name, f.args, Rescaled(f.net, affine(scales, "variables", f.args), values))
    return out


def write_scales(run_dir: Path, scales: Mapping[str, Any]) -> None:
    """``RUN/scales.json``."""
    (Path(run_dir) / SCALES).write_text(json.dumps(scales, indent=2) + "\n", encoding="utf-8")


def read_scales(run_dir: Path) -> dict[str, Any] | None:
    """The scales of a run directory (None for a run trained as written)."""
    path = Path(run_dir) / SCALES
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


def user_points(scales: Mapping[str, Any], variables: Sequence[str], points: np.ndarray) -> np.ndarray:
    """Scaled points -> the user's units."""
    maps = np.array(affine(scales, "variables", variables)).reshape(-1, 2)
    return maps[:, 0] + maps[:, 1] * np.asarray(points, dtype=float)


def scaled_points(scales: Mapping[str, Any], variables: Sequence[str], points: np.ndarray) -> np.ndarray:
    """Points in the user's units -> the scaled variables."""
    maps = np.array(affine(scales, "variables", variables)).reshape(-1, 2)
    return (np.asarray(points, dtype=float) - maps[:, 0]) / maps[:, 1]


def user_values(scales: Mapping[str, Any], fields: Sequence[str], values: np.ndarray, shift: bool = True) -> np.ndarray:
    """Scaled field values (columns ``fields``) -> the user's units (``shift=False``: differences, no offset)."""
    maps = np.array(affine(scales, "fields", fields)).reshape(-1, 2)
    return maps[:, 0] * shift + maps[:, 1] * np.asarray(values, dtype=float)


def user_data(scales: Mapping[str, Any], data: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """VTU point data in the user's units: fields and ``reference:F`` shifted and scaled, ``error:F`` scaled."""
    out = {}
    for key, values in data.items():
        kind, _, name = key.rpartition(":")
        if name in scales["fields"] and kind in ("", "reference", "error"):
            values = user_values(scales, [name], np.asarray(values).reshape(-1, 1), kind != "error")[:, 0]
        out[key] = values
    return out


def relative_errors(predicted: np.ndarray, truth: np.ndarray, fields: Sequence[str]) -> dict[str, float]:
    """``{field: ||predicted - truth|| / ||truth||}`` by column."""
    out = {}
    for j, name in enumerate(fields):
        norm = float(np.linalg.norm(truth[:, j]))
        out[name] = float(np.linalg.norm(predicted[:, j] - truth[:, j])) / (norm if norm > 0 else 1.0)
    return out
