"""Pieces every task recipe shares: recurrent stacks, splits, padded batches, datasets.

    >>> train, val, test = split_indices(10, val_fraction=0.2, test_fraction=0.2, seed=0)
    >>> len(train), len(val), len(test)
    (6, 2, 2)
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterator, Optional, Sequence

import numpy as np
import torch

from seqlab.config import Config, ModelConfig
from seqlab.data.batching import pad_batch
from seqlab.errors import SeqlabError
from seqlab.layers.base import Layer


@dataclass
class Data:
    """A task's prepared data: three splits and what encodes them."""
    train: Any                       # task-specific (tensors, lists of sequences...)
    val: Any
    test: Any
    vocab: dict                      # JSON-friendly: vocabularies, class names, scalers
    info: dict = field(default_factory=dict)  # facts for the report (sizes, baselines)


class TrainingInterrupted(SeqlabError):
    """Ctrl-C during training; the run was saved after its last completed epoch."""


# ---------------------------------------------------------------------- layers
def recurrent(m: ModelConfig, units: Optional[int] = None, bidirectional: bool = False,
              **kwargs):
    """The recurrent layer named by [model] cell: LSTM, GRU or SimpleRNN (+ Bidirectional);
    a GRU in the form [model] reset_after names."""
    from seqlab.layers import recurrent as rec
    cls = {"lstm": rec.LSTM, "gru": rec.GRU, "rnn": rec.SimpleRNN}[m.cell]
    if m.cell == "gru":
        kwargs.setdefault("reset_after", m.reset_after)
    layer = cls(units or m.units, **kwargs)
    return rec.Bidirectional(layer) if bidirectional else layer


def build_with(model: torch.nn.Module, *example) -> torch.nn.Module:
    """Run ``model`` once on ``example`` inputs (eval mode, no grad) so its lazily built
    layers create their parameters; returns the model in train mode.

    The example's batch and time sizes are not the model's (a task model takes any
    number of steps), so the layers record them as unknown: ``summary()`` prints
    ``(None, None, H)``, not the example's length."""
    model.eval()
    with torch.no_grad():
        model(*example)
    for layer in model.modules():
        shape = getattr(layer, "build_input_shape", None) if isinstance(layer, Layer) else None
        if shape is not None and len(shape) >= 3:                          # (B, T, ...)
            layer.build_input_shape = (None, None) + tuple(shape[2:])
    return model.train()


# ---------------------------------------------------------------------- splits
def split_seed(cfg: Config) -> int:
    """The seed of the train/val/test split: [data] split_seed, or [training] seed if -1."""
    return cfg.training.seed if cfg.data.split_seed < 0 else cfg.data.split_seed


def split_indices(n: int, val_fraction: float, test_fraction: float, seed: int):
    """Shuffled index arrays (train, val, test) of sizes about (1 - v - t, v, t) * n."""
    order = np.random.default_rng(seed).permutation(n)
    n_test = int(round(n * test_fraction))
    n_val = int(round(n * val_fraction))
    return order[n_test + n_val:], order[n_test:n_test + n_val], order[:n_test]


def user_files(cfg: Config) -> dict:
    """The user's files by split: {"train": path, "val": val_path, "test": test_path} (the
    held-out ones only when given); refuses, before any training, a setup that leaves no
    test data ([data] test_fraction = 0 and no test_path)."""
    d = cfg.data
    if not d.path:
        raise SeqlabError('[data] path is empty; with dataset = "file" it names your data '
                          'file, e.g. path = "data/train.csv".')
    if not d.test_path and d.test_fraction <= 0:
        raise SeqlabError(f"{d.path}: [data] test_fraction = {d.test_fraction} and no "
                          f"test_path leave nothing to test the model on; set test_fraction "
                          f'> 0 (e.g. 0.2) or name your test file with test_path = "test.csv".')
    parts = {"train": d.path}
    parts.update({s: p for s, p in (("val", d.val_path), ("test", d.test_path)) if p})
    return parts


