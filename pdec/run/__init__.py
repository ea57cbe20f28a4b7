"""The run directory (what training writes and ``pdec predict`` reads): Result, History, files, plots, loading back.

results.py holds the records a training returns (``Result``, ``History``), the run directory's files (checkpoint,
CSV, JSON), the plots and predictions, and ``load_result``. The trainer (pdec/train) writes it, so it sits below.
vtu.py writes the solution for ParaView (``solution.vtu``: a mesh of the points, the fields, residuals and errors);
tensorboard.py logs the history rows for TensorBoard, as a step callback ``pdec.fit`` hands the trainer.
"""
