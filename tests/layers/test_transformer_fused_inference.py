"""An encoder layer's inference on a fused path (seqlab's C kernels, or torch's fused
kernel) equals its equations op by op."""
import numpy as np
import pytest
import torch

from seqlab import native
from seqlab.layers import layout_cache
from seqlab.layers.transformer import fused_inference
from seqlab.layers.transformer.encoder import TransformerEncoder, TransformerEncoderLayer


def _layer(d_model=16, **kw):
    torch.manual_seed(0)
    layer = TransformerEncoderLayer(num_heads=4, ff_dim=32, dropout=0.1, **kw)
    layer.build_once((None, None, d_model))
    with torch.no_grad():  # biases and norms away from their initial 0 / 1
        for p in layer.parameters():
            p.add_(0.1 * torch.randn_like(p))
    return layer.eval()


@pytest.mark.parametrize("path", ["c", "torch"])
@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("d_model,B,T", [(16, 3, 7), (64, 1, 37), (20, 2, 1)])
def test_the_fused_paths_equal_the_equations(path, norm_first, d_model, B, T, monkeypatch):
    if path == "c" and fused_inference.library() is None:
        pytest.skip("C kernels not built: " + native.why_not(fused_inference.SOURCE))
    calls = []
    if path == "torch":
        monkeypatch.setattr(fused_inference, "library", lambda: None)
    else:
        c_layer = fused_inference._c_layer
        monkeypatch.setattr(fused_inference, "_c_layer",
                            lambda *a: calls.append(1) or c_layer(*a))
    layer = _layer(d_model, norm_first=norm_first)
    x = torch.randn(B, T, d_model)
    with torch.no_grad():
        assert fused_inference.applies(layer, x)
        fused = fused_inference.encoder_layer(layer, x)
        by_ops = layer(x, return_attention_scores=True)[0]  # scores asked: op by op
    torch.testing.assert_close(fused, by_ops, rtol=1e-5, atol=1e-5)
    with torch.no_grad():
        torch.testing.assert_close(layer(x), by_ops, rtol=1e-5, atol=1e-5)
    assert len(calls) == (2 if path == "c" else 0)  # the C path ran where it should


def test_it_applies_only_where_it_computes_the_same():
    layer = _layer()
    x = torch.randn(2, 5, 16)
    assert not fused_inference.applies(layer, x)  # gradients on
    with torch.no_grad():
        assert not fused_inference.applies(layer.train(), x)  # dropout on
        layer.eval()
        assert not fused_inference.applies(_layer(activation="gelu"), x)
        assert not fused_inference.applies(_layer(key_dim=8), x)  # nh x dk != D
        assert not fused_inference.applies(layer, x.half())


def test_padded_steps_and_masks_run_the_equations():
    """A batch with padding keeps its mask semantics: the real steps' vectors are those of
    the row alone (the padded keys are masked)."""
    layer = _layer()
    x = torch.randn(2, 6, 16)
    mask = torch.tensor([[True] * 6, [True] * 4 + [False] * 2])
    with torch.no_grad():
        both = layer(x, mask=mask)
        alone = layer(x[1:, :4])
    torch.testing.assert_close(both[1, :4], alone[0], rtol=1e-5, atol=1e-5)


def test_a_stack_in_predict_uses_one_layout_per_call():
    torch.manual_seed(0)
    enc = TransformerEncoder(num_layers=2, num_heads=4, ff_dim=32, dropout=0.0)
    enc.build_once((None, None, 16))
    enc.eval()
    x = torch.randn(1, 9, 16)
    with torch.no_grad():
        ref = enc(x, return_attention_scores=True)[0]
        with layout_cache.layout_cache():
            a, b = enc(x), enc(x)
    torch.testing.assert_close(a, ref, rtol=1e-5, atol=1e-5)
    assert torch.equal(a, b)
    with torch.no_grad():  # the weights move: a later call sees them
        for p in enc.parameters():
            p.mul_(1.5)
        moved = enc(x)
    assert not np.allclose(moved.numpy(), a.numpy(), atol=1e-3)
