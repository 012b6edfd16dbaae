"""Bach chorales as note tokens, from the corpus that music21 ships inside its wheel.

Encoding: the soprano (melody) line of each chorale, one token per note or rest, pitch and
duration joined so that one token = one note and a model's loss per token is its loss per
note:

    p69d4   MIDI pitch 69 (A4) lasting 4 sixteenths (a quarter note)
    p74d2   D5, an eighth note
    rd4     a quarter rest

Durations are quantised to sixteenths (the shortest value in the chorales' melodies; a
rare triplet rounds to the nearest sixteenth, at least 1). Pitches stay in the chorale's
own key (no transposition), so the model must learn every key the chorales use. Each
chorale starts with the token ``start`` and is one line of ``text``: the ``generate``
task reads ``text`` as one token stream (word level), so its bits per token are bits
per note, with one extra ``start`` token per chorale (about one in 50).

This keeps only the melody: the four-voice (SATB) harmony of DeepBach (Hadjeres et al.
2017) or the piano-roll of Boulanger-Lewandowski et al. (2012) is a larger model's job.

    >>> encode_note(69, 1.0), encode_note(None, 0.5)
    ('p69d4', 'rd2')
    >>> decode_token("p74d2")
    (74, 0.5)
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Optional, Sequence

import numpy as np

from seqlab.data.datasets.registry import Bunch, MissingPackageError, register

MUSIC21_PIP = "pip install music21"


def encode_note(pitch: Optional[int], quarter_length: float) -> str:
    """A note (MIDI pitch, or None for a rest) and its length in quarters -> a token."""
    sixteenths = max(1, int(round(float(quarter_length) * 4)))
    return f"{'r' if pitch is None else f'p{int(pitch)}'}d{sixteenths}"


def decode_token(token: str) -> tuple[Optional[int], float]:
    """A token -> (MIDI pitch or None for a rest, length in quarters)."""
    head, _, dur = token.partition("d")
    if not dur.isdigit() or not (head == "r" or (head[:1] == "p" and head[1:].isdigit())):
        raise ValueError(f"decode_token: {token!r} is not a note token; expected "
                         f"'p<midi pitch>d<sixteenths>' such as 'p69d4', or 'rd4'.")
    return (None if head == "r" else int(head[1:])), int(dur) / 4


def _music21():
    try:
        import music21
    except ImportError:
        raise MissingPackageError(f"dataset 'bach_chorales' reads music21's bundled corpus; "
                                  f"install it with: {MUSIC21_PIP}") from None
    return music21


def soprano_tokens(score) -> list[str]:
    """The first part of a music21 score as note tokens."""
    notes = score.parts[0].flatten().notesAndRests
    out = []
    for n in notes:
        if n.isChord:                                  # take the top note of a chord
            out.append(encode_note(max(p.midi for p in n.pitches), n.quarterLength))
        else:
            out.append(encode_note(None if n.isRest else n.pitch.midi, n.quarterLength))
    return out


@register("bach_chorales",
          description="Bach's four-part chorales (music21's corpus), soprano line as "
                      "pitch+duration note tokens ('p69d4' = A4 for a quarter); `chorales` "
                      "token lists, `text` one chorale a line (for the generate task), "
                      "chorales_train/_val/_test a fixed 80/10/10 split by chorale.",
          size="up to 371 chorales (~19,000 notes)", task="language-model",
          license="public domain scores (music21 corpus, BSD-3-Clause)",
          source="music21 (music21/corpus/bach, the Riemenschneider chorales)",
          package="music21", pip=MUSIC21_PIP)
def load_bach_chorales(*, count: int = 0, seed: int = 0) -> Bunch:
    """``count``: parse only the first ``count`` chorales (0 = all; parsing is ~0.3 s each)."""
    if count < 0:
        raise ValueError(f"bach_chorales: count must be >= 0 (0 = all), got {count}.")
    m21 = _music21()
    chorales = []
    for score in m21.corpus.chorales.Iterator(numberingSystem="bwv", returnType="stream"):
        if score is None or not score.parts:
            continue
        tokens = soprano_tokens(score)
        if tokens:
            chorales.append(["start"] + tokens)
        if count and len(chorales) == count:
            break
    order = np.random.default_rng(seed).permutation(len(chorales))
    n_train, n_val = int(round(0.8 * len(order))), int(round(0.1 * len(order)))
    parts = {"train": order[:n_train], "val": order[n_train:n_train + n_val],
             "test": order[n_train + n_val:]}
    out = Bunch(chorales=chorales, text=[" ".join(c) for c in chorales])
    for split, idx in parts.items():
        out[f"chorales_{split}"] = [chorales[i] for i in idx]
    return out


def write_midi(tokens: Sequence[str], path, tempo: int = 80) -> Path:
    """Note tokens -> a one-track MIDI file (music21), written atomically.

    Tokens that are not notes (``start``, unknown words) are skipped.
    """
    m21 = _music21()
    part = m21.stream.Part()
    part.append(m21.tempo.MetronomeMark(number=tempo))
    for tok in tokens:
        try:
            pitch, ql = decode_token(tok)
        except ValueError:
            continue
        part.append(m21.note.Rest(quarterLength=ql) if pitch is None
                    else m21.note.Note(pitch, quarterLength=ql))
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".mid")
    os.close(fd)
    m21.stream.Score([part]).write("midi", fp=tmp)
    os.replace(tmp, path)
    return path
