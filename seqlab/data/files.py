"""Your own data: CSV, TSV, JSON lines and plain text files with named columns.

* ``load_text_labels(path, text="text", label="label")``: texts and class labels;
* ``load_series(path, columns=None, target=None)``: a numeric (multivariate) series;
* ``load_pairs(path, source="source", target="target")``: seq2seq pairs;
* ``load_text(path)``: a whole plain-text file (character or word language models);
* ``read_columns(path, columns)``: the named columns as lists of strings.

The format follows the extension: ``.csv`` (comma), ``.tsv``/``.tab`` (tab),
``.jsonl``/``.ndjson`` (one JSON object per line), ``.json`` (JSON lines, or one
array of objects), ``.txt`` (plain text; with columns,
tab-separated). Files are UTF-8 unless ``encoding=`` says otherwise (a BOM is accepted);
a bare carriage return inside a field (as pandas writes it) stays part of the field, and
only ``\n`` / ``\r\n`` end a row. Every problem raises a
``DataFileError`` (a ``ValueError``) whose message is one line naming the file, the line
and the problem, e.g. ``reviews.csv, line 7: 3 fields, but the header has 2 (text,
label); quote fields that contain commas``.

    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "r.csv"
    >>> _ = p.write_text('text,label\\n"good, fun",pos\\nbad,neg\\n')
    >>> load_text_labels(p)
    (['good, fun', 'bad'], array([1, 0]), ['neg', 'pos'])
"""
from __future__ import annotations

import csv
import io
import json
import difflib
import math
import os
import re
import stat
from pathlib import Path
from typing import Optional, Sequence, Union

import numpy as np

__all__ = ["DataFileError", "read_columns", "load_text_labels", "load_series", "load_pairs",
           "load_text"]

PathLike = Union[str, Path]
_DELIMITERS = {".csv": ",", ".tsv": "\t", ".tab": "\t", ".txt": "\t"}
_JSONL = {".jsonl", ".ndjson", ".json"}
_MISSING = {"", "nan", "NaN", "NAN", "NA", "N/A", "null", "None"}
# A CSV field may hold a long sequence: Python's default limit (128 KiB) becomes 64 MiB, a
# bound that still keeps one malformed field (an unclosed quote) from taking all memory.
CSV_FIELD_LIMIT = 64 * 2 ** 20
csv.field_size_limit(max(csv.field_size_limit(), CSV_FIELD_LIMIT))


def check_regular_file(path: PathLike, what: str = "the file") -> Path:
    """``path`` as a Path when it is an existing regular file (or a link to one); else a
    ``DataFileError`` saying what it is: missing, a folder, or a device, FIFO or socket,
    which seqlab refuses (it could block forever or never end).

    >>> check_regular_file("/dev/null", what="[data] path")
    Traceback (most recent call last):
    ...
    seqlab.data.files.DataFileError: /dev/null: [data] path is a character device, not a regular file; give the path of a data file.
    """
    path = Path(path)
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        raise DataFileError(path, None, f"{what}: no such file; check the path.") from None
    except NotADirectoryError:
        raise DataFileError(path, None, f"{what}: a part of the path is a file, not a "
                            f"folder; check the path.") from None
    except PermissionError:
        raise DataFileError(path, None, f"{what}: permission denied; make it readable "
                            f"(chmod u+r) or copy it elsewhere.") from None
    except OSError as err:
        raise DataFileError(path, None, f"{what}: cannot be read ({err.strerror}); check "
                            f"the path.") from None
    if stat.S_ISDIR(mode):
        raise DataFileError(path, None, f"{what} is a folder, expected a file; give the "
                            f"path of the file inside it.")
    if not stat.S_ISREG(mode):
        kind = ("a character device" if stat.S_ISCHR(mode) else "a block device"
                if stat.S_ISBLK(mode) else "a FIFO (named pipe)" if stat.S_ISFIFO(mode)
                else "a socket" if stat.S_ISSOCK(mode) else "a special file")
        raise DataFileError(path, None, f"{what} is {kind}, not a regular file; give the "
                            f"path of a data file.")
    return path


