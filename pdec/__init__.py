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


def compile(spec, **overrides):  # noqa: A001 - the public name is pdec.compile
    """Compile a spec (text, path, file object or Problem) to torch residuals; see ``pdec.compiler.compile``."""
    from pdec.compiler import compile as compile_spec

    return compile_spec(spec, **overrides)


def fit(compiled, **options):
    """Train a compiled problem and return its Result; see ``pdec.train.train`` (also ``compiled.train(...)``)."""
    from pdec.train import train

    return train(compiled, **options)


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
    "compile",
    "fit",
    "load",
]
