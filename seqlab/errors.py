"""User errors: mistakes a user can fix (a missing file, an unknown dataset, a bad config).

The command line catches :class:`SeqlabError` (and ``FileNotFoundError``, ``ValueError``,
TOML syntax errors) at the top and prints one sentence on stderr instead of a traceback.
Raise it with a message that names the thing, the value got, what was expected and the fix.

    >>> try:
    ...     raise SeqlabError("config.toml: [training] epochs must be >= 1, got 0.")
    ... except SeqlabError as err:
    ...     print(err)
    config.toml: [training] epochs must be >= 1, got 0.
"""
from __future__ import annotations


class SeqlabError(Exception):
    """A mistake in the user's input; the CLI prints its message and exits with code 2."""


class ConfigError(SeqlabError, ValueError):
    """A configuration file that does not parse or names unknown fields."""


class RunError(SeqlabError):
    """A run folder that is missing, incomplete or incompatible with this seqlab."""


def one_line(err: BaseException) -> str:
    """The error's message on one line (what the CLI prints)."""
    text = str(err) if str(err) else type(err).__name__
    if isinstance(err, FileNotFoundError) and err.filename and err.strerror:
        text = f"{err.filename}: {err.strerror.lower()}"
    if isinstance(err, KeyError) and err.args:
        text = str(err.args[0])
    return " ".join(text.split())


class ExportError(SeqlabError):
    """A model (or a layer of it) that an exporter cannot express; the message says why
    and what to change."""
