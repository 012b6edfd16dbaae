"""Forecasting baselines (statsmodels): each returns the forecast of the next ``steps``
values of a univariate history (T,); the task scores them with its own MASE.

    naive            repeat the last value
    seasonal_naive   repeat the last season (m values)
    holt_winters     additive trend, multiplicative season when positive
    ets              exponential smoothing with trend (none / additive / damped) and
                     season (additive / multiplicative) chosen by AIC, fitted on log y when
                     y > 0 (then back-transformed)
    ets_log          the damped additive-trend, additive-season ETS on log y (the usual
                     pick for a positive series with a multiplicative season; y > 0)
    theta            the Theta method (statsmodels ``ThetaModel``: a drifted simple
                     exponential smoothing on the deseasonalised series), on log y when y > 0
    ar               an autoregression whose order (up to max(2m, 10) lags, with a
                     constant) is chosen by AIC (``ar_select_order``), on log y when y > 0

    >>> import numpy as np
    >>> y = 10 + np.tile([1.0, 2.0, 3.0, 4.0], 12)
    >>> seasonal_naive(y, 4, 4).tolist()
    [11.0, 12.0, 13.0, 14.0]
    >>> bool(np.allclose(ar(y, 4, 4), [11, 12, 13, 14], atol=0.1))
    True
"""
from __future__ import annotations

import warnings
from typing import Optional

import numpy as np


def naive(history: np.ndarray, steps: int, m: int = 1) -> np.ndarray:
    return np.repeat(history[-1], steps)


def seasonal_naive(history: np.ndarray, steps: int, m: int) -> np.ndarray:
    if m <= 1 or m > len(history):
        return naive(history, steps)
    return np.resize(history[-m:], steps)


def holt_winters(history: np.ndarray, steps: int, m: int) -> np.ndarray:
    from statsmodels.tsa.holtwinters import ExponentialSmoothing
    seasonal = ("mul" if (history > 0).all() else "add") if 1 < m < len(history) // 2 else None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = ExponentialSmoothing(history, trend="add", seasonal=seasonal,
                                   seasonal_periods=m if seasonal else None).fit()
    return np.asarray(fit.forecast(steps))


def ets(history: np.ndarray, steps: int, m: int) -> np.ndarray:
    from statsmodels.tsa.holtwinters import ExponentialSmoothing
    log = bool((history > 0).all())
    z = np.log(history) if log else history
    seasons = [None]
    if 1 < m < len(z) // 2:
        seasons = ["add", "mul"] if (z > 0).all() else ["add"]
    best = None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for trend, damped in ((None, False), ("add", False), ("add", True)):
            for seasonal in seasons:
                try:
                    fit = ExponentialSmoothing(z, trend=trend, damped_trend=damped,
                                               seasonal=seasonal,
                                               seasonal_periods=m if seasonal else None).fit()
                except (ValueError, np.linalg.LinAlgError):
                    continue
                if np.isfinite(fit.aic) and (best is None or fit.aic < best.aic):
                    best = fit
    if best is None:
        return naive(history, steps)
    out = np.asarray(best.forecast(steps))
    return np.exp(out) if log else out


def ets_log(history: np.ndarray, steps: int, m: int) -> Optional[np.ndarray]:
    """None for a series with values <= 0 (no logarithm: the baseline does not apply)."""
    from statsmodels.tsa.holtwinters import ExponentialSmoothing
    if not (history > 0).all():
        return None
    seasonal = "add" if 1 < m < len(history) // 2 else None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = ExponentialSmoothing(np.log(history), trend="add", damped_trend=True,
                                   seasonal=seasonal,
                                   seasonal_periods=m if seasonal else None).fit()
    return np.exp(np.asarray(fit.forecast(steps)))


def theta(history: np.ndarray, steps: int, m: int) -> np.ndarray:
    from statsmodels.tsa.forecasting.theta import ThetaModel
    log = bool((history > 0).all())
    z = np.log(history) if log else np.asarray(history, dtype=np.float64)
    seasonal = 1 < m < len(z) // 2
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = ThetaModel(z, period=m if seasonal else 1, deseasonalize=seasonal,
                         method="additive").fit()
        out = np.asarray(fit.forecast(steps))
    return np.exp(out) if log else out


def ar(history: np.ndarray, steps: int, m: int) -> np.ndarray:
    from statsmodels.tsa.ar_model import AutoReg, ar_select_order
    log = bool((history > 0).all())
    z = np.log(history) if log else np.asarray(history, dtype=np.float64)
    maxlag = int(min(max(2 * m, 10), len(z) // 3, 60))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        lags = ar_select_order(z, maxlag=maxlag, ic="aic", trend="c").ar_lags
        fit = AutoReg(z, lags=lags if lags else 0, trend="c").fit()
        out = np.asarray(fit.predict(start=len(z), end=len(z) + steps - 1))
    return np.exp(out) if log else out


ALL = {"naive": naive, "seasonal_naive": seasonal_naive, "holt_winters": holt_winters,
       "ets": ets, "ets_log": ets_log, "theta": theta, "ar": ar}
