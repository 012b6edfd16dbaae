"""The recurrent loops in C (``scans.c``: the LSTM's and the SimpleRNN's forward and
backward passes through time), loaded once with their argument types; None when they
could not be built (``seqlab/native.py``: no C compiler, or ``SEQLAB_NATIVE=0``).

    >>> lib = library()
    >>> lib is None or callable(lib.seqlab_lstm_forward)
    True
"""
from __future__ import annotations

import ctypes
from pathlib import Path

import torch

from seqlab import native

SOURCE = Path(__file__).with_name("scans.c")
LANES = 16  # units per block: one 512-bit register of float32
ROWS = 6    # rows per block of the loops: the LSTM backward's scratch

_I, _P = ctypes.c_int, ctypes.c_void_p
_SIGNATURES = {
    "seqlab_lstm_forward": ([_I] * 4 + [_P] * 9, None),
    "seqlab_lstm_backward": ([_I] * 5 + [_P] * 10, None),
    "seqlab_rnn_forward": ([_I] * 4 + [_P] * 2, None),
    "seqlab_rnn_backward": ([_I] * 4 + [_P] * 5, None),
}


def library():
    """The compiled ``scans.c`` with its functions' argument types set, or None."""
    return native.load(SOURCE, _SIGNATURES)


def blocks(M: torch.Tensor, H: int, gates: int = 1) -> torch.Tensor:
    """(K, gates * H), the gates' columns side by side (Keras's layout) -> (Q, K, gates,
    16), Q = ceil(H / 16): block q holds units 16q..16q+15 of every gate, zero past H, as
    the C loops read the weights."""
    K, Q = M.shape[0], -(-H // LANES)
    out = M.new_zeros(K, gates, Q * LANES)
    out[:, :, :H] = M.detach().reshape(K, gates, H)
    return out.reshape(K, gates, Q, LANES).permute(2, 0, 1, 3).contiguous()
