"""A run's configuration: three dataclasses that map 1:1 onto a TOML file.

    task = "classify"            # classify | forecast | generate | seq2seq | tag | transcribe
    name = "gunpoint"            # run folder name under runs_dir (default: the file's stem)

    [data]
    dataset = "gunpoint"         # a name from `seqlab datasets`, or "file"
    [model]
    cell = "gru"
    [training]
    epochs = 30

Every field has a default, so a config only lists what it changes. Unknown sections or
keys are errors that name the key and the valid ones (a typo never passes silently).

    >>> cfg = Config.from_dict({"task": "classify", "training": {"epochs": 3}})
    >>> cfg.training.epochs, cfg.model.units
    (3, 64)
"""
from __future__ import annotations

import dataclasses
import difflib
import math
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from seqlab.errors import ConfigError

TASKS = ("classify", "forecast", "generate", "seq2seq", "tag", "transcribe")
MAX_SEED = 2 ** 32 - 1  # numpy's seeds are 32-bit integers
MAX_NAME_LENGTH = 100  # characters of a run name (room for "-2", "-3"... within a file name)


def run_name_problem(name: str) -> str:
    """What makes ``name`` unusable as a run folder name ("" when it is a plain name).

    A run name is one folder name inside runs_dir: not empty, not "." or "..", no "/" or
    "\\", no "..", no control characters, at most MAX_NAME_LENGTH characters.

    >>> run_name_problem("gunpoint_fcn"), run_name_problem("../x")
    ('', 'contains "/"')
    """
    if not name:
        return "is empty"
    for sep in ("/", "\\"):
        if sep in name:
            return f'contains "{sep}"'
    if name in (".", ".."):
        return "names a folder relative to runs_dir, not a new one"
    if ".." in name:
        return 'contains ".."'
    if any(ord(c) < 32 or ord(c) == 127 for c in name):
        return "contains a control character"
    if len(name) > MAX_NAME_LENGTH:
        return f"is {len(name)} characters long (at most {MAX_NAME_LENGTH})"
    if len(name.encode("utf-8")) > 2 * MAX_NAME_LENGTH:
        return (f"is {len(name.encode('utf-8'))} bytes long in UTF-8 "
                f"(at most {2 * MAX_NAME_LENGTH})")
    return ""


def run_name_message(source: str, name: str, problem: str) -> str:
    """The one sentence that explains a bad run name and how to fix it."""
    return (f"{source}: name = {name!r} {problem}, but a run name is a plain folder name "
            f"created inside runs_dir; use letters, digits, '-' or '_' such as "
            f'name = "my_run", and put the location in runs_dir.')


