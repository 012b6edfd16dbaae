"""Past covariates: columns observed up to the forecast origin, read over the window only.

The series is driven by a covariate two steps earlier (sales_t = 3 x footfall_{t-2} +
noise, footfall a random AR(1) walk): without the footfall the sales are noise around
their level; with it, a one-step forecast knows them."""
import numpy as np
import pytest

from seqlab.config import Config
from seqlab.errors import SeqlabError
from seqlab.tasks import forecast_panel, train


def _write(path, n=600, seed=0):
    rng = np.random.default_rng(seed)
    x = np.zeros(n)
    for t in range(1, n):
        x[t] = 0.7 * x[t - 1] + rng.normal()
    y = 50 + 3 * np.roll(x, 2) + 0.3 * rng.normal(size=n)
    lines = ["hour,sales,footfall"] + [f"{t},{y[t]:.4f},{x[t]:.4f}" for t in range(2, n)]
    path.write_text("\n".join(lines) + "\n")


def _config(tmp_path, past, seasonalities=(), name="shop"):
    _write(tmp_path / "shop.csv")
    cfg = Config.from_dict({
        "task": "forecast", "name": name, "runs_dir": str(tmp_path / "runs"),
        "data": {"dataset": "file", "path": str(tmp_path / "shop.csv"), "time_column": "hour",
                 "target_column": "sales", "past_covariates": past, "window": 8,
                 "seasonalities": list(seasonalities), "seasonality": 1,
                 "horizon": 1, "test_fraction": 0.2, "val_fraction": 0.0, "difference": False},
        "model": {"arch": "mlp", "ensemble": 1, "units": 32, "layers": 1},
        "training": {"epochs": 30, "batch_size": 32, "learning_rate": 0.003, "seed": 0}})
    return cfg


def test_a_past_covariate_is_read_over_the_window_only(tmp_path):
    cfg = _config(tmp_path, ["footfall"])
    data = forecast_panel.prepare(cfg)
    x, f, t = data.train                           # (N, W, 1) (N, W + h, F) (N, h, 1)
    assert f.shape[1:] == (9, 1)
    assert (f[:, -1:, 0] == 0).all()               # the forecast step: not observed yet
    assert (f[:, :-1, 0] != 0).float().mean() > 0.99  # the window: the recorded values


def test_a_past_covariate_makes_a_driven_series_forecastable(tmp_path):
    _, with_it = train(_config(tmp_path, ["footfall"]), verbose=False)
    # the same global model without the column (a Fourier term keeps the panel path on)
    _, without = train(_config(tmp_path, [], seasonalities=[24], name="no_footfall"), verbose=False)
    # without footfall the sales are AR noise (MAE ~3.3, MASE ~0.7); with footfall two
    # steps back the one-step forecast sees what drives them (MAE ~0.6, MASE ~0.2)
    assert with_it["mae"] < 0.5 * without["mae"], (with_it, without)
    assert with_it["mase"] < 0.5 * without["mase"], (with_it, without)
    assert with_it["mase"] < 0.5 * with_it["baseline_naive_mase"], with_it


def test_a_column_in_both_lists_is_refused_before_training(tmp_path):
    cfg = _config(tmp_path, ["footfall"])
    cfg.data.future_covariates = ["footfall"]
    with pytest.raises(SeqlabError, match="both future_covariates and past_covariates"):
        train(cfg, verbose=False)


# ---------------------------------------------------------------- several series, own files
def _split_shops(tmp_path, test_hours=72):
    """examples/data/shops_long.csv cut in time: each shop's last ``test_hours`` hours in a
    test file (the rows shuffled across shops, as a user's export may be)."""
    from pathlib import Path
    lines = (Path(__file__).resolve().parents[2] / "examples" / "data" /
             "shops_long.csv").read_text().splitlines()
    head, rows = lines[0], lines[1:]
    hours = max(int(r.split(",")[1]) for r in rows) + 1
    train = [r for r in rows if int(r.split(",")[1]) < hours - test_hours]
    test = [r for r in rows if int(r.split(",")[1]) >= hours - test_hours][::-1]
    (tmp_path / "train.csv").write_text("\n".join([head, *train]) + "\n")
    (tmp_path / "test.csv").write_text("\n".join([head, *test]) + "\n")
    return hours


