"""Sequence classification (many-to-one): a whole sequence -> one class.

Inputs are either texts (sentiment: Rotten Tomatoes) or numeric series (gestures, power
demand, ECG: the UCR/UEA archive). [model] arch chooses the architecture: rnn, fcn
(Wang et al. 2017), cnn (Kim 2014) or bag (fastText, Joulin et al. 2017), drawn in
``seqlab.models.recurrent.Classifier``; [model] ensemble = N trains N of them, each its own
initialisation, and averages their class probabilities
(``seqlab.models.recurrent.classifier_ensemble``).

The model (``seqlab.models.recurrent.Classifier``) learns by cross-entropy, optionally
weighted by inverse class frequency ([training] class_weights = "balanced": the weights
travel with each training batch) for unbalanced data. Reported: accuracy, macro F1,
the majority-class baseline, a confusion matrix and, for texts, a unigram+bigram logistic
regression fitted on the same split; for spoken words (``spoken_digits``), 1-NN DTW
template matching.

Shapes: B batch, T time, D features, E embedding, H units, C classes.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import numpy as np
import torch

from seqlab.config import Config
from seqlab.data import Tokenizer, lengths_to_mask, pad_batch
from seqlab.errors import SeqlabError
from seqlab.models.recurrent import Classifier
from seqlab.models.recurrent.classifier_ensemble import ClassifierEnsemble
from seqlab.tasks.common import Data, check_same_classes
from seqlab.tasks.common import (build_with, column, length_batches, load_dataset, pad,
                                 recurrent, require_test, split_indices, split_seed, take,
                                 user_files)

MONITOR = ("accuracy", "max")  # the validation metric [training] keep_best selects on


# ---------------------------------------------------------------------- data
def _load(cfg: Config):
    """(inputs, labels, classes, official, baseline) with official = {"val": (x, y), "test":
    (x, y)} for datasets that come split (UCR/UEA, Rotten Tomatoes); inputs are texts or
    arrays; baseline: an extra baseline the dataset asks for ("dtw" for spoken words)."""
    d = cfg.data
    if d.dataset == "file":
        return (*_load_files(cfg), "")
    raw = load_dataset(cfg)
    if "x_train" in raw:
        classes = [str(c) for c in raw.get("classes", sorted(set(raw["y_train"])))]
        official = {s: (list(raw[f"x_{s}"]), np.asarray(raw[f"y_{s}"]))
                    for s in ("val", "test") if f"x_{s}" in raw}
        return (list(raw["x_train"]), np.asarray(raw["y_train"]), classes, official,
                str(raw.get("baseline", "")))
    texts = column(raw, d.text_column, "text_column", d.dataset)
    labels = column(raw, d.label_column, "label_column", d.dataset)
    classes = [str(c) for c in raw.get("classes", sorted(set(labels)))]
    if labels and not isinstance(labels[0], (int, np.integer)):
        labels = [classes.index(str(l)) for l in labels]
    return texts, np.asarray(labels), classes, {}, ""


def series_format(cfg: Config) -> str:
    """The layout of the user's file: "text", "wide", "long", "ts" or "arff"."""
    from seqlab.data.series_files import infer_format
    d = cfg.data
    if d.format not in ("auto", "text", "wide", "long"):
        raise SeqlabError(f'[data] format = "{d.format}" is not a layout; expected "auto", '
                          f'"text", "wide" or "long".')
    suffix = Path(d.path).suffix.lower()
    if suffix in (".ts", ".arff"):
        return suffix[1:]
    if d.format != "auto":
        return d.format
    return infer_format(d.path, d.label_column, d.id_column, d.encoding)


def _load_files(cfg: Config):
    """Your files: texts (a text column) or numeric series (wide, long, .ts, .arff), with
    the held-out files of [data] test_path / val_path as the official val/test parts."""
    from seqlab.data import files
    from seqlab.data.series_files import load_labelled_series
    d = cfg.data
    parts, fmt = user_files(cfg), series_format(cfg)
    read = {}
    for split, path in parts.items():
        if fmt == "text":
            texts, y, classes = files.load_text_labels(path, d.text_column, d.label_column,
                                                       encoding=d.encoding)
            read[split] = (list(texts), [str(classes[i]) for i in y])
        else:
            read[split] = load_labelled_series(path, d.label_column, fmt, d.id_column,
                                               d.time_column, d.value_columns, d.encoding)
    _, classes = files._encode_labels([l for _, labels in read.values() for l in labels])
    index = {str(c): i for i, c in enumerate(classes)}
    encoded = {s: (x, np.asarray([index[l] for l in labels], dtype=np.int64))
               for s, (x, labels) in read.items()}
    x, y = encoded.pop("train")
    return x, y, [str(c) for c in classes], encoded