@dataclass
class DataConfig:
    dataset: str = "addition"      # registry name (`seqlab datasets`) or "file" for your own file
    options: dict = field(default_factory=dict)  # keyword arguments of seqlab.datasets.load(dataset, ...)
    path: str = ""                 # your CSV / TSV / JSON-lines / text file when dataset = "file"
    text_column: str = "text"      # input column of a user file (classify, seq2seq source, tag tokens)
    label_column: str = "label"    # target column of a user file (class, seq2seq target, tags)
    target_column: str = ""        # forecast: the series column to predict ("" = the first one)
    level: str = "word"            # text tokens: "word", "char" or "subword" (seq2seq: SentencePiece BPE)
    subwords: int = 4000           # level = "subword": pieces in the shared source/target vocabulary
    num_words: int = 20000         # keep the most frequent words (rest -> OOV)
    max_len: int = 0               # truncate inputs to this many tokens / steps (0 = no limit)
    max_samples: int = 0           # use only the first N training examples (0 = all), for quick runs
    test_fraction: float = 0.1     # held-out test share when the dataset has no official split
    val_fraction: float = 0.1      # validation share (taken from the training part)
    split_seed: int = -1           # seeds the train/val/test split (-1 = [training] seed)
    window: int = 24               # forecast: input window length (time steps)
    horizon: int = 1               # forecast: steps predicted at once
    seasonality: int = 0           # forecast: season length m for MASE / seasonal naive (0 = from dataset, else 1)
    difference: bool = True        # forecast: model the seasonal differences (y_t - y_{t-m})
    log: bool = False              # forecast: model log(y) (multiplicative seasonality, y > 0)
    transform: str = "none"        # forecast: "none", "log" (as log = true) or "boxcox" (its lambda fitted on the training part)
    future_covariates: list = field(default_factory=list)  # forecast, arch = "mlp": columns known ahead (promotions, holidays, prices), read over the window and the forecast steps
    past_covariates: list = field(default_factory=list)  # forecast, arch = "mlp": columns observed only up to the forecast origin (a measured temperature, footfall), read over the window only
    seasonalities: list = field(default_factory=list)  # forecast, arch = "mlp": season lengths given to the model as Fourier terms (e.g. [48, 336])
    windows: list = field(default_factory=list)  # forecast, arch = "mlp": the members' look-backs, spread over them ([] = [window])
    seq_len: int = 100             # generate: training chunk length (truncated BPTT window)
    # Your own files (dataset = "file"). `path` holds the training data, or all of it when no
    # test_path is given (then test_fraction / val_fraction split it); test_path / val_path
    # hold your own held-out parts and replace test_fraction / val_fraction.
    encoding: str = "utf-8"        # text encoding of the files ("utf-8", "latin-1", "cp1252"...)
    test_path: str = ""            # your own test file, same columns as `path` ("" = split off test_fraction)
    val_path: str = ""             # your own validation file ("" = split off val_fraction of the training part)
    format: str = "auto"           # classify: the file's layout, "auto", "text", "wide" or "long":
                                   # "text" = a text column; "wide" = a row is a series, one numeric
                                   # column per step; "long" = a row is one step (id_column, time_column,
                                   # value columns); "auto" = .ts/.arff files are series, id_column set
                                   # -> long, every column but the label numeric -> wide, else text
    id_column: str = ""            # long format (classify; forecast with arch = "mlp"): the column naming the series a row belongs to
    time_column: str = ""          # long format: the column ordering the steps ("" = file order)
    value_columns: list = field(default_factory=list)  # long / wide format: numeric columns to use ([] = every numeric one)


@dataclass
class ModelConfig:
    arch: str = "rnn"              # "rnn" (recurrent stack), "fcn" (Conv1D + BatchNorm + GAP), "cnn" (Kim-style text CNN),
                                   # "bag" (fastText: mean of word and word-pair vectors, texts), "transformer" (seq2seq),
                                   # "mlp" (forecast: members, each a linear path + an MLP on its look-back, averaged)
    ensemble: int = 1              # arch = "mlp": members averaged (each its own initialisation and look-back);
                                   # classify: N classifiers, each its own initialisation, class probabilities averaged
    relative: bool = True          # arch = "mlp": members read the window relative to its last value
                                   # (false: the scaled levels themselves, as an autoregression does)
    quantiles: list = field(default_factory=list)  # arch = "mlp": quantile levels also forecast, e.g. [0.1, 0.9]; the test reports the coverage of the interval they span
    cell: str = "lstm"             # recurrent cell: "lstm", "gru" or "rnn" (SimpleRNN)
    reset_after: bool = False      # GRU: false = the course's form, reset gate applied before the recurrent matmul (as GRU());
                                   # true = the cuDNN / Keras 3 form, reset after it (two biases; torch's fused kernel runs)
    units: int = 64                # hidden units per recurrent layer
    layers: int = 1                # stacked recurrent layers (arch = "mlp": each member's MLP hidden
                                   # layers; 0 = no MLP, each member is its linear path alone)
    bidirectional: bool = False    # wrap recurrent layers in Bidirectional
    embedding_dim: int = 64        # token vector size (text inputs); 0 = one-hot-free raw features
    char_embedding_dim: int = 0    # tag: character-level word encoder size (0 = words only)
    dropout: float = 0.0           # dropout between layers, in [0, 1)
    word_dropout: float = 0.25     # tag: a training word seen n times becomes OOV with probability a / (a + n)
    filters: int = 128             # conv architectures: filters per conv layer
    kernel_sizes: list = field(default_factory=lambda: [8, 5, 3])  # conv architectures: kernel size of each conv layer
    buckets: int = 100000          # arch = "bag": hashed word-pair (bigram) vectors (0 = single words only)
    nb_buckets: int = 0            # arch = "bag": > 0 adds NBSVM logits: word and word-pair (hashed into this many
                                   # buckets) presence scaled by Naive Bayes log-count ratios of the training texts,
                                   # a weight per feature learned from the NB prior, [model] dropout drops features (0 = off)
    attention: str = "none"        # seq2seq: "none", "bahdanau" (additive) or "luong" (dot)
    heads: int = 4                 # arch = "transformer": attention heads (units = d_model)
    beam_width: int = 1            # seq2seq decoding: 1 = greedy, > 1 = beam search
    tie_embeddings: bool = False   # arch = "transformer": one token table for source, target and output


