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


def _tag_tsv(path: Path, n: int, seed: int) -> Path:
    rng = np.random.default_rng(seed)
    rows = ["tokens\ttags"]
    for _ in range(n):
        words = list(rng.choice(["the", "cat", "dog", "runs", "sleeps"], size=4))
        rows.append(" ".join(words) + "\t" + " ".join("N" if w in ("cat", "dog") else "X"
                                                      for w in words))
    path.write_text("\n".join(rows) + "\n")
    return path


def _demand_csv(path: Path, start: int, n: int) -> Path:
    t = np.arange(start, start + n)
    path.write_text("hour,y\n" + "".join(f"{i},{10 + np.sin(2 * np.pi * i / 6):.4f}\n"
                                         for i in t))
    return path


def _write_task_files(task: str, tmp_path: Path, helpers) -> tuple[dict, int]:
    """The [data] table of a run on the user's own train/test files; the test file's size."""
    if task == "seq2seq":
        return ({"path": str(helpers.addition_tsv(tmp_path / "tr.tsv", n=40, seed=0)),
                 "test_path": str(helpers.addition_tsv(tmp_path / "te.tsv", n=9, seed=1)),
                 "text_column": "source", "label_column": "target", "level": "char"}, 9)
    if task == "tag":
        return ({"path": str(_tag_tsv(tmp_path / "tr.tsv", 30, 0)),
                 "test_path": str(_tag_tsv(tmp_path / "te.tsv", 6, 1)),
                 "text_column": "tokens", "label_column": "tags"}, 6)
    if task == "generate":
        (tmp_path / "tr.txt").write_text("abc " * 200)
        (tmp_path / "te.txt").write_text("cab " * 5)
        return ({"path": str(tmp_path / "tr.txt"), "test_path": str(tmp_path / "te.txt"),
                 "level": "char", "seq_len": 10}, 20)
    return ({"path": str(_demand_csv(tmp_path / "tr.csv", 0, 120)),
             "test_path": str(_demand_csv(tmp_path / "te.csv", 120, 18)),
             "target_column": "y", "window": 12, "seasonality": 6}, 18)


def _test_size(task: str, data) -> int:
    if task == "forecast":
        return len(data.test["truth"])
    if task == "seq2seq":
        return len(data.test[0])
    return len(data.test)


@pytest.mark.parametrize("task", ["seq2seq", "tag", "generate", "forecast"])
def test_every_task_reads_its_own_test_file_and_refuses_no_test(task, tmp_path, helpers):
    from seqlab.tasks import get
    table, n_test = _write_task_files(task, tmp_path, helpers)
    cfg = helpers.config(tmp_path, task, {"dataset": "file", "test_fraction": 0.0, **table})
    data = get(task).prepare(cfg)
    assert _test_size(task, data) == n_test
    if task == "forecast":  # the test file continues the training series in time
        j = data.vocab["columns"].index("y")
        assert data.test["history"][-1, j] == pytest.approx(10 + np.sin(2 * np.pi * 119 / 6),
                                                            abs=1e-4)
    del table["test_path"]
    cfg = helpers.config(tmp_path, task, {"dataset": "file", "test_fraction": 0.0, **table})
    with pytest.raises(SeqlabError, match="no test_path"):
        get(task).prepare(cfg)


def test_forecast_several_series_need_the_global_model(tmp_path, helpers):
    from seqlab.tasks import forecast
    data = _demand_csv(tmp_path / "d.csv", 0, 60)
    cfg = helpers.config(tmp_path, "forecast", {"dataset": "file", "path": str(data),
                                                "id_column": "store"})
    with pytest.raises(SeqlabError, match=r'\[data\] id_column .* need \[model\] arch = "mlp"'):
        forecast.prepare(cfg)
