"""forecast: beats the naive baselines on a noisy seasonal series; metrics are right."""
import numpy as np
import pytest

from seqlab import tasks
from seqlab.tasks import forecast


def test_mase_and_baselines_by_hand():
    hist = np.array([1.0, 2, 3, 1, 2, 3])
    assert forecast.mase_scale(hist, 1) == pytest.approx(1.2)
    assert forecast.mase_scale(hist, 3) == 0.0
    b = forecast.baselines(hist, 4, 3)
    assert b["seasonal_naive"].tolist() == [1, 2, 3, 1]
    assert b["naive"].tolist() == [3, 3, 3, 3]
    s = forecast.scores(np.array([1.0, 3]), np.array([2.0, 3]), scale=0.5)
    assert s == {"mae": 0.5, "rmse": pytest.approx(np.sqrt(0.5)), "mase": 1.0}


def test_learns_noisy_season(tmp_path, helpers):
    cfg = helpers.config(
        tmp_path, "forecast",
        {"dataset": "periodic", "options": {"length": 300, "periods": [12], "noise": 0.3},
         "window": 12, "test_fraction": 0.2, "val_fraction": 0.1, "difference": False},
        {"cell": "gru", "units": 16}, {"epochs": 15, "batch_size": 16, "learning_rate": 0.01})
    run, m = tasks.train(cfg, verbose=False)
    assert m["mase"] < m["baseline_seasonal_naive_mase"], m
    assert m["mase"] < m["baseline_naive_mase"], m
    assert (run.path / "plots" / "forecast.png").is_file()
    # whole-horizon forecast: as many predictions as held-out steps
    run2, task, model, vocab = tasks.load(run.path)
    data = task.prepare(run.config, vocab=vocab)
    pred = forecast.recursive_forecast(model, vocab, data.test["history"], 60)
    assert pred.shape == (60, 1)