class DataFileError(ValueError):
    """A problem in a user's data file; the message names the file and the line."""

    def __init__(self, path: PathLike, line: Optional[int], problem: str):
        where = f"{path}, line {line}" if line is not None else f"{path}"
        super().__init__(f"{where}: {problem}")
        self.path, self.line, self.problem = str(path), line, problem


_CR = "\ue000"  # stands for a bare carriage return while the csv module splits rows


def _read_utf8(path: PathLike, encoding: str = "utf-8") -> str:
    path = check_regular_file(path, what="the data file")
    try:
        raw = path.read_bytes()
    except PermissionError:
        raise DataFileError(path, None, "permission denied; make it readable (chmod u+r) "
                            "or copy it elsewhere.") from None
    except IsADirectoryError:
        raise DataFileError(path, None, "is a folder, expected a file.") from None
    codec = "utf-8-sig" if encoding.lower().replace("_", "-") in ("utf-8", "utf8") else encoding
    try:
        text = raw.decode(codec)
    except LookupError:
        raise DataFileError(path, None, f"unknown encoding {encoding!r}; set [data] encoding "
                            f"to a Python codec name such as \"utf-8\" or \"latin-1\".") from None
    except UnicodeDecodeError as e:
        name = "UTF-8" if codec == "utf-8-sig" else encoding
        line = raw[:e.start].count(b"\n") + 1
        col = e.start - (raw.rfind(b"\n", 0, e.start) + 1) + 1
        raise DataFileError(
            path, line, f"byte 0x{raw[e.start]:02x} at column {col} is not {name}; set "
            f"[data] encoding = \"latin-1\" (or the file's encoding), or re-save the file "
            f"as UTF-8 (e.g. iconv -f latin1 -t utf-8).") from None
    if not text.strip():
        raise DataFileError(path, None, "the file is empty; expected a header line and rows.")
    return text


def _rows_delimited(path: Path, text: str, delimiter: str):
    """Yield (line number, header or row fields); a bare ``\r`` does not end a row."""
    text = re.sub("\r(?!\n)", _CR, text)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    start = 1
    for fields in reader:
        yield start, [f.replace(_CR, "\r") for f in fields]
        start = reader.line_num + 1


def read_columns(path: PathLike, columns: Sequence[str], delimiter: Optional[str] = None,
                 encoding: str = "utf-8", fields: Optional[dict] = None
                 ) -> tuple[dict[str, list[str]], list[int]]:
    """Read the named ``columns`` of a CSV/TSV/JSON-lines file.

    Returns ``(values, lines)``: ``values[name]`` is the column as a list of strings
    (JSON numbers become their text), ``lines`` the file line of each row. ``fields`` maps
    a column to the ``[data]`` field that names it, for the hint of a missing column.
    """
    path = Path(path)
    text = _read_utf8(path, encoding)
    if path.suffix.lower() in _JSONL:
        return _read_jsonl(path, text, columns, fields or {})
    delimiter = delimiter or _DELIMITERS.get(path.suffix.lower(), ",")
    rows = _rows_delimited(path, text, delimiter)
    header_line, header = next((r for r in rows if any(f.strip() for f in r[1])),
                               (None, None))
    if header is None:
        raise DataFileError(path, None, "no header line: every line is blank or empty "
                            "fields.")
    header = [h.strip() for h in header]
    names = ", ".join(header)
    for col in columns:
        if col not in header:
            raise DataFileError(path, header_line, f"no column {col!r}; the header has: "
                                f"{names}. {_column_hint(col, header, columns, fields)}")
    where = [header.index(c) for c in columns]
    values: dict[str, list[str]] = {c: [] for c in columns}
    lines = []
    sep = "tab" if delimiter == "\t" else repr(delimiter)
    for line, fields in rows:
        if not fields or (len(fields) == 1 and not fields[0].strip()):
            continue  # blank line
        if len(fields) != len(header):
            raise DataFileError(
                path, line, f"{len(fields)} fields, but the header has {len(header)} "
                f"({names}); quote fields that contain the delimiter ({sep}).")
        for c, i in zip(columns, where):
            values[c].append(fields[i])
        lines.append(line)
    if not lines:
        raise DataFileError(path, header_line, "a header but no data rows.")
    return values, lines


