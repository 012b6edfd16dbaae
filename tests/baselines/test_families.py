"""Each baseline on a case whose answer is known; the headline logic."""
import numpy as np
import pytest

from seqlab import baselines
from seqlab.baselines import forecast, series, symbols, tagging, text


def test_nb_ratio_by_hand():
    from scipy.sparse import csr_matrix
    x = csr_matrix(np.array([[1, 0], [1, 1], [0, 1]]))       # (N=3, F=2)
    r = baselines.text.nb_ratio(x, [1, 1, 0], alpha=1.0)
    p, q = np.array([3.0, 2.0]), np.array([1.0, 2.0])        # alpha + per-class sums
    assert np.allclose(r, np.log((p / p.sum()) / (q / q.sum())))


def test_text_baselines_find_a_planted_word():
    rng = np.random.default_rng(0)
    words = [f"w{i}" for i in range(50)]
    texts, y = [], []
    for i in range(300):
        label = i % 2
        doc = list(rng.choice(words, 8)) + ["great" if label else "awful"]
        texts.append(" ".join(doc)), y.append(label)
    for fn in (text.tfidf_logreg, text.nb_logreg):
        assert fn(texts[:200], y[:200], texts[200:], y[200:]) == 1.0


def test_onehot_positions_beat_a_bag_of_symbols():
    # the class is the symbol at position 3: a bag of characters cannot see it
    rng = np.random.default_rng(0)
    seqs = ["".join(rng.choice(list("ACGT"), 8)) for _ in range(400)]
    y = [int(s[3] in "AC") for s in seqs]
    assert symbols.onehot_logreg(seqs[:300], y[:300], seqs[300:], y[300:]) == 1.0
    assert symbols.onehot_logreg(["AC", "ACG"], [0, 1], ["AC"], [0]) is None


def test_nearest_neighbour_by_hand():
    train = [np.array([[0.0], [0.0]]), np.array([[5.0], [5.0]])]
    test = [np.array([[1.0], [1.0]]), np.array([[4.0], [3.0]]), np.array([[2.4], [2.4]])]
    assert series.nearest_neighbour(train, [0, 1], test, [0, 1, 1]) == pytest.approx(2 / 3)


def test_minirocket_runs_or_says_why():
    values, _, skipped = baselines.run_all({"minirocket": lambda: series.minirocket(
        [np.sin(np.arange(30.0) * f)[:, None] for f in (0.2, 0.21, 1.0, 1.1)] * 3,
        [0, 0, 1, 1] * 3, [np.sin(np.arange(30.0) * 0.205)[:, None]], [0])})
    assert values == {"minirocket": 1.0} or "minirocket" in skipped


def test_forecast_baselines_recover_known_series():
    season = np.array([1.0, 3.0, 2.0, 5.0])
    y = 10 * np.exp(0.01 * np.arange(80)) * np.tile(season, 20)   # exact multiplicative
    t = np.arange(80, 88)
    truth = 10 * np.exp(0.01 * t) * np.tile(season, 2)
    assert np.allclose(forecast.seasonal_naive(y, 8, 4), np.tile(y[-4:], 2))
    # on the log the series is linear + seasonal: ETS and AR are near exact, naive is not
    for fn in (forecast.ets, forecast.ar):
        err = np.abs(fn(y, 8, 4) - truth).mean()
        assert err < 0.05 * np.abs(forecast.naive(y, 8, 4) - truth).mean(), fn.__name__


def test_most_frequent_tag_by_hand():
    train = [(["a", "run"], ["DET", "NOUN"]), (["run", "fast"], ["VERB", "ADV"]),
             (["I", "run"], ["PRON", "VERB"])]
    # run -> VERB (2 of 3); "zz" unseen -> the overall most frequent (VERB)
    assert tagging.most_frequent_tag(train, [(["run", "zz", "a"], ["VERB", "NOUN", "DET"])]) \
        == pytest.approx(2 / 3)


def test_headline_reports_a_loss_to_a_planted_strong_baseline():
    out = baselines.compare("mase", 1.5, {"seasonal_naive": 2.0, "ets": 0.6}, higher=False)
    assert out["best_baseline"] == {"name": "ets", "value": 0.6}
    assert out["model_beats_best_baseline"] is False
    assert out["margin"] == pytest.approx(-0.9)
    sentence = baselines.sentence({"mase": 1.5, **out})
    assert "does NOT beat" in sentence and "ets" in sentence
    win = baselines.compare("accuracy", 0.9, {"majority": 0.5, "nb_logreg": 0.8}, higher=True)
    assert win["model_beats_best_baseline"] and win["best_baseline"]["name"] == "nb_logreg"
    assert "beats the best" in baselines.sentence({"accuracy": 0.9, **win})


def test_a_run_that_loses_says_so(tmp_path, monkeypatch):
    # a forecasting run whose best baseline is planted to be perfect must report a loss
    from seqlab.baselines import forecast as fc
    from seqlab.config import Config
    from seqlab import tasks
    monkeypatch.setitem(fc.ALL, "oracle", None)
    cfg = Config.from_dict({"task": "forecast", "name": "lose", "runs_dir": str(tmp_path),
                            "data": {"dataset": "airline", "window": 12, "test_fraction": 0.2},
                            "model": {"units": 4}, "training": {"epochs": 1}})
    data = tasks.get("forecast").prepare(cfg)
    truth = data.test["truth"][:, 0]
    fc.ALL["oracle"] = lambda history, steps, m: truth.copy()
    run, m = tasks.train(cfg, verbose=False)
    assert m["best_baseline"]["name"] == "oracle" and m["best_baseline"]["value"] == 0.0
    assert m["model_beats_best_baseline"] is False and m["margin"] < 0
    page = (run.path / "report.html").read_text()
    assert "does NOT beat the best baseline" in page
