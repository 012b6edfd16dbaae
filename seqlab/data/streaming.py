"""Text larger than memory: tokenise once into a file of token ids, read windows lazily.

``tokenise_corpus(text_file, folder)`` reads a UTF-8 text file in chunks (never whole),
maps each character to an id (the vocabulary: the characters of the file, found in a
first streaming pass, or given) and writes (a chunk of pure ASCII, the common case, is
mapped as bytes with NumPy, without decoding it to a Python string: a 4 GB corpus
tokenises at disk speed)

* ``tokens.bin``: the ids, ``uint8`` (<= 256 symbols) or ``uint16``, written chunk by
  chunk (``TokenCorpus.ids()`` maps it as a read-only ``numpy.memmap``);
* ``lines.bin``: ``int64`` (offset, length) of each line in ``tokens.bin`` (the index of
  sequences: newlines are kept in the stream as a token);
* ``corpus.json``: the vocabulary, the dtype and the counts.

``TokenCorpus(folder)`` is a ``BatchSource`` for a language model: epoch ``e`` cuts the
stream into windows of ``seq_len + 1`` ids at offsets drawn from ``(seed, e)``, ``x`` the
first ``seq_len``, ``y`` the next id of each step. Each window is read with ``os.pread``
(no mapping kept): the process holds a batch, never the corpus, so the resident memory
does not grow with the file (a ``memmap`` read at random offsets would keep every page it
touched resident until the mapping closes).

    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "t.txt").write_text("abcab\\nba\\n")
    >>> c = tokenise_corpus(d / "t.txt", d / "c")
    >>> c.num_tokens, c.vocab, c.lines()
    (9, ['\\n', 'a', 'b', 'c'], [(0, 6), (6, 3)])
    >>> x, y = next(c.batches(2, seq_len=3))
    >>> x.shape, y.shape                                        # (B, T), (B, T)
    (torch.Size([2, 3]), torch.Size([2, 3]))
"""
from __future__ import annotations

import codecs
import json
import math
import os
from pathlib import Path
from typing import Iterator, Optional

import numpy as np
import torch

from seqlab.io import atomic_write_bytes

CHUNK = 1 << 22  # characters per chunk while tokenising (4 M: ~100 MB of work arrays)


