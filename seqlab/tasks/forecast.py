"""Forecasting: windows of a series -> the next `horizon` values, then the whole test span.

The series y (T, D) (one or several columns, the target chosen by [data] target_column)
is cut chronologically: the last ``test_fraction`` is held out, and the last
``val_fraction`` of the rest validates. What the network sees, step by step:

    z_t = log y_t                     ([data] transform = "log" or log = true: multiplicative
                                       seasons), or Box-Cox ((y_t + c)^lam - 1) / lam with lam
                                       fitted on the training part (transform = "boxcox")
    d_t = z_t - z_{t-m}               (seasonal difference, m = season length; [data] difference)
    s_t = (d_t - mean) / std          (statistics of the training part only)

A network ([model] arch: "rnn" a recurrent stack, "mlp" an ensemble of linear + MLP
members with their own look-backs, ``seqlab.models.window_ensemble``; with [model] layers
= 0 and relative = false the members are autoregressions on the levels, fitted to
convergence with [training] optimizer = "lbfgs") reads a window of ``window`` steps of s
and predicts the next ``horizon`` steps (all columns). The test forecast is *recursive over the whole held-out
span*: predictions are fed back as inputs, nothing of the test part is seen, and the
transformations are undone (z_t = d_t + z_{t-m}, with earlier forecasts where needed).

Metrics on the held-out span: MAE, RMSE and MASE = MAE / (in-sample MAE of the seasonal
naive forecast y_t = y_{t-m}). Baselines on the same split (``seqlab.baselines.forecast``):
naive, seasonal naive, Holt-Winters, ETS chosen by AIC, ETS on the log, Theta and an AR
chosen by AIC; the headline says whether the network beats the best of them. With
[model] quantiles the test also reports the share of the truth inside their band, after a
split-conformal calibration per step ahead on a backtest of the history
(``forecast_conformal``; ``interval_coverage_raw``: the band as the model says it).
Several series, covariates known ahead and several seasonalities: ``forecast_panel``.

Shapes: B batch, W window, D columns, h horizon.
"""
from __future__ import annotations

from typing import Optional

import numpy as np
import torch

from seqlab.config import Config
from seqlab.data.series import make_windows
from seqlab.errors import SeqlabError
from seqlab.models.recurrent import Forecaster
from seqlab.tasks import forecast_panel as panel
from seqlab.tasks.forecast_scale import (_levels, _scaled, _unlevel, boxcox_fit,  # noqa: F401
                                         mase_scale, scores)
from seqlab.tasks.common import Data
from seqlab.tasks.common import (build_with, load_dataset, minibatches, recurrent,
                                 require_test, user_files)

MONITOR = ("mase", "min")  # the validation metric [training] keep_best selects on


# ---------------------------------------------------------------------- transforms
@torch.no_grad()
def recursive_forecast(model, vocab: dict, history: np.ndarray, steps: int,
                       bands: bool = False):
    """Forecast ``steps`` values (steps, D) after ``history`` (T, D), feeding predictions back.
    ``bands=True`` (a model with [model] quantiles): also the quantile forecasts
    (steps, D, Q), each step's quantiles around the fed-back point forecasts."""
    qs = []
    z = list(_levels(history, vocab))                                      # levels, grows
    s = list(_scaled(np.asarray(z), vocab))                                # inputs, grows
    m = vocab["period"] if vocab["difference"] else 0
    mean, std = np.asarray(vocab["mean"]), np.asarray(vocab["std"])
    device = next(model.parameters()).device
    start = len(z)
    while len(z) - start < steps:
        x = torch.as_tensor(np.asarray(s[-vocab["window"]:]), dtype=torch.float32)
        pred = model(x.unsqueeze(0).to(device))[0].cpu().numpy()           # (h, D)
        base = len(z)
        for p in pred:
            d = p * std + mean
            z.append(d + z[-m] if m else d)
            s.append(p)
        if bands:  # each step's quantiles, z_{t-m} from the point path
            for k, q in enumerate(model.bands(x.unsqueeze(0).to(device))[0].cpu().numpy()):
                d = q * std[:, None] + mean[:, None]                       # (D, Q)
                qs.append(d + np.asarray(z[base + k - m])[:, None] if m else d)
    point = _unlevel(np.asarray(z[start:start + steps]), vocab)
    if not bands:
        return point
    q = np.asarray(qs[:steps])                                             # (steps, D, Q)
    return point, np.stack([_unlevel(q[..., k], vocab) for k in range(q.shape[-1])], -1)


