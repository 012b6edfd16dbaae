"""Your own train / val / test files, numeric series from files, and the refusal of a run
that would have nothing to test on (before any training)."""
from pathlib import Path

import numpy as np
import pytest

from seqlab import tasks
from seqlab.errors import SeqlabError
from seqlab.tasks import classify


def _wide(path: Path, n: int, seed: int) -> Path:
    """Rising or falling ramps of 12 steps, one row per series."""
    rng = np.random.default_rng(seed)
    rows = ["label," + ",".join(f"t{j}" for j in range(12))]
    for i in range(n):
        k = ("rise", "fall")[i % 2]
        v = np.linspace(0, 1, 12)[:: 1 if k == "rise" else -1] + rng.normal(0, 0.05, 12)
        rows.append(k + "," + ",".join(f"{x:.3f}" for x in v))
    path.write_text("\n".join(rows) + "\n")
    return path


def test_test_fraction_zero_without_test_file_is_refused_before_training(tmp_path, helpers):
    data = helpers.sentiment_csv(tmp_path / "r.csv", n=30)
    cfg = helpers.config(tmp_path, "classify", {"dataset": "file", "path": str(data),
                                                "test_fraction": 0.0})
    with pytest.raises(SeqlabError, match="test_fraction = 0.0 and no test_path"):
        tasks.train(cfg, verbose=False)
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


def test_a_test_fraction_that_rounds_to_nothing_is_refused(tmp_path, helpers):
    data = helpers.sentiment_csv(tmp_path / "r.csv", n=8)
    cfg = helpers.config(tmp_path, "classify", {"dataset": "file", "path": str(data),
                                                "test_fraction": 0.01})
    with pytest.raises(SeqlabError, match="the test split is empty"):
        classify.prepare(cfg)


def test_own_test_and_val_files_replace_the_fractions(tmp_path, helpers):
    train = helpers.sentiment_csv(tmp_path / "train.csv", n=40, seed=0)
    val = helpers.sentiment_csv(tmp_path / "val.csv", n=7, seed=1)
    test = helpers.sentiment_csv(tmp_path / "test.csv", n=11, seed=2)
    cfg = helpers.config(tmp_path, "classify", {
        "dataset": "file", "path": str(train), "test_path": str(test), "val_path": str(val),
        "test_fraction": 0.0, "val_fraction": 0.5})
    data = classify.prepare(cfg)
    assert data.info["sizes"] == [40, 7, 11]
    assert data.vocab["classes"] == ["neg", "pos"]


def test_a_class_seen_only_in_the_test_file_gets_its_own_index(tmp_path):
    (tmp_path / "a.csv").write_text("text,label\ngood,pos\nbad,neg\n")
    (tmp_path / "b.csv").write_text("text,label\nmeh,mid\ngood,pos\n")
    from seqlab.config import Config
    cfg = Config.from_dict({"task": "classify", "data": {
        "dataset": "file", "path": str(tmp_path / "a.csv"),
        "test_path": str(tmp_path / "b.csv"), "val_fraction": 0.0}})
    data = classify.prepare(cfg)
    assert data.vocab["classes"] == ["mid", "neg", "pos"]
    assert data.test[1].tolist() == [0, 2]


def test_numeric_wide_file_builds_the_series_model_and_predicts_numbers(tmp_path, helpers):
    train = _wide(tmp_path / "train.csv", 40, seed=0)
    test = _wide(tmp_path / "test.csv", 10, seed=1)
    cfg = helpers.config(tmp_path, "classify", {"dataset": "file", "path": str(train),
                                                "test_path": str(test), "val_fraction": 0.0},
                         {"arch": "fcn", "filters": 8, "kernel_sizes": [3, 3, 3]},
                         {"epochs": 1, "batch_size": 8})
    data = classify.prepare(cfg)
    assert data.vocab["text"] is False and data.vocab["features"] == 1  # not a word vocabulary
    assert data.train[0][0].shape == (12, 1)                               # (T, D)
    run, metrics = tasks.train(cfg, verbose=False)
    assert "accuracy" in metrics
    _, task, model, vocab = tasks.load(run.path)
    line = ",".join(str(v) for v in np.linspace(0, 1, 12))
    assert task.predict(model, vocab, run.config, [line])[0] in ("rise", "fall")


def test_unknown_format_is_refused(tmp_path, helpers):
    data = helpers.sentiment_csv(tmp_path / "r.csv", n=10)
    cfg = helpers.config(tmp_path, "classify", {"dataset": "file", "path": str(data),
                                                "format": "columns"})
    with pytest.raises(SeqlabError, match='format = "columns" is not a layout'):
        classify.prepare(cfg)
