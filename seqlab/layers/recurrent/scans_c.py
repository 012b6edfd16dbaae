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

from seqlab import native

SOURCE = Path(__file__).with_name("scans.c")
LANES = 16  # units per block: one 512-bit register of float32
ROWS = 6    # rows per block of the loops: the LSTM backward's scratch

_I, _P = ctypes.c_int, ctypes.c_void_p
_SIGNATURES = {
    "seqlab_lstm_forward": [_I] * 4 + [_P] * 9,
    "seqlab_lstm_backward": [_I] * 5 + [_P] * 10,
    "seqlab_rnn_forward": [_I] * 4 + [_P] * 2,
    "seqlab_rnn_backward": [_I] * 4 + [_P] * 5,
}


def library():
    """The compiled ``scans.c`` with its functions' argument types set, or None."""
    lib = native.load(SOURCE)
    if lib is not None and lib.seqlab_lstm_forward.restype is not None:  # first use
        for name, args in _SIGNATURES.items():
            fn = getattr(lib, name)
            fn.argtypes, fn.restype = args, None
    return lib
