"""docs/results/figures.md: the autoencoder, anomaly, CNN and word2vec figures, each beside
the baseline a practitioner would try first, with CPU seconds and the spread over seeds.

* Autoencoder (digits, 8x8, 1,400 train / 397 held out): held-out reconstruction MSE of a
  ReLU autoencoder with a code of k values (a hidden layer of 64, sigmoid output) against
  PCA with k components (scikit-learn): PCA is the best *linear* code of size k, so a
  non-linear autoencoder must go below it to be worth its training.
* Anomaly (MIT-BIH trace of examples/ecg_anomaly.py, same protocol: train / validation /
  test parts, windows of 80 steps at 90 Hz): test ROC-AUC of the Conv1D autoencoder
  against a rolling z-score (best window of 100 / 250 / 500) and an isolation forest on
  the same windows (scikit-learn, 200 trees), each window's score spread to its steps.
* CNN digits (examples/cnn_digits.py, 80/20 stratified split drawn by the seed): test
  accuracy against logistic regression and an RBF support-vector machine on the 64 raw
  pixels, each on the split of the same seed.
* word2vec: measured against gensim by bench/word2vec_vs_gensim.py (in its own venv, so
  that gensim never enters seqlab's dependencies); its rows are in bench/results.md.

CPU seconds are this process's (training + scoring), 1 thread.

    OMP_NUM_THREADS=1 python bench/task_figures.py [--seeds 0 1 2] [--only autoencoder cnn]
"""
from __future__ import annotations

import argparse
import platform
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "examples"))
sys.path.insert(0, str(ROOT))

from seqlab.baselines import timed  # noqa: E402

OUT = ROOT / "docs" / "results" / "figures.md"


def _row(task, metric, method, values, cpus, better):
    v = np.asarray(values, dtype=float)
    return (f"| {task} | {metric} ({better}) | {method} | {v.mean():.4f} +- {v.std():.4f} | "
            f"{' / '.join(f'{x:.4f}' for x in v)} | {np.median(cpus):.2f} |")


def autoencoder(seeds, k: int = 8) -> list[str]:
    from sklearn.datasets import load_digits
    from sklearn.decomposition import PCA
    from seqlab.models.autoencoders import Autoencoder, train_autoencoder
    x = load_digits().data.astype("float32") / 16.0                       # (1797, 64)
    idx = np.random.default_rng(0).permutation(len(x))
    train, test = x[idx[:1400]], x[idx[1400:]]

    def pca():
        p = PCA(k).fit(train)
        return float(((p.inverse_transform(p.transform(test)) - test) ** 2).mean())

    def ae(seed):
        torch.manual_seed(seed)
        model = Autoencoder(64, k, hidden=(64,), activation="relu",
                            output_activation="sigmoid")
        train_autoencoder(model, train, epochs=150, batch_size=64, lr=3e-3, seed=seed)
        return float(model.reconstruction_error(test).mean())

    base, cpu_b = timed(pca)
    runs = [timed(ae, s) for s in seeds]
    return [_row("autoencoder digits", f"held-out MSE, code {k}", "seqlab autoencoder",
                 [v for v, _ in runs], [c for _, c in runs], "lower"),
            _row("autoencoder digits", f"held-out MSE, code {k}", "PCA (sklearn)",
                 [base], [cpu_b], "lower")]