def _json_records(path: Path, text: str):
    """Yield (line, decoded value): one per line (JSON lines), or the items of one
    top-level JSON array (a ``.json`` file starting with ``[``)."""
    if not text.lstrip().startswith("["):
        for n, raw in enumerate(text.splitlines(), start=1):
            if not raw.strip():
                continue
            try:
                yield n, json.loads(raw)
            except json.JSONDecodeError as e:
                raise DataFileError(path, n, f"invalid JSON ({e.msg} at column {e.colno}); "
                                    f"each line must be one JSON object.") from None
        return
    decoder = json.JSONDecoder()
    pos = text.index("[") + 1
    while True:
        while pos < len(text) and text[pos] in " \t\r\n,":
            pos += 1
        if pos < len(text) and text[pos] == "]":
            return
        line = text.count("\n", 0, pos) + 1
        try:
            obj, pos = decoder.raw_decode(text, pos)
        except json.JSONDecodeError as e:
            raise DataFileError(path, e.lineno, f"invalid JSON ({e.msg} at column "
                                f"{e.colno}).") from None
        yield line, obj


def _column_hint(col: str, header: list, columns: Sequence[str], fields: Optional[dict]) -> str:
    """``set [data] text_column = "Review"``: the field to set, with the closest column."""
    free = [h for h in header if h not in columns] or header
    close = difflib.get_close_matches(col, free, n=1, cutoff=0.0) if free else []
    field = (fields or {}).get(col)
    if field and close:
        return f"Set [data] {field} = \"{close[0]}\" in the config, or rename the column."
    if field:
        return f"Set [data] {field} to one of the columns, or rename the column."
    return "Rename the column or pick one of these."


def _read_jsonl(path: Path, text: str, columns: Sequence[str], fields: dict):
    values: dict[str, list[str]] = {c: [] for c in columns}
    lines = []
    for n, obj in _json_records(path, text):
        if not isinstance(obj, dict):
            raise DataFileError(path, n, f"expected a JSON object, got {type(obj).__name__}.")
        for c in columns:
            if c not in obj:
                raise DataFileError(path, n, f"no key {c!r}; the object has: "
                                    f"{', '.join(obj)}. {_column_hint(c, list(obj), columns, fields)}")
            v = obj[c]
            values[c].append("" if v is None else v if isinstance(v, str) else json.dumps(v))
        lines.append(n)
    if not lines:
        raise DataFileError(path, None, "no JSON records.")
    return values, lines


def _require(path, values, lines, column: str, what: str) -> None:
    for v, n in zip(values[column], lines):
        if not v.strip():
            raise DataFileError(path, n, f"column {column!r} is empty; every row needs {what}.")


def _encode_labels(labels: list[str]) -> tuple[np.ndarray, list]:
    try:
        nums = [int(x) for x in labels]
        classes = sorted(set(nums))
    except ValueError:
        nums, classes = labels, sorted(set(labels))
    lookup = {c: i for i, c in enumerate(classes)}
    if all(isinstance(c, int) for c in classes) and classes == list(range(len(classes))):
        return np.asarray(nums, dtype=np.int64), classes
    return np.asarray([lookup[x] for x in nums], dtype=np.int64), classes


def load_text_labels(path: PathLike, text: str = "text", label: str = "label",
                     delimiter: Optional[str] = None, encoding: str = "utf-8"
                     ) -> tuple[list[str], np.ndarray, list]:
    """Texts and labels: returns ``(texts, y, classes)`` with ``y[i]`` an index into
    ``classes`` (the sorted distinct labels; integer labels 0..C-1 are kept as they are).
    """
    values, lines = read_columns(path, [text, label], delimiter, encoding,
                                 {text: "text_column", label: "label_column"})
    _require(path, values, lines, text, "a text")
    _require(path, values, lines, label, "a label")
    y, classes = _encode_labels([v.strip() for v in values[label]])
    return values[text], y, classes


