"""``seqlab init FILE``: look at a data file, infer the task and its columns, write a
starting TOML config with every field commented.

How the task is inferred (``--task`` overrides it; the columns are then inferred for it):

    .ts / .arff                                   -> classify (numeric series)
    .txt without tab-separated columns            -> generate (a character language model)
    an id column, value columns and a label       -> classify (long series)
    a label and >= 3 other columns, all numeric   -> classify (wide series)
    a date/time column and numeric columns        -> forecast
    two text columns with as many words each row  -> tag (tokens, tags)
    a text column and a label column              -> classify (text)
    two text columns                              -> seq2seq (source, target)

A label column is named like ``label``/``class``/``target``/``y``/``category``, or is the
last column with few distinct values.

    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "reviews.csv"
    >>> _ = p.write_text("review,stars\\ngood fun,pos\\nawful,neg\\nfine,pos\\n")
    >>> guess = infer(p)
    >>> guess["task"], guess["data"]["text_column"], guess["data"]["label_column"]
    ('classify', 'review', 'stars')
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Optional

from seqlab.data.files import _header, _numeric_or_missing, read_columns
from seqlab.errors import SeqlabError

__all__ = ["infer", "write_starter"]

TASKS = ("classify", "forecast", "generate", "seq2seq", "tag")
_LABEL_NAMES = ("label", "labels", "class", "target", "y", "category", "sentiment", "tag",
                "tags", "outcome")
_TIME_NAMES = re.compile(r"^(date|time|timestamp|datetime|ds|day|month|year|hour|period|t)$",
                         re.I)
_ID_NAMES = re.compile(r"^(id|series|series_id|case|case_id|sample|sample_id|unit)$", re.I)
_DATE = re.compile(r"^\d{4}-\d{1,2}(-\d{1,2})?([ T]\d{1,2}(:\d{2}){0,2})?$")
_SAMPLE = 200  # rows looked at


def _kinds(values: dict) -> dict:
    """Each column -> "number", "time" or "text" (from its first rows)."""
    out = {}
    for name, column in values.items():
        cells = [v.strip() for v in column[:_SAMPLE] if v.strip()]
        if cells and all(_DATE.match(v) for v in cells):
            out[name] = "time"
        elif cells and all(_numeric_or_missing(v) for v in cells):
            out[name] = "number"
        else:
            out[name] = "text"
    return out


def _label(names: list, values: dict, kinds: dict, exclude=()) -> Optional[str]:
    def few(n, most):  # a handful of classes, each seen several times
        cells = values[n][:_SAMPLE]
        return 1 < len(set(cells)) <= min(most, max(2, len(cells) // 3))
    for n in names:
        if n.lower() in _LABEL_NAMES and n not in exclude and few(n, 50):
            return n
    for n in reversed(names):
        if n not in exclude and kinds[n] != "time" and few(n, 20):
            return n
    return None


def _same_word_counts(a: list, b: list) -> bool:
    rows = list(zip(a, b))[:_SAMPLE]
    return bool(rows) and all(len(x.split()) == len(y.split()) for x, y in rows) and \
        sum(len(x.split()) for x, _ in rows) > len(rows)


def infer(path, task: Optional[str] = None, encoding: str = "utf-8") -> dict:
    """{"task": ..., "data": {[data] fields}, "model": {...}, "training": {...}, "why": text}."""
    path = Path(path)
    if task is not None and task not in TASKS:
        raise SeqlabError(f"--task {task!r} is not a task; choose one of {', '.join(TASKS)}.")
    suffix = path.suffix.lower()
    data = {"dataset": "file", "path": str(path)}
    if encoding != "utf-8":
        data["encoding"] = encoding
    if suffix in (".ts", ".arff"):
        return _series_guess(data, f"a {suffix} file of the UCR/UEA archive: labelled series")
    header = None
    if suffix not in (".txt",) or "\t" in path.read_text(encoding=encoding,
                                                        errors="replace").split("\n", 1)[0]:
        header = _header(path, None, encoding)
    if header is None or task == "generate":
        return {"task": "generate", "data": {**data, "level": "char", "seq_len": 64},
                "model": {"units": 128}, "training": {"epochs": 10, "batch_size": 32},
                "why": "a plain text file: a character language model"}
    values, _ = read_columns(path, header, encoding=encoding)
    kinds = _kinds(values)
    numbers = [n for n in header if kinds[n] == "number"]
    texts = [n for n in header if kinds[n] == "text"]
    times = [n for n in header if kinds[n] == "time" or (_TIME_NAMES.match(n) and n not in texts)]
    ids = [n for n in header if _ID_NAMES.match(n)]
    label = _label(header, values, kinds, exclude=times + ids)

    if task in (None, "classify") and ids and label and label not in numbers:
        channels = [n for n in numbers if n not in ids + times + [label]]
        if channels:
            data.update(label_column=label, format="long", id_column=ids[0],
                        time_column=times[0] if times else "", value_columns=channels)
            return _series_guess(data, f"a long series table: series {ids[0]!r}, "
                                       f"{len(channels)} value column(s), label {label!r}")
    if task in (None, "classify") and label and len(header) >= 4 and all(
            kinds[n] == "number" for n in header if n != label):
        data.update(label_column=label, format="wide")
        return _series_guess(data, f"a wide series table: {len(header) - 1} steps a row, "
                                   f"label {label!r}")
    if task in (None, "forecast") and (times or task == "forecast") and numbers:
        target = next((n for n in numbers if n.lower() in ("y", "value", "target")),
                      next(n for n in numbers if n not in times))
        data.update(target_column=target, window=24, horizon=1, test_fraction=0.1)
        return {"task": "forecast", "data": data, "model": {"units": 32},
                "training": {"epochs": 20, "batch_size": 32, "learning_rate": 0.003},
                "why": f"a time column ({times[0] if times else 'row order'}) and numeric "
                       f"columns: forecast {target!r}"}
    if task in (None, "tag") and len(texts) >= 2:
        pair = next(((a, b) for a in texts for b in texts
                     if a != b and _same_word_counts(values[a], values[b])), None)
        if pair or task == "tag":
            a, b = pair or (texts[0], texts[1])
            data.update(text_column=a, label_column=b)
            return {"task": "tag", "data": data, "model": {"units": 64, "bidirectional": True},
                    "training": {"epochs": 10, "batch_size": 16},
                    "why": f"tokens {a!r} with one tag each in {b!r}"}
    if task in (None, "classify") and texts and label:
        text = next((n for n in texts if n != label), None)
        if text:
            data.update(text_column=text, label_column=label, format="text")
            return {"task": "classify", "data": data,
                    "model": {"arch": "rnn", "cell": "gru", "units": 64, "embedding_dim": 64},
                    "training": {"epochs": 10, "batch_size": 32},
                    "why": f"text {text!r} with a class in {label!r}"}
    if task in (None, "seq2seq") and len(texts) + len(numbers) >= 2:
        cols = (texts + numbers)[:2]
        data.update(text_column=cols[0], label_column=cols[1], level="char")
        return {"task": "seq2seq", "data": data,
                "model": {"units": 64, "attention": "luong"},
                "training": {"epochs": 20, "batch_size": 32},
                "why": f"two text columns: {cols[0]!r} -> {cols[1]!r}"}
    raise SeqlabError(f"{path}: cannot tell the task from the columns {', '.join(header)}"
                      f"{'' if task is None else f' for --task {task}'}; pass --task "
                      f"classify|forecast|generate|seq2seq|tag, or write the config by hand "
                      f"(see examples/file_*.toml).")


def _series_guess(data: dict, why: str) -> dict:
    data.setdefault("label_column", "label")
    data.update(test_fraction=0.25, val_fraction=0.0)
    return {"task": "classify", "data": data,
            "model": {"arch": "fcn", "filters": 64, "kernel_sizes": [8, 5, 3]},
            "training": {"epochs": 30, "batch_size": 16, "learning_rate": 0.003}, "why": why}


def _test_sibling(path: Path) -> Optional[Path]:
    """``x_TRAIN.ts`` -> ``x_TEST.ts``, ``reviews_train.csv`` -> ``reviews_test.csv``."""
    for old, new in (("TRAIN", "TEST"), ("train", "test"), ("Train", "Test")):
        if old in path.stem:
            other = path.with_name(path.stem.replace(old, new) + path.suffix)
            if other.is_file():
                return other
    return None


def _comments(section: str) -> dict:
    """Each field's comment, from the dataclass source of seqlab.config."""
    import inspect

    from seqlab import config
    klass = {"data": config.DataConfig, "model": config.ModelConfig,
             "training": config.TrainingConfig}[section]
    out = {}
    for line in inspect.getsource(klass).splitlines():
        m = re.match(r"\s+(\w+):\s*\w+\s*=.*?#\s*(.*)$", line)
        if m:
            out[m.group(1)] = m.group(2).strip()
    return out


