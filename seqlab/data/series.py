"""Time series for supervised learning: sliding windows, chronological splits, scalers.

A forecaster learns from (input window -> next values) pairs cut from one long series:

    series  t0 t1 t2 t3 t4 t5 t6 ...
    window  [t0 t1 t2] -> [t3]        window=3, horizon=1, stride=1
            [t1 t2 t3] -> [t4]
            ...

Data are split in time order (train first, test last; never shuffled before the split),
windows are cut inside each split so that no test value is ever a training input or
target, and scalers are fitted on the training split only, then inverted on predictions.

Shape letters: N windows, W window length, H horizon, D input columns, K target columns.

    >>> import numpy as np
    >>> x, y = make_windows(np.arange(6.0), window=3, horizon=1)
    >>> x.shape, y.shape, x[0, :, 0].tolist(), y[0].tolist()
    ((3, 3, 1), (3, 1), [0.0, 1.0, 2.0], [3.0])
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional, Sequence, Union

import numpy as np

__all__ = ["make_windows", "window_starts", "chronological_split", "split_windows",
           "StandardScaler", "MinMaxScaler", "WindowSplits"]

Columns = Optional[Union[int, Sequence[int]]]


def _as_2d(data: Any, who: str) -> np.ndarray:
    arr = np.asarray(data)
    if not np.issubdtype(arr.dtype, np.number):
        try:
            arr = arr.astype(np.float64)
        except (TypeError, ValueError):
            raise ValueError(f"{who}: the series must be numeric, got dtype {arr.dtype}.") \
                from None
    if arr.ndim == 1:
        arr = arr[:, None]  # (T,) -> (T, 1)
    if arr.ndim != 2:
        raise ValueError(
            f"{who}: expected a series of shape (T,) or (T, D), got shape {arr.shape}. "
            f"Stack the columns of a multivariate series along the last axis.")
    return arr


def _columns(cols: Columns, d: int, who: str, arg: str) -> list[int]:
    if cols is None:
        return list(range(d))
    cols = [cols] if isinstance(cols, (int, np.integer)) else list(cols)
    bad = [c for c in cols if not -d <= c < d]
    if bad or not cols:
        raise ValueError(
            f"{who}: {arg}={cols} must name columns of a series with {d} columns "
            f"(0..{d - 1}).")
    return [c % d for c in cols]


def _check_int(who: str, arg: str, value: Any, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise ValueError(f"{who}: {arg} must be an integer >= {low}, got {value!r}.")
    return int(value)


def window_starts(length: int, window: int, horizon: int = 1, stride: int = 1) -> np.ndarray:
    """First index of every window that fits (inputs and targets) in ``length`` steps.

        >>> window_starts(10, window=4, horizon=2, stride=2).tolist()
        [0, 2, 4]
    """
    window = _check_int("window_starts", "window", window, 1)
    horizon = _check_int("window_starts", "horizon", horizon, 0)
    stride = _check_int("window_starts", "stride", stride, 1)
    return np.arange(0, max(length - window - horizon + 1, 0), stride)


def make_windows(data: Any, window: int, horizon: int = 1, stride: int = 1,
                 targets: Columns = None, inputs: Columns = None,
                 starts: Optional[np.ndarray] = None) -> tuple[np.ndarray, np.ndarray]:
    """Cut a series into (input window, following values) pairs.

    Args:
        data: a series of shape (T,) or (T, D) (several columns: multivariate).
        window: W, the number of input steps.
        horizon: H, the number of future steps to predict (0: no targets, for
            autoencoders).
        stride: steps between the starts of consecutive windows.
        targets: the column(s) to predict (default: all columns).
        inputs: the column(s) the model sees (default: all columns).
        starts: explicit window starts (default ``window_starts(T, W, H, stride)``).

    Returns:
        ``(x, y)``: x of shape (N, W, D_in); y of shape (N, H) for one target column,
        (N, H, K) for K > 1 target columns. ``y[i]`` are the H values right after ``x[i]``.
    """
    arr = _as_2d(data, "make_windows")
    t, d = arr.shape
    window = _check_int("make_windows", "window", window, 1)
    horizon = _check_int("make_windows", "horizon", horizon, 0)
    tcols = _columns(targets, d, "make_windows", "targets")
    icols = _columns(inputs, d, "make_windows", "inputs")
    if starts is None:
        starts = window_starts(t, window, horizon, stride)
    starts = np.asarray(starts, dtype=np.int64)
    if starts.size and (starts.min() < 0 or starts.max() + window + horizon > t):
        raise ValueError(f"make_windows: a start in {starts.tolist()[:5]}... leaves the series "
                         f"of length {t}.")
    idx_x = starts[:, None] + np.arange(window)  # (N, W)
    idx_y = starts[:, None] + window + np.arange(horizon)  # (N, H)
    x = arr[idx_x][:, :, icols]  # (N, W, D_in)
    y = arr[idx_y][:, :, tcols]  # (N, H, K)
    if len(tcols) == 1:
        y = y[:, :, 0]  # (N, H)
    return x, y


def _split_sizes(t: int, val: float, test: float) -> tuple[int, int, int]:
    def count(frac: float, arg: str) -> int:
        if isinstance(frac, (int, np.integer)) and not isinstance(frac, bool) and frac >= 1:
            return int(frac)
        if not isinstance(frac, (int, float)) or not 0 <= frac < 1:
            raise ValueError(
                f"chronological_split: {arg} must be a fraction in [0, 1) or a number of "
                f"steps >= 1, got {frac!r}.")
        return int(round(t * frac))
    n_val, n_test = count(val, "val"), count(test, "test")
    n_train = t - n_val - n_test
    if n_train < 1:
        raise ValueError(
            f"chronological_split: val={val} and test={test} leave no training steps out of "
            f"{t}. Use smaller fractions.")
    return n_train, n_val, n_test


def chronological_split(data: Any, val: float = 0.1, test: float = 0.2
                        ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Split a series in time order: the first steps train, then validation, then test.

    ``val`` and ``test`` are fractions of the length (or step counts when >= 1).

        >>> tr, va, te = chronological_split(np.arange(10), val=0.2, test=0.3)
        >>> tr.tolist(), va.tolist(), te.tolist()
        ([0, 1, 2, 3, 4], [5, 6], [7, 8, 9])
    """
    arr = np.asarray(data)
    n_train, n_val, _ = _split_sizes(len(arr), val, test)
    return arr[:n_train], arr[n_train:n_train + n_val], arr[n_train + n_val:]


