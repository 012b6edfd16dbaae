"""Spoken words made offline: espeak-ng speaks them, numpy adds the room and the noise.

A *speaker* is an espeak-ng accent with a voice variant ("en-gb-scotland+f3"): 7 English
accents x 16 variants = 112 speakers. Each utterance draws a speed (words per minute, -s)
and a pitch (0-99, -p), then passes through a room and a microphone:

    h[n]  = d[n] + g e^{-n / (tau fs)} v[n],  v ~ N(0, 1), tau = RT60 / ln(1000)
            (direct path d = delta, and a decaying noise tail: a simple reverberation)
    y     = x * h                             (convolution, by FFT)
    y     = a y + e,  e ~ N(0, s^2),  s^2 = mean(y^2) 10^(-SNR / 10)   (gain a, white noise)

espeak-ng's audio (22,050 Hz, 16 bit) is cached as WAV files under a folder you name, so a
second call reads them back instead of running espeak-ng; nothing goes to the network.

    >>> import tempfile                                   # doctest: +SKIP
    >>> x = utterance(["three", "one"], "en-us+m3", tempfile.mkdtemp(),
    ...               np.random.default_rng(0))           # doctest: +SKIP
    >>> x.dtype, x.ndim                                   # doctest: +SKIP
    (dtype('float32'), 1)

Shapes: N samples.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import wave
from pathlib import Path
from typing import Sequence

import numpy as np

from seqlab.errors import SeqlabError

SAMPLE_RATE = 22050
DIGITS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
COMMANDS = ("yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go")
ACCENTS = ("en-us", "en-gb", "en-gb-scotland", "en-gb-x-rp", "en-gb-x-gbclan",
           "en-gb-x-gbcwmd", "en-029")
VARIANTS = ("m1", "m2", "m3", "m4", "m5", "m6", "m7", "f1", "f2", "f3", "f4", "f5",
            "klatt", "klatt2", "klatt3", "klatt4")
SPEEDS = (120, 200)      # words per minute, drawn uniformly (espeak-ng's default: 175)
PITCHES = (20, 80)       # espeak-ng's 0-99 pitch scale (default 50)
SNR_DB = (5.0, 30.0)     # signal-to-noise ratio of the added noise, drawn uniformly
RT60 = (0.05, 0.4)       # reverberation time in seconds, drawn uniformly


def espeak_path() -> str:
    """espeak-ng's executable, or one sentence saying how to install it."""
    path = shutil.which("espeak-ng")
    if path is None:
        raise SeqlabError("the spoken-word datasets synthesise speech with espeak-ng, which "
                          "is not installed; install it with apt-get install espeak-ng.")
    return path


def speakers(count: int = 0, seed: int = 0) -> list[str]:
    """``count`` speakers ("accent+variant") in a seeded order (0 = all 112)."""
    every = [f"{a}+{v}" for a in ACCENTS for v in VARIANTS]
    order = np.random.default_rng(seed).permutation(len(every))
    chosen = [every[i] for i in order]
    return chosen[:count] if count else chosen


def read_wav(path: str | os.PathLike) -> tuple[np.ndarray, int]:
    """(samples in [-1, 1] as float32 (N,), sample rate) of a 16-bit PCM WAV file (the
    first channel when there are several)."""
    with wave.open(str(path), "rb") as f:
        if f.getsampwidth() != 2:
            raise SeqlabError(f"{path}: {8 * f.getsampwidth()}-bit samples; seqlab reads "
                              f"16-bit PCM WAV files, so convert it (e.g. sox in.wav -b 16 "
                              f"out.wav).")
        raw = np.frombuffer(f.readframes(f.getnframes()), dtype="<i2")
        x = raw.reshape(-1, f.getnchannels())[:, 0]
        return x.astype(np.float32) / 32768.0, f.getframerate()


def trim(x: np.ndarray, threshold: float = 0.02) -> np.ndarray:
    """``x`` without its leading and trailing near-silence (|x| under ``threshold`` times
    the peak)."""
    loud = np.flatnonzero(np.abs(x) > threshold * (np.abs(x).max() + 1e-9))
    return x[loud[0]:loud[-1] + 1] if len(loud) else x