def load_pairs(path: PathLike, source: str = "source", target: str = "target",
               delimiter: Optional[str] = None, encoding: str = "utf-8"
               ) -> tuple[list[str], list[str]]:
    """Source/target pairs for seq2seq: returns ``(sources, targets)``."""
    values, lines = read_columns(path, [source, target], delimiter, encoding,
                                 {source: "text_column", target: "label_column"})
    _require(path, values, lines, source, "a source sequence")
    _require(path, values, lines, target, "a target sequence")
    return values[source], values[target]


def load_series(path: PathLike, columns: Optional[Sequence[str]] = None,
                target: Optional[Union[str, Sequence[str]]] = None,
                delimiter: Optional[str] = None, allow_nan: bool = False,
                encoding: str = "utf-8") -> tuple[np.ndarray, list[str], list[int]]:
    """A numeric series, one row per time step.

    Args:
        columns: the columns to read. Default: every column whose first value is a
            number (or empty), so a leading date or text column is left out.
        target: column(s) that must be present (included in ``columns``).
        allow_nan: keep empty/NaN cells as NaN instead of raising.

    Returns ``(data, names, target_indices)``: data of shape (T, D) float64, the
    column names, and the positions of ``target`` in them (for ``make_windows``).
    """
    path = Path(path)
    targets = [target] if isinstance(target, str) else list(target or [])
    if columns is None:
        header = _header(path, delimiter, encoding)
        values, lines = read_columns(path, header + [t for t in targets if t not in header],
                                     delimiter, encoding, {t: "target_column" for t in targets})
        columns = [c for c in header if c in targets or _numeric_or_missing(values[c][0])]
        if not columns:
            raise DataFileError(path, lines[0], f"no numeric column (the columns are "
                                f"{', '.join(header)}); a series needs numbers.")
    columns = list(columns) + [t for t in targets if t not in columns]
    values, lines = read_columns(path, columns, delimiter, encoding,
                                 {t: "target_column" for t in targets})
    data = np.empty((len(lines), len(columns)), dtype=np.float64)  # (T, D)
    for j, c in enumerate(columns):
        for i, (v, n) in enumerate(zip(values[c], lines)):
            v = v.strip()
            if v in _MISSING:
                if not allow_nan:
                    raise DataFileError(path, n, f"column {c!r} is missing (got {v!r}); fill "
                                        f"the gap or pass allow_nan=True.")
                data[i, j] = math.nan
                continue
            try:
                data[i, j] = float(v)
            except ValueError:
                raise DataFileError(path, n, f"column {c!r} is not a number: {v!r:.40}. Pick "
                                    f"numeric columns with columns=[...].") from None
            if math.isnan(data[i, j]) and not allow_nan:
                raise DataFileError(path, n, f"column {c!r} is NaN; fill the gap or pass "
                                    f"allow_nan=True.")
    return data, columns, [columns.index(t) for t in targets]


def _numeric_or_missing(v: str) -> bool:
    v = v.strip()
    if v in _MISSING:
        return True
    try:
        float(v)
        return True
    except ValueError:
        return False


def _header(path: Path, delimiter: Optional[str], encoding: str = "utf-8") -> list[str]:
    text = _read_utf8(path, encoding)
    if path.suffix.lower() in _JSONL:
        line, first = next(_json_records(path, text), (None, None))
        if not isinstance(first, dict):
            raise DataFileError(path, line, "expected JSON objects with named fields.")
        return list(first)
    delimiter = delimiter or _DELIMITERS.get(path.suffix.lower(), ",")
    for _, fields in _rows_delimited(path, text, delimiter):
        if any(f.strip() for f in fields):
            return [f.strip() for f in fields]
    raise DataFileError(path, None, "the file is empty; expected a header line and rows.")


def load_text(path: PathLike, encoding: str = "utf-8") -> str:
    """The whole text of a file (for character/word language models)."""
    return _read_utf8(path, encoding)