def prepare(cfg: Config, vocab: Optional[dict] = None) -> Data:
    x, y, classes, official, extra_baseline = _load(cfg)
    if vocab is not None:
        check_same_classes(cfg, vocab, classes)
    seed, d = split_seed(cfg), cfg.data
    tr, va, te = split_indices(len(x), 0.0 if "val" in official else d.val_fraction,
                               0.0 if "test" in official else d.test_fraction, seed)
    x_va, y_va = official.get("val", (take(x, va), y[va]))
    x_te, y_te = official.get("test", (take(x, te), y[te]))
    require_test(len(y_te), cfg)
    if d.max_samples:
        tr = tr[:d.max_samples]
    is_text = bool(x) and isinstance(x[0], str)
    if vocab is None:
        vocab = {"classes": classes, "text": is_text}
        if is_text:
            tok = Tokenizer(num_words=cfg.data.num_words, oov_token="<unk>",
                            char_level=cfg.data.level == "char")
            tok.fit_on_texts(take(x, tr))
            vocab["tokenizer"] = json.loads(tok.to_json())
        else:
            vocab["features"] = int(np.asarray(x[0]).reshape(len(x[0]), -1).shape[1])
    encode = (lambda items: _encode_texts(vocab, cfg, items)) if is_text else \
        (lambda items: [np.asarray(s, dtype=np.float32).reshape(len(s), -1) for s in items])
    splits = [(encode(take(x, tr)), y[tr]), (encode(x_va), y_va), (encode(x_te), y_te)]
    raw_text = {"train": take(x, tr), "test": x_te} if is_text else {}
    return Data(*splits, vocab, {"sizes": [len(s[1]) for s in splits], "raw_text": raw_text,
                                 "extra_baseline": extra_baseline})


def _tokenizer(vocab: dict) -> Tokenizer:
    return Tokenizer.from_json(json.dumps(vocab["tokenizer"]))


def _encode_texts(vocab: dict, cfg: Config, texts: list) -> list:
    seqs = _tokenizer(vocab).texts_to_sequences(texts)
    seqs = [s or [1] for s in seqs]  # an empty text becomes one OOV token
    return [s[:cfg.data.max_len] for s in seqs] if cfg.data.max_len else seqs


def _batch(vocab: dict, seqs: list):
    """Token ids (B, T); or features (B, T, D), with the (B, T) mask when lengths differ."""
    if vocab["text"]:
        return (pad(seqs),)
    x, lengths = pad_batch(seqs)                                           # (B, T, D), (B,)
    if bool((lengths == lengths[0]).all()):
        return (x,)
    return x, lengths_to_mask(lengths, x.shape[1])                         # (B, T, D), (B, T)


def build_model(cfg: Config, vocab: dict) -> Classifier | ClassifierEnsemble:
    """One classifier, or ([model] ensemble > 1) that many with averaged probabilities."""
    V = _tokenizer(vocab).vocab_size if vocab["text"] else 0
    kind = ClassifierEnsemble if cfg.model.ensemble > 1 else Classifier
    model = kind(cfg, len(vocab["classes"]), V, recurrent=recurrent)
    example = torch.ones(2, 8, dtype=torch.long) if V else torch.zeros(2, 8, vocab["features"])
    return build_with(model, example)


def fit_statistics(model: Classifier, data: Data) -> None:
    """Before a new run trains: what the model counts on the training part (NB ratios)."""
    if data.vocab["text"]:
        model.fit_statistics(data.train[0], data.train[1])


def train_batches(data: Data, cfg: Config, rng):
    x, y = data.train
    weights = _class_weights(cfg, y, len(data.vocab["classes"]))
    for idx in length_batches([len(s) for s in x], cfg.training.batch_size, rng,
                              drop_small=cfg.model.arch == "fcn"):
        yield (*_batch(data.vocab, take(x, idx)), torch.as_tensor(y[idx]), weights)


def _class_weights(cfg: Config, y: np.ndarray, C: int):
    if cfg.training.class_weights != "balanced":
        return torch.ones(C)
    counts = np.bincount(y, minlength=C).astype(np.float64)
    return torch.as_tensor(len(y) / (C * np.maximum(counts, 1)), dtype=torch.float32)


def predict_classes(model, vocab: dict, seqs: list, batch_size: int = 256) -> np.ndarray:
    device = next(model.parameters()).device
    out = np.zeros(len(seqs), dtype=np.int64)
    for idx in length_batches([len(s) for s in seqs], batch_size, None):
        inputs = [t.to(device) for t in _batch(vocab, take(seqs, idx))]
        out[idx] = model(*inputs).argmax(-1).cpu().numpy()
    return out


