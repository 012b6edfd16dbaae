"""Baselines a practitioner would try, fitted on the same split as the model.

One module a family; each baseline returns the task's own metric on the test part:

    text.py       TF-IDF + logistic regression, NB-weighted logistic regression (NBSVM)
    symbols.py    logistic regression on one-hot positions (fixed-length symbol sequences)
    series.py     1-NN Euclidean and MiniRocket (aeon) for numeric series classification
    forecast.py   seasonal naive, ETS chosen by AIC, AR chosen by AIC (statsmodels)
    language.py   interpolated modified Kneser-Ney, order chosen on validation
    tagging.py    the most frequent tag of each word

``compare`` turns the measured baselines into what a run reports: the best one and
whether the model beats it.

    >>> out = compare("accuracy", 0.80, {"tfidf_logreg": 0.85, "majority": 0.5}, higher=True)
    >>> out["best_baseline"], out["model_beats_best_baseline"], round(out["margin"], 2)
    ({'name': 'tfidf_logreg', 'value': 0.85}, False, -0.05)
"""
from __future__ import annotations

import time
from typing import Callable, Optional


def timed(fn: Callable, *args, **kwargs) -> tuple[object, float]:
    """(fn(*args, **kwargs), CPU seconds it took in this process)."""
    t0 = time.process_time()
    value = fn(*args, **kwargs)
    return value, time.process_time() - t0


def run_all(fns: dict[str, Callable[[], Optional[float]]]) -> tuple[dict, dict, dict]:
    """Run each baseline ``name -> fn()`` (fn returns the metric, or None when it does not
    apply). Returns (values, CPU seconds, skipped: name -> reason). A baseline whose
    library is missing raises ``ImportError``: it is skipped with that reason."""
    values, seconds, skipped = {}, {}, {}
    for name, fn in fns.items():
        try:
            value, sec = timed(fn)
        except ImportError as err:
            skipped[name] = f"not installed: {err}"
            continue
        if value is None:
            continue
        values[name], seconds[name] = float(value), round(sec, 3)
    return values, seconds, skipped


def compare(metric: str, value: float, baselines: dict, higher: bool,
            seconds: Optional[dict] = None, skipped: Optional[dict] = None) -> dict:
    """What metrics.json says of the baselines: ``baselines`` {name: value},
    ``best_baseline`` {name, value}, ``model_beats_best_baseline`` (strictly better on
    ``metric``) and ``margin`` (how far the model is ahead: positive = better, in the
    metric's units), plus the baselines' CPU seconds and any skipped with the reason."""
    out: dict = {"baselines": dict(baselines)}
    if seconds:
        out["baseline_cpu_seconds"] = dict(seconds)
    if skipped:
        out["baselines_skipped"] = dict(skipped)
    if not baselines:
        return out
    pick = max if higher else min
    name = pick(baselines, key=baselines.get)
    best = float(baselines[name])
    margin = (value - best) if higher else (best - value)
    out.update({"best_baseline": {"name": name, "value": best},
                "model_beats_best_baseline": bool(margin > 0),
                "margin": float(margin), "headline_metric": metric})
    return out


def sentence(metrics: dict) -> Optional[str]:
    """One plain sentence: does the model beat the best baseline, by how much?"""
    best = metrics.get("best_baseline")
    if not best:
        return None
    metric = metrics.get("headline_metric", "the metric")
    model = metrics.get(metric)
    verdict = "beats" if metrics["model_beats_best_baseline"] else "does NOT beat"
    shown = f"{model:.4g}" if isinstance(model, (int, float)) else "?"
    return (f"The model {verdict} the best baseline: {metric} {shown} against "
            f"{best['value']:.4g} for {best['name']} (margin {metrics['margin']:+.4g}; "
            f"positive means the model is better).")
