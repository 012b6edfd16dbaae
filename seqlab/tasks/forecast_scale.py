"""The forecast task's scales: target transforms (none / log / Box-Cox) and their inverse,
and the MASE of a forecast.

    >>> import numpy as np
    >>> v = {"transform": "log"}
    >>> float(_unlevel(_levels(np.array([[2.0]]), v), v)[0, 0])
    2.0
    >>> scores(np.array([1.0, 3]), np.array([2.0, 3]), scale=0.5)["mase"]
    1.0
"""
from __future__ import annotations

import numpy as np


def _kind(vocab: dict) -> str:
    return vocab.get("transform") or ("log" if vocab.get("log") else "none")


def _levels(y: np.ndarray, vocab: dict) -> np.ndarray:
    """Series y (T, D) -> levels z (T, D)."""
    kind = _kind(vocab)
    if kind == "log":
        return np.log(y)
    if kind == "boxcox":
        lam, c = np.asarray(vocab["lambda"]), np.asarray(vocab["shift"])
        base = np.maximum(y + c, 1e-8)
        return np.where(np.abs(lam) < 1e-6, np.log(base), (base ** lam - 1) / lam)
    return y


def _unlevel(z: np.ndarray, vocab: dict) -> np.ndarray:
    """Levels z (T, D) -> series y (T, D), the inverse of ``_levels``."""
    kind = _kind(vocab)
    if kind == "log":
        return np.exp(z)
    if kind == "boxcox":
        lam, c = np.asarray(vocab["lambda"]), np.asarray(vocab["shift"])
        safe = np.where(np.abs(lam) < 1e-6, 1.0, lam)
        base = np.maximum(lam * z + 1, 0.0) ** (1 / safe)                   # lam z + 1 >= 0
        return np.where(np.abs(lam) < 1e-6, np.exp(z), base) - c
    return z


def boxcox_fit(y: np.ndarray) -> tuple[list, list]:
    """Per column of the training part y (T, D): the shift c making it positive and the
    maximum-likelihood Box-Cox lambda (scipy), clipped to [-1, 2]."""
    from scipy import stats
    lams, shifts = [], []
    for col in y.T:
        c = 0.0 if col.min() > 0 else float(-col.min() + 0.1 * (col.std() or 1.0))
        lams.append(float(np.clip(stats.boxcox(col + c)[1], -1.0, 2.0)))
        shifts.append(c)
    return lams, shifts


def _scaled(z: np.ndarray, vocab: dict) -> np.ndarray:
    """Levels z (T, D) -> network inputs s (T - m', D)."""
    m = vocab["period"] if vocab["difference"] else 0
    d = z[m:] - z[:-m] if m else z
    return (d - np.asarray(vocab["mean"])) / np.asarray(vocab["std"])


def mase_scale(history: np.ndarray, m: int) -> float:
    """In-sample MAE of the seasonal naive forecast (Hyndman & Koehler 2006)."""
    m = m if len(history) > m else 1
    return float(np.mean(np.abs(history[m:] - history[:-m])))


def scores(pred: np.ndarray, truth: np.ndarray, scale: float) -> dict:
    err = pred - truth
    mae = float(np.mean(np.abs(err)))
    return {"mae": mae, "rmse": float(np.sqrt(np.mean(err ** 2))), "mase": mae / scale}
