"""One writer per run folder: ``runs/NAME/.lock``, held with ``fcntl.flock``.

``seqlab train`` (and ``--resume``) holds the lock of its run folder from start to end;
a second process on the same folder stops at once with a RunError naming the first one
(its pid, host and start time are written into the lock file). The operating system
drops a ``flock`` when its process ends, however it ends (an exception, Ctrl-C, kill -9),
so a lock is never stale: the file may stay, the lock does not.

    >>> import tempfile
    >>> folder = tempfile.mkdtemp()
    >>> with hold(folder):
    ...     holder(folder)["pid"] == os.getpid()
    True
    >>> holder(folder) is None          # released
    True

Where ``fcntl`` does not exist (Windows) the lock is not taken.
"""
from __future__ import annotations

import contextlib
import datetime
import json
import os
import socket
from pathlib import Path
from typing import Optional

from seqlab.errors import RunError

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None

LOCK = ".lock"


class RunLocked(RunError):
    """The run folder is in use by another process."""


def _describe(info: Optional[dict]) -> str:
    if not info:
        return "another process"
    return (f"process {info.get('pid', '?')} on {info.get('host', '?')}, "
            f"started {info.get('started', '?')}")


def _read(fd: int) -> Optional[dict]:
    try:
        text = os.pread(fd, 4096, 0).decode("utf-8", errors="replace")
        info = json.loads(text)
    except (OSError, ValueError):
        return None
    return info if isinstance(info, dict) else None


def holder(folder: str | os.PathLike) -> Optional[dict]:
    """The pid/host/started of the process holding ``folder``'s lock; None when free."""
    path = Path(folder) / LOCK
    if fcntl is None or not path.is_file():
        return None
    fd = os.open(path, os.O_RDONLY)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return _read(fd) or {}
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)


def check_free(folder: str | os.PathLike, doing: str) -> None:
    """RunLocked when another process holds ``folder``'s lock (``doing``: what the
    caller was about to do, for the message)."""
    info = holder(folder)
    if info is not None:
        raise RunLocked(f"{folder} is in use by {_describe(info)}, which is training it; "
                        f"seqlab does not {doing} a run folder another process writes: "
                        f"wait for that process to end (or stop it), then try again.")


@contextlib.contextmanager
def hold(folder: str | os.PathLike):
    """Hold ``folder``'s lock for the ``with`` block; RunLocked at once if it is taken."""
    if fcntl is None:  # pragma: no cover
        yield
        return
    path = Path(folder) / LOCK
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise RunLocked(
                f"{folder} is in use by {_describe(_read(fd))}, which is training it; "
                f"one run folder has one writer: wait for that process to end (or stop "
                f"it), or train into another folder.") from None
        info = {"pid": os.getpid(), "host": socket.gethostname(),
                "started": datetime.datetime.now(datetime.timezone.utc).isoformat(
                    timespec="seconds")}
        os.ftruncate(fd, 0)
        os.pwrite(fd, (json.dumps(info) + "\n").encode("utf-8"), 0)
        try:
            yield
        finally:
            with contextlib.suppress(OSError):
                os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