def require_test(n_test: int, cfg: Config) -> None:
    """Refuse, before training, a split whose test part is empty."""
    if n_test == 0:
        raise SeqlabError(f"{data_source(cfg)}: the test split is empty ([data] test_fraction = "
                          f"{cfg.data.test_fraction} of the data); raise test_fraction or set "
                          f'[data] test_path = "test.csv".')


def read_user_files(cfg: Config, read) -> tuple[list, dict]:
    """``read(path) -> tuple of lists`` applied to each of the user's files; returns the
    lists concatenated (train, then val, then test rows) and the row count of each file."""
    columns: list = []
    counts = {}
    for split, path in user_files(cfg).items():
        part = read(path)
        columns = [list(c) for c in part] if not columns else \
            [a + list(c) for a, c in zip(columns, part)]
        counts[split] = len(part[0])
    return columns, counts


def split_user_parts(cfg: Config, n: int, counts: Optional[dict] = None):
    """(train, val, test) indices: the user's own files where ``counts`` has them (rows in
    the order train, val, test), the rest split off the training rows by the fractions."""
    d, seed = cfg.data, split_seed(cfg)
    if not counts:
        tr, va, te = split_indices(n, d.val_fraction, d.test_fraction, seed)
        require_test(len(te), cfg)
        return tr, va, te
    start = {"train": 0}
    start["val"] = counts["train"]
    start["test"] = start["val"] + counts.get("val", 0)
    own = {s: np.arange(start[s], start[s] + counts[s]) for s in ("val", "test") if s in counts}
    tr, va, te = split_indices(counts["train"], 0.0 if "val" in own else d.val_fraction,
                               0.0 if "test" in own else d.test_fraction, seed)
    va, te = own.get("val", va), own.get("test", te)
    require_test(len(te), cfg)
    return tr, va, te


def take(items: Sequence, idx) -> list:
    return [items[i] for i in idx]


# ---------------------------------------------------------------------- batches
def pad(seqs: Sequence[Sequence[int]], value: int = 0, dtype=torch.long) -> torch.Tensor:
    """Id lists -> (B, max(T_max, 1)) ids padded after with ``value``: ``pad_batch``."""
    return pad_batch(seqs, value=value, dtype=dtype, min_length=1)[0]


def length_batches(lengths: Sequence[int], batch_size: int,
                   rng: Optional[np.random.Generator], drop_small: bool = False
                   ) -> list[np.ndarray]:
    """Index batches of similar lengths (little padding): seqlab.data.BucketBatchSampler,
    shuffled with a seed drawn from ``rng`` (training), or sorted by length (``rng=None``).
    ``drop_small`` drops a batch of less than half ``batch_size`` (a batch of 2 gives
    BatchNormalization useless statistics that its moving averages then absorb)."""
    from seqlab.data import BucketBatchSampler
    seed = 0 if rng is None else int(rng.integers(2**31))
    sampler = BucketBatchSampler(lengths, batch_size, shuffle=rng is not None, seed=seed)
    batches = [np.asarray(b, dtype=np.int64) for b in sampler.batches()]
    if drop_small and len(batches) > 1:
        batches = [b for b in batches if 2 * len(b) >= batch_size]
    return batches


def minibatches(n: int, batch_size: int, rng: Optional[np.random.Generator]) -> Iterator[np.ndarray]:
    """Index batches over ``n`` examples, shuffled when ``rng`` is given."""
    order = rng.permutation(n) if rng is not None else np.arange(n)
    for i in range(0, n, batch_size):
        yield order[i:i + batch_size]