def predict_probabilities(model, vocab: dict, seqs: list, batch_size: int = 256) -> np.ndarray:
    """softmax of the model's logits, (N, C): the probabilities that several trained runs
    average (the mean's argmax is their ensemble's vote, as [model] ensemble within a run)."""
    device = next(model.parameters()).device
    out = np.zeros((len(seqs), len(vocab["classes"])), dtype=np.float32)
    with torch.no_grad():
        for idx in length_batches([len(s) for s in seqs], batch_size, None):
            inputs = [t.to(device) for t in _batch(vocab, take(seqs, idx))]
            out[idx] = torch.softmax(model(*inputs), -1).cpu().numpy()
    return out


def evaluate(model, data: Data, cfg: Config, split: str) -> dict:
    x, y = getattr(data, split)
    if len(y) == 0:
        return {}
    pred = predict_classes(model, data.vocab, x)
    C = len(data.vocab["classes"])
    f1 = []
    for c in range(C):
        tp = np.sum((pred == c) & (y == c))
        denom = np.sum(pred == c) + np.sum(y == c)
        f1.append(2 * tp / denom if denom else 0.0)
    return {"accuracy": float(np.mean(pred == y)), "macro_f1": float(np.mean(f1))}


def finish(run, model, data: Data, metrics: dict) -> dict:
    """Majority-class and (texts) bag-of-n-grams baselines; the confusion matrix."""
    from seqlab import plots
    (x_te, y_te), y_tr = data.test, data.train[1]
    C = len(data.vocab["classes"])
    pred = predict_classes(model, data.vocab, x_te)
    matrix = np.zeros((C, C), dtype=np.int64)
    np.add.at(matrix, (y_te, pred), 1)
    plots.confusion_matrix(matrix, data.vocab["classes"], run.plots_dir / "confusion_matrix.png")
    from seqlab import baselines
    from seqlab.baselines import series, symbols, text
    fns = {"majority": lambda: float(np.mean(y_te == np.bincount(y_tr, minlength=C).argmax()))}
    raw = data.info.get("raw_text")
    if data.vocab["text"] and raw and _has_sklearn():
        level = run.config.data.level
        fns["tfidf_logreg"] = lambda: text.tfidf_logreg(raw["train"], y_tr, raw["test"], y_te,
                                                        level)
        fns["nb_logreg"] = lambda: text.nb_logreg(raw["train"], y_tr, raw["test"], y_te, level)
        fns["onehot_logreg"] = lambda: symbols.onehot_logreg(raw["train"], y_tr, raw["test"],
                                                             y_te)
    elif not data.vocab["text"] and _has_sklearn():
        x_tr = data.train[0]
        fns["nearest_neighbour"] = lambda: series.nearest_neighbour(x_tr, y_tr, x_te, y_te)
        fns["minirocket"] = lambda: series.minirocket(x_tr, y_tr, x_te, y_te)
    if data.info.get("extra_baseline") == "dtw":
        from seqlab.baselines.dtw import dtw_nearest_neighbour
        x_tr = data.train[0]
        fns["dtw_1nn"] = lambda: dtw_nearest_neighbour(x_tr, y_tr, x_te, y_te)
    values, seconds, skipped = baselines.run_all(fns)
    out = {f"baseline_{k}": v for k, v in values.items()}
    if "tfidf_logreg" in values:
        out["baseline_logreg_ngrams"] = values["tfidf_logreg"]  # the earlier name
    out.update(baselines.compare("accuracy", metrics["accuracy"], values, higher=True,
                                 seconds=seconds, skipped=skipped))
    return out


def _has_sklearn() -> bool:
    try:
        import sklearn  # noqa: F401  (the [datasets] extra installs it)
        return True
    except ImportError:
        return False


def logreg_baseline(train_texts, y_train, test_texts, y_test, level: str = "word") -> float:
    """Logistic regression on tf-idf n-grams: ``seqlab.baselines.text.tfidf_logreg``."""
    from seqlab.baselines.text import tfidf_logreg
    return tfidf_logreg(train_texts, y_train, test_texts, y_test, level)


def predict(model, vocab: dict, cfg: Config, lines: list[str]) -> list[str]:
    """Each line a text, or (series) one series as comma-separated numbers: step after step,
    and for a multivariate series of D channels the D values of a step side by side
    (x1_c1, x1_c2, x2_c1, x2_c2, ...)."""
    if vocab["text"]:
        seqs = _encode_texts(vocab, cfg, lines)
    else:
        try:
            seqs = [np.asarray([float(v) for v in l.replace(",", " ").split()],
                               dtype=np.float32).reshape(-1, vocab["features"]) for l in lines]
        except ValueError as err:
            raise ValueError(f"--input: each line must hold comma-separated numbers "
                             f"({err}).") from None
    with torch.no_grad():
        return [vocab["classes"][i] for i in predict_classes(model, vocab, seqs)]


def headline(metrics: dict):
    """(metric, value, the best baseline's value)."""
    best = metrics.get("best_baseline") or {}
    return "accuracy", metrics["accuracy"], best.get("value", metrics.get("baseline_majority"))
