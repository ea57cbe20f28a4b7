"""The trivial-solution collapse of per-term inverse-Dirichlet weighting, and the default that avoids it (a figure).

Run from the repository root (about a minute on one thread)::

    python benchmarks/plot_collapse.py          # writes docs/collapse.png and prints the final errors and weights

Short viscous Burgers run (``examples/burgers.pde`` with a 4x20 network, 2,000 interior points, 2,000 Adam steps, no
L-BFGS, seed 0), trained twice from the same initial network: with the paper's per-term rule
(``weighting = inverse_dirichlet``) and with the default (``inverse_dirichlet_grouped``). The figure shows each
term's loss and weight over the steps.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402

from pdec import fit  # noqa: E402
from pdec.compiler.driver import compile as compile_spec  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SHORT = dict(layers=[20, 20, 20, 20], interior=2000, adam=2000, lbfgs=0, eval_every=100, seed=0)
RULES = {"inverse_dirichlet": "paper's rule, per term", "inverse_dirichlet_grouped": "default, grouped"}


def main() -> None:
    """Train with both rules and draw losses (top) and weights (bottom) side by side."""
    torch.set_num_threads(1)
    compiled = compile_spec(ROOT / "examples" / "burgers.pde")
    fig, axes = plt.subplots(2, 2, figsize=(11, 7), sharex=True)
    with tempfile.TemporaryDirectory() as tmp:
        for col, (rule, title) in enumerate(RULES.items()):
            result = fit(compiled, out=Path(tmp) / rule, quiet=True, plots=False, weighting=rule, **SHORT)
            h = result.history
            for term in compiled.terms:
                axes[0, col].semilogy(h["step"], h[f"loss:{term}"], label=term)
                axes[1, col].semilogy(h["step"], h[f"weight:{term}"], label=term)
            error = result.metrics["errors"]["u"]
            axes[0, col].set_title(f"{title}: relative L2 error {error:.2f}")
            print(rule, f"error {error:.3f}", {k: f"{v:.3g}" for k, v in result.metrics["weights"].items()})
    axes[0, 0].set_ylabel("term loss")
    axes[1, 0].set_ylabel("term weight")
    for ax in axes[1]:
        ax.set_xlabel("Adam step")
    axes[0, 1].legend(fontsize=8)
    fig.tight_layout()
    out = ROOT / "docs" / "collapse.png"
    fig.savefig(out, dpi=110)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
