"""`seqlab tune CONFIG --budget 10m`: model selection with Optuna on the validation split.

Each trial is an ordinary run (``seqlab.tasks.train``, the one engine) of the config with
these fields drawn by Optuna's TPE sampler (seeded by [training] seed):

    [model] units (16..256), layers (1..3), dropout (0..0.5)
    [training] learning_rate (1e-4..1e-2, log scale), epochs (half to twice the config's)
    [data] window (forecast only: half to twice the config's)

and for a forecast with arch = "mlp" (a window ensemble), in place of [data] window:

    [data] windows (the config's look-backs, their halves, one of them, or with twice the
           longest added), transform (none / log / boxcox; log on a series with values
           <= 0 is skipped as a pruned trial)
    [model] ensemble (1..10 members)
    [training] weight_decay (0, 1e-4 .. 1e-1)

A window ensemble of linear members fitted by LBFGS ([model] layers = 0, [training]
optimizer = "lbfgs": least-squares autoregressions, fitted to convergence whatever the
rate and epochs) searches only [data] windows and transform. A classifier with arch =
"bag" (no recurrent layers, so no units or layers) searches, the config's own rate setting
the range:

    [model] dropout (0..0.7)
    [training] learning_rate (a tenth to three times the config's, log scale), epochs

    >>> window_sets(Config.from_dict({"task": "forecast", "data": {"windows": [24, 36]}}))
    ['24,36', '12,18', '24', '36', '24,36,72']

A trial scores the best validation value of the task's metric over its epochs (its
``MONITOR``: accuracy, MASE, cross-entropy...); the test part plays no role in the choice.
A config without a validation part (val_fraction = 0, no val_path) is searched with
val_fraction = 0.2 of its training part; its tuned run then trains on the whole of it again.
The study lives in an SQLite file (``runs_dir/NAME-tune.db`` unless ``study`` names
another), so a tuning run stopped by Ctrl-C or a crash resumes from it: finished trials
are kept and only the remaining ones run. At the end the best settings are trained as a
normal run (``runs_dir/NAME-tuned``) whose folder also holds ``tune.json``, the trials.

    >>> parse_budget("10m"), parse_budget("90s"), parse_budget("1.5h"), parse_budget("45")
    (600.0, 90.0, 5400.0, 45.0)
"""
from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Callable, Iterable, Optional

from seqlab.config import Config
from seqlab.errors import SeqlabError


def parse_budget(text: str) -> float:
    """"10m", "90s", "1.5h" or plain seconds -> seconds."""
    m = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*([smh]?)\s*", str(text))
    if not m or float(m.group(1)) <= 0:
        raise SeqlabError(f"--budget {text!r}: expected a positive duration such as 10m, "
                          f"90s or 1h.")
    return float(m.group(1)) * {"": 1, "s": 1, "m": 60, "h": 3600}[m.group(2)]


def _optuna():
    try:
        import optuna
    except ImportError:
        raise SeqlabError("seqlab tune needs Optuna: pip install 'seqlab[tune]' "
                          "(or pip install optuna).") from None
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna


