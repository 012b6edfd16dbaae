"""Pictures of what ``seqlab.inspect`` measures (matplotlib, Agg backend; PNG files)."""
from __future__ import annotations

from pathlib import Path
from typing import Mapping, Optional

import numpy as np

from seqlab.inspect.gradients import GateReport, GradientFlow


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_gradient_flow(flows: Mapping[str, GradientFlow] | GradientFlow, path,
                       title: str = "||dL/dh_t|| per time step (log scale)") -> Path:
    """One curve per model (or per layer): the gradient norm reaching each time step.

    ``flows``: a GradientFlow, or {label: GradientFlow} to compare models on one figure.
    """
    plt = _pyplot()
    if isinstance(flows, GradientFlow):
        flows = {"": flows}
    fig, ax = plt.subplots(figsize=(7, 4))
    for label, flow in flows.items():
        for layer, norms in flow.norms.items():
            name = f"{label} {layer}".strip() if len(flow.norms) > 1 else (label or layer)
            steps = np.arange(1, len(norms) + 1)
            ax.semilogy(steps, np.maximum(norms, 1e-300), label=name)
    ax.set_xlabel("time step t")
    ax.set_ylabel("||dL/dh_t||")
    ax.set_title(title)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    return _save(fig, path)


def plot_gates(report: GateReport, path, sample: int = 0, max_units: int = 32) -> Path:
    """Heatmaps of each gate over time (one sample, up to ``max_units`` units)."""
    plt = _pyplot()
    panels = [(layer, g, v) for layer, gates in report.values.items() for g, v in gates.items()]
    if not panels:
        raise ValueError("plot_gates: no LSTM/GRU gates were recorded (SimpleRNN has none).")
    fig, axes = plt.subplots(len(panels), 1, figsize=(8, 1.8 * len(panels)), squeeze=False)
    sat = report.saturation()
    for ax, (layer, gate, values) in zip(axes[:, 0], panels):
        im = ax.imshow(values[sample, :, :max_units].T, aspect="auto", vmin=0, vmax=1,
                       cmap="viridis", interpolation="nearest")
        ax.set_ylabel(f"{layer}\n{gate}", fontsize=8)
        ax.set_title(f"gate {gate}: saturated {sat[layer][gate]:.0%}", fontsize=8)
        fig.colorbar(im, ax=ax, fraction=0.02)
    axes[-1, 0].set_xlabel("time step")
    return _save(fig, path)


def plot_hidden_states(states: Mapping[str, np.ndarray], path, sample: int = 0,
                       max_units: int = 8) -> Path:
    """The trajectory h_t of a few units of each layer."""
    plt = _pyplot()
    fig, axes = plt.subplots(len(states), 1, figsize=(7, 2.5 * len(states)), squeeze=False)
    for ax, (layer, h) in zip(axes[:, 0], states.items()):
        ax.plot(h[sample, :, :max_units])
        ax.set_title(f"{layer}: h_t, first {min(max_units, h.shape[-1])} units", fontsize=9)
    axes[-1, 0].set_xlabel("time step")
    return _save(fig, path)


def plot_gradient_norms(norms: Mapping[str, list], path, top: Optional[int] = 12) -> Path:
    """Per-parameter gradient norms over training (from ``GradientNormLogger``)."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 4))
    for name, values in list(norms.items())[:top]:
        ax.semilogy(np.maximum(values, 1e-300), label=name)
    ax.set_xlabel("batch")
    ax.set_ylabel("||grad||")
    ax.set_title("gradient norm per parameter")
    ax.legend(fontsize=7)
    return _save(fig, path)


def _save(fig, path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    _pyplot().close(fig)
    return path