# ---------------------------------------------------------------------- datasets
def load_dataset(cfg: Config) -> Any:
    """``seqlab.datasets.load(name, **options)`` with one-line errors naming [data]."""
    d = cfg.data
    try:
        from seqlab import datasets
    except ImportError:
        raise SeqlabError("the dataset registry (seqlab.datasets) is not available in this "
                          "installation; reinstall seqlab with its [datasets] extra.") from None
    try:
        return datasets.load(d.dataset, **d.options)
    except (ValueError, TypeError, KeyError) as err:
        raise SeqlabError(f"[data] dataset = {d.dataset!r}: {err}") from None


def column(table: Any, name: str, what: str, source: str) -> list:
    """Column ``name`` of a dict-of-lists / DataFrame, or a clear error naming the valid ones."""
    keys = list(table.keys()) if hasattr(table, "keys") else list(getattr(table, "columns", []))
    if name not in keys:
        raise SeqlabError(f"{source}: no column {name!r} for {what}; the columns are "
                          f"{', '.join(map(str, keys))}. Set [data] {what} to one of them.")
    values = table[name]
    return list(values.tolist() if hasattr(values, "tolist") else values)


def _count(split: Any) -> int:
    """Examples (or steps, tokens) in one split of a Data, whatever the task's layout."""
    if split is None:
        return 0
    if isinstance(split, dict):
        return len(split.get("truth", ()))
    if isinstance(split, list) and split and isinstance(split[0], dict):  # several series
        return sum(len(part.get("truth", ())) for part in split)
    if isinstance(split, (tuple, list)) and split and hasattr(split[0], "__len__"):
        return len(split[0])
    return len(split)


def data_source(cfg: Config) -> str:
    """How the config names its data, for error messages."""
    d = cfg.data
    return d.path if d.dataset == "file" else f"[data] dataset = {d.dataset!r}"


def check_data(task: Any, data: Data, cfg: Config) -> None:
    """Refuse data no training can use, before training starts: a test split with nothing
    in it, a training split that gives no batch (sequences shorter than [data] seq_len or
    too few examples), a classifier's training split with fewer than two classes."""
    source, d = data_source(cfg), cfg.data
    if cfg.task == "classify":
        classes = np.unique(np.asarray(data.train[1]))
        if len(classes) < 2:
            names = data.vocab.get("classes", [])
            one = names[int(classes[0])] if len(classes) and int(classes[0]) < len(names) \
                else "none"
            raise SeqlabError(f"{source}: the training split holds {len(classes)} class "
                              f"({one!r}); a classifier needs examples of at least two "
                              f"classes, so add examples of another class.")
    needed = 2 if cfg.task == "generate" else d.horizon if cfg.task == "forecast" else 1
    if _count(data.test) < needed:
        raise SeqlabError(f"{source}: the test split is empty ({_count(data.test)} of "
                          f"{needed} needed); set [data] test_fraction > 0 (now "
                          f"{d.test_fraction}) or give more data.")
    rng = np.random.default_rng([cfg.training.seed, 0])
    if next(iter(task.train_batches(data, cfg, rng)), None) is None:
        if cfg.task == "generate":
            raise SeqlabError(f"{source}: the training text has {_count(data.train)} tokens, "
                              f"fewer than [data] seq_len + 1 = {d.seq_len + 1}; use a "
                              f"smaller seq_len or a longer text.")
        raise SeqlabError(f"{source}: the training split is empty ({_count(data.train)} "
                          f"examples); give more data or lower [data] test_fraction and "
                          f"val_fraction.")


def check_same_classes(cfg: Config, vocab: dict, classes: Sequence) -> None:
    """A resumed or reloaded run's data must have the classes the run was trained on."""
    saved = list(vocab.get("classes", [])) if isinstance(vocab, dict) else []
    if list(classes) != saved:
        new = [c for c in classes if c not in saved]
        gone = [c for c in saved if c not in classes]
        detail = (f"it gained {new[:3]}" if new else f"it lost {gone[:3]}" if gone
                  else "their order changed")
        raise SeqlabError(f"{data_source(cfg)}: the classes differ from the run's "
                          f"vocab.json ({detail}); the data changed after the run started, "
                          f"so restore the data or train a new run.")