def _toml(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return repr(value)


def render(guess: dict, source: str) -> str:
    """The TOML text of a guess: each field with its comment."""
    lines = [f"# Written by `seqlab init {source}`: {guess['why']}.",
             "# Check the columns and the task, then: seqlab train THIS_FILE.toml",
             f'task = "{guess["task"]}"', ""]
    for section in ("data", "model", "training"):
        notes = _comments(section)
        lines.append(f"[{section}]")
        for key, value in guess[section].items():
            text = f"{key} = {_toml(value)}"
            note = notes.get(key, "")
            lines.append(f"{text:<36} # {note}" if note else text)
        lines.append("")
    return "\n".join(lines)


def write_starter(path, output: Optional[str] = None, task: Optional[str] = None,
                  encoding: str = "utf-8") -> tuple[Path, dict]:
    """Infer and write the config; never replaces a file. Returns (written path, guess)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(2, "No such file or directory", str(path))
    out = Path(output) if output else Path(f"{path.stem}.toml")
    if out.exists():
        raise SeqlabError(f"{out} exists; seqlab init never replaces a file: pass --output "
                          f"another name.")
    guess = infer(path, task, encoding)
    sibling = _test_sibling(path)
    if sibling is not None and guess["task"] != "generate":
        data = guess["data"]
        data["test_path"] = str(sibling)
        data.pop("test_fraction", None)
        guess["why"] += f"; tested on {sibling.name}"
    text = render(guess, str(path))
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out, "x", encoding="utf-8") as f:  # "x": fails rather than replace
        f.write(text)
    return out, guess
