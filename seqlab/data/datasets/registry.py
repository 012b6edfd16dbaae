"""The dataset registry: names -> loaders with a description, size, task, license, source.

Everything loads offline: generated data come from seqlab itself (seeded); real data are
read from the data files that pip-installed packages ship in their wheels, located with
``importlib.metadata`` so that the package itself need not be importable.

    >>> from seqlab import datasets
    >>> data = datasets.load("addition", digits=2, count=3, seed=1)
    >>> len(data.x), data.task
    (3, 'seq2seq')
"""
from __future__ import annotations

import difflib
import inspect
import re
import shutil
import textwrap
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any, Callable, Optional

__all__ = ["Bunch", "Entry", "MissingPackageError", "register", "list_datasets", "info",
           "load", "format_table", "package_file"]


class Bunch(dict):
    """A dict whose keys are also attributes (``data.x_train``), as scikit-learn's."""

    def __getattr__(self, key: str) -> Any:
        try:
            return self[key]
        except KeyError:
            raise AttributeError(
                f"dataset has no field {key!r}; it has: {', '.join(self)}.") from None

    def __setattr__(self, key: str, value: Any) -> None:
        self[key] = value

    def __dir__(self):
        return list(self.keys())


class MissingPackageError(ImportError):
    """A packaged dataset's package is not installed; the message gives the pip command."""


@dataclass
class Entry:
    name: str
    loader: Callable[..., Bunch]
    description: str  # one or two sentences: what it is, what it is for
    size: str  # e.g. "12,808 reviews" or "generated (default 10,000)"
    task: str  # classification, forecasting, seq2seq, tagging, language-model, ...
    license: str
    source: str  # where the data come from (package, file, original authors)
    package: Optional[str] = None  # distribution name whose files are read
    pip: Optional[str] = None  # the exact command that installs it
    options: dict = field(default_factory=dict)  # option -> default, from the loader
    program: Optional[str] = None  # a system program the loader runs (e.g. "espeak-ng")
    setup: Optional[str] = None  # the command that installs that program

    @property
    def available(self) -> bool:
        if self.program is not None and shutil.which(self.program) is None:
            return False
        if self.package is None:
            return True
        try:
            metadata.distribution(self.package)
            return True
        except metadata.PackageNotFoundError:
            return False


_REGISTRY: dict[str, Entry] = {}


def register(name: str, *, description: str, size: str, task: str, license: str,
             source: str, package: Optional[str] = None, pip: Optional[str] = None,
             program: Optional[str] = None, setup: Optional[str] = None):
    """Decorator: register ``loader(**options) -> Bunch`` under ``name`` (``program``: a
    system program it runs, installed by the command ``setup``)."""
    def wrap(loader: Callable[..., Bunch]) -> Callable[..., Bunch]:
        params = inspect.signature(loader).parameters
        options = {k: p.default for k, p in params.items()
                   if p.kind == p.KEYWORD_ONLY or p.default is not p.empty}
        _REGISTRY[name] = Entry(name, loader, description, size, task, license, source,
                                package, pip, options, program, setup)
        return loader
    return wrap


def _key(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", str(name).lower())


def _entry(name: str) -> Entry:
    """Names match ignoring case, "_" and "-": "GunPoint" finds "gunpoint"."""
    keys = {_key(n): n for n in _REGISTRY}
    if _key(name) in keys:
        return _REGISTRY[keys[_key(name)]]
    if name not in _REGISTRY:
        close = difflib.get_close_matches(str(name), _REGISTRY, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise ValueError(
            f"Unknown dataset {name!r}.{hint} Known datasets: {', '.join(sorted(_REGISTRY))} "
            f"(`seqlab datasets` lists them).")
    return _REGISTRY[name]


def list_datasets(task: Optional[str] = None) -> list[str]:
    """Names of the registered datasets (optionally only those of one ``task``)."""
    return sorted(n for n, e in _REGISTRY.items() if task is None or e.task == task)


def info(name: str) -> Entry:
    """The registry entry of ``name`` (description, size, task, license, source...)."""
    return _entry(name)


def load(name: str, **options: Any) -> Bunch:
    """Load dataset ``name``; ``options`` are the loader's keyword arguments.

    Returns a ``Bunch`` (a dict with attribute access) whose fields depend on the task
    (see ``info(name).description``); every one has ``name``, ``task`` and
    ``description``.
    """
    entry = _entry(name)
    unknown = sorted(set(options) - set(entry.options))
    if unknown:
        allowed = ", ".join(f"{k}={v!r}" for k, v in entry.options.items()) or "none"
        raise TypeError(
            f"load({name!r}): unknown option(s) {', '.join(unknown)}. Options of {name!r}: "
            f"{allowed}.")
    data = entry.loader(**options)
    data.setdefault("name", name)
    data.setdefault("task", entry.task)
    data.setdefault("description", entry.description)
    return data


def package_file(dataset: str, package: str, pip: str, *relative: str) -> Path:
    """Path of a data file shipped by the installed distribution ``package``.

    Tries each ``relative`` path (inside site-packages) in turn; raises
    ``MissingPackageError`` naming the pip command when the package is absent.
    """
    try:
        dist = metadata.distribution(package)
    except metadata.PackageNotFoundError:
        raise MissingPackageError(
            f"Dataset {dataset!r} reads its data from the package {package!r}, which is not "
            f"installed. Install it with: {pip}") from None
    for rel in relative:
        path = Path(dist.locate_file(rel))
        if path.exists():
            return path
    raise MissingPackageError(
        f"Dataset {dataset!r}: {package} {dist.version} is installed but has no "
        f"{relative[0]} (looked in {dist.locate_file('')}). Reinstall the expected "
        f"version: {pip}")


def format_table(details: bool = True, width: int = 100) -> str:
    """The table that ``seqlab datasets`` prints: one row per dataset (name, task, size,
    license, whether it loads here or the pip command that makes it load), then, with
    ``details``, its description, source and load options, indented and wrapped."""
    head = ("name", "task", "size", "license", "ready")
    rows = []
    for name in list_datasets():
        e = _REGISTRY[name]
        ready = "yes" if e.available else (e.pip or e.setup or "not installed")
        rows.append((name, e.task, e.size, e.license, ready))
    widths = [max(len(r[i]) for r in rows + [head]) for i in range(len(head))]

    def line(r):
        return "  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip()

    def wrap(text):
        return textwrap.fill(text, width, initial_indent="    ", subsequent_indent="    ")

    out = [line(head), line(tuple("-" * w for w in widths))]
    for r in rows:
        out.append(line(r))
        if details:
            e = _REGISTRY[r[0]]
            out.append(wrap(e.description))
            out.append(wrap("source: " + e.source))
            if e.options:
                out.append(wrap("options: " + ", ".join(f"{k}={v!r}"
                                                        for k, v in e.options.items())))
    out.append(f"{len(rows)} datasets. seqlab.datasets.info(name) for details, "
               f"seqlab.datasets.load(name, **options) to load one.")
    return "\n".join(out)