def _chunks(path: Path) -> Iterator[np.ndarray]:
    """The file's characters as code points, chunk by chunk: (n,) ``uint8`` for a chunk
    of pure ASCII, else (n,) ``uint32`` (UTF-8 decoded; a character split between two
    chunks is decoded with the second)."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    with open(path, "rb") as f:
        while raw := f.read(CHUNK):
            codes = np.frombuffer(raw, dtype=np.uint8)
            if codes.max(initial=0) < 128 and not decoder.getstate()[0]:
                yield codes  # ASCII: the bytes are the code points
                continue
            try:
                text = decoder.decode(raw)
            except UnicodeDecodeError as err:
                raise ValueError(f"tokenise_corpus: {path} is not UTF-8 text ({err}); save "
                                 f"it as UTF-8.") from None
            yield np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)


def tokenise_corpus(text_file, folder, vocab: Optional[list] = None) -> "TokenCorpus":
    """Tokenise ``text_file`` (characters) into ``folder``; returns the ``TokenCorpus``."""
    text_file, folder = Path(text_file), Path(folder)
    if not text_file.is_file():
        raise FileNotFoundError(f"tokenise_corpus: text_file {str(text_file)!r} does not "
                                f"exist; pass the path of a UTF-8 text file.")
    if vocab is None:
        seen = np.zeros(0x110000, dtype=bool)  # one flag per code point
        for codes in _chunks(text_file):
            if codes.dtype == np.uint8:
                seen[:256] |= np.bincount(codes, minlength=256) > 0
            else:
                seen[np.unique(codes)] = True
        vocab = [chr(c) for c in np.flatnonzero(seen)]
    ids = {ch: i for i, ch in enumerate(vocab)}
    dtype = np.uint8 if len(vocab) <= 256 else np.uint16
    table = np.zeros(max(max(map(ord, vocab), default=0) + 1, 256), dtype=np.int32) - 1
    table[[ord(c) for c in vocab]] = list(ids.values())  # code point -> id (-1: unknown)
    folder.mkdir(parents=True, exist_ok=True)
    tmp, tmp_lines = folder / ".tokens.bin.tmp", folder / ".lines.bin.tmp"
    total, line_start, num_lines = 0, 0, 0
    with open(tmp, "wb") as out, open(tmp_lines, "wb") as index:
        for codes in _chunks(text_file):  # (n,) code points
            if codes.dtype == np.uint8:  # ASCII: the table has >= 256 entries
                mapped = table[codes]  # (n,) ids, -1: unknown
            else:
                mapped = table[np.minimum(codes, len(table) - 1)]
                mapped[codes >= len(table)] = -1
            if (mapped < 0).any():
                bad = chr(int(codes[np.flatnonzero(mapped < 0)[0]]))
                raise ValueError(f"tokenise_corpus: {bad!r} in {text_file} is not in the "
                                 f"vocabulary; pass vocab=None to build it from the file.")
            out.write(mapped.astype(dtype).tobytes())
            ends = total + np.flatnonzero(codes == 10) + 1  # (lines,) one past each newline
            if len(ends):
                starts = np.r_[line_start, ends[:-1]]
                index.write(np.stack([starts, ends - starts], 1).astype(np.int64).tobytes())
                line_start, num_lines = int(ends[-1]), num_lines + len(ends)
            total += len(codes)
        if line_start < total:  # a last line without a newline
            index.write(np.array([line_start, total - line_start], np.int64).tobytes())
            num_lines += 1
        for f in (out, index):
            f.flush()
            os.fsync(f.fileno())
    os.replace(tmp, folder / "tokens.bin")
    os.replace(tmp_lines, folder / "lines.bin")
    atomic_write_bytes(folder / "corpus.json", json.dumps(
        {"vocab": vocab, "dtype": np.dtype(dtype).name, "num_tokens": total,
         "num_lines": num_lines}).encode("utf-8"))
    return TokenCorpus(folder)


def _coprime_step(rng: np.random.Generator, n: int) -> int:
    """A random step in [1, n) sharing no factor with ``n`` (1 when n <= 2): the
    multiplier of a permutation j -> (a * j + c) mod n."""
    if n <= 2:
        return 1
    while True:
        a = int(rng.integers(1, n))
        if math.gcd(a, n) == 1:
            return a


class TokenCorpus:
    """A tokenised corpus on disk (``tokenise_corpus``), read lazily.

    Args:
        folder: the folder ``tokenise_corpus`` wrote.
        seq_len: default window length of ``batches``.
    """

    seeded = False

    def __init__(self, folder, seq_len: int = 128):
        self.folder = Path(folder)
        meta = json.loads((self.folder / "corpus.json").read_text(encoding="utf-8"))
        self.vocab, self.num_tokens = meta["vocab"], int(meta["num_tokens"])
        self.dtype = np.dtype(meta["dtype"])
        self.seq_len = int(seq_len)
        self._fd: Optional[int] = None

    def lines(self) -> list[tuple[int, int]]:
        """(offset, length) of every line (the index of sequences)."""
        raw = np.fromfile(self.folder / "lines.bin", dtype=np.int64).reshape(-1, 2)
        return [tuple(map(int, r)) for r in raw]

    def ids(self) -> np.ndarray:
        """All token ids as a read-only ``numpy.memmap`` (N,) (pages read on demand)."""
        return np.memmap(self.folder / "tokens.bin", dtype=self.dtype, mode="r")

    def decode(self, ids) -> str:
        return "".join(self.vocab[int(i)] for i in ids)

    def read(self, offset: int, n: int) -> np.ndarray:
        """``n`` token ids from ``offset`` (one ``pread``)."""
        if self._fd is None:
            self._fd = os.open(self.folder / "tokens.bin", os.O_RDONLY)
        size = self.dtype.itemsize
        return np.frombuffer(os.pread(self._fd, n * size, offset * size), dtype=self.dtype)

    def num_windows(self, seq_len: Optional[int] = None) -> int:
        """Windows per epoch (the same for every epoch's offset, 0..T-1)."""
        t = seq_len or self.seq_len
        return max(self.num_tokens - t, 0) // t

    def num_batches(self, batch_size: int) -> int:
        return -(-self.num_windows() // batch_size)

    def batches(self, batch_size: int, shuffle: bool = True, seed: int = 0, epoch: int = 0,
                seq_len: Optional[int] = None):
        """Batches ``(x, y)`` of windows, ``x`` (B, T) ids and ``y`` (B, T) the next ids.
        The windows tile the stream at an offset drawn from ``(seed, epoch)``, in an
        order drawn from it too: window ``j`` of the epoch is tile ``(a * j + c) mod n``
        with ``a`` coprime to the ``n`` tiles (a permutation of them computed as it goes,
        so no array of ``n`` indices: the memory does not grow with the corpus)."""
        t = seq_len or self.seq_len
        rng = np.random.default_rng([seed, epoch])
        shift = int(rng.integers(0, t)) if shuffle else 0
        n = self.num_windows(t)  # shift + n * t + 1 <= num_tokens
        a, c = (_coprime_step(rng, n), int(rng.integers(0, max(n, 1)))) if shuffle else (1, 0)
        for start in range(0, n, batch_size):
            idx = [(a * j + c) % n for j in range(start, min(start + batch_size, n))]
            win = np.stack([self.read(shift + i * t, t + 1) for i in idx])  # (B, T+1)
            win = torch.from_numpy(win.astype(np.int64))
            yield win[:, :-1], win[:, 1:]  # (B, T), (B, T)

    def __getstate__(self):
        return {**self.__dict__, "_fd": None}

    def __del__(self):
        if getattr(self, "_fd", None) is not None:
            os.close(self._fd)


__all__ = ["tokenise_corpus", "TokenCorpus"]
