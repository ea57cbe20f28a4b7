"""The language (text -> checked symbolic Problem): parse, syntax tree, names and checks, data readers, display.

In pipeline order: parse.py (lark tree) -> syntax.py (frozen AST with spans) -> vocabulary.py (the function table) ->
problem.py (the Problem records) -> display.py (a Problem shown in pdec syntax or LaTeX) -> finiteness.py,
corners.py (warnings) -> scope.py (the names known) -> data.py, coefficients.py (data and tables read) ->
expressions.py, declarations.py, domains.py (statements checked) -> symbolic.py (the whole spec) -> frontend.py
(``load``: text -> Problem).
"""
