"""LuongBahdanauAttention: scores computed by hand, the formula with random weights,
padding masks, float64 gradcheck, parameter counts, errors, and the weight names that
saved seq2seq runs hold."""
import math

import numpy as np
import pytest
import torch

from seqlab.layers.attention import LuongBahdanauAttention
from seqlab.layers.base import attach_mask

VALUES = torch.tensor([[[1.0, 0.0], [0.0, 1.0], [2.0, 0.0]]])  # (1, S=3, H=2)


def _set(layer, **kernels):
    """Build ``layer``'s Dense sub-layers and give them the kernels (D, U) passed."""
    with torch.no_grad():
        for name, kernel in kernels.items():
            dense = getattr(layer, name)
            dense.build_once((None, kernel.shape[0]))
            dense.kernel.copy_(kernel)
    return layer


def test_luong_golden_values_by_hand():
    # W_a = I: score(s, h_s) = s . h_s = [1, 0, 2] for s = [1, 0]
    att = _set(LuongBahdanauAttention("luong", units=2), W_a=torch.eye(2))
    context, alpha = att(torch.tensor([[[1.0, 0.0]]]), VALUES)
    e = [math.e ** 1, math.e ** 0, math.e ** 2]
    expected = [x / sum(e) for x in e]
    np.testing.assert_allclose(alpha[0, 0].tolist(), expected, rtol=1e-6)
    # c = sum_s alpha_s h_s = [alpha_0 + 2 alpha_2, alpha_1]
    np.testing.assert_allclose(context[0, 0].tolist(),
                               [expected[0] + 2 * expected[2], expected[1]], rtol=1e-6)


def test_bahdanau_golden_values_by_hand_with_a_padding_step():
    # W_1 = W_2 = I, v = [1, 1]; s = [0, 0]: score(h_s) = tanh(h_s1) + tanh(h_s2)
    att = _set(LuongBahdanauAttention("bahdanau", units=2), W_1=torch.eye(2),
               W_2=torch.eye(2), v=torch.ones(2, 1))
    query = torch.zeros(1, 1, 2)
    _, alpha = att(query, VALUES)
    e = [math.exp(math.tanh(1)), math.exp(math.tanh(1)), math.exp(math.tanh(2))]
    np.testing.assert_allclose(alpha[0, 0].tolist(), [x / sum(e) for x in e], rtol=1e-6)
    # the third step is padding: the first two share the weight equally
    context, alpha = att(query, VALUES, torch.tensor([[True, True, False]]))
    assert alpha[0, 0].tolist() == [0.5, 0.5, 0.0]
    np.testing.assert_allclose(context[0, 0].tolist(), [0.5, 0.5])


@pytest.mark.parametrize("kind", ["luong", "bahdanau"])
def test_formula_with_random_weights(kind):
    torch.manual_seed(0)
    att = LuongBahdanauAttention(kind, units=4)
    query, values = torch.randn(2, 3, 4), torch.randn(2, 5, 6)  # (B, T, H), (B, S, Hv)
    context, alpha = att(query, values)
    assert context.shape == (2, 3, 6) and alpha.shape == (2, 3, 5)
    scores = torch.empty(2, 3, 5)
    for b in range(2):
        for t in range(3):
            for s in range(5):
                q, h = query[b, t], values[b, s]
                if kind == "luong":
                    scores[b, t, s] = q @ att.W_a.kernel.T @ h
                else:
                    hidden = torch.tanh(h @ att.W_1.kernel + q @ att.W_2.kernel)
                    scores[b, t, s] = (hidden @ att.v.kernel)[0]
    expected = torch.softmax(scores, -1)
    torch.testing.assert_close(alpha, expected)
    torch.testing.assert_close(context, expected @ values)


@pytest.mark.parametrize("kind", ["luong", "bahdanau"])
def test_padding_gives_what_the_unpadded_source_gives(kind):
    torch.manual_seed(1)
    att = LuongBahdanauAttention(kind, units=4)
    query, values = torch.randn(2, 3, 4), torch.randn(2, 5, 4)
    mask = torch.tensor([[True] * 5, [True] * 2 + [False] * 3])
    context, alpha = att(query, values, mask)
    assert alpha[1, :, 2:].abs().max() == 0
    torch.testing.assert_close(alpha.sum(-1), torch.ones(2, 3))
    alone, _ = att(query[1:], values[1:, :2])  # the second source without its padding
    torch.testing.assert_close(context[1:], alone)
    # a mask attached to the values (Embedding(mask_zero=True)) is used the same way
    attached, _ = att(query, attach_mask(values.clone(), mask))
    torch.testing.assert_close(attached, context)


@pytest.mark.parametrize("kind", ["luong", "bahdanau"])
def test_gradcheck_float64(kind):
    torch.manual_seed(2)
    att = LuongBahdanauAttention(kind, units=3)
    query = torch.randn(2, 2, 3, dtype=torch.float64, requires_grad=True)
    values = torch.randn(2, 4, 3, dtype=torch.float64, requires_grad=True)
    mask = torch.tensor([[True] * 4, [True, True, False, False]])
    att(query, values, mask)  # builds the weights in float64
    assert all(p.dtype == torch.float64 for p in att.parameters())
    assert torch.autograd.gradcheck(lambda q, v: att(q, v, mask), (query, values))


def test_parameter_counts():
    H, Hv, Hq = 5, 7, 5
    luong = LuongBahdanauAttention("luong", units=H)
    luong(torch.zeros(1, 1, Hq), torch.zeros(1, 2, Hv))
    assert luong.count_params() == Hv * H                       # W_a
    bahdanau = LuongBahdanauAttention("bahdanau", units=H)
    bahdanau(torch.zeros(1, 1, Hq), torch.zeros(1, 2, Hv))
    assert bahdanau.count_params() == Hv * H + Hq * H + H       # W_1, W_2, v


def test_errors_name_the_argument():
    with pytest.raises(ValueError, match="kind must be one of 'luong', 'bahdanau', got 'dot'"):
        LuongBahdanauAttention("dot", units=4)
    with pytest.raises(ValueError, match="units must be a positive integer, got 0"):
        LuongBahdanauAttention("luong", units=0)


@pytest.mark.parametrize("kind,names", [("luong", ["W_a.kernel"]),
                                        ("bahdanau", ["W_1.kernel", "W_2.kernel", "v.kernel"])])
def test_weight_names_of_saved_seq2seq_runs(kind, names):
    """Saved encoder-decoder runs store the attention weights under these names."""
    from seqlab.config import Config
    from seqlab.tasks import seq2seq
    from seqlab.tasks.common import build_with, recurrent
    cfg = Config.from_dict({"task": "seq2seq", "model": {"units": 8, "embedding_dim": 4,
                                                          "attention": kind}})
    model = build_with(seq2seq.EncoderDecoder(cfg, 12, recurrent=recurrent), torch.ones(2, 3, dtype=torch.long),
                       torch.ones(2, 2, dtype=torch.long))
    assert isinstance(model.attention, LuongBahdanauAttention)
    assert sorted(k for k in model.state_dict() if k.startswith("attention.")) == \
        ["attention." + n for n in names]
