"""Forecasting several series of one file, with covariates (known ahead, or observed up to
the forecast origin) and several seasonalities: the part of the forecast task that [data]
id_column, future_covariates, past_covariates or seasonalities turn on (with [model]
arch = "mlp").

The file is long: a row is one step of one series::

    id,time,demand,promo
    shop_a,0,12.1,0
    shop_a,1,15.3,1
    shop_b,0,40.2,0

* ``id_column`` names the series (empty: the whole file is one series); ``time_column``
  orders each series' steps (file order when empty).
* ``future_covariates`` are columns known ahead of time (a promotion planned, a holiday,
  a price): the model reads them over the window *and* the forecast steps, and the test
  part's values are given to it (never the target's).
* ``past_covariates`` are columns observed as time goes (a measured temperature, the
  footfall of the hour): the model reads them over the window only; their slots for the
  forecast steps are held at zero (the training mean), so they carry nothing. A recursive
  forecast over a test span longer than the horizon reads, for each chunk, the values
  recorded up to that chunk's origin (as Darts does with past covariates): the target's
  own values there stay the model's forecasts.
* ``seasonalities`` (e.g. [48, 336] for half-hourly data: a day and a week) add
  sin/cos(2 pi k t / p), k = 1..3, of each period p as known-future inputs (Fourier terms).

Every series is split in time (its last ``test_fraction`` is its test part, the last
``val_fraction`` of the rest validates), transformed ([data] transform) and standardised
on its own training part; one global model learns from the windows of all of them. The
test forecast of each series is recursive over its whole test span; MASE is the mean over
the series of each one's MASE (its own seasonal-naive scale), the baselines likewise.

Shapes: B batch, W window, h horizon, F covariates (known-future, past, Fourier, in that
order).
"""
from __future__ import annotations

import numpy as np
import torch

from seqlab.config import Config
from seqlab.errors import SeqlabError
from seqlab.tasks.common import Data

FOURIER = 3  # sin/cos pairs per seasonality


def wanted(cfg: Config) -> bool:
    d = cfg.data
    return bool(d.id_column or d.future_covariates or d.past_covariates or d.seasonalities)


def _check(cfg: Config) -> None:
    d = cfg.data
    if d.dataset != "file":
        raise SeqlabError(f"[data] id_column / future_covariates / past_covariates / "
                          f"seasonalities read your own "
                          f'file: set dataset = "file" and path (the dataset {d.dataset!r} '
                          f"has none of these).")
    if cfg.model.arch != "mlp":
        raise SeqlabError('[data] id_column / future_covariates / past_covariates / '
                          'seasonalities need [model] arch = "mlp" (the recurrent forecaster '
                          'reads one series).')
    both = sorted(set(d.future_covariates) & set(d.past_covariates))
    if both:
        raise SeqlabError(f"[data] {both[0]!r} is in both future_covariates and "
                          f"past_covariates; a column is known ahead or only observed: keep "
                          f"it in one list.")
    bad = [p for p in d.seasonalities if not isinstance(p, int) or isinstance(p, bool) or p < 2]
    if bad:
        raise SeqlabError(f"[data] seasonalities must be season lengths >= 2 (e.g. [48, 336]), "
                          f"got {d.seasonalities!r}.")