def window_sets(base: Config) -> list[str]:
    """The look-back sets searched for arch = "mlp", each as "w1,w2,..." (Optuna's
    categorical choices must be plain values): the config's, halved, each alone, and the
    config's with twice the longest added."""
    ws = [int(w) for w in (base.data.windows or [base.data.window])]
    sets = [ws, [max(2, w // 2) for w in ws], *[[w] for w in ws], ws + [2 * max(ws)]]
    out: list[str] = []
    for s in sets:
        key = ",".join(str(w) for w in sorted(set(s)))
        if key not in out:
            out.append(key)
    return out


def _mlp_forecast(base: Config) -> bool:
    return base.task == "forecast" and base.model.arch == "mlp"


def _linear_forecast(base: Config) -> bool:
    return _mlp_forecast(base) and base.model.layers == 0 and base.training.optimizer == "lbfgs"


def _bag(base: Config) -> bool:
    return base.task == "classify" and base.model.arch == "bag"


def suggest(trial, base: Config) -> Config:
    """A copy of ``base`` with the searched fields drawn by ``trial``."""
    cfg = copy.deepcopy(base)
    if _linear_forecast(base):  # least squares: only what the fit cannot choose
        cfg.data.windows = _windows(trial.suggest_categorical("windows", window_sets(base)))
        cfg.data.transform = trial.suggest_categorical("transform", ["none", "log", "boxcox"])
        cfg.data.log = False
        return cfg
    e = base.training.epochs
    if _bag(base):
        lr = base.training.learning_rate
        cfg.model.dropout = trial.suggest_float("dropout", 0.0, 0.7)
        cfg.training.learning_rate = trial.suggest_float("learning_rate", lr / 10, 3 * lr,
                                                         log=True)
        cfg.training.epochs = trial.suggest_int("epochs", max(1, e // 2), max(2, 2 * e))
        return cfg
    cfg.model.units = trial.suggest_categorical("units", [16, 32, 64, 128, 256])
    cfg.model.layers = trial.suggest_int("layers", 1, 3)
    cfg.model.dropout = trial.suggest_float("dropout", 0.0, 0.5)
    cfg.training.learning_rate = trial.suggest_float("learning_rate", 1e-4, 1e-2, log=True)
    cfg.training.epochs = trial.suggest_int("epochs", max(1, e // 2), max(2, 2 * e))
    if _mlp_forecast(base):
        cfg.data.windows = _windows(trial.suggest_categorical("windows", window_sets(base)))
        cfg.data.transform = trial.suggest_categorical("transform", ["none", "log", "boxcox"])
        cfg.data.log = False                       # transform = "log" is log = true
        cfg.model.ensemble = trial.suggest_categorical("ensemble", [1, 3, 6, 10])
        cfg.training.weight_decay = trial.suggest_categorical(
            "weight_decay", [0.0, 1e-4, 1e-3, 1e-2, 1e-1])
    elif base.task == "forecast":
        w = base.data.window
        cfg.data.window = trial.suggest_int("window", max(2, w // 2), max(3, 2 * w))
    return cfg


def _windows(key: str) -> list[int]:
    return [int(w) for w in str(key).split(",")]


def apply(base: Config, params: dict) -> Config:
    """``base`` with the settings ``params`` (as ``suggest`` names them)."""
    cfg = copy.deepcopy(base)
    where = {"units": cfg.model, "layers": cfg.model, "dropout": cfg.model,
             "learning_rate": cfg.training, "epochs": cfg.training, "window": cfg.data,
             "windows": cfg.data, "transform": cfg.data, "ensemble": cfg.model,
             "weight_decay": cfg.training}
    for key, value in params.items():
        setattr(where[key], key, _windows(value) if key == "windows" else value)
    if "transform" in params:
        cfg.data.log = False                       # transform = "log" is log = true
    return cfg


def _validation_score(run, key: str, mode: str) -> Optional[float]:
    rows = run.checkpoint_meta()["history"] if run.has_checkpoint() else []
    values = [r[f"val_{key}"] for r in rows if isinstance(r.get(f"val_{key}"), (int, float))]
    if not values:
        return None
    return max(values) if mode == "max" else min(values)


def tune(base: Config, budget_s: float, trials: Optional[int] = None,
         study: Optional[str | Path] = None, callbacks: Iterable[Callable] = (),
         verbose: bool = True):
    """Search, then train the best settings. Returns (run, test metrics, optuna study).

    ``trials``: how many finished trials the study should hold (those of an earlier,
    interrupted tuning run count); ``callbacks``: Optuna's ``fn(study, trial)`` after each
    trial. A KeyboardInterrupt stops the search; the study file keeps what was done."""
    optuna = _optuna()
    from seqlab import tasks
    task = tasks.get(base.task)
    key, mode = getattr(task, "MONITOR", ("loss", "min"))
    runs = Path(base.runs_dir)
    path = Path(study) if study else runs / f"{base.name}-tune.db"
    path.parent.mkdir(parents=True, exist_ok=True)
    s = optuna.create_study(study_name=base.name, storage=f"sqlite:///{path}",
                            load_if_exists=True,
                            direction="maximize" if mode == "max" else "minimize",
                            sampler=optuna.samplers.TPESampler(seed=base.training.seed))
    done = sum(t.state == optuna.trial.TrialState.COMPLETE for t in s.trials)

    searched = base
    if base.data.val_fraction == 0 and not base.data.val_path:
        searched = copy.deepcopy(base)
        searched.data.val_fraction = 0.2
        if verbose:
            print("[data] val_fraction = 0: the trials validate on the last 20% of the "
                  "training part; the tuned run trains on all of it", flush=True)

    def objective(trial):
        cfg = suggest(trial, searched)
        cfg.runs_dir = str(runs / f"{base.name}-tune-trials")
        cfg.name = f"trial-{trial.number}"
        cfg.training.keep_best = True
        try:
            run, _ = tasks.train(cfg, verbose=False, overwrite=True)
        except SeqlabError as err:  # e.g. a window too long for the data
            raise optuna.TrialPruned(str(err)) from None
        score = _validation_score(run, key, mode)
        if score is None:
            raise SeqlabError(f"seqlab tune: trial {trial.number} has no validation "
                              f"{key}; set [data] val_fraction > 0.")
        if verbose:
            print(f"trial {trial.number}: val_{key} {score:.4g}  {trial.params}", flush=True)
        return score

    left = None if trials is None else max(trials - done, 0)
    if verbose and done:
        print(f"resuming {path}: {done} finished trial(s) kept", flush=True)
    if left != 0:
        s.optimize(objective, n_trials=left, timeout=budget_s, callbacks=list(callbacks),
                   catch=())
    finished = [t for t in s.trials if t.state == optuna.trial.TrialState.COMPLETE]
    if not finished:
        raise SeqlabError(f"seqlab tune: no trial finished within the budget; give a "
                          f"larger --budget than {budget_s:.0f} s.")
    cfg = apply(base, s.best_params)
    cfg.name = f"{base.name}-tuned"
    run, metrics = tasks.train(cfg, verbose=False, overwrite=True)
    table = [{"trial": t.number, f"val_{key}": t.value, **t.params,
              "seconds": (t.datetime_complete - t.datetime_start).total_seconds()}
             for t in finished]
    run.write_json("tune.json", {"metric": f"val_{key}", "direction": mode,
                                 "study": str(path), "best_params": s.best_params,
                                 "best_value": s.best_value, "trials": table})
    return run, metrics, s