def _shops(tmp_path, name, **data):
    return Config.from_dict({
        "task": "forecast", "name": name, "runs_dir": str(tmp_path / "runs"),
        "data": {"dataset": "file", "id_column": "shop", "time_column": "hour",
                 "target_column": "sales", "future_covariates": ["promo"],
                 "seasonalities": [24, 168], "seasonality": 24, "window": 24, "horizon": 24,
                 "val_fraction": 0.0, **data},
        "model": {"arch": "mlp", "ensemble": 1, "units": 16, "layers": 1},
        "training": {"epochs": 3, "batch_size": 64, "seed": 0}})


def test_several_series_with_their_own_test_file_equal_the_same_split_of_one_file(tmp_path):
    from pathlib import Path
    hours = _split_shops(tmp_path)
    whole = str(Path(__file__).resolve().parents[2] / "examples" / "data" / "shops_long.csv")
    run_a, files = train(_shops(tmp_path, "files", path=str(tmp_path / "train.csv"),
                                test_path=str(tmp_path / "test.csv")), verbose=False)
    _, one = train(_shops(tmp_path, "one_file", path=whole, test_fraction=72 / hours),
                   verbose=False)
    assert files["series"] == 3
    assert files["mase"] == pytest.approx(one["mase"], rel=1e-6), (files, one)
    assert (run_a.plots_dir / "forecast_series.png").stat().st_size > 0


def test_a_series_only_in_the_test_file_is_refused_before_training(tmp_path):
    _split_shops(tmp_path)
    with open(tmp_path / "test.csv", "a") as f:
        f.write("west,600,10.0,0\n")
    with pytest.raises(SeqlabError, match="series 'west'.*not in the training file"):
        train(_shops(tmp_path, "stray", path=str(tmp_path / "train.csv"),
                     test_path=str(tmp_path / "test.csv")), verbose=False)


def test_predict_reads_a_csv_of_histories_and_rows_to_forecast(tmp_path):
    """`seqlab predict` on a run over several series: the rows with an empty target are
    forecast from each series' history rows; the forecast equals the run's own test
    forecast of the same steps."""
    from seqlab import tasks
    from seqlab.tasks import forecast_panel as fp
    _split_shops(tmp_path)
    cfg = _shops(tmp_path, "to_predict", path=str(tmp_path / "train.csv"),
                 test_path=str(tmp_path / "test.csv"))
    run, _ = train(cfg, verbose=False)
    run, task, model, vocab = tasks.load(run.path)
    head, *train_rows = (tmp_path / "train.csv").read_text().splitlines()
    test_rows = (tmp_path / "test.csv").read_text().splitlines()[1:]
    lines = [head]
    for shop in ("south", "north"):  # two of the three series, histories of 30 hours
        lines += [r for r in train_rows if r.startswith(shop + ",")][-30:]
        ahead = sorted((r for r in test_rows if r.startswith(shop + ",")),
                       key=lambda r: int(r.split(",")[1]))[:24]
        lines += [",".join(r.split(",")[:2] + ["", r.split(",")[3]]) for r in ahead]
    out = task.predict(model, vocab, run.config, lines)
    assert len(out) == len(lines) and out[0] == "forecast"
    data = fp.prepare(run.config, vocab)
    for shop in ("south", "north"):
        got = [float(o) for line, o in zip(lines, out) if line.startswith(shop + ",") and o]
        part = next(p for p in data.test if p["key"] == shop)
        want = fp.forecast_one(model, vocab, part)[:24]
        assert len(got) == 24
        assert got == pytest.approx(list(want), rel=1e-4, abs=1e-3), (shop, got, want)
    bad = lines[:3] + ["south,999,12.0,0"]  # a target after a row to forecast
    bad[2] = ",".join(bad[2].split(",")[:2] + ["", "0"])
    with pytest.raises(SeqlabError, match="target value after a row to forecast"):
        task.predict(model, vocab, run.config, bad)
