"""Small C kernels, compiled on first use by the machine's C compiler, loaded with ctypes.

A kernel is a ``.c`` file beside the Python module that calls it; it works on the memory
of torch tensors (``tensor.data_ptr()``) and owns none. ``load(source)`` compiles it once
per machine into seqlab's cache (``$SEQLAB_CACHE_DIR``, else ``$XDG_CACHE_HOME/seqlab``,
else ``~/.cache/seqlab``) under a name that hashes the source, the compiler, its flags and
the CPU, so a changed kernel or another machine's cache is never reused. A kernel may
``#include "vector16.h"`` (this folder's shared vector functions): this folder's headers
are part of that hash. The library is written under a temporary name and renamed: another
process sees it whole or not at all. ``signatures`` gives the functions' argument and
return types, set once when the library is loaded.

Nothing needs a kernel: ``load`` returns None when there is no C compiler, the build
fails or ``SEQLAB_NATIVE=0``, and the caller runs its torch path (same equations, tested
equal). The reason is kept in ``why_not(source)``.
"""
from __future__ import annotations

import ctypes
import hashlib
import os
import platform
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Optional

# Tried in order: the host's own instruction set (AVX-512 etc.) first; -O3 vectorises the
# kernels' loops; without math errno and FP traps the exp and divide loops vectorise too.
# -std=c99 alone would forbid fused multiply-adds (ISO C's -ffp-contract=off): a * b + c
# in one instruction, rounded once, is what the products and polynomials want (LSTM(64)
# one-row steps 1.33 -> 1.10 us measured).
_FLAG_SETS = (
    ["-O3", "-march=native", "-mprefer-vector-width=512"],
    ["-O3", "-march=native"],
    ["-O3", "-mcpu=native"],
    ["-O3"],
)
_COMMON = ["-fno-math-errno", "-fno-trapping-math", "-ffp-contract=fast", "-shared", "-fPIC",
           "-std=c99"]

_INCLUDE = Path(__file__).parent  # where the kernels' shared headers are (vector16.h)
_loaded: dict = {}     # source path -> CDLL or None
_why: dict = {}        # source path -> why it is None


def enabled() -> bool:
    """False when ``SEQLAB_NATIVE=0`` (every caller then runs its torch path)."""
    return os.environ.get("SEQLAB_NATIVE", "1") != "0"


def cache_dir() -> Path:
    """Where compiled kernels are kept."""
    if os.environ.get("SEQLAB_CACHE_DIR"):
        return Path(os.environ["SEQLAB_CACHE_DIR"]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "seqlab"


def compiler() -> Optional[str]:
    """The C compiler: ``$CC``, else ``cc``, ``gcc`` or ``clang`` on the PATH."""
    for name in filter(None, (os.environ.get("CC"), "cc", "gcc", "clang")):
        found = shutil.which(name)
        if found:
            return found
    return None


def _cpu_signature() -> str:
    """What the compiled code may assume of the CPU (``-march=native``)."""
    try:
        with open("/proc/cpuinfo") as f:
            flags = next((line for line in f if line.startswith(("flags", "Features"))), "")
    except OSError:
        flags = ""
    return f"{platform.machine()} {platform.processor()} {flags}"


def why_not(source: Path) -> str:
    """Why ``load(source)`` gave None ("" when it gave a library or was not called)."""
    return _why.get(str(source), "")


def load(source: Path, signatures: Optional[dict] = None) -> Optional[ctypes.CDLL]:
    """The compiled ``source`` (cached in this process and on disk), or None.
    ``signatures``: function name -> (argument types, return type), set at the first load."""
    key = str(source)
    if not enabled():
        _why[key] = "SEQLAB_NATIVE=0"
        return None
    if key not in _loaded:
        try:
            lib = _build(Path(source))
            for name, (args, result) in (signatures or {}).items():
                fn = getattr(lib, name)
                fn.argtypes, fn.restype = args, result
            _loaded[key] = lib
        except (OSError, subprocess.SubprocessError, RuntimeError) as err:
            _loaded[key], _why[key] = None, f"{type(err).__name__}: {err}"
    return _loaded[key]


def _build(source: Path) -> ctypes.CDLL:
    cc = compiler()
    if cc is None:
        raise RuntimeError("no C compiler (cc, gcc or clang) on the PATH; set CC")
    text = source.read_bytes() + b"".join(
        header.read_bytes() for header in sorted(_INCLUDE.glob("*.h")))
    out_dir = cache_dir() / "native"
    out_dir.mkdir(parents=True, exist_ok=True)
    errors = []
    for flags in _FLAG_SETS:
        args = flags + _COMMON + [f"-I{_INCLUDE}"]
        digest = hashlib.sha256(b"\0".join([text, cc.encode(), " ".join(args).encode(),
                                            _cpu_signature().encode()])).hexdigest()[:16]
        lib = out_dir / f"{source.stem}-{digest}.so"
        if not lib.exists():
            fd, tmp = tempfile.mkstemp(prefix=f".{lib.name}.", suffix=".tmp", dir=out_dir)
            os.close(fd)
            try:
                done = subprocess.run([cc, *args, str(source), "-o", tmp],
                                      capture_output=True, text=True, timeout=120)
                if done.returncode != 0:
                    errors.append(f"{' '.join(flags)}: {done.stderr.strip()[-300:]}")
                    continue
                os.replace(tmp, lib)                         # visible whole or not at all
            finally:
                if os.path.exists(tmp):
                    os.unlink(tmp)                           # (our own temporary file)
        return ctypes.CDLL(str(lib))
    raise RuntimeError(f"{cc} could not compile {source.name}: " + " | ".join(errors))
