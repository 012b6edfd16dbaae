"""The encoder layer's C kernels (layers/transformer/encoder_layer.c) against the
formulas in float64: self-attention softmax(Q K^T / sqrt(dk)) V for every head, and
Add & Norm; also built without -march=native (no AVX-512: the compiler's vectors and the
scalar exp)."""
import math

import pytest
import torch

from seqlab import native
from seqlab.layers.transformer import fused_inference

pytestmark = pytest.mark.skipif(fused_inference.library() is None,
                                reason=f"C kernels not built: "
                                       f"{native.why_not(fused_inference.SOURCE)}")


def _attention(qkv: torch.Tensor) -> torch.Tensor:
    """(B, T, 3, nh, dk) float32 -> (B, T, nh, dk) by the C kernel."""
    B, T, _, nh, dk = qkv.shape
    out = torch.empty(B, T, nh, dk)
    rc = fused_inference.library().seqlab_attention(B, T, nh, dk, 1.0 / math.sqrt(dk),
                                                    qkv.data_ptr(), out.data_ptr(), 0, B * nh)
    assert rc == 0
    return out


def _attention_formula(qkv: torch.Tensor) -> torch.Tensor:
    """The course's formula in float64, head by head."""
    q, k, v = qkv.double().permute(2, 0, 3, 1, 4)               # each (B, nh, T, dk)
    weights = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(q.shape[-1]), dim=-1)
    return (weights @ v).transpose(1, 2)                         # (B, T, nh, dk)


def _add_norm(x, add, gamma, beta, eps, keep_sum):
    out, total = torch.empty_like(x), (torch.empty_like(x) if keep_sum else None)
    fused_inference.library().seqlab_add_norm(
        x.shape[0], x.shape[1], x.data_ptr(), None if add is None else add.data_ptr(),
        gamma.data_ptr(), beta.data_ptr(), eps, None if total is None else total.data_ptr(),
        out.data_ptr())
    return out, total


def _check_attention(B, T, nh, dk, spread=1.0, seed=0):
    torch.manual_seed(seed)
    qkv = torch.randn(B, T, 3, nh, dk)
    qkv[:, :, 0] *= spread                                       # sharper softmax
    err = (_attention(qkv).double() - _attention_formula(qkv)).abs().max().item()
    assert err < 1e-5, err


@pytest.mark.parametrize("B,T,nh,dk", [(1, 1, 1, 1), (1, 174, 4, 16), (2, 7, 3, 5),
                                       (3, 33, 2, 40), (1, 16, 1, 16), (2, 17, 2, 17),
                                       (1, 256, 8, 8), (1, 9, 1, 64)])
def test_attention_equals_the_formula(B, T, nh, dk):
    """Shapes around the kernel's blocks: 8 queries, 16 and 32 keys, 16 values."""
    _check_attention(B, T, nh, dk)


def test_attention_with_sharp_and_flat_weights():
    _check_attention(1, 50, 2, 16, spread=30.0)   # weights near one-hot, exp far below 1
    _check_attention(1, 50, 2, 16, spread=0.0)    # every weight equal: the mean of v


def test_nan_reaches_what_the_formula_reaches():
    torch.manual_seed(1)
    qkv = torch.randn(2, 11, 3, 2, 16)
    qkv[0, 4, 1, 1, 3] = float("nan")                            # a key of row 0, head 1
    qkv[1, 2, 0, 0, 0] = float("nan")                            # a query of row 1, head 0
    got, want = _attention(qkv), _attention_formula(qkv)
    assert torch.equal(got.isnan(), want.isnan()) and want.isnan().any()
    ok = ~want.isnan()
    assert (got.double()[ok] - want[ok]).abs().max() < 1e-5


@pytest.mark.parametrize("D", [1, 7, 16, 20, 64, 100])
@pytest.mark.parametrize("with_add,keep_sum", [(False, False), (True, False), (True, True)])
def test_add_norm_equals_layer_norm(D, with_add, keep_sum):
    torch.manual_seed(D)
    x, add = torch.randn(13, D) * 3 + 1, torch.randn(13, D) if with_add else None
    gamma, beta = torch.randn(D), torch.randn(D)
    out, total = _add_norm(x, add, gamma, beta, 1e-5, keep_sum)
    z = x.double() + (0 if add is None else add.double())
    want = torch.nn.functional.layer_norm(z, (D,), gamma.double(), beta.double(), 1e-5)
    assert (out.double() - want).abs().max() < 1e-5
    if keep_sum:
        assert torch.equal(total, x + add)


def test_portable_build_equals_the_formulas(monkeypatch, tmp_path):
    """The same checks on a build for any CPU (-O3 alone)."""
    monkeypatch.setenv("SEQLAB_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(native, "_loaded", {})
    monkeypatch.setattr(native, "_FLAG_SETS", (["-O3"],))
    assert fused_inference.library() is not None
    for B, T, nh, dk in [(1, 174, 4, 16), (2, 17, 2, 17), (1, 3, 3, 5)]:
        _check_attention(B, T, nh, dk)
    _check_attention(1, 40, 2, 16, spread=30.0)
    test_add_norm_equals_layer_norm(20, True, True)
    assert native._loaded[str(fused_inference.SOURCE)] is not None  # the portable build


def test_a_large_batch_on_several_threads_takes_torchs_kernel(monkeypatch):
    """With several threads and many scores the layer runs on torch's fused kernel (which
    spreads the attention over the threads); on one thread, the C kernels."""
    from seqlab.layers.transformer.encoder import TransformerEncoderLayer
    torch.manual_seed(0)
    layer = TransformerEncoderLayer(num_heads=4, ff_dim=32)
    layer.build_once((None, None, 16))
    layer.eval()
    x = torch.randn(2, 9, 16)
    calls = []
    c_layer = fused_inference._c_layer
    monkeypatch.setattr(fused_inference, "_c_layer", lambda *a: calls.append(1) or c_layer(*a))
    monkeypatch.setattr(fused_inference, "SINGLE_THREAD_UP_TO", 100)  # 2 x 4 x 81 scores
    threads = torch.get_num_threads()
    try:
        with torch.no_grad():
            torch.set_num_threads(1)
            one = fused_inference.encoder_layer(layer, x)
            torch.set_num_threads(2)
            two = fused_inference.encoder_layer(layer, x)
    finally:
        torch.set_num_threads(threads)
    assert len(calls) == 1                                       # the one-thread call only
    torch.testing.assert_close(one, two, rtol=1e-5, atol=1e-5)


def test_attention_of_a_range_of_pairs_writes_only_those():
    torch.manual_seed(3)
    B, T, nh, dk = 2, 9, 3, 16
    qkv = torch.randn(B, T, 3, nh, dk)
    out = torch.full((B, T, nh, dk), 7.0)
    assert fused_inference.library().seqlab_attention(B, T, nh, dk, 0.25, qkv.data_ptr(),
                                                      out.data_ptr(), 2, 4) == 0
    want = _attention_formula(qkv)                                   # pairs 2, 3: (0, 2), (1, 0)
    assert (out[0, :, 2].double() - want[0, :, 2]).abs().max() < 1e-5
    assert (out[1, :, 0].double() - want[1, :, 0]).abs().max() < 1e-5
    untouched = torch.ones(B, nh, dtype=torch.bool)
    untouched[0, 2] = untouched[1, 0] = False
    assert torch.all(out.permute(0, 2, 1, 3)[untouched] == 7.0)