def _read(cfg: Config, path):
    """{id: (values (T,), covariates (T, F0) known-future then past, times (T,))} of the
    file at ``path``, in time order (times: the time column, else the row's place)."""
    from seqlab.data import files
    d = cfg.data
    if not d.target_column:
        raise SeqlabError("[data] target_column is empty; with id_column or covariates name "
                          "the column to forecast, e.g. target_column = \"demand\".")
    given = [*d.future_covariates, *d.past_covariates]
    cols = [c for c in [d.id_column, d.time_column, d.target_column, *given] if c]
    fields = {d.id_column: "id_column", d.time_column: "time_column",
              d.target_column: "target_column",
              **{c: "future_covariates" for c in d.future_covariates},
              **{c: "past_covariates" for c in d.past_covariates}}
    values, lines = files.read_columns(path, cols, encoding=d.encoding, fields=fields)
    num = {}
    for c in [d.target_column, *given] + ([d.time_column] if d.time_column else []):
        try:
            num[c] = np.asarray([float(v) for v in values[c]], dtype=np.float64)
        except ValueError:
            bad = next(i for i, v in enumerate(values[c]) if not _is_float(v))
            raise SeqlabError(f"{path} line {lines[bad]}: column {c!r} ([data] "
                              f"{fields[c]}) holds {values[c][bad]!r}, not a number; fill "
                              f"or fix that cell.") from None
    ids = values[d.id_column] if d.id_column else ["all"] * len(lines)
    out = {}
    for key in dict.fromkeys(ids):
        rows = np.asarray([i for i, k in enumerate(ids) if k == key])
        if d.time_column:
            rows = rows[np.argsort(num[d.time_column][rows], kind="stable")]
        cov = np.stack([num[c][rows] for c in given], 1) if given \
            else np.zeros((len(rows), 0))
        times = num[d.time_column][rows] if d.time_column else np.arange(len(rows), dtype=float)
        out[key] = (num[d.target_column][rows], cov, times)
    return out


def steps_of(times: np.ndarray, v: dict) -> np.ndarray:
    """The step index of each time (the Fourier terms' clock): (time - t0) / dt with the
    series' first training time t0 and its usual spacing dt (the place when no time
    column)."""
    return (np.asarray(times, dtype=np.float64) - v.get("t0", 0.0)) / v.get("dt", 1.0)


def _join(cfg: Config, series: dict) -> tuple[dict, dict]:
    """With [data] val_path / test_path: each series continued by its rows of those files
    (training, then validation, then test rows); returns the joined series and
    {id: {"val": rows, "test": rows}} for the parts the files give."""
    d, counts = cfg.data, {key: {} for key in series}
    for part, path in (("val", d.val_path), ("test", d.test_path)):
        if not path:
            continue
        more = _read(cfg, path)
        stray = [k for k in more if k not in series]
        if stray:
            raise SeqlabError(f"{path}: series {stray[0]!r} ([data] id_column) is not in the "
                              f"training file {d.path}; a held-out file continues the "
                              f"training series, so give each of its series training rows.")
        for key, (y, cov, t) in list(series.items()):
            if key not in more:
                raise SeqlabError(f"{path}: series {key!r} of the training file has no rows "
                                  f"here; give it its {part} rows (or drop it from "
                                  f"{d.path}).")
            y2, cov2, t2 = more[key]
            t2 = t2 if d.time_column else t2 + len(y)                     # places continue
            series[key] = (np.concatenate([y, y2]), np.concatenate([cov, cov2]),
                           np.concatenate([t, t2]))
            counts[key][part] = len(y2)
    return series, counts


def _is_float(v: str) -> bool:
    try:
        float(v)
        return True
    except ValueError:
        return False


def _features(cov: np.ndarray, steps: np.ndarray, vocab: dict) -> np.ndarray:
    """Given covariates (T, F0) standardised, plus the Fourier terms: (T, F)."""
    c = (cov - np.asarray(vocab["cov_mean"])) / np.asarray(vocab["cov_std"]) if cov.shape[1] \
        else cov
    waves = [f(2 * np.pi * k * steps / p) for p in vocab["seasonalities"]
             for k in range(1, FOURIER + 1) for f in (np.sin, np.cos)]
    return np.concatenate([c, np.stack(waves, 1)], 1) if waves else c


def hide_ahead(f: np.ndarray, vocab: dict) -> np.ndarray:
    """A window's features (W + h, F) with the past covariates' forecast-step slots zeroed:
    what is not observed yet at the forecast origin is not read."""
    n_future, n_past = len(vocab["covariates"]), len(vocab.get("past_covariates", []))
    if not n_past:
        return f
    f = f.copy()
    f[-vocab["horizon"]:, n_future:n_future + n_past] = 0.0
    return f


