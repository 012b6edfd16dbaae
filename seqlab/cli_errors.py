"""How the `seqlab` command reports a failure: a user's mistake is one sentence (exit 2),
a bug in seqlab one line naming the log file with its traceback (exit 70), Ctrl-C exit 130.
"""
from __future__ import annotations

import errno
import os
import sys
import tomllib
from pathlib import Path
from typing import Optional

from seqlab.errors import SeqlabError, one_line

EXIT_OK, EXIT_USER, EXIT_BUG, EXIT_INTERRUPTED = 0, 2, 70, 130
_USER_ERRNOS = {errno.ENOENT: "check the path",
                errno.EISDIR: "it is a folder; give a file",
                errno.ENOTDIR: "a part of the path is a file, not a folder",
                errno.EACCES: "you lack the permission; choose another place or fix its permissions",
                errno.EPERM: "the operation is not permitted there; choose another place",
                errno.EROFS: "the file system is read-only; set runs_dir to a writable folder",
                errno.ENOSPC: "the disk is full; free some space or set runs_dir on another disk",
                errno.EDQUOT: "the disk quota is exceeded; free some space or set runs_dir elsewhere",
                errno.ENAMETOOLONG: "a file name is too long; choose a shorter name or runs_dir",
                errno.ELOOP: "too many symbolic links; give the real path",
                errno.EEXIST: "it exists already; choose another name",
                errno.ENOTEMPTY: "the folder is not empty; choose another one",
                errno.EMFILE: "too many open files; raise the limit (ulimit -n)",
                errno.EFBIG: "the file is too large for this file system",
                errno.EIO: "the device reported an input/output error; check the disk"}


def _is_user_error(err: BaseException) -> bool:
    """A mistake the user can fix (exit 2), as opposed to a bug in seqlab (exit 70)."""
    if isinstance(err, (SeqlabError, tomllib.TOMLDecodeError, ValueError)):
        return True  # seqlab raises ValueError (e.g. DataFileError) with a sentence
    if isinstance(err, OSError) and err.errno in _USER_ERRNOS:
        return True
    return False


def _user_message(err: BaseException) -> str:
    if isinstance(err, OSError) and err.errno in _USER_ERRNOS and not isinstance(err, SeqlabError):
        where = err.filename if err.filename is not None else "seqlab"
        reason = (err.strerror or os.strerror(err.errno)).rstrip(".")
        reason = reason[:1].lower() + reason[1:]
        return f"{where}: {reason}; {_USER_ERRNOS[err.errno]}."
    return one_line(err)


def _crash_folder(args, err: BaseException) -> Optional[Path]:
    """The run folder the command worked on, where its crash log belongs (None: none)."""
    tb = err.__traceback__
    while tb is not None:  # the innermost `run` a frame held (seqlab.runs.Run)
        run = tb.tb_frame.f_locals.get("run")
        if run is not None and type(run).__name__ == "Run" and hasattr(run, "path"):
            folder = Path(run.path)
        else:
            folder = None
        tb = tb.tb_next
        if folder is not None and folder.is_dir():
            candidate = folder
            break
    else:
        candidate = None
    for given in (getattr(args, "run", None), getattr(args, "resume", None)):
        if candidate is None and given and Path(given, "config.toml").is_file():
            candidate = Path(given)
    return candidate


def report_bug(err: BaseException, args=None) -> str:
    """Write ``err``'s traceback to a log file (the run folder's crash-*.log when there is
    one, else a temporary seqlab-crash-*.log) and return the one line the CLI prints."""
    import tempfile
    import time
    import traceback
    text = "".join(traceback.format_exception(type(err), err, err.__traceback__))
    text = f"seqlab {sys.argv[1:]!r}\n{text}"
    path = None
    folder = _crash_folder(args, err) if args is not None else None
    if folder is not None:
        candidate = folder / f"crash-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}.log"
        try:
            candidate.write_text(text, encoding="utf-8")
            path = candidate
        except OSError:
            path = None
    if path is None:
        try:
            fd, name = tempfile.mkstemp(prefix="seqlab-crash-", suffix=".log")
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(text)
            path = Path(name)
        except OSError:
            path = None
    where = f"traceback written to {path}" if path else "the traceback could not be written"
    return (f"seqlab: internal error (a bug in seqlab, please report it): "
            f"{type(err).__name__}: {one_line(err)}; {where}")
