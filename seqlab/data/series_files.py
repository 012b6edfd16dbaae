"""Labelled numeric series from your own files, for series classification.

Three layouts, all returning ``(cases, labels)``: ``cases`` a list of (T_i, D) float32
arrays (T steps, D channels: D = 1 univariate, D > 1 multivariate), ``labels`` the class
label of each case as text.

* **wide** (CSV/TSV/JSON lines): a row is a series; the label column names its class and
  every other numeric column (or ``value_columns``) is one step, in column order::

      label,t0,t1,t2,t3
      up,0.1,0.4,0.9,1.3

* **long**: a row is one step of one series; ``id_column`` names the series,
  ``time_column`` orders its steps (file order when empty) and each value column is a
  channel (several -> multivariate). The label must be the same on every row of a series::

      id,time,x,y,label
      a,0,0.1,1.0,up
      a,1,0.4,0.8,up

* **.ts** (the UCR/UEA archive's format, sktime/aeon) and **.arff** (univariate: a numeric
  attribute per step, the class last; read by scipy): the layout is in the file.

``infer_format`` tells which layout a file has, for ``[data] format = "auto"``.

    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "w.csv"
    >>> _ = p.write_text("label,t0,t1,t2\\nup,0,1,2\\ndown,2,1,0\\n")
    >>> cases, labels = load_labelled_series(p, "label", "wide")
    >>> cases[0].shape, labels
    ((3, 1), ['up', 'down'])

Shapes: T steps, D channels.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Optional, Sequence

import numpy as np

from seqlab.data.files import DataFileError, _header, _numeric_or_missing, read_columns

__all__ = ["load_labelled_series", "infer_format", "SERIES_FORMATS"]

SERIES_FORMATS = ("wide", "long")
_ARCHIVE = (".ts", ".arff")


def infer_format(path, label: str, id_column: str = "", encoding: str = "utf-8") -> str:
    """"ts"/"arff" by extension, "long" when an id column is named, "wide" when every column
    but the label is numeric (at least 3 of them), else "text"."""
    suffix = Path(path).suffix.lower()
    if suffix in _ARCHIVE:
        return suffix[1:]
    if id_column:
        return "long"
    header = _header(Path(path), None, encoding)
    others = [h for h in header if h != label]
    if label not in header or len(others) < 3:
        return "text"
    values, _ = read_columns(path, others, encoding=encoding)
    rows = range(min(20, len(values[others[0]])))
    numeric = all(_numeric_or_missing(values[c][i]) for c in others for i in rows)
    return "wide" if numeric else "text"


def load_labelled_series(path, label: str, fmt: str, id_column: str = "",
                         time_column: str = "", value_columns: Sequence[str] = (),
                         encoding: str = "utf-8") -> tuple[list[np.ndarray], list[str]]:
    """Read ``path`` in layout ``fmt`` ("wide", "long", "ts" or "arff"): (cases, labels)."""
    path = Path(path)
    if fmt == "ts" or (fmt in ("auto", *SERIES_FORMATS) and path.suffix.lower() == ".ts"):
        return _read_ts(path)
    if fmt == "arff" or path.suffix.lower() == ".arff":
        return _read_arff(path)
    if fmt == "wide":
        return _wide(path, label, value_columns, encoding)
    if fmt == "long":
        return _long(path, label, id_column, time_column, value_columns, encoding)
    raise ValueError(f"[data] format = {fmt!r} is not a series layout; expected \"wide\", "
                     f"\"long\", or a .ts / .arff file.")


def _numbers(path: Path, values: dict, lines: list, columns: Sequence[str]) -> np.ndarray:
    """The columns as a (rows, len(columns)) float array; a non-number names its line."""
    out = np.empty((len(lines), len(columns)), dtype=np.float32)
    for j, c in enumerate(columns):
        for i, (v, n) in enumerate(zip(values[c], lines)):
            v = v.strip()
            try:
                out[i, j] = math.nan if v in ("", "?", "NA", "nan", "NaN") else float(v)
            except ValueError:
                raise DataFileError(path, n, f"column {c!r} is not a number: {v!r:.40}. List "
                                    f"the numeric columns in [data] value_columns.") from None
    return out


def _value_columns(path: Path, header: list, skip: Sequence[str], chosen: Sequence[str],
                   encoding: str) -> list[str]:
    if chosen:
        return list(chosen)
    rest = [h for h in header if h not in skip]
    if not rest:
        raise DataFileError(path, None, f"no value column besides {', '.join(skip)}; a series "
                            f"needs numeric columns.")
    values, _ = read_columns(path, rest, encoding=encoding)
    numeric = [c for c in rest if _numeric_or_missing(values[c][0])]
    if not numeric:
        raise DataFileError(path, None, f"no numeric column among {', '.join(rest)}; name the "
                            f"series' columns in [data] value_columns.")
    return numeric


def _wide(path: Path, label: str, chosen: Sequence[str], encoding: str):
    header = _header(path, None, encoding)
    steps = _value_columns(path, header, [label], chosen, encoding)
    values, lines = read_columns(path, [label, *steps], encoding=encoding,
                                 fields={label: "label_column"})
    table = _numbers(path, values, lines, steps)                           # (N, T)
    cases = [row[~np.isnan(row)].reshape(-1, 1) for row in table]          # N x (T_i, 1)
    for case, n in zip(cases, lines):
        if len(case) == 0:
            raise DataFileError(path, n, "a row with no values; every series needs steps.")
    return cases, [v.strip() for v in values[label]]


def _long(path: Path, label: str, id_column: str, time_column: str, chosen: Sequence[str],
          encoding: str):
    if not id_column:
        raise ValueError(f"{path}: the long format needs [data] id_column, the column naming "
                         f"the series each row belongs to.")
    header = _header(path, None, encoding)
    keys = [id_column, label] + ([time_column] if time_column else [])
    channels = _value_columns(path, header, keys, chosen, encoding)
    values, lines = read_columns(path, [*keys, *channels], encoding=encoding,
                                 fields={id_column: "id_column", label: "label_column",
                                         time_column: "time_column"})
    table = _numbers(path, values, lines, channels)                        # (rows, D)
    order: dict[str, list[int]] = {}
    for i, sid in enumerate(values[id_column]):
        order.setdefault(sid.strip(), []).append(i)
    cases, labels = [], []
    for sid, rows in order.items():
        found = {values[label][i].strip() for i in rows}
        if len(found) != 1:
            raise DataFileError(path, lines[rows[0]], f"series {sid!r} has several labels "
                                f"({', '.join(sorted(found))}); a series has one class.")
        if time_column:
            rows = sorted(rows, key=lambda i: _time_key(values[time_column][i]))
        cases.append(table[rows])                                          # (T_i, D)
        labels.append(found.pop())
    return cases, labels


def _time_key(v: str):
    v = v.strip()
    try:
        return (0, float(v), "")
    except ValueError:
        return (1, 0.0, v)  # ISO dates and times sort as text


def _read_ts(path: Path):
    from seqlab.data.datasets.ucr import read_ts
    if not path.exists():
        raise DataFileError(path, None, "no such file; check the path.")
    try:
        cases, labels, _ = read_ts(path)
    except ValueError as err:
        raise DataFileError(path, None, str(err).split(": ", 1)[-1]) from None
    return [c.astype(np.float32) for c in cases], labels


def _read_arff(path: Path):
    if not path.exists():
        raise DataFileError(path, None, "no such file; check the path.")
    try:
        from scipy.io import arff
    except ImportError:
        raise DataFileError(path, None, "reading .arff needs scipy: pip install scipy.") \
            from None
    try:
        table, meta = arff.loadarff(str(path))
    except (ValueError, NotImplementedError) as err:
        raise DataFileError(path, None, f"cannot read this .arff ({err}); multivariate "
                            f"(relational) .arff files: use the .ts version.") from None
    names = meta.names()
    nominal = [n for n in names if meta[n][0] == "nominal"]
    if not nominal:
        raise DataFileError(path, None, "no nominal attribute for the class.")
    cls = nominal[-1]
    steps = [n for n in names if n != cls and meta[n][0] == "numeric"]
    x = np.stack([table[n].astype(np.float32) for n in steps], axis=1)    # (N, T)
    labels = [v.decode() if isinstance(v, bytes) else str(v) for v in table[cls]]
    return [row[~np.isnan(row)].reshape(-1, 1) for row in x], labels