def prepare(cfg: Config, vocab=None) -> Data:
    from seqlab.tasks import forecast_scale as fc
    _check(cfg)
    d = cfg.data
    series, given = _join(cfg, _read(cfg, d.path))
    period = d.seasonality or (d.seasonalities[0] if d.seasonalities else 1)
    window, h = max(d.windows or [d.window]), d.horizon
    kind = "log" if d.log else d.transform
    splits = {}
    for key, (y, _, _) in series.items():
        n_test = given[key].get("test", int(round(len(y) * d.test_fraction)))
        n_val = given[key].get("val", int(round((len(y) - n_test) * d.val_fraction)))
        n_train = len(y) - n_test - n_val
        if n_test == 0:
            raise SeqlabError(f"[data] test_fraction = {d.test_fraction} leaves series {key!r} "
                              f"({len(y)} steps) no test step; raise test_fraction.")
        if n_train < window + h:
            raise SeqlabError(f"[data] window = {window} + horizon = {h} is longer than the "
                              f"{n_train} training steps of series {key!r}; shorten them.")
        if kind == "log" and (y <= 0).any():
            raise SeqlabError(f'[data] transform = "log" needs positive values; series '
                              f'{key!r} has values <= 0 (transform = "boxcox" shifts it).')
        splits[key] = (n_train, n_val, n_test)
    if vocab is None:
        train_cov = np.concatenate([c[:splits[k][0]] for k, (_, c, _) in series.items()])
        vocab = {"columns": [d.target_column], "target": 0, "period": period, "log": False,
                 "transform": kind, "difference": False, "window": window, "horizon": h,
                 "panel": True, "seasonalities": list(d.seasonalities),
                 "covariates": list(d.future_covariates),
                 "past_covariates": list(d.past_covariates),
                 "cov_mean": train_cov.mean(0).tolist() if train_cov.size else [],
                 "cov_std": (train_cov.std(0) + 1e-8).tolist() if train_cov.size else [],
                 "series": {}}
        for key, (y, _, times) in series.items():
            part = y[:splits[key][0], None]
            v = {"transform": kind}
            if d.time_column:  # the Fourier clock, for forecasts from a later file
                gaps = np.diff(times[:splits[key][0]])
                v["t0"], v["dt"] = float(times[0]), float(np.median(gaps)) if len(gaps) else 1.0
            if kind == "boxcox":
                v["lambda"], v["shift"] = fc.boxcox_fit(part)
            z = fc._levels(part, v)[:, 0]
            vocab["series"][str(key)] = {**v, "mean": float(z.mean()), "std": float(z.std() + 1e-8)}
    xs, fs, ts = [], [], []
    parts = {"val": [], "test": []}
    for key, (y, cov, times) in series.items():
        n_train, n_val, n_test = splits[key]
        v = vocab["series"][str(key)]
        s = (fc._levels(y[:, None], v)[:, 0] - v["mean"]) / v["std"]        # (T,)
        f = _features(cov, steps_of(times, v), vocab)                      # (T, F)
        for i in range(n_train - window - h + 1):
            xs.append(s[i:i + window]), ts.append(s[i + window:i + window + h])
            fs.append(hide_ahead(f[i:i + window + h], vocab))
        for split, end, n in (("val", n_train, n_val), ("test", n_train + n_val, n_test)):
            if n:
                parts[split].append({"key": str(key), "history": y[:end], "truth": y[end:end + n],
                                     "features": f[:end + n]})
    as_t = lambda a: torch.as_tensor(np.asarray(a), dtype=torch.float32)  # noqa: E731
    train = (as_t(xs)[..., None], as_t(fs), as_t(ts)[..., None])           # (N,W,1) (N,W+h,F) (N,h,1)
    return Data(train, parts["val"], parts["test"], vocab,
                {"series": len(series), "steps": [sum(s[i] for s in splits.values())
                                                  for i in range(3)]})