@dataclass
class TrainingConfig:
    epochs: int = 10               # passes over the training data
    batch_size: int = 64           # examples per gradient step
    optimizer: str = "adam"        # "adam", "sgd", "rmsprop", "adagrad" or "lbfgs" (full batches, to
                                   # convergence; no weight_decay, set global_clipnorm = 0)
    learning_rate: float = 0.001   # step size
    lr_schedule: str = "constant"  # "constant"; "cosine": decays to 0 along the epochs;
                                   # "plateau": x0.5 after lr_patience epochs without a lower loss;
                                   # "inverse_sqrt": linear warmup, then rate * sqrt(warmup_steps / step)
    warmup_steps: int = 0          # optimizer steps of linear warmup ("inverse_sqrt"; 0 = none)
    label_smoothing: float = 0.0   # seq2seq: share of the target probability spread over the vocabulary
    average_last: int = 0          # keep the mean of the weights of the last N epochs (0 = the last epoch)
    lr_patience: int = 50          # "plateau": epochs without improvement of the training loss
    min_learning_rate: float = 1e-4  # "plateau": the rate never goes below this
    clipnorm: float = 0.0          # clip each parameter's gradient L2 norm separately, as Keras (0 = off)
    global_clipnorm: float = 1.0   # clip the norm of all gradients together (0 = off);
                                   # setting clipnorm alone (> 0) turns this one off
    weight_decay: float = 0.0      # L2 penalty (decoupled for adam -> AdamW)
    class_weights: str = "none"    # classify: "none" or "balanced" (inverse class frequency)
    keep_best: bool = False        # test the best validation epoch (lowest training loss if no val split)
    population_stats: bool = True  # after training, BatchNormalization layers use the training set's exact statistics
    seed: int = 0                  # seeds data splits, initialisation, shuffling and dropout
    device: str = "auto"           # "auto" (CUDA when available), "cpu" or "cuda"
    precision: str = "32"          # "32"; "bf16": bfloat16 autocast (CPU or CUDA); "fp16": float16 + loss scaling (CUDA)
    threads: int = 0               # torch CPU threads, >= 1 (0 = leave torch's default)
    checkpoint_every: int = 0      # also checkpoint every N batches; --resume goes on at the next (0 = epochs only)


_SECTIONS = {"data": DataConfig, "model": ModelConfig, "training": TrainingConfig}
_TOP_LEVEL = ("task", "name", "runs_dir")


