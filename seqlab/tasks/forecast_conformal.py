"""Calibrated forecast bands: split-conformal quantile regression (CQR, Romano et al. 2019)
per step ahead, on a backtest of the history.

A model with [model] quantiles says, for each step k of a recursive span, the band
[lo_k, hi_k] of its outer quantiles (nominal share 1 - a = q_Q - q_1). Each step's
quantiles are taken around the fed-back point forecast, so over a long span they leave
out the errors of the earlier steps and the band covers less than its nominal share.
The calibration measures how much wider it must be, step by step:

    origins o_1 .. o_n  in the history (each with a full window before it)
    from each origin, the recursive forecast of the next steps, with its band
    score  e_{i,k} = max(lo_k - z, z - hi_k)       on the level scale z (log / Box-Cox)
    Q_k    = the ceil((n_k + 1)(1 - a))-th smallest of the n_k scores of step k
    band   = [lo_k - Q_k, hi_k + Q_k]              (Q_k < 0 narrows a too wide band)

Q_k is made non-decreasing in k (a later step is never surer than an earlier one); a step
no origin reaches takes the last Q. Coverage is guaranteed when the scores are
exchangeable with the test's. With a validation part (the model fitted on the history
before it) only the scores whose truth lies in it count: out-of-sample errors. Without
one the truths lie in the part the model was fitted on, so the widths are optimistic for
a model that fits its training part closely (an MLP more than a linear AR).

Shapes: T history length, D columns, Q quantile levels, k the step ahead.
"""
from __future__ import annotations

import math

import numpy as np

from seqlab.tasks.forecast_scale import _levels, _unlevel

ORIGINS = 60  # at most this many backtest origins, evenly spaced over the history


def margins(forecast, nominal: float, vocab: dict, history: np.ndarray, steps: int,
            fitted: int = 0, origins: int = ORIGINS) -> np.ndarray:
    """(T, D) history -> (steps, D) margins Q_k on the level scale, for a band of nominal
    share ``nominal`` = 1 - a. ``forecast(past, n)`` -> (point (n, D), bands (n, D, Q)):
    the model's recursive forecast of n steps after ``past`` (``forecast.recursive_forecast``
    with bands=True). ``fitted`` < T: the model was fitted on history[:fitted] only (a
    validation part follows): only the scores whose truth lies after it count, from
    origins reaching into it."""
    need = vocab["window"] + (vocab["period"] if vocab["difference"] else 0)
    T, D = history.shape
    first = need if not 0 < fitted < T else max(need, fitted - steps + 1)
    starts = np.unique(np.linspace(first, T - 1, min(origins, max(T - first, 1))).astype(int))
    scores: list[list] = [[] for _ in range(steps)]                          # per step
    alpha = 1.0 - nominal
    for o in starts:
        n = min(steps, T - o)
        if n < 1:
            continue
        _, q = forecast(history[:o], n)                                      # (n, D, Q)
        z = _levels(history[o:o + n], vocab)                                 # (n, D)
        lo, hi = _levels(q[..., 0], vocab), _levels(q[..., -1], vocab)
        for k, e in enumerate(np.maximum(lo - z, z - hi)):                   # (D,)
            if not 0 < fitted < T or o + k >= fitted:                        # out of sample
                scores[k].append(e)
    out, last = np.zeros((steps, D)), np.zeros(D)
    for k in range(steps):
        if scores[k]:
            e = np.sort(np.asarray(scores[k]), axis=0)                       # (n_k, D)
            rank = min(math.ceil((len(e) + 1) * (1 - alpha)), len(e))
            last = np.maximum(last, e[rank - 1]) if k else e[rank - 1]
        out[k] = last
    return out


def calibrated(q: np.ndarray, margin: np.ndarray, vocab: dict) -> tuple[np.ndarray, np.ndarray]:
    """Bands q (steps, D, Q) and margins (steps, D) -> the calibrated (low, high), each
    (steps, D), on the series' scale."""
    lo = _unlevel(_levels(q[..., 0], vocab) - margin, vocab)
    hi = _unlevel(_levels(q[..., -1], vocab) + margin, vocab)
    return lo, np.maximum(hi, lo)


__all__ = ["margins", "calibrated", "ORIGINS"]