def anomaly(seeds) -> list[str]:
    import ecg_anomaly as ex
    import seqlab
    from sklearn.ensemble import IsolationForest
    from seqlab.models.autoencoders import ConvAutoencoder, train_autoencoder
    from seqlab.models.autoencoders.anomaly import (pointwise_scores, roc_auc, rolling_zscore,
                                                    sliding_windows)
    data = seqlab.datasets.load("ecg_mitdb")
    signal, labels = data.signal.astype("float32"), data.labels
    f, window, test = 4, 80, ex.TEST
    small = signal[:len(signal) // f * f].reshape(-1, f).mean(axis=1)    # (T / f,)
    part = small[:ex.TRAIN.stop // f]
    z = (small - part.mean()) / part.std()
    x_train, _ = sliding_windows(z[:ex.TRAIN.stop // f], window)          # (N, 80, 1)

    def spread(window_scores, starts):                                    # (N,) -> (T,)
        errors = np.repeat(window_scores[:, None], window, axis=1)
        s = np.repeat(pointwise_scores(errors, starts, len(z), mode="window"), f)
        return np.concatenate([s, np.full(len(signal) - len(s), s[-1])])

    def conv(seed):
        torch.manual_seed(seed)
        model = ConvAutoencoder(window, 1, filters=(16, 8), kernel_size=5)
        train_autoencoder(model, x_train, epochs=30, lr=3e-3, batch_size=32, seed=seed)
        s = ex.step_scores(model, z, window, f, len(signal))
        return roc_auc(s[test], labels[test])

    def forest(seed):
        windows, starts = sliding_windows(z, window)
        clf = IsolationForest(n_estimators=200, random_state=seed).fit(x_train[..., 0])
        s = spread(-clf.score_samples(windows[..., 0]), starts)
        return roc_auc(s[test], labels[test])

    def zscore():
        return max(roc_auc(rolling_zscore(signal, w)[test], labels[test]) for w in (100, 250, 500))

    runs, trees = [timed(conv, s) for s in seeds], [timed(forest, s) for s in seeds]
    zs, cpu_z = timed(zscore)
    metric = "test ROC-AUC"
    return [_row("ECG anomaly", metric, "seqlab Conv1D autoencoder", [v for v, _ in runs],
                 [c for _, c in runs], "higher"),
            _row("ECG anomaly", metric, "isolation forest on windows (sklearn)",
                 [v for v, _ in trees], [c for _, c in trees], "higher"),
            _row("ECG anomaly", metric, "rolling z-score, best window", [zs], [cpu_z],
                 "higher")]


def cnn(seeds) -> list[str]:
    import cnn_digits
    from sklearn.linear_model import LogisticRegression
    from sklearn.svm import SVC

    def sk(make, seed):  # the held-out 20% of cnn_digits.train(seed=seed): its own split
        x_tr, y_tr, x_te, y_te = cnn_digits.load_data(seed)
        model = make().fit(x_tr.reshape(len(x_tr), -1), y_tr)
        return float((model.predict(x_te.reshape(len(x_te), -1)) == y_te).mean())

    runs = [timed(lambda s=s: cnn_digits.train(epochs=30, seed=s)[1]) for s in seeds]
    lr = [timed(sk, lambda: LogisticRegression(max_iter=2000), s) for s in seeds]
    svc = [timed(sk, SVC, s) for s in seeds]
    metric = "test accuracy (split of each seed)"
    return [_row("CNN digits", metric, method, [v for v, _ in r], [c for _, c in r], "higher")
            for method, r in (("seqlab CNN", runs), ("logistic regression (sklearn)", lr),
                              ("RBF SVM (sklearn)", svc))]


PARTS = {"autoencoder": autoencoder, "anomaly": anomaly, "cnn": cnn}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    p.add_argument("--only", nargs="+", default=list(PARTS), choices=list(PARTS))
    args = p.parse_args()
    torch.set_num_threads(1)
    lines = ["# Autoencoder, anomaly, CNN and word2vec figures beside their baselines", "",
             f"Generated by `bench/task_figures.py` on {time.strftime('%Y-%m-%d')} "
             f"({platform.machine()}, 1 thread). Mean +- standard deviation over seeds "
             f"{args.seeds} (a deterministic baseline has one value); CPU seconds per seed, "
             "median, training + scoring.", "",
             "| task | metric | method | value | per seed | CPU s |", "|---|---|---|---|---|---|"]
    for name in args.only:
        rows = PARTS[name](args.seeds)
        print("\n".join(rows), flush=True)
        lines += rows
    lines += ["", "word2vec: seqlab against gensim, same corpus and hyper-parameters, is "
              "measured by `bench/word2vec_vs_gensim.py` (gensim lives in its own venv); its "
              "rows are in bench/results.md."]
    OUT.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("wrote", OUT)


if __name__ == "__main__":
    main()
