"""docs/results/<name>.md from docs/results/<name>.json: every bench/task_*.py run merges
its rows (one method: its value and CPU seconds per seed) and rewrites the table, so a run
of one model keeps the rows that other runs measured.

    save("sentiment", "Rotten Tomatoes sentiment", "accuracy", "higher",
         "seqlab bag", [(0.79, 12.0), (0.78, 11.5)], "arch bag, 8 epochs", note="...")

A script that trains one seed per process passes ``seed=``: its (value, cpu) joins the
method's other seeds (replacing an earlier run of the same seed) when the settings are the
same, and is refused when they differ, so one row never mixes two recipes. A row stored
without its seeds holds seeds 0, 1, ... in order.
"""
from __future__ import annotations

import json
import platform
import time
from pathlib import Path

import numpy as np

DOCS = Path(__file__).resolve().parents[1] / "docs" / "results"


def save(name: str, title: str, metric: str, better: str, method: str, runs: list,
         settings: str = "", note: str = "", seed: int | None = None) -> Path:
    """Merge ``runs`` [(value, cpu_seconds) per seed] of ``method`` into docs/results/
    <name>.json and rewrite docs/results/<name>.md; returns the .md path. With ``seed``,
    ``runs`` is that one seed's run, added to the row's other seeds."""
    store = DOCS / f"{name}.json"
    data = json.loads(store.read_text()) if store.is_file() else {}
    data.update({"title": title, "metric": metric, "better": better})
    if note:
        data["note"] = note
    rows = data.setdefault("rows", {})
    row = {"runs": [[round(float(v), 4), round(float(c), 2)] for v, c in runs],
           "settings": settings, "date": time.strftime("%Y-%m-%d"),
           "machine": platform.machine()}
    if seed is not None:
        row.update(merge_seed(rows.get(method), row, int(seed), method))
    rows[method] = row
    store.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    return render(name)


def merge_seed(old: dict | None, new: dict, seed: int, method: str) -> dict:
    """The runs and seeds of ``old`` with ``new``'s one run as seed ``seed``."""
    if len(new["runs"]) != 1:
        raise ValueError(f"{method}: one run per seed, got {len(new['runs'])}")
    by_seed = {}
    if old is not None:
        if old["settings"] != new["settings"]:
            raise ValueError(f"{method}: stored with settings {old['settings']!r}, this run "
                             f"has {new['settings']!r}; give it another name")
        by_seed = dict(zip(old.get("seeds", range(len(old["runs"]))), old["runs"]))
    by_seed[seed] = new["runs"][0]
    seeds = sorted(by_seed)
    return {"runs": [by_seed[s] for s in seeds], "seeds": seeds}


def render(name: str) -> Path:
    data = json.loads((DOCS / f"{name}.json").read_text())
    rows, higher = data["rows"], data["better"] == "higher"
    mean = {m: float(np.mean([v for v, _ in r["runs"]])) for m, r in rows.items()}
    best = (max if higher else min)(mean, key=mean.get)
    lines = [f"# {data['title']}", "",
             f"Written from docs/results/{name}.json by the bench script the note below "
             f"names (each run merges its rows). {data['metric']} "
             f"({data['better']} is better) as mean +- standard deviation over seeds, each "
             f"seed listed; CPU seconds of the process per seed, median.", ""]
    if data.get("note"):
        lines += [data["note"], ""]
    lines += [f"| method | {data['metric']} | per seed | CPU s / seed | measured | settings |",
              "|---|---|---|---|---|---|"]
    for m in sorted(rows, key=mean.get, reverse=higher):
        r = rows[m]
        vals = [v for v, _ in r["runs"]]
        lines.append(f"| {'**' + m + '**' if m == best else m} | {np.mean(vals):.4f} +- "
                     f"{np.std(vals):.4f} | {' / '.join(f'{v:.4f}' for v in vals)}"
                     f"{seed_list(r)} | "
                     f"{np.median([c for _, c in r['runs']]):.2f} | {r['date']} | "
                     f"{r['settings']} |")
    out = DOCS / f"{name}.md"
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return out


def seed_list(row: dict) -> str:
    """' (seeds 0, 1, 2)' for a row that stores its seeds, else ''."""
    seeds = row.get("seeds")
    return f" (seeds {', '.join(map(str, seeds))})" if seeds else ""
