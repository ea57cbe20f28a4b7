"""The run directory (what training writes and ``pdec predict`` reads): Result, History, files, plots, loading back.

results.py holds the records a training returns (``Result``, ``History``), the run directory's files (checkpoint,
CSV, JSON), the plots and predictions, and ``load_result``. The trainer (pdec/train) writes it, so it sits below.
"""