@dataclass
class Config:
    task: str = "classify"         # classify | forecast | generate | seq2seq | tag | transcribe
    name: str = ""                 # run folder name (default: the config file's stem)
    runs_dir: str = "runs"         # where run folders are created
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    training: TrainingConfig = field(default_factory=TrainingConfig)

    # ------------------------------------------------------------------ reading
    @classmethod
    def from_dict(cls, raw: dict, source: str = "config") -> "Config":
        """Build and validate a Config from a parsed TOML dict."""
        unknown = [k for k in raw if k not in _TOP_LEVEL and k not in _SECTIONS]
        if unknown:
            raise ConfigError(_unknown(source, "top level", unknown[0],
                                       list(_TOP_LEVEL) + [f"[{s}]" for s in _SECTIONS]))
        sections = {}
        for section, klass in _SECTIONS.items():
            values = raw.get(section, {})
            if not isinstance(values, dict):
                raise ConfigError(f"{source}: [{section}] must be a table (a [{section}] "
                                  f"header followed by key = value lines), got {values!r}.")
            sections[section] = _fill(klass, values, source, section)
        t_raw = raw.get("training", {})
        if "global_clipnorm" not in t_raw and sections["training"].clipnorm > 0:
            sections["training"].global_clipnorm = 0.0  # clipnorm alone: per parameter
        top = {k: raw[k] for k in _TOP_LEVEL if k in raw}
        for key, value in top.items():
            if not isinstance(value, str):
                raise ConfigError(f"{source}: {key} must be a string, got {value!r}.")
        cfg = cls(**top, **sections)
        cfg.validate(source)
        return cfg

    @classmethod
    def load(cls, path: str | Path) -> "Config":
        """Read a TOML file; the run name defaults to the file's stem."""
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(2, "No such file or directory", str(path))
        try:
            raw = tomllib.loads(path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as err:
            raise ConfigError(f"{path}: malformed TOML ({err}).") from None
        except UnicodeDecodeError:
            raise ConfigError(f"{path}: not a UTF-8 text file; save it as UTF-8.") from None
        cfg = cls.from_dict(raw, source=str(path))
        if not cfg.name:
            cfg.name = path.stem
            if run_name_problem(cfg.name):
                raise ConfigError(run_name_message(str(path), cfg.name, run_name_problem(
                    cfg.name) + " (taken from the file name)"))
        return cfg

    def validate(self, source: str = "config") -> None:
        """Check values a dataclass cannot: choices and ranges."""
        _choice(source, "task", self.task, TASKS)
        if self.name and run_name_problem(self.name):  # "" = the config file's stem, set later
            raise ConfigError(run_name_message(source, self.name, run_name_problem(self.name)))
        _choice(source, "[data] level", self.data.level, ("word", "char", "subword"))
        _choice(source, "[model] arch", self.model.arch,
                ("rnn", "fcn", "cnn", "bag", "transformer", "mlp"))
        if self.model.arch == "mlp" and self.task != "forecast":
            raise ConfigError(f'{source}: [model] arch = "mlp" is available for '
                              f'task = "forecast"; use "rnn" for {self.task!r}.')
        _choice(source, "[data] transform", self.data.transform, ("none", "log", "boxcox"))
        if self.data.log and self.data.transform == "boxcox":
            raise ConfigError(f'{source}: [data] log = true and transform = "boxcox" '
                              f'disagree; keep one of them (transform = "log" is log = true).')
        qs = self.model.quantiles
        if qs and (self.model.arch != "mlp" or not isinstance(qs, list) or len(qs) < 2 or not all(
                isinstance(q, (int, float)) and 0 < q < 1 for q in qs) or sorted(qs) != qs):
            raise ConfigError(f'{source}: [model] quantiles must be at least two increasing '
                              f'levels in (0, 1) with arch = "mlp" (e.g. [0.1, 0.9]), got '
                              f'{qs!r} with arch = {self.model.arch!r}.')
        ws = self.data.windows
        if not isinstance(ws, list) or not all(
                isinstance(w, int) and not isinstance(w, bool) and w >= 1 for w in ws):
            raise ConfigError(f"{source}: [data] windows must be a list of integers >= 1 "
                              f"(e.g. [12, 24, 36]), got {ws!r}.")
        if self.model.arch == "transformer" and self.task != "seq2seq":
            raise ConfigError(f'{source}: [model] arch = "transformer" is available for '
                              f'task = "seq2seq"; use "rnn" or "cnn" for {self.task!r}.')
        if self.model.arch in ("fcn", "cnn", "bag") and self.task != "classify":
            raise ConfigError(f'{source}: [model] arch = {self.model.arch!r} is available for '
                              f'task = "classify"; use "rnn" for {self.task!r}.')
        if self.model.nb_buckets and self.model.arch != "bag":
            raise ConfigError(f'{source}: [model] nb_buckets adds NB features to arch = '
                              f'"bag"; set arch = "bag" or nb_buckets = 0.')
        _choice(source, "[model] cell", self.model.cell, ("lstm", "gru", "rnn"))
        _choice(source, "[model] attention", self.model.attention, ("none", "bahdanau", "luong"))
        _choice(source, "[training] optimizer", self.training.optimizer,
                ("adam", "sgd", "rmsprop", "adagrad", "lbfgs"))
        _choice(source, "[training] class_weights", self.training.class_weights,
                ("none", "balanced"))
        _choice(source, "[training] lr_schedule", self.training.lr_schedule,
                ("constant", "cosine", "plateau", "inverse_sqrt"))
        _choice(source, "[training] device", self.training.device, ("auto", "cpu", "cuda"))
        _choice(source, "[training] precision", self.training.precision, ("32", "bf16", "fp16"))
        d, m, t = self.data, self.model, self.training
        if m.layers < (0 if m.arch == "mlp" else 1):
            raise ConfigError(f"{source}: [model] layers must be >= "
                              f"{0 if m.arch == 'mlp' else 1}, got {m.layers}.")
        for where, value in [("[training] epochs", t.epochs),
                             ("[training] batch_size", t.batch_size),
                             ("[training] lr_patience", t.lr_patience),
                             ("[model] units", m.units),
                             ("[model] ensemble", m.ensemble),
                             ("[model] filters", m.filters),
                             ("[model] heads", m.heads),
                             ("[model] beam_width", m.beam_width),
                             ("[data] num_words", d.num_words),
                             ("[data] subwords", d.subwords),
                             ("[data] window", d.window),
                             ("[data] horizon", d.horizon),
                             ("[data] seq_len", d.seq_len)]:
            if value < 1:
                raise ConfigError(f"{source}: {where} must be >= 1, got {value}.")
        for where, value, zero in [("[data] max_len", d.max_len, "no limit"),
                                   ("[data] max_samples", d.max_samples, "all"),
                                   ("[data] seasonality", d.seasonality, "from the dataset"),
                                   ("[model] embedding_dim", m.embedding_dim, "raw features"),
                                   ("[model] buckets", m.buckets, "single words only"),
                                   ("[model] nb_buckets", m.nb_buckets, "off"),
                                   ("[model] char_embedding_dim", m.char_embedding_dim,
                                    "words only"),
                                   ("[training] threads", t.threads, "torch's default"),
                                   ("[training] checkpoint_every", t.checkpoint_every,
                                    "after each epoch only"),
                                   ("[training] warmup_steps", t.warmup_steps, "none"),
                                   ("[training] average_last", t.average_last,
                                    "the last epoch")]:
            if value < 0:
                raise ConfigError(f"{source}: {where} must be >= 1, or 0 for {zero}; "
                                  f"got {value}.")
        if not (0 <= t.seed <= MAX_SEED):
            raise ConfigError(f"{source}: [training] seed must be in [0, {MAX_SEED}], "
                              f"got {t.seed}.")
        if not (-1 <= d.split_seed <= MAX_SEED):
            raise ConfigError(f"{source}: [data] split_seed must be in [0, {MAX_SEED}], or "
                              f"-1 for [training] seed; got {d.split_seed}.")
        for where, value in [("[model] dropout", m.dropout),
                             ("[training] label_smoothing", t.label_smoothing),
                             ("[data] test_fraction", d.test_fraction),
                             ("[data] val_fraction", d.val_fraction)]:
            if not 0.0 <= value < 1.0:
                raise ConfigError(f"{source}: {where} must be in [0, 1), got {value}.")
        if d.test_fraction + d.val_fraction >= 1.0:
            raise ConfigError(f"{source}: [data] test_fraction + val_fraction = "
                              f"{d.test_fraction} + {d.val_fraction} leaves no training "
                              f"data; make their sum < 1 (e.g. 0.1 and 0.1).")
        for where, value, low in [("[model] word_dropout", m.word_dropout, ">= 0 (0 = off)"),
                                  ("[training] weight_decay", t.weight_decay, ">= 0 (0 = off)"),
                                  ("[training] clipnorm", t.clipnorm, ">= 0 (0 = off)"),
                                  ("[training] global_clipnorm", t.global_clipnorm,
                                   ">= 0 (0 = off)"),
                                  ("[training] min_learning_rate", t.min_learning_rate,
                                   ">= 0")]:
            if not math.isfinite(value) or value < 0:
                raise ConfigError(f"{source}: {where} must be a finite number {low}, "
                                  f"got {value}.")
        if t.average_last and t.keep_best:
            raise ConfigError(f"{source}: [training] average_last = {t.average_last} and "
                              f"keep_best = true each choose the final weights; set one.")
        if t.clipnorm and t.global_clipnorm:
            raise ConfigError(f"{source}: [training] clipnorm = {t.clipnorm} (each parameter) "
                              f"and global_clipnorm = {t.global_clipnorm} (all together): set "
                              f"one of them > 0 and the other to 0.")
        if not math.isfinite(t.learning_rate) or t.learning_rate <= 0:
            raise ConfigError(f"{source}: [training] learning_rate must be a finite number "
                              f"> 0 (e.g. 0.001), got {t.learning_rate}.")
        sizes = m.kernel_sizes
        if (not sizes or not all(isinstance(k, int) and not isinstance(k, bool) and k >= 1
                                 for k in sizes)):
            raise ConfigError(f"{source}: [model] kernel_sizes must be a non-empty list of "
                              f"integers >= 1 (e.g. [8, 5, 3]), got {sizes!r}.")
        if m.arch == "transformer" and m.units % m.heads:
            raise ConfigError(f"{source}: [model] units = {m.units} must be divisible by "
                              f"heads = {m.heads} (arch = \"transformer\"); e.g. units = "
                              f"{m.heads * max(1, round(m.units / m.heads))}.")
        if not isinstance(d.options, dict):
            raise ConfigError(f"{source}: [data] options must be a table, got {d.options!r}.")
        if self.data.dataset == "file" and not self.data.path:
            raise ConfigError(f'{source}: [data] dataset = "file" needs path = "your_file.csv".')
        if not self.runs_dir.strip():
            raise ConfigError(f'{source}: runs_dir is empty; give a folder such as '
                              f'runs_dir = "runs".')

    def override(self, item: str) -> None:
        """Apply one ``"section.key=value"`` (e.g. ``"training.epochs=5"``), the value
        converted to the field's type (booleans from true/false/1/0)."""
        key, sep, value = item.partition("=")
        section, _, name = key.strip().partition(".")
        part = getattr(self, section, None) if section in _SECTIONS else None
        if not sep or part is None or not hasattr(part, name):
            raise ConfigError(f"override {item!r}: expected SECTION.KEY=VALUE with SECTION one "
                              f"of {', '.join(_SECTIONS)} and KEY a field of it.")
        old = getattr(part, name)
        if isinstance(old, bool):
            new = value.strip().lower() in ("1", "true", "yes")
        elif isinstance(old, (list, dict)):
            new = tomllib.loads(f"v = {value}")["v"]
        else:
            new = type(old)(value)
        setattr(part, name, new)
        alternative = {"clipnorm": "global_clipnorm", "global_clipnorm": "clipnorm"}
        if section == "training" and name in alternative and new > 0:
            setattr(part, alternative[name], 0.0)  # one clip or the other, as Keras

    # ------------------------------------------------------------------ writing
    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def to_toml(self) -> str:
        """The config as TOML text that `Config.load` reads back unchanged."""
        lines = [f"{k} = {_toml_value(getattr(self, k))}" for k in _TOP_LEVEL]
        for section in _SECTIONS:
            lines += ["", f"[{section}]"]
            for f in dataclasses.fields(getattr(self, section)):
                lines.append(f"{f.name} = {_toml_value(getattr(getattr(self, section), f.name))}")
        return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------- helpers
def _fill(klass, values: dict, source: str, section: str):
    fields = {f.name: f for f in dataclasses.fields(klass)}
    for key, value in values.items():
        if key not in fields:
            raise ConfigError(_unknown(source, f"[{section}]", key, list(fields)))
        default = getattr(klass(), key)
        if not _same_kind(default, value):
            raise ConfigError(f"{source}: [{section}] {key} must be "
                              f"{_kind_name(default)}, got {value!r}.")
    converted = {k: float(v) if isinstance(getattr(klass(), k), float) else v
                 for k, v in values.items()}
    return klass(**converted)


def _same_kind(default: Any, value: Any) -> bool:
    if isinstance(default, bool):
        return isinstance(value, bool)
    if isinstance(default, float):
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if isinstance(default, int):
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, type(default))


def _kind_name(default: Any) -> str:
    return {bool: "true or false", int: "an integer", float: "a number", str: "a string",
            list: "a list", dict: "a table"}[type(default)]


def _unknown(source: str, where: str, key: str, valid: list) -> str:
    close = difflib.get_close_matches(key, valid, n=1)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    return (f"{source}: unknown key {key!r} in {where}.{hint} "
            f"Valid keys: {', '.join(valid)}.")


def _choice(source: str, where: str, value: str, choices: tuple) -> None:
    if value not in choices:
        raise ConfigError(f"{source}: {where} must be one of "
                          f"{', '.join(repr(c) for c in choices)}; got {value!r}.")


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k} = {_toml_value(v)}" for k, v in value.items()) + "}"
    raise ConfigError(f"cannot write {value!r} to TOML.")
