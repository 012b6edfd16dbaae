"""Speech features through torch's own STFT: power spectrum, mel filterbank, log-mel, MFCC.

A waveform x[n] (samples at ``sample_rate`` Hz) becomes one feature vector per frame of
``n_fft`` samples, every ``hop`` samples (23 ms frames every 11.6 ms at 22,050 Hz):

    X[t, k]   = sum_n x[t hop + n] w[n] exp(-2 pi i k n / n_fft)     Hann window w (torch.stft)
    P[t, k]   = |X[t, k]|^2 / n_fft                                  power spectrum (T, K)
    mel(f)    = 2595 log10(1 + f / 700)                              the mel scale
    M[t, m]   = sum_k P[t, k] H[m, k]                                 triangular filters H (M, K)
    L[t, m]   = log(M[t, m] + 1e-6)                                   log-mel (T, M)
    C[t, c]   = sum_m L[t, m] cos(pi c (m + 1/2) / M) s_c             DCT-II, orthonormal s_c:
                s_0 = sqrt(1/M), s_c = sqrt(2/M)                      MFCC = C[:, :n_mfcc]
    (C - mean_t C) / std_t C                                          per-utterance CMVN

``normalise=True`` (cepstral mean and variance normalisation per utterance) removes the
recording's gain and a fixed channel colouring, which the noise and reverberation of
``seqlab.data.speech`` vary.

Shapes: N samples, T frames, K = n_fft / 2 + 1 frequency bins, M mel bands, C coefficients.

    >>> import numpy as np
    >>> x = np.sin(2 * np.pi * 440 * np.arange(22050) / 22050)
    >>> mfcc(x).shape, log_mel(x).shape
    ((85, 13), (85, 40))
"""
from __future__ import annotations

import math

import numpy as np
import torch

SAMPLE_RATE = 22050  # espeak-ng's output rate
N_FFT, HOP = 512, 256


def power_spectrum(x, n_fft: int = N_FFT, hop: int = HOP) -> torch.Tensor:
    """|STFT|^2 / n_fft of a waveform (N,): (T, K) with T = 1 + (N - n_fft) // hop frames
    (no centre padding: each frame holds real samples only)."""
    x = torch.as_tensor(np.asarray(x), dtype=torch.float32)
    if x.ndim != 1:
        raise ValueError(f"power_spectrum: expected one waveform of shape (N,), got "
                         f"{tuple(x.shape)}; pass one channel at a time.")
    if len(x) < n_fft:
        x = torch.nn.functional.pad(x, (0, n_fft - len(x)))              # at least one frame
    spec = torch.stft(x, n_fft, hop_length=hop, window=torch.hann_window(n_fft),
                      center=False, return_complex=True)                  # (K, T)
    return (spec.abs() ** 2 / n_fft).T                                     # (T, K)


def hz_to_mel(f):
    """mel(f) = 2595 log10(1 + f / 700) (O'Shaughnessy's formula, as HTK)."""
    return 2595.0 * np.log10(1.0 + np.asarray(f, dtype=np.float64) / 700.0)


def mel_to_hz(m):
    """The inverse: f = 700 (10^(m / 2595) - 1)."""
    return 700.0 * (10.0 ** (np.asarray(m, dtype=np.float64) / 2595.0) - 1.0)


def mel_filterbank(n_mels: int = 40, n_fft: int = N_FFT, sample_rate: int = SAMPLE_RATE,
                   f_min: float = 20.0, f_max: float = 8000.0) -> torch.Tensor:
    """Triangular filters H (M, K): filter m rises from centre m-1 to centre m and falls to
    centre m+1, the M + 2 centres evenly spaced on the mel scale from f_min to f_max."""
    f_max = min(f_max, sample_rate / 2)
    edges = mel_to_hz(np.linspace(hz_to_mel(f_min), hz_to_mel(f_max), n_mels + 2))  # (M+2,)
    bins = np.arange(n_fft // 2 + 1) * sample_rate / n_fft                          # (K,)
    left, centre, right = edges[:-2, None], edges[1:-1, None], edges[2:, None]       # (M, 1)
    rise = (bins - left) / (centre - left)
    fall = (right - bins) / (right - centre)
    return torch.as_tensor(np.maximum(0.0, np.minimum(rise, fall)), dtype=torch.float32)


def dct_matrix(n_mfcc: int, n_mels: int) -> torch.Tensor:
    """The orthonormal DCT-II as a matrix D (M, C): C = L @ D."""
    m = np.arange(n_mels)[:, None] + 0.5
    c = np.arange(n_mfcc)[None, :]
    d = np.cos(math.pi * c * m / n_mels) * math.sqrt(2.0 / n_mels)
    d[:, 0] = math.sqrt(1.0 / n_mels)
    return torch.as_tensor(d, dtype=torch.float32)


def _cmvn(feats: torch.Tensor) -> torch.Tensor:
    """(C - mean over time) / std over time, per coefficient."""
    return (feats - feats.mean(0)) / (feats.std(0, unbiased=False) + 1e-5)


def log_mel(x, n_mels: int = 40, sample_rate: int = SAMPLE_RATE,
            normalise: bool = True) -> np.ndarray:
    """log(P H^T + 1e-6) of a waveform (N,): (T, M) float32."""
    fbank = mel_filterbank(n_mels, N_FFT, sample_rate)                     # (M, K)
    feats = torch.log(power_spectrum(x) @ fbank.T + 1e-6)                  # (T, M)
    return (_cmvn(feats) if normalise else feats).numpy()


def mfcc(x, n_mfcc: int = 13, n_mels: int = 40, sample_rate: int = SAMPLE_RATE,
         normalise: bool = True) -> np.ndarray:
    """The first ``n_mfcc`` cepstral coefficients of the log-mel spectrum: (T, C) float32."""
    logs = torch.as_tensor(log_mel(x, n_mels, sample_rate, normalise=False))  # (T, M)
    feats = logs @ dct_matrix(n_mfcc, n_mels)                               # (T, C)
    return (_cmvn(feats) if normalise else feats).numpy()


FEATURES = {"mfcc": mfcc, "log_mel": log_mel}


def features(x, kind: str = "mfcc") -> np.ndarray:
    """``mfcc`` or ``log_mel`` of a waveform, by name."""
    if kind not in FEATURES:
        raise ValueError(f"features: unknown kind {kind!r}; choose 'mfcc' or 'log_mel'.")
    return FEATURES[kind](x)


__all__ = ["power_spectrum", "hz_to_mel", "mel_to_hz", "mel_filterbank", "dct_matrix",
           "log_mel", "mfcc", "features", "SAMPLE_RATE"]
