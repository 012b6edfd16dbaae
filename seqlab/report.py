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

_STYLE = """
body { font-family: sans-serif; max-width: 1000px; margin: 2em auto; color: #222; }
table { border-collapse: collapse; margin: 1em 0; }
td, th { border: 1px solid #ccc; padding: 4px 10px; text-align: left; }
th { background: #f2f2f2; }
img { max-width: 100%; border: 1px solid #eee; margin: 0.5em 0; }
code { background: #f6f6f6; padding: 1px 4px; }
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


def image(path: Path) -> str:
    data = base64.b64encode(Path(path).read_bytes()).decode("ascii")
    return (f'<figure><img alt="{html.escape(Path(path).stem)}" '
            f'src="data:image/png;base64,{data}"><figcaption>{html.escape(Path(path).name)}'
            f"</figcaption></figure>")


def write_html(path: Path, title: str, sections: Iterable[tuple[str, dict]],
               images: Iterable[Path], summary_rows: Sequence[dict] = ()) -> Path:
    """Write the page: an optional summary table, a metrics table per section, images."""
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}"
             f"</title><style>{_STYLE}</style></head><body><h1>{html.escape(title)}</h1>"]
    if summary_rows:
        parts.append(table(summary_rows))
    for name, metrics in sections:
        parts.append(f"<h2>{html.escape(name)}</h2>")
        parts.append(table([{"metric": k, "value": v} for k, v in metrics.items()]))
    for img in images:
        parts.append(image(img))
    parts.append("</body></html>")
    atomic_write(Path(path), "\n".join(parts).encode("utf-8"))
    return Path(path)


def write_run_report(run: Run) -> Path:
    """report.html of one run: config, test metrics, every PNG under plots/."""
    metrics = run.read_json("metrics.json") if run.file("metrics.json").is_file() else {}
    config = f"<h2>config.toml</h2><pre>{html.escape(run.config.to_toml())}</pre>"
    path = write_html(run.file("report.html"), f"seqlab run: {run.config.name} "
                      f"({run.config.task})", [("test metrics", metrics)],
                      sorted(run.plots_dir.glob("*.png")))
    text = path.read_text(encoding="utf-8").replace("</body>", config + "</body>")
    atomic_write(path, text.encode("utf-8"))
    return path