# ---------------------------------------------------------------------- data
def _series(cfg: Config):
    d = cfg.data
    if d.dataset == "file":
        from seqlab.data import files
        parts = user_files(cfg)
        if "val" in parts and "test" not in parts:
            raise SeqlabError("[data] val_path without test_path: a forecast's parts follow in "
                              "time (train, val, test); name the test file too, or drop "
                              "val_path and use val_fraction.")
        y, names, _ = files.load_series(d.path, target=d.target_column or None,
                                        encoding=d.encoding)
        counts = {"train": len(y)}
        for split in ("val", "test"):  # the held-out files continue the series in time
            if split in parts:
                more, _, _ = files.load_series(parts[split], columns=names, encoding=d.encoding)
                y, counts[split] = np.concatenate([y, more]), len(more)
        return y, names, d.seasonality or 1, counts
    raw = load_dataset(cfg)
    if "series" not in raw:
        raise SeqlabError(f"[data] dataset = {d.dataset!r} is not a forecasting series (it "
                          f"has {', '.join(raw)}); `seqlab datasets` lists the series.")
    y = np.asarray(raw["series"], dtype=np.float64)
    y = y.reshape(len(y), -1)
    names = list(raw.get("columns") or [f"y{j}" for j in range(y.shape[1])])
    return y, names, d.seasonality or int(raw.get("period") or 1), {}


def prepare(cfg: Config, vocab: Optional[dict] = None) -> Data:
    d = cfg.data
    if panel.wanted(cfg):  # several series, covariates, several seasonalities
        return panel.prepare(cfg, vocab)
    y, names, period, counts = _series(cfg)
    if d.target_column and d.target_column not in names:
        raise SeqlabError(f"[data] target_column = {d.target_column!r} is not a column of "
                          f"{d.path or d.dataset}; its columns are {', '.join(names)}.")
    target = names.index(d.target_column) if d.target_column else 0
    kind = "log" if d.log else d.transform
    if kind == "log" and (y <= 0).any():
        field = "log = true" if d.log else 'transform = "log"'
        raise SeqlabError(f'[data] {field} needs a positive series; it has values <= 0 '
                          f'(transform = "boxcox" shifts it first).')
    window = max(d.windows or [d.window])
    T = len(y)
    n_test = counts.get("test", int(round(T * d.test_fraction)))
    n_val = counts.get("val", int(round((T - n_test) * d.val_fraction)))
    require_test(n_test, cfg)
    n_train = T - n_test - n_val
    m = period if d.difference else 0
    if n_train - m < window + d.horizon:
        raise SeqlabError(f"[data] window{'s' if d.windows else ''} = "
                          f"{d.windows or d.window} is too long for the {n_train} "
                          f"training steps of {d.path or d.dataset}; use a shorter window.")
    if vocab is None:
        vocab = {"columns": names, "target": target, "period": period, "log": kind == "log",
                 "transform": kind, "difference": d.difference, "window": window,
                 "horizon": d.horizon}
        if kind == "boxcox":
            vocab["lambda"], vocab["shift"] = boxcox_fit(y[:n_train])
        z = _levels(y[:n_train], vocab)
        diff = z[m:] - z[:-m] if m else z
        vocab.update(mean=diff.mean(0).tolist(), std=(diff.std(0) + 1e-8).tolist())
    s_train = _scaled(_levels(y[:n_train], vocab), vocab)                 # (T', D)
    x, t = make_windows(s_train, vocab["window"], d.horizon)              # (N, W, D), (N, h[, D])
    t = t.reshape(len(t), d.horizon, -1)                                   # (N, h, D)
    if d.max_samples:
        x, t = x[-d.max_samples:], t[-d.max_samples:]
    train = (torch.as_tensor(x, dtype=torch.float32), torch.as_tensor(t, dtype=torch.float32))
    val = {"history": y[:n_train], "truth": y[n_train:n_train + n_val]}
    test = {"history": y[:n_train + n_val], "truth": y[n_train + n_val:]}
    return Data(train, val, test, vocab, {"steps": [n_train, n_val, n_test]})


def build_model(cfg: Config, vocab: dict):
    D = len(vocab["columns"])
    if cfg.model.arch == "mlp":
        from seqlab.models.window_ensemble import WindowEnsemble
        m = cfg.model
        F = len(vocab.get("covariates", [])) + len(vocab.get("past_covariates", [])) + \
            2 * panel.FOURIER * len(vocab.get("seasonalities", []))
        net = WindowEnsemble(cfg.data.windows or [vocab["window"]], m.ensemble,
                             vocab["horizon"], m.units, m.layers, m.dropout, covariates=F,
                             quantiles=m.quantiles, relative=m.relative)
        example = (torch.zeros(2, vocab["window"], D),) + \
            ((torch.zeros(2, vocab["window"] + vocab["horizon"], F),) if F else ())
        return build_with(net, *example)
    return build_with(Forecaster(cfg, D, recurrent=recurrent), torch.zeros(2, vocab["window"], D))


def train_batches(data: Data, cfg: Config, rng):
    for idx in minibatches(len(data.train[0]), cfg.training.batch_size, rng):
        yield tuple(a[idx] for a in data.train)                           # (x[, c], t)


# ---------------------------------------------------------------------- metrics
def baselines(history: np.ndarray, steps: int, m: int) -> dict:
    """Naive, seasonal naive and Holt-Winters forecasts of the target column (the full
    set a run reports, with ETS and AR chosen by AIC: ``seqlab.baselines.forecast``)."""
    from seqlab.baselines import forecast as fc
    out = {"naive": fc.naive(history, steps), "seasonal_naive": fc.seasonal_naive(history, steps, m)}
    try:
        out["holt_winters"] = fc.holt_winters(history, steps, m)
    except ImportError:  # statsmodels missing: report without it
        pass
    return out


