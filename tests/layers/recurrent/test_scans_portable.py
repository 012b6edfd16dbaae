"""The C loops (layers/recurrent/scans.c) built without -march=native: no AVX-512, the
compiler's own vectors and the scalar exp / tanh, as on a CPU the fast build does not fit.
One build (about 40 s) serves the LSTM's and the SimpleRNN's checks."""
import sys
from pathlib import Path

import pytest
import torch

from seqlab import native
from seqlab.layers.recurrent import scans_c

sys.path.insert(0, str(Path(__file__).parent))  # the sibling tests' helpers
from test_lstm_scan import _equations, _layer  # noqa: E402
from test_rnn_scan import _float32_against_float64  # noqa: E402

pytestmark = pytest.mark.skipif(native.compiler() is None, reason="no C compiler here")


def test_portable_build_equals_the_equations(monkeypatch, tmp_path):
    monkeypatch.setenv("SEQLAB_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(native, "_loaded", {})
    monkeypatch.setattr(native, "_FLAG_SETS", (["-O3"],))
    assert scans_c.library() is not None
    # LSTM, forward: 8 rows (a block of 6 and 2 more), 21 units (a block and 5)
    layer = _layer(21, 6, return_sequences=True, return_state=True)
    x = torch.randn(8, 30, 6)
    h0, c0 = torch.randn(8, 21), torch.randn(8, 21)
    with torch.inference_mode():
        got = layer(x, initial_state=[h0, c0])
    eps = torch.finfo(torch.float32).eps
    for out, want in zip(got, _equations(layer, x, h0, c0)):
        rel = ((out.double() - want).abs() / want.abs().clamp_min(1)).max().item()
        assert rel <= 128 * eps, rel / eps
    # LSTM, gradients against the explicit loop's
    grads = []
    for fused_on in (True, False):
        layer = _layer(21, 6, seed=4, return_sequences=True).train()
        layer.use_fused = fused_on
        layer(x).square().sum().backward()
        grads.append([p.grad for p in layer.parameters()])
    for a, b in zip(*grads):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-4)
    # SimpleRNN, forward and backward
    assert _float32_against_float64("tanh", True, 5, 8, 3, 21) < 1e-4
    assert _float32_against_float64("relu", False, 7, 6, 4, 18, seed=1) < 1e-4
    assert native._loaded[str(scans_c.SOURCE)] is not None   # (still the portable build)
