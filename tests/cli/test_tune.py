"""seqlab tune: a tiny search that trains its best settings; an interrupted study resumes."""
import json
from pathlib import Path

import pytest

pytest.importorskip("optuna")

from seqlab import cli  # noqa: E402
from seqlab.config import Config  # noqa: E402
from seqlab.tune import tune  # noqa: E402

TINY = """task = "forecast"
name = "air"
runs_dir = "{runs}"

[data]
dataset = "airline"
window = 12
test_fraction = 0.2
log = true

[model]
units = 8

[training]
epochs = 2
batch_size = 32
"""


def _config(tmp_path):
    path = tmp_path / "air.toml"
    path.write_text(TINY.format(runs=tmp_path / "runs"))
    return path


def test_tiny_tune_trains_the_best_settings(tmp_path, capsys):
    path = _config(tmp_path)
    assert cli.main(["tune", str(path), "--budget", "5m", "--trials", "2"]) == 0
    out = capsys.readouterr().out
    assert "trial 0:" in out and "trial 1:" in out and "tuned run saved" in out
    folder = tmp_path / "runs" / "air-tuned"
    trials = json.loads((folder / "tune.json").read_text())
    assert len(trials["trials"]) == 2 and trials["metric"] == "val_mase"
    best = min(trials["trials"], key=lambda t: t["val_mase"])
    assert trials["best_params"]["units"] == best["units"]
    tuned = Config.load(folder / "config.toml")
    assert tuned.model.units == best["units"] and tuned.data.window == best["window"]
    metrics = json.loads((folder / "metrics.json").read_text())
    assert "best_baseline" in metrics and "model_beats_best_baseline" in metrics
    assert (tmp_path / "runs" / "air-tune.db").is_file()


def test_interrupted_study_resumes_from_its_file(tmp_path):
    import optuna
    base = Config.load(_config(tmp_path))
    db = tmp_path / "study.db"

    def stop_after_first(study, trial):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        tune(base, 300, trials=3, study=db, callbacks=[stop_after_first], verbose=False)
    storage = f"sqlite:///{db}"
    first = optuna.load_study(study_name="air", storage=storage).trials
    assert [t.state.name for t in first] == ["COMPLETE"]

    ran = []
    _, metrics, study = tune(base, 300, trials=3, study=db, verbose=False,
                             callbacks=[lambda s, t: ran.append(t.number)])
    assert ran == [1, 2]                                   # trial 0 was not redone
    assert [t.state.name for t in study.trials] == ["COMPLETE"] * 3
    kept = study.trials[0]
    assert kept.params == first[0].params and kept.value == first[0].value
    assert kept.datetime_start == first[0].datetime_start
    assert "mase" in metrics


def test_mlp_forecast_search_covers_lookbacks_transform_and_ensemble(tmp_path):
    import optuna
    from seqlab.tune import apply, suggest, window_sets
    raw = {"task": "forecast", "data": {"dataset": "airline", "windows": [24, 36],
                                        "transform": "log"},
           "model": {"arch": "mlp", "ensemble": 10}, "training": {"epochs": 20}}
    base = Config.from_dict(raw)
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    seen = set()
    for _ in range(12):
        trial = study.ask()
        cfg = suggest(trial, base)
        assert {"windows", "transform", "ensemble", "weight_decay", "units", "layers",
                "learning_rate", "epochs"} <= set(trial.params)
        assert "window" not in trial.params          # the ensemble's look-backs replace it
        assert ",".join(map(str, cfg.data.windows)) in window_sets(base)
        assert not cfg.data.log and cfg.data.transform == trial.params["transform"]
        again = apply(base, trial.params)               # what the tuned run trains
        assert again.data.windows == cfg.data.windows
        assert again.model.ensemble == cfg.model.ensemble
        assert again.training.weight_decay == cfg.training.weight_decay
        seen.add((trial.params["windows"], trial.params["transform"]))
        study.tell(trial, 1.0)
    assert len({w for w, _ in seen}) > 1 and len({t for _, t in seen}) > 1
    assert window_sets(base) == ["24,36", "12,18", "24", "36", "24,36,72"]


def test_linear_forecast_search_keeps_the_least_squares_fit(tmp_path):
    """Linear members fitted by LBFGS: only the look-backs and the transform are searched;
    the tuned config keeps layers = 0, LBFGS and no weight decay."""
    import optuna
    from seqlab.tune import apply, suggest
    base = Config.load(Path(__file__).resolve().parents[2] / "examples" /
                       "forecast_airline.toml")
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    for _ in range(6):
        trial = study.ask()
        cfg = suggest(trial, base)
        assert set(trial.params) == {"windows", "transform"}
        again = apply(base, trial.params)
        assert again.model.layers == 0 and again.training.optimizer == "lbfgs"
        assert again.training.weight_decay == 0 and again.data.windows == cfg.data.windows
        study.tell(trial, 1.0)


def test_bag_search_scales_the_rate_to_the_config_and_skips_recurrent_sizes():
    import optuna
    from seqlab.tune import apply, suggest
    base = Config.from_dict({"task": "classify", "data": {"dataset": "rotten_tomatoes"},
                             "model": {"arch": "bag", "nb_buckets": 1000},
                             "training": {"optimizer": "adagrad", "learning_rate": 0.2,
                                          "epochs": 6}})
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    for _ in range(8):
        trial = study.ask()
        cfg = suggest(trial, base)
        assert set(trial.params) == {"dropout", "learning_rate", "epochs"}
        assert 0.02 <= cfg.training.learning_rate <= 0.6 and 3 <= cfg.training.epochs <= 12
        assert apply(base, trial.params).training.learning_rate == cfg.training.learning_rate
        study.tell(trial, 1.0)


def test_config_without_validation_part_is_searched_on_a_cut_of_its_training_part(tmp_path):
    path = tmp_path / "air.toml"
    path.write_text(TINY.format(runs=tmp_path / "runs").replace(
        "test_fraction = 0.2", "test_fraction = 0.2\nval_fraction = 0.0"))
    run, metrics, study = tune(Config.load(path), 300, trials=1, verbose=False)
    assert study.trials[0].state.name == "COMPLETE" and study.best_value > 0
    assert Config.load(run.file("config.toml")).data.val_fraction == 0.0
    assert "mase" in metrics
