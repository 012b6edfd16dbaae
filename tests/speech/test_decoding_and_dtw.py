"""CTC decoding on hand-made probability matrices, error rates, DTW against brute force,
and the MFCC pipeline's formulas (no espeak-ng needed)."""
import itertools
import math

import numpy as np
import pytest
import torch

from seqlab.baselines.dtw import dtw_distance, dtw_distances, segment
from seqlab.data import audio
from seqlab.models.recurrent.ctc_decoding import (char_error_rate, edit_distance,
                                                  greedy_decode, prefix_beam_search,
                                                  word_error_rate)


def collapse(path, blank=0):
    out, last = [], blank
    for c in path:
        if c != blank and c != last:
            out.append(c)
        last = c
    return tuple(out)


def exact_labelling_probs(probs):
    """P(y | x) of every labelling by summing all V^T frame paths."""
    T, V = probs.shape
    out = {}
    for path in itertools.product(range(V), repeat=T):
        p = math.prod(probs[t, c] for t, c in enumerate(path))
        out[collapse(path)] = out.get(collapse(path), 0.0) + p
    return out


def test_greedy_and_beam_golden_values():
    # two frames over (blank, a): the best path is blank-blank (0.36), the best
    # labelling "a" (aa 0.16 + a- 0.24 + -a 0.24 = 0.64)
    p = np.array([[0.6, 0.4], [0.6, 0.4]])
    assert greedy_decode(np.log(p)) == []
    labels, logp = prefix_beam_search(np.log(p), beam=4)
    assert labels == [1] and math.exp(logp) == pytest.approx(0.64)
    # a repeated label needs a blank between: "a - a" -> [1, 1], "a a" -> [1]
    q = np.log(np.array([[0.1, 0.9], [0.8, 0.2], [0.1, 0.9]]))
    assert greedy_decode(q) == [1, 1]
    assert greedy_decode(np.log(np.array([[0.1, 0.9], [0.1, 0.9]]))) == [1]


def test_beam_search_finds_the_exact_best_labelling():
    rng = np.random.default_rng(3)
    for _ in range(5):
        probs = rng.dirichlet(np.ones(3) * 0.7, size=5)                    # (T=5, V=3)
        exact = exact_labelling_probs(probs)
        best = max(exact, key=exact.get)
        labels, logp = prefix_beam_search(np.log(probs), beam=50, prune=-1e9)
        assert tuple(labels) == best
        assert math.exp(logp) == pytest.approx(exact[best], rel=1e-9)


def test_edit_distance_and_error_rates():
    assert edit_distance("kitten", "sitting") == 3
    assert edit_distance([], [1, 2]) == 2
    assert word_error_rate(["one two three"], ["one three"]) == pytest.approx(1 / 3)
    assert word_error_rate(["one two", "five"], ["one two", "five"]) == 0.0
    assert char_error_rate(["ab"], ["abc"]) == pytest.approx(0.5)


def brute_force_dtw(a, b):
    """Least cost over every monotone warping path from (0, 0) to (n-1, m-1)."""
    n, m = len(a), len(b)
    c = np.linalg.norm(a[:, None] - b[None, :], axis=-1)
    best = math.inf

    def walk(i, j, total):
        nonlocal best
        total += c[i, j]
        if (i, j) == (n - 1, m - 1):
            best = min(best, total)
            return
        for di, dj in ((1, 0), (0, 1), (1, 1)):
            if i + di < n and j + dj < m:
                walk(i + di, j + dj, total)
    walk(0, 0, 0.0)
    return best


def test_dtw_matches_brute_force_and_the_batched_version():
    rng = np.random.default_rng(0)
    seqs = [rng.standard_normal((n, 2)) for n in (3, 4, 5, 2)]
    for a, b in itertools.combinations(seqs, 2):
        assert dtw_distance(a, b, normalise=False) == pytest.approx(brute_force_dtw(a, b))
    queries, templates = seqs[:3], seqs[1:]
    batched = dtw_distances(queries, templates, chunk=2)
    loop = np.array([[dtw_distance(q, t) for t in templates] for q in queries])
    np.testing.assert_allclose(batched, loop, rtol=1e-5)
    # a sequence slowed down (each frame twice) is at distance 0 from itself
    assert dtw_distance(seqs[0], np.repeat(seqs[0], 2, axis=0)) == pytest.approx(0.0)


def test_segment_finds_the_loud_spans():
    energy = np.r_[np.zeros(10), np.ones(12), np.zeros(2), np.ones(8), np.zeros(15),
                   np.ones(9), np.zeros(10)]
    spans = segment(energy, min_frames=5, bridge=3, smooth=1)
    assert spans == [(10, 32), (47, 56)]                  # the 2-frame pause is bridged


def test_mel_filterbank_and_mfcc_formulas():
    fb = audio.mel_filterbank(n_mels=10, n_fft=256, sample_rate=8000,
                              f_min=0.0, f_max=4000.0)
    assert fb.shape == (10, 129) and float(fb.max()) <= 1.0
    centres = fb.argmax(1).numpy() * 8000 / 256                            # peak bins, Hz
    mels = audio.hz_to_mel(centres)
    assert np.all(np.diff(mels) > 0)
    np.testing.assert_allclose(audio.mel_to_hz(audio.hz_to_mel(1000.0)), 1000.0)
    assert audio.hz_to_mel(1000.0) == pytest.approx(1000.0, abs=0.5)       # mel(1 kHz) ~ 1000
    d = audio.dct_matrix(13, 40)
    np.testing.assert_allclose((d.T @ d).numpy(), np.eye(13), atol=1e-5)   # orthonormal
    # a 1 kHz tone: its power sits in the STFT bin of 1 kHz
    sr = audio.SAMPLE_RATE
    x = np.sin(2 * np.pi * 1000 * np.arange(sr // 4) / sr)
    p = audio.power_spectrum(x)
    assert int(p.mean(0).argmax()) == round(1000 * audio.N_FFT / sr)
    # MFCCs are the DCT of the log-mel frames; normalised ones have zero mean, unit std
    raw = audio.mfcc(x + 0.01 * np.random.default_rng(0).standard_normal(len(x)),
                     normalise=False)
    logs = audio.log_mel(x + 0.01 * np.random.default_rng(0).standard_normal(len(x)),
                         normalise=False)
    np.testing.assert_allclose(raw, logs @ d.numpy(), rtol=1e-4, atol=1e-3)
    z = audio.mfcc(x + 0.01 * np.random.default_rng(0).standard_normal(len(x)))
    np.testing.assert_allclose(z.mean(0), 0.0, atol=1e-4)
    assert torch.is_tensor(p)
