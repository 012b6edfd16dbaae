"""Reading Keras's cached ``.npz`` data files without running arbitrary pickles.

NumPy stores an object array (here: one list of word ids per review) as a pickle stream
after the ``.npy`` header, and ``np.load(allow_pickle=True)`` would unpickle anything,
including a tampered file's call to ``os.system``. ``load_npz`` reads numeric members with
pickling disabled and object members with ``SafeUnpickler``, which may only rebuild NumPy
arrays and dtypes (lists and ints need no globals); any other global is refused with
``UnsafeCacheFile`` before it is looked up.
"""
from __future__ import annotations

import io
import os
import pickle
import zipfile
from pathlib import Path
from typing import Optional

import numpy as np

from seqlab.errors import SeqlabError

# The only globals an object array of lists of ints needs (NumPy 1 and 2 spellings).
ALLOWED = frozenset({("numpy", "ndarray"), ("numpy", "dtype"),
                     ("numpy.core.multiarray", "_reconstruct"),
                     ("numpy._core.multiarray", "_reconstruct")})


class KerasCacheMissing(SeqlabError, FileNotFoundError):
    """Keras's cache file is not there (seqlab never downloads it)."""


class UnsafeCacheFile(SeqlabError, ValueError):
    """A cache file whose pickle asks for more than NumPy arrays."""


def cache_dir() -> Path:
    """Keras's data set cache: ``$KERAS_HOME/datasets`` or ``~/.keras/datasets``."""
    home = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    return Path(home) / "datasets"


def locate(path: str, dataset: str, instead: str) -> Path:
    """The cache file ``path`` (relative to ``cache_dir()``, or absolute), or one sentence
    saying where to put it and what to use instead."""
    full = cache_dir() / path
    if full.is_file():
        return full
    raise KerasCacheMissing(
        f"seqlab.keras.datasets.{dataset}: Keras's cache file {full} does not exist, and "
        f"seqlab never downloads. Copy {Path(path).name} from a machine where Keras has "
        f"fetched it (keras.datasets.{dataset}.load_data() saves it in ~/.keras/datasets/) "
        f"into {full.parent}, or set KERAS_HOME to the folder whose datasets/ subfolder holds "
        f"it; or use an offline data set instead: {instead}.")


class SafeUnpickler(pickle.Unpickler):
    """Rebuilds NumPy arrays only; refuses every other global."""

    def __init__(self, file, source: str):
        super().__init__(file)
        self.source = source

    def find_class(self, module: str, name: str):
        if (module, name) in ALLOWED:
            return super().find_class(module, name)
        raise UnsafeCacheFile(
            f"{self.source}: refusing to load it: its pickled data asks for {module}.{name}, "
            f"and a Keras data file only needs NumPy arrays of lists of ints. The file is "
            f"damaged or was tampered with; delete it and fetch it again with Keras.")


def _read_member(raw: bytes, source: str) -> np.ndarray:
    fp = io.BytesIO(raw)
    try:
        return np.lib.format.read_array(fp, allow_pickle=False)  # numeric: no pickle at all
    except ValueError:
        pass                                                      # an object array
    fp.seek(0)
    version = np.lib.format.read_magic(fp)
    if version == (1, 0):
        header = np.lib.format.read_array_header_1_0(fp)
    elif version in ((2, 0), (3, 0)):  # 3.0 differs from 2.0 only in the header's encoding
        header = np.lib.format.read_array_header_2_0(fp)
    else:
        raise UnsafeCacheFile(f"{source}: unknown .npy format version {version}.")
    if header[2] != np.dtype(object):
        raise UnsafeCacheFile(f"{source}: cannot read a member of dtype {header[2]}.")
    try:
        array = SafeUnpickler(fp, source).load()
    except UnsafeCacheFile:
        raise
    except Exception as err:
        raise UnsafeCacheFile(f"{source}: the pickled data is damaged ({type(err).__name__}: "
                              f"{err}); delete the file and fetch it again with Keras.") from None
    if not isinstance(array, np.ndarray):
        raise UnsafeCacheFile(f"{source}: expected a NumPy array, found "
                              f"{type(array).__name__}.")
    return array


def load_npz(path: Path, expected: Optional[set] = None) -> dict:
    """The arrays of an ``.npz`` file, read safely (see the module docstring)."""
    if not zipfile.is_zipfile(path):
        raise UnsafeCacheFile(f"{path}: not an .npz (zip) file; delete it and fetch it again "
                              f"with Keras.")
    arrays = {}
    with zipfile.ZipFile(path) as archive:
        for member in archive.namelist():
            if member.endswith(".npy"):
                arrays[member[:-4]] = _read_member(archive.read(member), f"{path}:{member}")
    if expected and not expected <= set(arrays):
        raise UnsafeCacheFile(f"{path}: expected the arrays {sorted(expected)}, found "
                              f"{sorted(arrays)}; is this the right file?")
    return arrays