def speak(word: str, voice: str, speed: int, pitch: int, cache_dir: str | os.PathLike
          ) -> np.ndarray:
    """espeak-ng saying ``word`` (trimmed, float32 (N,) at 22,050 Hz), cached as a WAV file
    in ``cache_dir``."""
    folder = Path(os.path.expanduser(str(cache_dir)))
    key = f"{voice}|{speed}|{pitch}|{word}"
    path = folder / f"{hashlib.sha1(key.encode()).hexdigest()[:16]}.wav"
    if not path.is_file():
        program = espeak_path()
        folder.mkdir(parents=True, exist_ok=True)
        part = path.with_suffix(f".{os.getpid()}.part")
        done = subprocess.run([program, "-v", voice, "-s", str(speed), "-p", str(pitch),
                               "-w", str(part), word], capture_output=True, text=True)
        if done.returncode != 0 or not part.is_file():
            raise SeqlabError(f"espeak-ng could not say {word!r} with voice {voice!r}: "
                              f"{done.stderr.strip() or done.returncode}; check the voice "
                              f"with espeak-ng --voices=en.")
        os.replace(part, path)
    x, rate = read_wav(path)
    return trim(x)


def reverberate(x: np.ndarray, rng: np.random.Generator, rt60: float) -> np.ndarray:
    """x * h with h a direct path plus an exponentially decaying noise tail (RT60 seconds)."""
    n = max(2, int(rt60 * SAMPLE_RATE))
    tau = rt60 / np.log(1000.0)                            # -60 dB after rt60 seconds
    h = rng.standard_normal(n) * np.exp(-np.arange(n) / (tau * SAMPLE_RATE))   # (n,)
    h *= 0.3 / np.sqrt(np.sum(h ** 2))                     # tail energy 0.09 of the direct
    h[0] = 1.0
    size = len(x) + n - 1
    y = np.fft.irfft(np.fft.rfft(x, size) * np.fft.rfft(h, size), size)       # (N + n - 1,)
    return y[:len(x) + n // 2]


def add_noise(x: np.ndarray, rng: np.random.Generator, snr_db: float) -> np.ndarray:
    """x + white noise at ``snr_db`` dB below the signal's mean power (over its loud part)."""
    loud = x[np.abs(x) > 0.02 * np.abs(x).max()] if np.abs(x).max() > 0 else x
    power = float(np.mean(loud ** 2)) if len(loud) else 1e-6
    return x + rng.standard_normal(len(x)) * np.sqrt(power * 10 ** (-snr_db / 10))


def utterance(words: Sequence[str], voice: str, cache_dir: str | os.PathLike,
              rng: np.random.Generator, gap: tuple = (0.05, 0.3),
              clean: bool = False) -> np.ndarray:
    """One speaker saying ``words`` at one drawn speed and pitch, with a silent gap drawn
    from ``gap`` seconds between words and 0.05-0.25 s of silence around them, then
    reverberation, a random gain and noise (unless ``clean``): float32 (N,)."""
    speed = int(rng.integers(SPEEDS[0], SPEEDS[1] + 1))
    pitch = int(rng.integers(PITCHES[0], PITCHES[1] + 1))
    silence = lambda lo, hi: np.zeros(int(rng.uniform(lo, hi) * SAMPLE_RATE), np.float32)
    parts = [silence(0.05, 0.25)]
    for i, word in enumerate(words):
        if i:
            parts.append(silence(*gap))
        parts.append(speak(word, voice, speed, pitch, cache_dir))
    parts.append(silence(0.05, 0.25))
    x = np.concatenate(parts).astype(np.float64)
    if not clean:
        x = reverberate(x, rng, rng.uniform(*RT60))
        x = add_noise(x * 10 ** (rng.uniform(-10, 0) / 20), rng, rng.uniform(*SNR_DB))
    return x.astype(np.float32)


def word_list(words: str) -> tuple[str, ...]:
    """The vocabulary named by ``words``: "digits", "commands" or "digits+commands"."""
    named = {"digits": DIGITS, "commands": COMMANDS, "digits+commands": DIGITS + COMMANDS}
    if words not in named:
        raise SeqlabError(f"words = {words!r} is not a vocabulary; choose 'digits', "
                          f"'commands' or 'digits+commands'.")
    return named[words]


__all__ = ["SAMPLE_RATE", "DIGITS", "COMMANDS", "ACCENTS", "VARIANTS", "espeak_path",
           "speakers", "read_wav", "trim", "speak", "reverberate", "add_noise", "utterance",
           "word_list"]
