"""The masks attention uses: which keys a query may see (causal), and dropout's keep-masks.

A boolean attention mask is **True where attention is allowed**, as in Keras (the
opposite of ``torch.nn.MultiheadAttention``'s ``attn_mask``). Dropout here is inverted
dropout, ``y = x * keep / (1 - rate)``, with the keep-mask drawn cheaply from 16-bit
random integers (the Transformer layers and models use it too).

Shapes: Tq query steps, Tk key steps.

>>> causal_mask(3, 3).int()
tensor([[1, 0, 0],
        [1, 1, 0],
        [1, 1, 1]], dtype=torch.int32)
"""
from __future__ import annotations

import torch


def causal_mask(tq: int, tk: int, offset: int = 0, device=None) -> torch.Tensor:
    """(Tq, Tk) bool, True where query i may see key j: ``j <= i + offset``.

    ``offset`` is the number of keys already cached before these queries (incremental
    decoding); 0 gives the usual lower-triangular mask.
    """
    i = torch.arange(tq, device=device)[:, None]  # (Tq, 1)
    j = torch.arange(tk, device=device)[None, :]  # (1, Tk)
    return j <= i + offset  # (Tq, Tk)


def random_bits(like: torch.Tensor) -> torch.Tensor:
    """Uniform int16 values shaped like ``like``, four per 64-bit random number."""
    n = like.numel()
    words = torch.empty((n + 3) // 4, dtype=torch.int64, device=like.device)
    words.random_(-2 ** 63, 2 ** 63 - 1)  # uniform 64-bit words
    return words.view(torch.int16)[:n].view(like.shape)


def keep_mask(bits: torch.Tensor, rate: float, dtype) -> tuple[torch.Tensor, float]:
    """``(keep, scale)`` from ``random_bits``: keep is 1.0 with probability 1 - ``rate``
    (quantised to 1/65536), else 0.0; kept values are to be scaled by ``scale``."""
    threshold = round(rate * 65536)  # P(dropped) = threshold / 65536
    keep = torch.ge(bits, threshold - 32768,
                    out=torch.empty(bits.shape, dtype=dtype, device=bits.device))
    return keep, 65536 / (65536 - threshold)


def dropout_mask(like: torch.Tensor, rate: float) -> tuple[torch.Tensor, float]:
    """Inverted dropout's mask for ``like``: ``(keep, scale)``, ``y = x * keep * scale``.

    Same distribution as ``F.dropout``, drawn as 16-bit integers, four per 64-bit
    random number, and compared straight into a float mask: on CPU ``bernoulli_``
    costs ~9 ns a value, this ~2 ns (bench/transformer_speed.py).
    """
    return keep_mask(random_bits(like), rate, like.dtype)


def dropout(x: torch.Tensor, rate: float, training: bool = True) -> torch.Tensor:
    """Inverted dropout (zero a fraction ``rate``, scale the rest) via ``dropout_mask``."""
    if not training or rate == 0.0:
        return x
    keep, scale = dropout_mask(x, rate)
    return x * keep * scale


__all__ = ["causal_mask", "random_bits", "keep_mask", "dropout_mask", "dropout"]
