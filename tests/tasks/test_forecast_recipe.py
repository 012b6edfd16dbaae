"""forecast, arch = "mlp": the ensemble of linear + MLP members, target transforms."""
import numpy as np
import pytest

from seqlab import tasks
from seqlab.config import Config, ConfigError
from seqlab.errors import SeqlabError
from seqlab.tasks import forecast


def test_boxcox_round_trip_and_lambda_near_zero_for_exponential_growth():
    t = np.arange(200.0)
    y = np.exp(0.02 * t + 0.3 * np.sin(2 * np.pi * t / 12))[:, None]      # (T, 1), log-additive
    lam, shift = forecast.boxcox_fit(y)
    assert abs(lam[0]) < 0.3 and shift == [0.0]
    vocab = {"transform": "boxcox", "lambda": lam, "shift": shift}
    assert np.allclose(forecast._unlevel(forecast._levels(y, vocab), vocab), y)
    zeros = np.r_[0.0, 5.0, 1.0, 9.0][:, None]                              # zeros: shifted
    lam, shift = forecast.boxcox_fit(zeros)
    v = {"transform": "boxcox", "lambda": lam, "shift": shift}
    assert shift[0] > 0 and np.allclose(forecast._unlevel(forecast._levels(zeros, v), v), zeros)


def test_mlp_ensemble_learns_a_trending_multiplicative_season(tmp_path, helpers):
    """Growth times a 12-step season plus noise: the members' forecast of the whole 48-step
    test span is far better than the seasonal naive's (which misses the growth)."""
    rng = np.random.default_rng(0)
    t = np.arange(240)
    y = 50 * np.exp(0.01 * t) * (1 + 0.3 * np.sin(2 * np.pi * t / 12)) \
        * np.exp(0.03 * rng.standard_normal(len(t)))
    path = tmp_path / "growth.csv"
    path.write_text("y\n" + "\n".join(f"{v:.4f}" for v in y) + "\n")
    cfg = helpers.config(
        tmp_path, "forecast",
        {"dataset": "file", "path": str(path), "seasonality": 12, "transform": "boxcox",
         "difference": False, "windows": [12, 24], "horizon": 12, "test_fraction": 0.2,
         "val_fraction": 0.0},
        {"arch": "mlp", "ensemble": 4, "units": 32, "layers": 1},
        {"epochs": 30, "batch_size": 32, "learning_rate": 0.003})
    run, m = tasks.train(cfg, verbose=False)
    assert m["mase"] < 0.35 * m["baseline_seasonal_naive_mase"], m
    run2, task, model, vocab = tasks.load(run.path)                        # saved, reloaded
    assert vocab["transform"] == "boxcox" and vocab["window"] == 24
    assert tasks.evaluate(run.path)["mase"] == pytest.approx(m["mase"], rel=1e-5)


def test_recipe_fields_are_checked_before_training(tmp_path, helpers):
    with pytest.raises(ConfigError, match=r'arch = "mlp" is available for task = "forecast"'):
        Config.from_dict({"task": "classify", "model": {"arch": "mlp"}})
    with pytest.raises(ConfigError, match=r"\[data\] windows must be a list"):
        Config.from_dict({"task": "forecast", "data": {"windows": [12, 0]}})
    with pytest.raises(ConfigError, match=r"\[data\] transform"):
        Config.from_dict({"task": "forecast", "data": {"transform": "sqrt"}})
    with pytest.raises(ConfigError, match=r"\[model\] ensemble must be >= 1"):
        Config.from_dict({"task": "forecast", "model": {"ensemble": 0}})
    path = tmp_path / "z.csv"
    path.write_text("y\n" + "\n".join(str(i % 5) for i in range(100)) + "\n")
    cfg = helpers.config(tmp_path, "forecast", {"dataset": "file", "path": str(path),
                                                "transform": "log", "window": 5})
    with pytest.raises(SeqlabError, match=r'\[data\] transform = "log" needs a positive'):
        forecast.prepare(cfg)


def test_quantile_interval_covers_about_its_nominal_share(tmp_path, helpers):
    """A noisy season (noise sd 0.5): the 10%-90% band of the test span holds roughly 80%
    of the truth (a band of zero width, or one that ignores the noise, holds far less; an
    unbounded one holds all: the bar sits between)."""
    cfg = helpers.config(
        tmp_path, "forecast",
        {"dataset": "periodic", "options": {"length": 400, "periods": [12], "noise": 0.5},
         "difference": False, "windows": [12, 24], "horizon": 12, "test_fraction": 0.2,
         "val_fraction": 0.0},
        {"arch": "mlp", "ensemble": 2, "units": 32, "layers": 1, "quantiles": [0.1, 0.9]},
        {"epochs": 30, "batch_size": 32, "learning_rate": 0.003})
    _, m = tasks.train(cfg, verbose=False)
    assert m["interval_nominal"] == pytest.approx(0.8)
    assert 0.55 <= m["interval_coverage"] <= 0.97, m
    assert m["mase"] < m["baseline_naive_mase"], m