@torch.no_grad()
def forecast_one(model, vocab: dict, part: dict) -> np.ndarray:
    """The recursive forecast (steps,) of one series' held-out span: the history's scaled
    levels, the known covariates of the whole span."""
    from seqlab.tasks import forecast_scale as fc
    v = vocab["series"][part["key"]]
    W, h = vocab["window"], vocab["horizon"]
    s = list((fc._levels(part["history"][:, None], v)[:, 0] - v["mean"]) / v["std"])
    n, steps = len(s), len(part["truth"])
    feats = part["features"]                                               # (T + steps, F)
    feats = np.concatenate([feats, np.repeat(feats[-1:], h, 0)])          # pad the last chunk
    device = next(model.parameters()).device
    while len(s) - n < steps:
        t0 = len(s)
        x = torch.as_tensor(np.asarray(s[-W:]), dtype=torch.float32)[None, :, None]
        f = torch.as_tensor(hide_ahead(feats[t0 - W:t0 + h], vocab), dtype=torch.float32)[None]
        s += model(x.to(device), f.to(device))[0, :, 0].cpu().tolist()
    z = np.asarray(s[n:n + steps]) * v["std"] + v["mean"]
    return fc._unlevel(z[:, None], v)[:, 0]


def evaluate(model, data: Data, cfg: Config, split: str) -> dict:
    from seqlab.tasks.forecast_scale import mase_scale, scores
    parts = getattr(data, split)
    if not parts:
        return {}
    rows = [scores(forecast_one(model, data.vocab, p), p["truth"],
                   mase_scale(p["history"], data.vocab["period"])) for p in parts]
    return {k: float(np.mean([r[k] for r in rows])) for k in rows[0]}


def baseline_fns(data: Data) -> dict:
    """{baseline: fn() -> mean MASE over the series' test parts}: naive, seasonal naive
    (of [data] seasonality and of each seasonality) and AR by AIC."""
    from seqlab.baselines import forecast as fc
    from seqlab.tasks.forecast_scale import mase_scale, scores
    m = data.vocab["period"]

    def mean_mase(fn):
        return float(np.mean([scores(fn(p["history"], len(p["truth"])), p["truth"],
                                     mase_scale(p["history"], m))["mase"] for p in data.test]))
    fns = {"naive": lambda: mean_mase(lambda hh, n: fc.naive(hh, n)),
           "seasonal_naive": lambda: mean_mase(lambda hh, n: fc.seasonal_naive(hh, n, m))}
    for p in data.vocab["seasonalities"]:
        if p != m:
            fns[f"seasonal_naive_{p}"] = lambda p=p: mean_mase(
                lambda hh, n: fc.seasonal_naive(hh, n, p))
    fns["ar"] = lambda: mean_mase(lambda hh, n: fc.ar(hh, n, m))
    return fns


def finish(run, model, data: Data, metrics: dict) -> dict:
    from seqlab import baselines as base
    values, seconds, skipped = base.run_all(baseline_fns(data))
    out = {f"baseline_{k}_mase": v for k, v in values.items()}
    out["series"] = len(data.test)
    out.update(base.compare("mase", metrics["mase"], values, higher=False, seconds=seconds,
                            skipped=skipped))
    plot(run, model, data, metrics)
    return out


def plot(run, model, data: Data, metrics: dict, most: int = 4) -> None:
    """forecast_series.png: the first ``most`` series around their test span."""
    from seqlab import plots
    from seqlab.baselines import forecast as fc
    m, panels = data.vocab["period"], []
    for p in data.test[:most]:
        hist, truth = p["history"], p["truth"]
        keep = max(len(truth) + 4 * m, 3 * len(truth))                     # zoom on the end
        t = np.arange(len(hist) + len(truth))
        panels.append({"name": p["key"], "history_t": t[:len(hist)][-keep:],
                       "history": hist[-keep:], "test_t": t[len(hist):], "truth": truth,
                       "predictions": {"seqlab": forecast_one(model, data.vocab, p),
                                       "seasonal naive": fc.seasonal_naive(hist, len(truth), m)}})
    if panels:
        plots.forecast_series(panels, run.plots_dir / "forecast_series.png",
                              title=f"held-out forecast (mean MASE {metrics['mase']:.2f})")


