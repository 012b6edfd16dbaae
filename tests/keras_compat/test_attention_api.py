"""MultiHeadAttention's Keras 3 arguments: attention_axes, rank > 3, output_shape tuples,
use_gate, compute_output_shape(query_shape, value_shape, key_shape)."""
import numpy as np
import pytest
import torch

from seqlab.keras import layers


def _pair(**kwargs):
    torch.manual_seed(0)
    a = layers.MultiHeadAttention(num_heads=2, key_dim=3, **kwargs)
    b = layers.MultiHeadAttention(num_heads=2, key_dim=3)
    return a, b


def test_rank4_default_attends_over_the_flattened_axes():
    x = torch.randn(2, 3, 4, 5)                         # (B, H, W, D)
    mha, flat = _pair()
    y, scores = mha(x, x, return_attention_scores=True)
    flat(x.reshape(2, 12, 5))
    flat.set_weights(mha.get_weights())
    y_ref, s_ref = flat(x.reshape(2, 12, 5), return_attention_scores=True)
    torch.testing.assert_close(y, y_ref.reshape(2, 3, 4, 5))
    assert scores.shape == (2, 2, 3, 4, 3, 4)          # (B, nh, H, W, H, W), as Keras
    torch.testing.assert_close(scores.reshape(2, 2, 12, 12), s_ref)


@pytest.mark.parametrize("axes", [2, -2, (2,)])
def test_attention_over_the_last_axis_only_treats_the_others_as_batch(axes):
    x = torch.randn(2, 3, 4, 5)
    mha, rows = _pair(attention_axes=axes)
    y, scores = mha(x, x, return_attention_scores=True)
    rows(x[:, 0])
    rows.set_weights(mha.get_weights())
    assert scores.shape == (2, 3, 2, 4, 4)             # (B, H, nh, W, W)
    for h in range(3):
        y_h, s_h = rows(x[:, h], return_attention_scores=True)
        torch.testing.assert_close(y[:, h], y_h)
        torch.testing.assert_close(scores[:, h], s_h)


def test_rank3_with_attention_axes_1_is_the_plain_layer_and_bad_axes_are_refused():
    x = torch.randn(2, 5, 4)
    mha, plain = _pair(attention_axes=1)
    y = mha(x)
    plain(x)
    plain.set_weights(mha.get_weights())
    torch.testing.assert_close(y, plain(x))
    with pytest.raises(ValueError, match=r"attention_axes=\(3,\) does not fit inputs of rank 4"):
        layers.MultiHeadAttention(2, 3, attention_axes=3)(torch.zeros(1, 2, 3, 4))
    with pytest.raises(ValueError, match="attention_axes must be None, an int or a tuple"):
        layers.MultiHeadAttention(2, 3, attention_axes="time")
    with pytest.raises(ValueError, match="masks and caches work on"):
        layers.MultiHeadAttention(2, 3)(torch.zeros(1, 2, 3, 4), use_causal_mask=True)


@pytest.mark.parametrize("q, v, k, out", [
    ((4, 8), (2, 8), None, None),
    ((4, 8), (2, 8), (2, 3), None),
    ((4, 8), (2, 8), None, (3, 4)),
    ((4, 8), (2, 8), (2, 3), (1, 5)),
    ((4, 2, 3, 8), (1, 1, 5, 8), (1, 1, 5, 2), None),
    ((4, 2, 3, 8), (1, 1, 5, 8), (1, 1, 5, 2), (3, 2)),
    ((4, 2, 3, 8), (4, 2, 3, 7), (4, 2, 3, 8), None),
])
def test_compute_output_shape_matches_the_call(q, v, k, out):
    layer = layers.MultiHeadAttention(num_heads=2, key_dim=2, value_dim=2, output_shape=out)
    qs, vs, ks = (7,) + q, (7,) + v, ((7,) + k if k else None)
    y = layer(np.ones(qs), np.ones(vs), np.ones(ks) if ks else None)
    assert tuple(y.shape) == layer.compute_output_shape(qs, vs, ks)
    assert tuple(y.shape) == layer.compute_output_shape(list(qs), list(vs),
                                                        list(ks) if ks else None)


def test_value_and_key_shape_mismatch_says_must_be_equal():
    layer = layers.MultiHeadAttention(num_heads=4, key_dim=2, value_dim=2)
    with pytest.raises(ValueError, match="must be equal"):
        layer.compute_output_shape((2, 4, 8), (2, 2, 8), (2, 1, 7))
    with pytest.raises(ValueError, match="must be equal"):
        layer(np.ones((2, 4, 8)), np.ones((2, 2, 8)), np.ones((2, 1, 7)))


def test_use_gate_multiplies_each_head_by_a_sigmoid_of_the_query():
    torch.manual_seed(0)
    gated = layers.MultiHeadAttention(num_heads=2, key_dim=3, use_gate=True)
    x = torch.randn(2, 4, 5)
    y = gated(x)
    names = [n for n, _ in gated.named_parameters()]
    assert names[4:6] == ["gate_kernel", "gate_bias"] and len(names) == 10
    plain = layers.MultiHeadAttention(num_heads=2, key_dim=3)
    plain(x)
    w = gated.get_weights()
    plain.set_weights(w[:4] + w[6:])
    with torch.no_grad():
        gated.gate_kernel.zero_()
        gated.gate_bias.fill_(50.0)                   # gate = 1: the plain layer
    torch.testing.assert_close(gated(x), plain(x))
    with torch.no_grad():
        gated.gate_bias.zero_()                       # gate = 1/2: only W^O's bias left whole
        gated.output_bias.zero_()
        plain.output_bias.zero_()
    torch.testing.assert_close(gated(x), plain(x) / 2)
    assert not torch.allclose(y, plain(x))


def test_output_shape_tuple_gives_trailing_dims():
    layer = layers.MultiHeadAttention(num_heads=2, key_dim=2, output_shape=(3, 2))
    y = layer(torch.zeros(1, 5, 4))
    assert y.shape == (1, 5, 3, 2) and tuple(layer.output_kernel.shape) == (2, 2, 3, 2)
    assert layer.count_params() == 3 * (4 * 4 + 4) + 4 * 6 + 6
