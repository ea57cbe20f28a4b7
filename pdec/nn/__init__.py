"""Networks (CompiledProblem -> torch module): input maps, the MLP and modified MLP, time windows' networks.

Modules: embeddings.py (periodic embedding, Fourier features), networks.py (``make_net`` over the ``NETWORKS``
registry), windows.py (each time window's Problem; the windows' networks chained).
"""
