"""Text to indices and back: a Keras-like ``Tokenizer`` for words or characters.

Index 0 is never a token: it is the padding that ``pad_sequences`` and ``pad_batch``
insert and that ``Embedding(mask_zero=True)`` masks. Then come the reserved tokens that
are set, in this order: the out-of-vocabulary token (``oov_token``, index 1 when set),
the start token and the end token (for seq2seq decoders). Then the words (or characters)
seen by ``fit_on_texts``, most frequent first, ties in order of first appearance.

``num_words=N`` keeps only indices < N in ``texts_to_sequences`` (the N - 1 most
frequent entries, reserved tokens included); the others become the OOV index, or are
dropped when there is no OOV token. ``word_index`` still lists every word, as in Keras.

Differences from ``keras.preprocessing.text.Tokenizer`` (on purpose, for round trips):
``sequences_to_texts`` joins characters with "" (not " ") when ``char_level``, skips
the padding index 0 (Keras writes the OOV token for it), and stops at the end token.

    >>> tok = Tokenizer(oov_token="<unk>")
    >>> tok.fit_on_texts(["the cat sat", "the dog"])
    >>> tok.word_index["<unk>"], tok.word_index["the"], tok.word_index["cat"]
    (1, 2, 3)
    >>> tok.texts_to_sequences(["The bird sat!"])
    [[2, 1, 4]]
    >>> tok.sequences_to_texts([[2, 1, 4]])
    ['the <unk> sat']
"""
from __future__ import annotations

import json
from collections import Counter, OrderedDict
from pathlib import Path
from typing import Iterable, Optional, Sequence, Union

from seqlab.io import atomic_write_bytes

__all__ = ["Tokenizer", "text_to_word_sequence", "tokenizer_from_json", "DEFAULT_FILTERS"]

DEFAULT_FILTERS = '!"#$%&()*+,-./:;<=>?@[\\]^_`{|}~\t\n'  # Keras's: punctuation but '


def text_to_word_sequence(text: str, filters: str = DEFAULT_FILTERS, lower: bool = True,
                          split: str = " ") -> list[str]:
    """Keras's word splitter: lower-case, replace each filter character by ``split``,
    split, drop empty strings.

        >>> text_to_word_sequence("Hello, world!  It's me.")
        ['hello', 'world', "it's", 'me']
    """
    if lower:
        text = text.lower()
    if filters:
        text = text.translate(str.maketrans({c: split for c in filters}))
    return [w for w in text.split(split) if w]


def write_text_atomic(path: Union[str, Path], text: str) -> None:
    """Write ``text`` (UTF-8) atomically: see ``seqlab.io.atomic_write_bytes``."""
    atomic_write_bytes(path, text.encode("utf-8"))