def evaluate(model, data: Data, cfg: Config, split: str) -> dict:
    if data.vocab.get("panel"):
        return panel.evaluate(model, data, cfg, split)
    part, v = getattr(data, split), data.vocab
    if len(part["truth"]) == 0:
        return {}
    j, truth = v["target"], part["truth"][:, v["target"]]
    if not getattr(model, "quantiles", None):
        pred = recursive_forecast(model, v, part["history"], len(truth))
        return scores(pred[:, j], truth, mase_scale(part["history"][:, j], v["period"]))
    pred, q = recursive_forecast(model, v, part["history"], len(truth), bands=True)
    out = scores(pred[:, j], truth, mase_scale(part["history"][:, j], v["period"]))
    low, high = q[:, j, 0], q[:, j, -1]                                    # (steps,)
    out["interval_nominal"] = model.quantiles[-1] - model.quantiles[0]
    if split == "test":  # the band widened by a backtest on the history (forecast_conformal)
        from seqlab.tasks import forecast_conformal as conformal
        out["interval_coverage_raw"] = float(np.mean((truth >= low) & (truth <= high)))
        fitted = len(data.val["history"])                                  # n_train

        def backtest(past, n):
            return recursive_forecast(model, v, past, n, bands=True)
        low, high = conformal.calibrated(q, conformal.margins(
            backtest, out["interval_nominal"], v, part["history"], len(truth),
            fitted=fitted), v)
        low, high = low[:, j], high[:, j]
    out["interval_coverage"] = float(np.mean((truth >= low) & (truth <= high)))
    return out


def finish(run, model, data: Data, metrics: dict) -> dict:
    if data.vocab.get("panel"):
        return panel.finish(run, model, data, metrics)
    from seqlab import plots
    v, j = data.vocab, data.vocab["target"]
    hist, truth = data.test["history"][:, j], data.test["truth"][:, j]
    scale = mase_scale(hist, v["period"])
    from seqlab import baselines as base
    from seqlab.baselines import forecast as fc
    out, curves, values = {}, {}, {}

    def fitted(name, fn):
        def run_one():
            pred = fn(hist, len(truth), v["period"])
            if pred is None:  # does not apply to this series
                return None
            curves[name] = pred
            return scores(pred, truth, scale)["mase"]
        return run_one
    values, seconds, skipped = base.run_all({n: fitted(n, f) for n, f in fc.ALL.items()})
    for name in list(values):
        s = scores(curves[name], truth, scale)
        if not np.isfinite(s["mase"]):
            values.pop(name), seconds.pop(name)
            continue
        out[f"baseline_{name}_mase"], out[f"baseline_{name}_mae"] = s["mase"], s["mae"]
    out.update(base.compare("mase", metrics["mase"], values, higher=False, seconds=seconds,
                            skipped=skipped))
    curves = {k: curves[k] for k in values}
    with torch.no_grad():
        curves = {"seqlab": recursive_forecast(model, v, data.test["history"], len(truth))[:, j],
                  **curves}
    t = np.arange(len(hist) + len(truth))
    keep = max(len(truth) + 4 * v["period"], 3 * len(truth))              # zoom on long series
    plots.forecast(t[:len(hist)][-keep:], hist[-keep:], t[len(hist):], truth, curves,
                   run.plots_dir / "forecast.png",
                   title=f"{run.config.data.dataset}: held-out forecast (MASE {metrics['mase']:.2f})")
    return out


def predict(model, vocab: dict, cfg: Config, lines: list[str]) -> list[str]:
    """Each line: the recent history of the series (comma-separated, one column) ->
    the next ``horizon`` values."""
    if vocab.get("panel"):  # a CSV in the training file's layout
        return panel.predict(model, vocab, cfg, lines)
    if len(vocab["columns"]) != 1:
        raise SeqlabError("predict: this run forecasts several columns; give it a CSV "
                          "through the Python API (seqlab.tasks.forecast.recursive_forecast).")
    out = []
    for line in lines:
        try:
            hist = np.asarray([float(v) for v in line.replace(",", " ").split()])[:, None]
        except ValueError as err:
            raise SeqlabError(f"--input: each line must hold comma-separated numbers ({err}).")
        need = vocab["window"] + (vocab["period"] if vocab["difference"] else 0)
        if len(hist) < need:
            raise SeqlabError(f"--input: each line needs at least {need} values "
                              f"(window + season), got {len(hist)}.")
        with torch.no_grad():
            pred = recursive_forecast(model, vocab, hist, vocab["horizon"])[:, 0]
        out.append(", ".join(f"{p:.4g}" for p in pred))
    return out


def headline(metrics: dict):
    """(metric, value, the best baseline's value)."""
    best = metrics.get("best_baseline") or {}
    return "MASE", metrics["mase"], best.get("value", metrics.get("baseline_seasonal_naive_mase"))