def predict(model, vocab: dict, cfg: Config, lines: list[str]) -> list[str]:
    """``seqlab predict`` of a run over several series: ``lines`` are a CSV in the training
    file's layout (header first). Each series' rows with a value in the target column are
    its recent history; the rows after them with the target cell empty are the steps to
    forecast (their known-future covariates filled in; past covariates may be empty: read
    as their training mean, i.e. not known). The model reads the covariates of a whole
    horizon at once: with fewer rows to forecast than the horizon, the last row's covariates
    stand for the steps after it. Returns one entry per line: "forecast" for the
    header, "" for a history row, the forecast for a row to forecast."""
    import csv
    d = cfg.data
    rows = list(csv.reader(lines))
    header = [h.strip() for h in rows[0]]
    given = [*vocab["covariates"], *vocab.get("past_covariates", [])]
    need = [c for c in [d.id_column, d.time_column, d.target_column, *given] if c]
    missing = [c for c in need if c not in header]
    if missing:
        raise SeqlabError(f"--input: the first line must be the header of the training "
                          f"file's layout; it lacks column {missing[0]!r} (it needs "
                          f"{', '.join(need)}).")
    if vocab["seasonalities"] and not d.time_column:
        raise SeqlabError("--input: this run reads seasonalities as sin/cos of the step; "
                          "without [data] time_column a later file's steps are unknown. "
                          "Retrain with a time_column.")
    col = {c: header.index(c) for c in need}

    def number(r, c, i, empty_ok=False):
        cell = r[col[c]].strip() if col[c] < len(r) else ""
        if cell == "" and empty_ok:
            return None
        try:
            return float(cell)
        except ValueError:
            raise SeqlabError(f"--input line {i + 1}: column {c!r} holds {cell!r}, not a "
                              f"number; fill or fix that cell.") from None
    by_key: dict = {}
    for i, r in enumerate(rows[1:], start=1):
        key = r[col[d.id_column]].strip() if d.id_column else "all"
        by_key.setdefault(key, []).append(i)
    out = ["forecast"] + [""] * (len(rows) - 1)
    for key, idx in by_key.items():
        if key not in vocab["series"]:
            raise SeqlabError(f"--input: series {key!r} was not trained on; this run knows "
                              f"{', '.join(sorted(vocab['series']))}.")
        v = vocab["series"][key]
        t = np.asarray([number(rows[i], d.time_column, i) if d.time_column else n
                        for n, i in enumerate(idx)], dtype=np.float64)
        idx = [idx[j] for j in np.argsort(t, kind="stable")]
        t = np.sort(t, kind="stable")
        y = [number(rows[i], d.target_column, i, empty_ok=True) for i in idx]
        n_hist = next((j for j, val in enumerate(y) if val is None), len(y))
        if any(val is not None for val in y[n_hist:]):
            raise SeqlabError(f"--input: series {key!r} has a target value after a row to "
                              f"forecast; the rows to forecast (target empty) come last.")
        if n_hist < vocab["window"]:
            raise SeqlabError(f"--input: series {key!r} gives {n_hist} steps of history; "
                              f"the model reads {vocab['window']}: give at least that many.")
        if n_hist == len(y):
            continue
        cov = np.asarray([[number(rows[i], c, i, empty_ok=c not in vocab["covariates"])
                           for c in given] for i in idx], dtype=np.float64).reshape(len(idx), -1)
        cov = np.where(np.isnan(cov), np.asarray(vocab["cov_mean"] or [0.0] * len(given)), cov)
        part = {"key": key, "history": np.asarray(y[:n_hist], dtype=np.float64),
                "truth": np.zeros(len(y) - n_hist),
                "features": _features(cov, steps_of(t, v), vocab)}
        for i, value in zip(idx[n_hist:], forecast_one(model, vocab, part)):
            out[i] = f"{value:.6g}"
    return out