class Tokenizer:
    """Map texts to lists of integer indices (words or characters) and back.

    Args:
        num_words: keep only indices < num_words when converting texts (None: all).
        filters: characters removed from word-level texts (Keras's default: punctuation,
            tab and newline, but not the apostrophe). Not applied when ``char_level``.
        lower: lower-case texts first.
        split: the word separator.
        char_level: one token per character instead of per word.
        oov_token: the token that replaces unknown words (index 1); None drops them.
        start_token, end_token: reserved tokens added around each sequence by
            ``texts_to_sequences(..., start_end=True)`` (decoders of seq2seq models).

    Example, character level:

        >>> tok = Tokenizer(char_level=True, lower=False)
        >>> tok.fit_on_texts(["abba"])
        >>> tok.texts_to_sequences(["ab"]), tok.sequences_to_texts([[2, 1]])
        ([[1, 2]], ['ba'])
    """

    def __init__(self, num_words: Optional[int] = None, filters: str = DEFAULT_FILTERS,
                 lower: bool = True, split: str = " ", char_level: bool = False,
                 oov_token: Optional[str] = None, start_token: Optional[str] = None,
                 end_token: Optional[str] = None):
        if num_words is not None and (isinstance(num_words, bool)
                                      or not isinstance(num_words, int) or num_words < 1):
            raise ValueError(
                f"Tokenizer: num_words must be None or a positive integer, got {num_words!r}. "
                f"Pass e.g. num_words=10000 (indices 1..9999 are kept).")
        if not char_level and not split:
            raise ValueError("Tokenizer: split must be a non-empty string, e.g. split=' '.")
        reserved = [t for t in (oov_token, start_token, end_token) if t is not None]
        if len(set(reserved)) != len(reserved):
            raise ValueError(
                f"Tokenizer: oov_token, start_token and end_token must differ, got "
                f"{oov_token!r}, {start_token!r}, {end_token!r}.")
        self.num_words = num_words
        self.filters = filters
        self.lower = lower
        self.split = split
        self.char_level = char_level
        self.oov_token = oov_token
        self.start_token = start_token
        self.end_token = end_token
        self.word_counts: "OrderedDict[str, int]" = OrderedDict()
        self.word_docs: Counter = Counter()
        self.document_count = 0
        self.word_index: dict[str, int] = {}
        self.index_word: dict[int, str] = {}
        self._reindex()

    # ----------------------------------------------------------------- tokens
    @property
    def reserved_tokens(self) -> list[str]:
        return [t for t in (self.oov_token, self.start_token, self.end_token) if t is not None]

    def tokenize(self, text: Union[str, Sequence[str]]) -> list[str]:
        """The tokens of one text (a list of tokens is taken as already split)."""
        if not isinstance(text, str):
            return [t.lower() for t in text] if self.lower else list(text)
        if self.char_level:
            return list(text.lower() if self.lower else text)
        return text_to_word_sequence(text, self.filters, self.lower, self.split)

    def fit_on_texts(self, texts: Iterable[Union[str, Sequence[str]]]) -> None:
        """Count the tokens of ``texts`` and rebuild ``word_index`` (frequent first)."""
        if isinstance(texts, str):
            raise TypeError(
                "Tokenizer.fit_on_texts: expected a list of texts, got one string. "
                "Wrap it: fit_on_texts([text]).")
        reserved = set(self.reserved_tokens)
        for text in texts:
            self.document_count += 1
            tokens = [t for t in self.tokenize(text) if t not in reserved]
            for t in tokens:
                self.word_counts[t] = self.word_counts.get(t, 0) + 1
            self.word_docs.update(set(tokens))
        self._reindex()

    def _reindex(self) -> None:
        # sorted() is stable: equal counts keep their order of first appearance.
        words = sorted(self.word_counts.items(), key=lambda kv: kv[1], reverse=True)
        vocab = self.reserved_tokens + [w for w, _ in words]
        self.word_index = {w: i for i, w in enumerate(vocab, start=1)}
        self.index_word = {i: w for w, i in self.word_index.items()}

    # ----------------------------------------------------------------- indices
    @property
    def oov_index(self) -> Optional[int]:
        return self.word_index.get(self.oov_token) if self.oov_token is not None else None

    @property
    def start_index(self) -> Optional[int]:
        return self.word_index.get(self.start_token) if self.start_token is not None else None

    @property
    def end_index(self) -> Optional[int]:
        return self.word_index.get(self.end_token) if self.end_token is not None else None

    @property
    def vocab_size(self) -> int:
        """Size of an Embedding/Dense over these indices (padding 0 included)."""
        full = len(self.word_index) + 1
        return min(full, self.num_words) if self.num_words else full

    def texts_to_sequences(self, texts: Iterable[Union[str, Sequence[str]]],
                           start_end: bool = False) -> list[list[int]]:
        """Texts -> lists of indices. ``start_end=True`` wraps each in start/end tokens."""
        if isinstance(texts, str):
            raise TypeError(
                "Tokenizer.texts_to_sequences: expected a list of texts, got one string. "
                "Wrap it: texts_to_sequences([text]).")
        if start_end and (self.start_token is None or self.end_token is None):
            raise ValueError(
                "Tokenizer.texts_to_sequences: start_end=True needs start_token and "
                "end_token, e.g. Tokenizer(start_token='<s>', end_token='</s>').")
        oov, n = self.oov_index, self.num_words
        out = []
        for text in texts:
            seq = [self.start_index] if start_end else []
            for t in self.tokenize(text):
                i = self.word_index.get(t)
                if i is not None and not (n and i >= n):
                    seq.append(i)
                elif oov is not None:
                    seq.append(oov)
            if start_end:
                seq.append(self.end_index)
            out.append(seq)
        return out

    def sequences_to_texts(self, sequences: Iterable[Sequence[int]]) -> list[str]:
        """Lists of indices -> texts. Skips padding (0) and the start token, stops at the
        end token; unknown or cut-off indices become the OOV token (or are dropped)."""
        oov, n = self.oov_index, self.num_words
        sep = "" if self.char_level else self.split
        skip = {0, self.start_index}
        out = []
        for seq in sequences:
            tokens = []
            for i in seq:
                i = int(i)
                if i in skip:
                    continue
                if self.end_index is not None and i == self.end_index:
                    break
                word = self.index_word.get(i)
                if word is not None and not (n and i >= n):
                    tokens.append(word)
                elif oov is not None:
                    tokens.append(self.oov_token)
            out.append(sep.join(tokens))
        return out

    # ----------------------------------------------------------------- matrices
    @property
    def index_docs(self) -> dict[int, int]:
        """Index -> number of fitted texts that contain it (for tf-idf)."""
        return {self.word_index[w]: c for w, c in self.word_docs.items()
                if w in self.word_index}

    def sequences_to_matrix(self, sequences: Sequence[Sequence[int]],
                            mode: str = "binary") -> "np.ndarray":
        """Bag-of-words rows (N, vocab_size), as Keras: mode "binary" (0/1), "count",
        "freq" (count / length) or "tfidf" ((1 + log count) * log(1 + docs / (1 + df))).

            >>> tok = Tokenizer(); tok.fit_on_texts(["a b b"])
            >>> tok.texts_to_matrix(["b b c"], mode="count").tolist()
            [[0.0, 2.0, 0.0]]
        """
        import numpy as np

        modes = ("binary", "count", "freq", "tfidf")
        if mode not in modes:
            raise ValueError(f"Tokenizer: mode must be one of {modes}, got {mode!r}.")
        if mode == "tfidf" and not self.document_count:
            raise ValueError("Tokenizer: mode='tfidf' needs fit_on_texts(...) first (it uses "
                             "document frequencies).")
        n = self.vocab_size
        idx_docs = self.index_docs
        out = np.zeros((len(sequences), n))  # (N, V)
        for i, seq in enumerate(sequences):
            counts = Counter(int(j) for j in seq if 0 < int(j) < n)
            for j, c in counts.items():
                if mode == "binary":
                    out[i, j] = 1.0
                elif mode == "count":
                    out[i, j] = c
                elif mode == "freq":
                    out[i, j] = c / len(seq)
                else:
                    idf = np.log(1 + self.document_count / (1 + idx_docs.get(j, 0)))
                    out[i, j] = (1 + np.log(c)) * idf
        return out

    def texts_to_matrix(self, texts: Iterable[Union[str, Sequence[str]]],
                        mode: str = "binary") -> "np.ndarray":
        """``sequences_to_matrix(texts_to_sequences(texts), mode)``: (N, vocab_size)."""
        return self.sequences_to_matrix(self.texts_to_sequences(texts), mode)

    # ----------------------------------------------------------------- JSON
    def get_config(self) -> dict:
        return {"num_words": self.num_words, "filters": self.filters, "lower": self.lower,
                "split": self.split, "char_level": self.char_level,
                "oov_token": self.oov_token, "start_token": self.start_token,
                "end_token": self.end_token}

    def to_json(self, **kwargs) -> str:
        """The tokenizer (options and counts) as a JSON string."""
        return json.dumps({
            "class_name": "Tokenizer",
            "config": self.get_config(),
            "document_count": self.document_count,
            "word_counts": list(self.word_counts.items()),  # ordered: ties keep order
            "word_docs": dict(self.word_docs),
            "word_index": self.word_index,
        }, ensure_ascii=False, **kwargs)

    @classmethod
    def from_json(cls, text: str) -> "Tokenizer":
        data = json.loads(text)
        if not isinstance(data, dict) or data.get("class_name") != "Tokenizer":
            raise ValueError(
                "Tokenizer.from_json: not a seqlab Tokenizer JSON (expected an object with "
                "\"class_name\": \"Tokenizer\"). Write it with Tokenizer.to_json().")
        tok = cls(**data["config"])
        tok.document_count = int(data.get("document_count", 0))
        tok.word_counts = OrderedDict((w, int(c)) for w, c in data["word_counts"])
        tok.word_docs = Counter(data.get("word_docs", {}))
        tok._reindex()
        if "word_index" in data and data["word_index"] != tok.word_index:
            raise ValueError("Tokenizer.from_json: word_index does not match word_counts; "
                             "the file was edited by hand or is corrupt.")
        return tok

    def save(self, path: Union[str, Path]) -> None:
        """Write the tokenizer as JSON (atomically)."""
        write_text_atomic(path, self.to_json(indent=1))

    @classmethod
    def load(cls, path: Union[str, Path]) -> "Tokenizer":
        path = Path(path)
        if not path.exists():
            raise FileNotFoundError(f"Tokenizer.load: no file {path}.")
        try:
            return cls.from_json(path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, KeyError, TypeError) as e:
            raise ValueError(f"Tokenizer.load: {path} is not a valid tokenizer file ({e}).") \
                from None


def tokenizer_from_json(text: str) -> Tokenizer:
    """Keras's name for ``Tokenizer.from_json``."""
    return Tokenizer.from_json(text)
