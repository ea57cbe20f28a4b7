"""The compiler (Problem -> CompiledProblem): terms, derivative plan, lowering to torch, code generation, constraints.

In pipeline order: derivatives.py (``Plan``) -> lower.py (sympy -> torch source) -> forward.py (forward-mode
partials) -> interpolation.py (tabulated coefficients) -> terms.py (typed ``Term`` records, point sets) ->
unknowns.py -> codegen.py (the generated module) -> constraints.py (exact conditions) -> driver.py (``compile``:
the stages in one straight line, ``CompiledProblem``).
"""
