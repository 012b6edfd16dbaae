"""Spoken words and spoken digit strings, synthesised offline (``seqlab.data.speech``).

Train and test speakers differ: the test part is said by voices (accent + variant) the
model never heard, so a model must generalise across speakers, not remember them.
Features are per-utterance normalised MFCCs or log-mel frames (``seqlab.data.audio``).

    >>> from seqlab import datasets                                       # doctest: +SKIP
    >>> d = datasets.load("spoken_digits", cache_dir="/tmp/speech", speakers=8)  # doctest: +SKIP
    >>> d.x_train[0].shape[1], d.classes[:3]                              # doctest: +SKIP
    (13, ['zero', 'one', 'two'])
"""
from __future__ import annotations

import numpy as np

from seqlab.data import audio, speech
from seqlab.data.datasets.registry import Bunch, register

DEFAULT_CACHE = "~/.cache/seqlab/espeak"
_SOURCE = ("synthesised by espeak-ng (Debian/Ubuntu package espeak-ng, GPL-3.0) with seqlab's "
           "reverberation and noise; needs no network")


def _split_speakers(count: int, test_speakers: int, seed: int):
    if count < 2 or not 0 < test_speakers < count:
        raise ValueError(f"speakers = {count} and test_speakers = {test_speakers}: need at "
                         f"least 2 speakers and 0 < test_speakers < speakers, e.g. speakers "
                         f"= 40, test_speakers = 10.")
    voices = speech.speakers(count, seed)
    return voices[test_speakers:], voices[:test_speakers]


@register("spoken_digits",
          description="Isolated spoken words (zero..nine, or with commands yes/no/up/...), "
                      "synthesised by espeak-ng with many accents, voices, speeds and pitches, "
                      "plus reverberation and noise; x_train/x_test MFCC (or log-mel) frames "
                      "(T, D), y_* class ids, test said by unseen speakers.",
          size="generated (default 40 speakers x 10 words x 3 takes)", task="classification",
          license="generated (espeak-ng is GPL-3.0; its output is free to use)",
          source=_SOURCE, program="espeak-ng", setup="apt-get install espeak-ng")
def load_spoken_digits(*, cache_dir: str = DEFAULT_CACHE, words: str = "digits",
                       speakers: int = 40, test_speakers: int = 10, takes: int = 3,
                       features: str = "mfcc", seed: int = 0) -> Bunch:
    """``takes`` utterances of each word by each speaker, each at its own speed, pitch,
    room and noise; the first ``test_speakers`` of the seeded speaker order form the test
    part. ``cache_dir`` keeps espeak-ng's WAV files."""
    vocab = speech.word_list(words)
    train_voices, test_voices = _split_speakers(speakers, test_speakers, seed)
    rng = np.random.default_rng(seed)
    out = Bunch(classes=list(vocab), sample_rate=speech.SAMPLE_RATE, features=features)
    for part, voices in (("train", train_voices), ("test", test_voices)):
        xs, ys, who = [], [], []
        for voice in voices:
            for c, word in enumerate(vocab):
                for _ in range(takes):
                    x = speech.utterance([word], voice, cache_dir, rng)
                    xs.append(audio.features(x, features))
                    ys.append(c)
                    who.append(voice)
        out[f"x_{part}"], out[f"y_{part}"] = xs, np.asarray(ys, dtype=np.int64)
        out[f"speakers_{part}"] = who
    out["baseline"] = "dtw"  # the classify task adds a DTW 1-NN template matcher
    return out


@register("spoken_digit_strings",
          description="Spoken digit strings ('three one four'), 2-5 digits by one speaker "
                      "with short pauses, synthesised by espeak-ng (accents, voices, speeds, "
                      "pitches, reverberation, noise); x_* MFCC (or log-mel) frames (T, D), "
                      "y_* transcripts, words_x/words_y isolated digits of the training "
                      "speakers (templates for a DTW baseline); test by unseen speakers.",
          size="generated (default 40 speakers x 20 strings)", task="transcription",
          license="generated (espeak-ng is GPL-3.0; its output is free to use)",
          source=_SOURCE, program="espeak-ng", setup="apt-get install espeak-ng")
def load_spoken_digit_strings(*, cache_dir: str = DEFAULT_CACHE, speakers: int = 40,
                              test_speakers: int = 10, strings: int = 20,
                              min_digits: int = 2, max_digits: int = 5,
                              features: str = "mfcc", seed: int = 0) -> Bunch:
    """``strings`` digit strings per speaker, each of ``min_digits``..``max_digits`` digits
    drawn uniformly; plus one take of each digit alone per training speaker."""
    if not 1 <= min_digits <= max_digits:
        raise ValueError(f"min_digits = {min_digits}, max_digits = {max_digits}: need 1 <= "
                         f"min_digits <= max_digits, e.g. 2 and 5.")
    train_voices, test_voices = _split_speakers(speakers, test_speakers, seed)
    rng = np.random.default_rng(seed)
    out = Bunch(tokens=list(speech.DIGITS), sample_rate=speech.SAMPLE_RATE, features=features)
    for part, voices in (("train", train_voices), ("test", test_voices)):
        xs, ys = [], []
        for voice in voices:
            for _ in range(strings):
                n = int(rng.integers(min_digits, max_digits + 1))
                said = [speech.DIGITS[i] for i in rng.integers(0, 10, n)]
                xs.append(audio.features(speech.utterance(said, voice, cache_dir, rng),
                                         features))
                ys.append(" ".join(said))
        out[f"x_{part}"], out[f"y_{part}"] = xs, ys
    out["words_x"] = [audio.features(speech.utterance([w], v, cache_dir, rng), features)
                      for v in train_voices for w in speech.DIGITS]
    out["words_y"] = [w for _ in train_voices for w in speech.DIGITS]
    return out