class _Scaler:
    """Per-column affine scaler ``z = (x - shift) / scale``, fitted on training data."""

    def __init__(self):
        self.shift_: Optional[np.ndarray] = None
        self.scale_: Optional[np.ndarray] = None

    def _fit_params(self, arr: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        raise NotImplementedError

    def fit(self, data: Any) -> "_Scaler":
        arr = np.asarray(data, dtype=np.float64)
        arr2 = arr[:, None] if arr.ndim == 1 else arr.reshape(-1, arr.shape[-1])
        if not len(arr2):
            raise ValueError(f"{type(self).__name__}.fit: got no rows to fit on.")
        if np.isnan(arr2).any():
            raise ValueError(f"{type(self).__name__}.fit: the data contain NaN; fill or "
                             f"drop missing values first.")
        self.shift_, self.scale_ = self._fit_params(arr2)
        self.scale_ = np.where(self.scale_ == 0, 1.0, self.scale_)  # constant columns
        return self

    def _params(self, data: Any, columns: Columns, who: str):
        if self.shift_ is None:
            raise RuntimeError(f"{type(self).__name__}.{who}: call fit(train) first.")
        arr = np.asarray(data, dtype=np.float64)
        cols = _columns(columns, len(self.shift_), type(self).__name__, "columns")
        shift, scale = self.shift_[cols], self.scale_[cols]
        if len(cols) == 1 and (arr.ndim == 0 or arr.shape[-1] != 1):
            return arr, shift[0], scale[0]  # one column: any shape, e.g. y of (N, H)
        if arr.shape[-1] != len(cols):
            raise ValueError(
                f"{type(self).__name__}.{who}: data have {arr.shape[-1]} columns in the last "
                f"axis, the scaler expects {len(cols)} (columns={columns}).")
        return arr, shift, scale

    def transform(self, data: Any, columns: Columns = None) -> np.ndarray:
        """Scale ``data`` (last axis = columns; ``columns`` picks a subset)."""
        arr, shift, scale = self._params(data, columns, "transform")
        return (arr - shift) / scale

    def fit_transform(self, data: Any) -> np.ndarray:
        return self.fit(data).transform(data)

    def inverse_transform(self, data: Any, columns: Columns = None) -> np.ndarray:
        """Back to the original units; ``columns`` names the target columns of a
        prediction that covers only some of them (e.g. y of shape (N, H))."""
        arr, shift, scale = self._params(data, columns, "inverse_transform")
        return arr * scale + shift

    def get_config(self) -> dict:
        return {"class_name": type(self).__name__, **self._extra_config(),
                "shift": None if self.shift_ is None else self.shift_.tolist(),
                "scale": None if self.scale_ is None else self.scale_.tolist()}

    def _extra_config(self) -> dict:
        return {}

    @classmethod
    def from_config(cls, config: dict) -> "_Scaler":
        kind = {c.__name__: c for c in (StandardScaler, MinMaxScaler)}.get(
            config.get("class_name"))
        if kind is None:
            raise ValueError(f"Unknown scaler {config.get('class_name')!r}.")
        extra = {k: v for k, v in config.items() if k not in ("class_name", "shift", "scale")}
        scaler = kind(**extra)
        if config.get("shift") is not None:
            scaler.shift_ = np.asarray(config["shift"], dtype=np.float64)
            scaler.scale_ = np.asarray(config["scale"], dtype=np.float64)
        return scaler


class StandardScaler(_Scaler):
    """Zero mean and unit variance per column (population std, as scikit-learn).

        >>> s = StandardScaler().fit([[1.0], [3.0]])
        >>> s.transform([[5.0]]).tolist(), s.inverse_transform([[0.0]]).tolist()
        ([[3.0]], [[2.0]])
    """

    def _fit_params(self, arr):
        return arr.mean(0), arr.std(0)


class MinMaxScaler(_Scaler):
    """Map each column's training range onto ``feature_range`` (default (0, 1)).

        >>> MinMaxScaler().fit([[2.0], [4.0]]).transform([[3.0], [6.0]]).tolist()
        [[0.5], [2.0]]
    """

    def __init__(self, feature_range: Sequence[float] = (0.0, 1.0)):
        super().__init__()
        lo, hi = feature_range
        if not lo < hi:
            raise ValueError(f"MinMaxScaler: feature_range must be (low, high) with low < "
                             f"high, got {tuple(feature_range)}.")
        self.feature_range = (float(lo), float(hi))

    def _fit_params(self, arr):
        lo, hi = self.feature_range
        span = arr.max(0) - arr.min(0)
        span = np.where(span == 0, 1.0, span)
        scale = span / (hi - lo)
        return arr.min(0) - lo * scale, scale

    def _extra_config(self) -> dict:
        return {"feature_range": list(self.feature_range)}


@dataclass
class WindowSplits:
    """Windows of each chronological split, scaled with a scaler fitted on train only."""
    x_train: np.ndarray  # (N_train, W, D_in)
    y_train: np.ndarray  # (N_train, H) or (N_train, H, K)
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    scaler: Optional[_Scaler]  # invert predictions: scaler.inverse_transform(p, targets)
    targets: list[int]  # the target columns (for inverse_transform's columns=)
    bounds: tuple[int, int] = (0, 0)  # first step of val and of test in the series
    starts: dict = field(default_factory=dict)  # split -> window starts in the series


def split_windows(data: Any, window: int, horizon: int = 1, stride: int = 1,
                  val: float = 0.1, test: float = 0.2, targets: Columns = None,
                  inputs: Columns = None, scaler: Optional[str] = "standard",
                  lookback_across: bool = False) -> WindowSplits:
    """Split chronologically, fit the scaler on train, cut windows inside each split.

    Args:
        data, window, horizon, stride, targets, inputs: as in ``make_windows``.
        val, test: as in ``chronological_split``.
        scaler: "standard", "minmax" or None; fitted on the training steps only.
        lookback_across: False (default): every window, inputs and targets, lies inside
            its split. True: validation/test inputs may reach back into the previous
            split (more test windows); their targets still lie inside their split.

    Example:

        >>> s = split_windows(np.arange(100.0), window=5, val=0.2, test=0.2)
        >>> s.x_train.shape, s.y_test.shape, s.bounds
        ((55, 5, 1), (15, 1), (60, 80))
    """
    arr = _as_2d(data, "split_windows")
    t, d = arr.shape
    n_train, n_val, n_test = _split_sizes(t, val, test)
    tcols = _columns(targets, d, "split_windows", "targets")
    bounds = (n_train, n_train + n_val)
    scaled = arr
    fitted = None
    if scaler is not None:
        kinds = {"standard": StandardScaler, "minmax": MinMaxScaler}
        if scaler not in kinds:
            raise ValueError(f"split_windows: scaler must be 'standard', 'minmax' or None, "
                             f"got {scaler!r}.")
        fitted = kinds[scaler]().fit(arr[:n_train])
        scaled = fitted.transform(arr)
    segments = {"train": (0, n_train), "val": bounds, "test": (bounds[1], t)}
    out, starts = {}, {}
    for name, (lo, hi) in segments.items():
        first = lo - window if lookback_across and name != "train" else lo
        first = max(first, 0)
        s = first + window_starts(hi - first, window, horizon, stride)
        x, y = make_windows(scaled, window, horizon, targets=tcols, inputs=inputs, starts=s)
        out[name], starts[name] = (x, y), s
    return WindowSplits(*out["train"], *out["val"], *out["test"], scaler=fitted,
                        targets=tcols, bounds=bounds, starts=starts)
