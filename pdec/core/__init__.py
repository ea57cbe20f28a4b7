"""Core (used by every stage, using none): source spans, the error hierarchy, the registries, the settings.

Modules: source.py (``Source``, ``Span``), errors.py (``PdecError`` and its kinds), registry.py (one ``Registry`` per
extension axis, entries named ``"module:attribute"``), settings.py (``Settings``, ``CompileSettings``).
"""
