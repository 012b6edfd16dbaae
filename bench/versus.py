"""One line per baseline beside seqlab's seeds: what every bench/task_*.py prints last."""
import numpy as np


def print_versus(label: str, values: list, metrics: dict, higher: bool) -> None:
    """``values``: seqlab's headline metric per seed; ``metrics``: one run's metrics.json
    (the baselines are fitted on the same split whatever the seed)."""
    mean, spread = float(np.mean(values)), float(np.std(values))
    base = metrics.get("baselines", {})
    cpu = metrics.get("baseline_cpu_seconds", {})
    print(f"{label}: seqlab {mean:.4g} +- {spread:.2g} over {len(values)} seed(s) "
          f"({' '.join(f'{v:.4g}' for v in values)})")
    for name in sorted(base, key=base.get, reverse=higher):
        ahead = (mean - base[name]) if higher else (base[name] - mean)
        print(f"    {name:18s} {base[name]:.4g}  (CPU {cpu.get(name, float('nan')):.2f} s)  "
              f"seqlab {'wins' if ahead > 0 else 'LOSES'} by {abs(ahead):.3g}")
    for name, why in metrics.get("baselines_skipped", {}).items():
        print(f"    {name:18s} skipped: {why}")
