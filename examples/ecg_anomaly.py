"""ECG anomaly detection with an LSTM autoencoder (seed 004: "Healthy ECG / No Healthy ECG";
seed 001: "LSTM Autoencoder"), against a rolling z-score baseline computed here too.

Data: ``seqlab.datasets.load("ecg_mitdb")``, one MIT-BIH arrhythmia trace of 7,500 samples
at 360 Hz (about 25 beats, shipped in the sktime wheel) with labels 1 on the 352 samples of
its abnormal stretch (steps 6938..7289), 0 elsewhere.

Encoding: the signal is averaged over blocks of 4 samples (90 Hz, 1,875 steps) and
standardised with the training part's mean and std; windows of 80 steps (0.9 s, about one
beat) slide one step at a time, each window a (80, 1) sequence.

Protocol (no label is used to train or to choose the threshold):
* train (steps 0..4499, all normal): the autoencoders learn to rebuild normal windows;
* validation (4500..5999, normal): the threshold is the 99th percentile of its scores;
* test (6000..7499, holds the anomaly): ROC-AUC, and precision/recall at that threshold.
A step's score is the mean reconstruction error of the windows that cover it.

Models: the LSTM autoencoder (encoder state -> RepeatVector -> LSTM decoder ->
TimeDistributed(Dense(1)), decoding the window in reverse) and a Conv1D one; baseline:
|x_t - mean| / std over the previous w samples, for w in 100, 250, 500 (the best of the
three is the bar to beat).

Measured (CPU, seed 0, defaults): rolling z-score ROC-AUC 0.43 / 0.54 / 0.65 (w = 100 /
250 / 500); LSTM autoencoder 0.98 (precision 0.52, recall 1.00 at the validation
threshold); Conv1D autoencoder 1.00 (precision 0.80, recall 1.00). The LSTM one is the
fragile one: over the training seeds 0 / 1 / 2 it reached 0.98 / 0.72 / 0.99 with
reversed decoding and 0.59 / 0.60 / 0.94 without (60 epochs; 100 epochs did not make it
steadier). The Conv1D autoencoder trains faster and more reliably.

    python examples/ecg_anomaly.py              # writes runs/ecg_anomaly/ecg_anomaly.png
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch

import seqlab
from seqlab.models.autoencoders import ConvAutoencoder, RecurrentAutoencoder, train_autoencoder
from seqlab.models.autoencoders.anomaly import (choose_threshold, plot_anomalies,
                                                pointwise_scores, precision_recall, roc_auc,
                                                rolling_zscore, sliding_windows)

TRAIN, VAL, TEST = slice(0, 4500), slice(4500, 6000), slice(6000, 7500)


def step_scores(model, z: np.ndarray, window: int, factor: int, length: int) -> np.ndarray:
    """Score of every original sample: window errors on the downsampled signal, spread back."""
    windows, starts = sliding_windows(z, window)
    errors = model.reconstruction_error(windows).cpu().numpy()  # (N, window)
    scores = pointwise_scores(errors, starts, len(z), mode="window")  # (T / factor,)
    scores = np.repeat(scores, factor)
    return np.concatenate([scores, np.full(length - len(scores), scores[-1])])  # (T,)


def report(name: str, scores: np.ndarray, labels: np.ndarray) -> dict:
    threshold = choose_threshold(scores[VAL], quantile=0.99)
    precision, recall, f1 = precision_recall(scores[TEST] > threshold, labels[TEST])
    auc = roc_auc(scores[TEST], labels[TEST])
    print(f"{name:<28} ROC-AUC {auc:.3f}   precision {precision:.2f}  recall {recall:.2f}  "
          f"F1 {f1:.2f}  (threshold {threshold:.3g})")
    return dict(auc=auc, precision=precision, recall=recall, f1=f1, threshold=threshold)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--epochs", type=int, default=60, help="LSTM autoencoder epochs")
    p.add_argument("--units", type=int, default=64)
    p.add_argument("--window", type=int, default=80, help="window length after downsampling")
    p.add_argument("--factor", type=int, default=4, help="downsampling factor")
    p.add_argument("--out", default="runs/ecg_anomaly")
    args = p.parse_args()

    data = seqlab.datasets.load("ecg_mitdb")
    signal, labels = data.signal.astype("float32"), data.labels  # (7500,), (7500,)
    f = args.factor
    small = signal[:len(signal) // f * f].reshape(-1, f).mean(axis=1)  # (T / f,)
    train_part = small[:TRAIN.stop // f]
    z = (small - train_part.mean()) / train_part.std()
    x_train, _ = sliding_windows(z[:TRAIN.stop // f], args.window)  # (N, window, 1)
    print(f"{len(signal)} samples, anomaly on {labels.sum()} of them; "
          f"{len(x_train)} training windows of {args.window} steps")

    results, scores = {}, {}
    for w in (100, 250, 500):
        scores[f"rolling z-score (w={w})"] = rolling_zscore(signal, w)
    torch.manual_seed(0)
    models = {
        "LSTM autoencoder": (RecurrentAutoencoder(args.window, 1, units=args.units, cell="lstm",
                                                   reverse=True),
                             dict(epochs=args.epochs, lr=2e-3, global_clipnorm=1.0)),
        "Conv1D autoencoder": (ConvAutoencoder(args.window, 1, filters=(16, 8), kernel_size=5),
                               dict(epochs=30, lr=3e-3)),
    }
    for name, (model, opts) in models.items():
        start = time.perf_counter()
        history = train_autoencoder(model, x_train, batch_size=32, seed=0, **opts)
        print(f"{name}: trained in {time.perf_counter() - start:.0f} s, MSE "
              f"{history['loss'][0]:.3f} -> {history['loss'][-1]:.4f}")
        scores[name] = step_scores(model, z, args.window, f, len(signal))
    print()
    for name, s in scores.items():
        results[name] = report(name, s, labels)

    best_baseline = max((r["auc"], n) for n, r in results.items() if n.startswith("rolling"))
    lstm = results["LSTM autoencoder"]["auc"]
    verdict = "beats" if lstm > best_baseline[0] else "does NOT beat"
    print(f"\nLSTM autoencoder ROC-AUC {lstm:.3f} {verdict} the best baseline, "
          f"{best_baseline[1]}: {best_baseline[0]:.3f}")

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    name = "LSTM autoencoder"
    plot_anomalies(signal[TEST], scores[name][TEST], results[name]["threshold"],
                   out / "ecg_anomaly.png", labels=labels[TEST], start=TEST.start,
                   title=f"MIT-BIH trace, test part: {name} (ROC-AUC {lstm:.3f}), "
                         f"flagged steps in red, true anomaly shaded")
    print(f"wrote {out / 'ecg_anomaly.png'}")


if __name__ == "__main__":
    main()
