"""classify: learns a planted-word sentiment task (text) and a frequency task (series)."""
import json

import numpy as np
import torch
import pytest

from seqlab import tasks
from seqlab.tasks import classify


@pytest.mark.parametrize("arch,cell", [("rnn", "gru"), ("cnn", "lstm")])
def test_text_classifier_learns_planted_word(tmp_path, helpers, arch, cell):
    path = helpers.sentiment_csv(tmp_path / "reviews.csv", n=500)
    cfg = helpers.config(tmp_path, "classify", {"dataset": "file", "path": str(path)},
                 {"arch": arch, "cell": cell, "units": 16, "embedding_dim": 16, "filters": 16,
                  "kernel_sizes": [2, 3]},
                 {"epochs": 6, "batch_size": 32, "learning_rate": 0.01})
    run, metrics = tasks.train(cfg, verbose=False)
    assert metrics["accuracy"] >= 0.9, metrics
    assert metrics["accuracy"] > metrics["baseline_majority"] + 0.2
    assert "baseline_logreg_ngrams" in metrics
    for name in ("model.safetensors", "vocab.json", "metrics.json", "history.csv",
                 "report.html", "plots/confusion_matrix.png", "plots/learning_curves.png"):
        assert (run.path / name).is_file(), name
    assert json.loads((run.path / "metrics.json").read_text())["accuracy"] == metrics["accuracy"]
    # the saved model predicts the same way after reloading
    assert tasks.evaluate(run.path)["accuracy"] == pytest.approx(metrics["accuracy"])


def test_series_fcn_and_balanced_weights(tmp_path, monkeypatch, helpers):
    rng = np.random.default_rng(0)

    def make(n):
        y = (rng.random(n) < 0.3).astype(np.int64)          # unbalanced: 30% class 1
        t = np.linspace(0, 1, 32)
        x = np.stack([np.sin(2 * np.pi * (2 + 3 * c) * t + rng.uniform(0, 6)) for c in y])
        return (x[..., None] + 0.2 * rng.normal(size=(n, 32, 1))).astype(np.float32), y

    (xtr, ytr), (xte, yte) = make(160), make(100)
    raw = {"x_train": xtr, "y_train": ytr, "x_test": xte, "y_test": yte, "classes": ["a", "b"]}
    monkeypatch.setattr(classify, "load_dataset", lambda cfg: raw)
    cfg = helpers.config(tmp_path, "classify", {"dataset": "fake"},
                 {"arch": "fcn", "filters": 8, "kernel_sizes": [5, 3, 3]},
                 {"epochs": 8, "batch_size": 16, "learning_rate": 0.01,
                  "class_weights": "balanced"})
    data = classify.prepare(cfg)
    assert len(data.test[1]) == 100                          # the official test split is kept
    w = next(iter(classify.train_batches(data, cfg, np.random.default_rng(0))))[-1]
    assert w[1] > w[0]                                       # the rare class weighs more
    run, metrics = tasks.train(cfg, verbose=False)
    assert metrics["accuracy"] >= 0.95, metrics
    # [training] population_stats: the first BatchNormalization holds the exact mean and
    # variance of its inputs (the first convolution) over the training series
    _, _, model, _ = tasks.load(run.path)
    with torch.no_grad():
        x = torch.as_tensor(np.stack(data.train[0]))  # the training split (val held out)
        h = model.convs[0](x).reshape(-1, 8)  # (N T, F)
    torch.testing.assert_close(model.norms[0].moving_mean, h.mean(0), atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(model.norms[0].moving_variance, h.var(0, unbiased=False),
                               atol=1e-4, rtol=1e-4)


def _word_order_csv(path, n: int = 600, seed: int = 0):
    """Both classes hold the words "not" and "bad" once each: positive texts say "not bad",
    negative ones "bad not". Only the order of neighbouring words tells them apart."""
    import csv
    rng = np.random.default_rng(seed)
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["text", "label"])
        for _ in range(n):
            words = list(rng.choice(["the", "film", "plot", "was", "very", "music"],
                                    rng.integers(4, 8)))
            label = int(rng.integers(0, 2))
            words.insert(int(rng.integers(0, len(words) + 1)),
                         "not bad" if label else "bad not")
            w.writerow([" ".join(words), "pos" if label else "neg"])
    return path


@pytest.mark.learning
def test_bag_of_words_and_pairs_reads_word_order(tmp_path, helpers):
    """arch = "bag" (fastText): the hashed word-pair vectors carry the order of neighbours
    that the mean of word vectors alone cannot see (buckets = 0: chance)."""
    path = _word_order_csv(tmp_path / "order.csv")
    acc = {}
    for buckets in (0, 1000):
        cfg = helpers.config(tmp_path, "classify", {"dataset": "file", "path": str(path)},
                             {"arch": "bag", "embedding_dim": 16, "buckets": buckets},
                             {"epochs": 8, "batch_size": 32, "learning_rate": 0.02})
        cfg.name = f"bag{buckets}"
        acc[buckets] = tasks.train(cfg, verbose=False)[1]["accuracy"]
    assert acc[1000] >= 0.9, acc
    assert acc[0] <= 0.75, acc


@pytest.mark.learning
def test_bag_nb_features_learn_word_order(tmp_path, helpers):
    """nb_buckets: the NB-scaled word-pair features alone (a 1-value word bag, no pair
    vectors) tell "not bad" from "bad not"; their log-count ratios travel with the weights."""
    path = _word_order_csv(tmp_path / "order.csv")
    cfg = helpers.config(tmp_path, "classify", {"dataset": "file", "path": str(path)},
                         {"arch": "bag", "embedding_dim": 1, "buckets": 0,
                          "nb_buckets": 1000, "dropout": 0.5},
                         {"epochs": 3, "batch_size": 32, "learning_rate": 0.2,
                          "optimizer": "adagrad"})
    run, metrics = tasks.train(cfg, verbose=False)
    assert metrics["accuracy"] >= 0.9, metrics
    from safetensors.torch import load_file
    saved = [load_file(f) for f in run.path.rglob("*.safetensors")]
    assert any(float(w["nb.ratio"].abs().sum()) > 0 for w in saved if "nb.ratio" in w)


def test_nb_log_count_ratios_match_the_baseline():
    """The layer's r of two classes is the NBSVM baseline's r (and its negation)."""
    from seqlab.baselines.text import nb_ratio
    from seqlab.models.recurrent.nb_features import log_count_ratios
    feats = [np.array([1, 2, 2]), np.array([2, 3]), np.array([3, 4, 0]), np.array([1, 4])]
    y = np.array([1, 1, 0, 0])
    x = np.zeros((4, 5))
    for i, f in enumerate(feats):
        x[i, f[f != 0]] = 1
    r = log_count_ratios(feats, y, 5, 2)
    np.testing.assert_allclose(r[1:, 1], nb_ratio(x[:, 1:], y), rtol=1e-5)
    np.testing.assert_allclose(r[1:, 0], -r[1:, 1], rtol=1e-5)
    assert r[0].tolist() == [0.0, 0.0]                                     # padding


def test_bag_refuses_numeric_series(tmp_path, helpers):
    from seqlab.errors import SeqlabError
    cfg = helpers.config(tmp_path, "classify", {"dataset": "fake"}, {"arch": "bag"}, {})
    with pytest.raises(SeqlabError, match='arch = "bag"'):
        classify.build_model(cfg, {"classes": ["a", "b"], "text": False, "features": 1})
