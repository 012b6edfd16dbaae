"""A run's report: one static HTML page with its metrics and its plots.

The PNGs are embedded (base64), so the page can be mailed or moved on its own.

    >>> import tempfile, pathlib
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "report.html"
    >>> write_html(out, "demo", [("classify", {"accuracy": 0.9})], []).name
    'report.html'
"""
from __future__ import annotations

import base64
import html
from pathlib import Path
from typing import Iterable, Sequence

from seqlab.runs import Run, atomic_write

_SHOWN_ELSEWHERE = ("baselines", "baseline_cpu_seconds", "baselines_skipped")

_STYLE = """
body { font-family: sans-serif; max-width: 1000px; margin: 2em auto; color: #222; }
table { border-collapse: collapse; margin: 1em 0; }
td, th { border: 1px solid #ccc; padding: 4px 10px; text-align: left; }
th { background: #f2f2f2; }
img { max-width: 100%; border: 1px solid #eee; margin: 0.5em 0; }
code { background: #f6f6f6; padding: 1px 4px; }
p.win { color: #1a6b1a; } p.loss { color: #a31515; }
"""


def _fmt(value) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, dict):
        return ", ".join(f"{k}: {_fmt(v)}" for k, v in value.items())
    return str(value)


def table(rows: Sequence[dict]) -> str:
    """An HTML table from a list of dicts (columns in first-seen order)."""
    columns: list[str] = []
    for row in rows:
        columns += [k for k in row if k not in columns]
    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(_fmt(row.get(c, '')))}</td>"
                                    for c in columns) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


# what each plot a run writes shows (the caption under it)
CAPTIONS = {
    "learning_curves": "Training loss and validation metrics after each epoch.",
    "forecast": "Held-out forecast: the end of the history, the true test values and each "
                "forecast (the model and the baselines).",
    "forecast_series": "Held-out forecast of the first series of the file (up to four): "
                       "each one's history end, true test values, the model's forecast "
                       "and the seasonal-naive one.",
    "confusion_matrix": "Confusion matrix on the test part: rows the true class, columns "
                        "the predicted one.",
    "per_tag_f1": "F1 of each tag on the test part: the model beside the most-frequent-tag "
                  "baseline.",
    "samples": "Text sampled from the model at two temperatures.",
    "attention": "Attention weights of one test example: each output step (row) over the "
                 "input (columns).",
    "inspect_gradient_flow": "Gradient norm ||dL/dh_t|| along time for each recurrent layer.",
    "inspect_hidden_states": "Hidden-state activations along time.",
    "inspect_gates": "Gate activations: how many sit saturated near 0 or 1.",
}


def caption(path: Path) -> str:
    """What the plot at ``path`` shows (its file name when seqlab does not know it)."""
    return CAPTIONS.get(Path(path).stem, Path(path).stem.replace("_", " "))


def image(path: Path, text: str = "") -> str:
    data = base64.b64encode(Path(path).read_bytes()).decode("ascii")
    return (f'<figure><img alt="{html.escape(caption(path))}" '
            f'src="data:image/png;base64,{data}"><figcaption>'
            f"{html.escape(text or caption(path))}</figcaption></figure>")


def baselines_html(metrics: dict) -> str:
    """The headline sentence and the table of baselines (value, CPU seconds)."""
    from seqlab.baselines import sentence
    if not metrics.get("baselines"):
        return ""
    best = (metrics.get("best_baseline") or {}).get("name")
    seconds = metrics.get("baseline_cpu_seconds", {})
    metric = metrics.get("headline_metric", "value")
    rows = [{"baseline": ("best: " if k == best else "") + k, metric: v,
             "CPU seconds": seconds.get(k, "")} for k, v in metrics["baselines"].items()]
    rows += [{"baseline": k, metric: "skipped", "CPU seconds": why}
             for k, why in metrics.get("baselines_skipped", {}).items()]
    verdict = "win" if metrics.get("model_beats_best_baseline") else "loss"
    return (f"<h2>model against the baselines</h2><p class='{verdict}'><b>"
            f"{html.escape(sentence(metrics) or '')}</b></p>{table(rows)}")


def write_html(path: Path, title: str, sections: Iterable[tuple],
               images: Iterable[Path] = (), summary_rows: Sequence[dict] = ()) -> Path:
    """Write the page: an optional summary table, then each section (name, metrics[,
    its plots]): its headline against the baselines, its metrics, its own plots, each
    captioned with what it shows; then any other ``images``."""
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}"
             f"</title><style>{_STYLE}</style></head><body><h1>{html.escape(title)}</h1>"]
    if summary_rows:
        parts.append(table(summary_rows))
    for name, metrics, *own in sections:
        parts.append(f"<h2>{html.escape(name)}</h2>")
        parts.append(baselines_html(metrics))
        plain = {k: v for k, v in metrics.items() if k not in _SHOWN_ELSEWHERE}
        parts.append(table([{"metric": k, "value": v} for k, v in plain.items()]))
        for img in (own[0] if own else ()):
            parts.append(image(img))
    for img in images:
        parts.append(image(img))
    parts.append("</body></html>")
    atomic_write(Path(path), "\n".join(parts).encode("utf-8"))
    return Path(path)


def write_run_report(run: Run) -> Path:
    """report.html of one run: config, test metrics, every PNG under plots/."""
    metrics = run.read_json("metrics.json") if run.file("metrics.json").is_file() else {}
    if run.file("timings.json").is_file():
        metrics.update(run.read_json("timings.json"))
    config = f"<h2>config.toml</h2><pre>{html.escape(run.config.to_toml())}</pre>"
    path = write_html(run.file("report.html"), f"seqlab run: {run.config.name} "
                      f"({run.config.task})",
                      [("test metrics", metrics, sorted(run.plots_dir.glob("*.png")))])
    text = path.read_text(encoding="utf-8").replace("</body>", config + "</body>")
    atomic_write(path, text.encode("utf-8"))
    return path
