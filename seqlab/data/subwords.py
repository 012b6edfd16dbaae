"""Subword units for translation: a SentencePiece model (Kudo & Richardson 2018) learned
from the training text, with the ``Tokenizer`` interface the ``seq2seq`` task uses.

A word-level vocabulary of a few thousand verses sees most words a handful of times and
every unseen inflection as ``<unk>``. Subwords split rare words into frequent pieces
("creó" -> "▁cre" "ó"), so a small shared vocabulary (a few thousand pieces for both
languages) covers every word, and the model can learn endings once. ``model_type``:
"bpe" merges the most frequent adjacent pair, again and again (Sennrich et al. 2016);
"unigram" keeps the pieces that maximise a unigram language model's likelihood.

Ids: 0 padding, 1 ``<unk>``, 2 ``<s>``, 3 ``</s>``, then the pieces. The learned model
travels inside the run's vocab.json (its bytes in base64), never as a pickle.

    >>> tok = SubwordTokenizer.fit(["the house is red", "the book is red"] * 20,
    ...                            vocab_size=30)
    >>> ids = tok.texts_to_sequences(["the red house"], start_end=True)[0]
    >>> ids[0] == tok.start_index, ids[-1] == tok.end_index
    (True, True)
    >>> tok.sequences_to_texts([ids])
    ['the red house']
"""
from __future__ import annotations

import base64
import io
import json
from typing import Iterable, Sequence

SPECIALS = {"pad_id": 0, "unk_id": 1, "bos_id": 2, "eos_id": 3}


def _sentencepiece():
    try:
        import sentencepiece
    except ImportError:
        raise ImportError("[data] level = \"subword\" needs sentencepiece: pip install "
                          "'seqlab[translation]' (or pip install sentencepiece).") from None
    return sentencepiece


class SubwordTokenizer:
    """A SentencePiece model behind the word ``Tokenizer``'s methods.

    Build with ``SubwordTokenizer.fit(texts, vocab_size, model_type="bpe")``; save with
    ``to_json()`` and reload with ``SubwordTokenizer.from_json(text)``.
    """

    def __init__(self, model_proto: bytes):
        spm = _sentencepiece()
        self.proto = bytes(model_proto)
        self.sp = spm.SentencePieceProcessor(model_proto=self.proto)
        self.start_index, self.end_index = SPECIALS["bos_id"], SPECIALS["eos_id"]
        self.vocab_size = self.sp.get_piece_size()
        self.index_word = {i: self.sp.id_to_piece(i) for i in range(self.vocab_size)}

    @classmethod
    def fit(cls, texts: Iterable[str], vocab_size: int = 4000,
            model_type: str = "bpe") -> "SubwordTokenizer":
        """Learn ``vocab_size`` pieces (specials included) from ``texts``. A vocabulary
        larger than the text supports is cut to what it does support."""
        spm = _sentencepiece()
        lines = [t for t in texts if t.strip()]
        if not lines:
            raise ValueError("SubwordTokenizer.fit: no non-empty text to learn pieces from.")
        model = io.BytesIO()
        options = dict(sentence_iterator=iter(lines), model_writer=model,
                       vocab_size=int(vocab_size), model_type=model_type,
                       character_coverage=1.0, num_threads=1, minloglevel=2,
                       shuffle_input_sentence=False, input_sentence_size=0,
                       hard_vocab_limit=False, **SPECIALS)
        spm.SentencePieceTrainer.train(**options)
        return cls(model.getvalue())

    def texts_to_sequences(self, texts: Iterable[str], start_end: bool = False) -> list[list[int]]:
        """Each text -> piece ids, wrapped in ``<s>`` ... ``</s>`` when ``start_end``."""
        out = self.sp.encode(list(texts))
        if start_end:
            out = [[self.start_index] + ids + [self.end_index] for ids in out]
        return out

    def tokenize(self, text: str) -> list[str]:
        """The pieces of one text."""
        return self.sp.encode(text, out_type=str)

    def sequences_to_texts(self, sequences: Iterable[Sequence[int]]) -> list[str]:
        """Ids -> text, stopping at ``</s>``; padding and ``<s>`` are skipped."""
        texts = []
        for seq in sequences:
            ids = []
            for i in (int(i) for i in seq):
                if i == self.end_index:
                    break
                if i > self.end_index:
                    ids.append(i)
            texts.append(self.sp.decode(ids))
        return texts

    def to_json(self) -> str:
        return json.dumps({"class_name": "SubwordTokenizer", "config": {
            "sentencepiece_model": base64.b64encode(self.proto).decode("ascii")}})

    @classmethod
    def from_json(cls, text: str) -> "SubwordTokenizer":
        raw = json.loads(text)
        return cls(base64.b64decode(raw["config"]["sentencepiece_model"]))
