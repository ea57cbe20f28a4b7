"""pdec: a symbolic PDE-to-PINN compiler. Write the problem as text, get a checked symbolic problem and a network.

The public API is curated here; importing pdec does not import torch (the compiler and trainer load it lazily).
"""

from pdec.errors import (
    PdecCompileError,
    PdecDataError,
    PdecError,
    PdecNameError,
    PdecRunError,
    PdecSemanticError,
    PdecSettingsError,
    PdecSyntaxError,
    PdecWarning,
)
from pdec.frontend import load
from pdec.problem import Problem

__version__ = "0.1.0"

__all__ = [
    "PdecCompileError",
    "PdecDataError",
    "PdecError",
    "PdecNameError",
    "PdecRunError",
    "PdecSemanticError",
    "PdecSettingsError",
    "PdecSyntaxError",
    "PdecWarning",
    "Problem",
    "load",
]
