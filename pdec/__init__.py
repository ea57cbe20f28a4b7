"""pdec: a symbolic PDE-to-PINN compiler. Write the problem as text, get a checked symbolic problem and a network.

The public API is curated here; importing pdec does not import torch (the compiler and trainer load it lazily).
"""

from pdec.core import registry  # the extension axes (pdec.registry.WEIGHTINGS, ...): names only, no torch
from pdec.core.errors import (
    PdecCompileError,
    PdecDataError,
    PdecError,
    PdecNameError,
    PdecRunError,
    PdecSemanticError,
    PdecSettingsError,
    PdecSyntaxError,
    PdecUnitError,
    PdecWarning,
)
from pdec.fit import fit  # the module pdec/fit.py is shadowed by its function here
from pdec.language.frontend import load
from pdec.language.problem import Problem

__version__ = "0.1.0"


def compile(spec, **overrides):  # noqa: A001 - the public name is pdec.compile
    """Compile a spec (text, path, file object or Problem) to torch residuals; see ``pdec.compiler.driver.compile``."""
    from pdec.compiler.driver import compile as compile_spec

    return compile_spec(spec, **overrides)


def infer(result, data, unknown=None):
    """Infer a parametric run's parameters from observations, the network frozen; see ``pdec.run.parametric.infer``."""
    from pdec.run.parametric import infer as infer_parameters

    return infer_parameters(result, data, unknown)


def __getattr__(name: str):
    """``pdec.Result``, the record a training returns, imported when first asked for (it needs torch)."""
    if name == "Result":
        from pdec.run.results import Result

        return Result
    raise AttributeError(f"module 'pdec' has no attribute {name!r}")


__all__ = [
    "PdecCompileError",
    "PdecDataError",
    "PdecError",
    "PdecNameError",
    "PdecRunError",
    "PdecSemanticError",
    "PdecSettingsError",
    "PdecSyntaxError",
    "PdecUnitError",
    "PdecWarning",
    "Problem",
    "Result",
    "compile",
    "fit",
    "infer",
    "load",
    "registry",
]
