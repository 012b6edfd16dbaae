"""Attention layers: golden values, the fast path vs the formula, parity with
torch.nn.MultiheadAttention (forward and gradients), gradcheck, parameter counts,
causal masking, the KV cache and the positional encoding."""
import math

import numpy as np
import pytest
import torch
from torch import nn

from seqlab.layers import attention, initializers
from seqlab.layers.attention import chunked, scaled_dot_product
from seqlab.layers.base import attach_mask
from seqlab.layers.attention import (MultiHeadAttention, PositionalEncoding,
                                     ScaledDotProductAttention, causal_mask,
                                     scaled_dot_product_attention)

TOL = 1e-5


def maxerr(a, b):
    return (a - b).abs().max().item()


# ---------------------------------------------------------------- the formula
def test_formula_golden_values_against_numpy():
    rng = np.random.default_rng(0)
    q, k, v = rng.normal(size=(3, 4)), rng.normal(size=(5, 4)), rng.normal(size=(5, 2))
    s = q @ k.T / 2.0  # sqrt(d_k) = 2
    w = np.exp(s - s.max(1, keepdims=True))
    w /= w.sum(1, keepdims=True)
    out, weights = scaled_dot_product_attention(
        *(torch.tensor(a) for a in (q, k, v)), return_weights=True)
    np.testing.assert_allclose(weights.numpy(), w, atol=1e-12)
    np.testing.assert_allclose(out.numpy(), w @ v, atol=1e-12)


@pytest.mark.parametrize("case", ["none", "padding", "causal", "causal+padding", "empty_row"])
def test_fast_path_equals_formula_forward_and_backward(case):
    torch.manual_seed(0)
    q = torch.randn(2, 3, 6, 8, requires_grad=True)
    k = torch.randn(2, 3, 7, 8, requires_grad=True)
    v = torch.randn(2, 3, 7, 5, requires_grad=True)
    mask = torch.ones(2, 1, 1, 7, dtype=torch.bool)
    mask[0, ..., 5:] = False
    kwargs = {"none": {}, "padding": {"attention_mask": mask},
              "causal": {"is_causal": True},
              "causal+padding": {"attention_mask": mask, "is_causal": True},
              "empty_row": {"attention_mask": torch.rand(2, 3, 6, 7) > 0.7}}[case]
    if case == "empty_row":
        kwargs["attention_mask"][0, 0, 2] = False  # a query that may see nothing
    results = []
    for fast in (True, False):
        out, w = scaled_dot_product_attention(q, k, v, fast=fast, **kwargs)
        (g_q, g_k, g_v) = torch.autograd.grad((out * torch.arange(5.0)).sum(), (q, k, v))
        results.append((out, g_q, g_k, g_v))
    for a, b in zip(*results):
        assert maxerr(a, b) <= TOL
    if case == "empty_row":
        assert results[1][0][0, 0, 2].abs().max() == 0  # zero output, as torch does


def test_fast_path_really_calls_torch_kernel(monkeypatch):
    calls = []
    real = torch.nn.functional.scaled_dot_product_attention
    monkeypatch.setattr(torch.nn.functional, "scaled_dot_product_attention",
                        lambda *a, **k: calls.append(1) or real(*a, **k))
    mha = MultiHeadAttention(2, 4)
    x = torch.randn(2, 3, 8)
    mha(x)
    assert calls == [1]
    mha(x, return_attention_scores=True)  # weights requested -> the written formula
    assert calls == [1]


@pytest.mark.parametrize("masked", [False, True])
def test_chunked_cpu_dropout_path_equals_formula_with_the_same_seed(monkeypatch, masked):
    """CPU training with dropout runs the formula in chunks (chunked._ChunkedAttention);
    with the same seed it draws the same dropout masks, so it must match the formula."""
    monkeypatch.setattr(chunked, "_CHUNK_ELEMENTS", 300)  # several chunks of 4 sequences
    monkeypatch.setattr(scaled_dot_product, "_CHUNKED_FROM", 0)  # even for small scores
    calls = []
    real = chunked._ChunkedAttention.apply
    monkeypatch.setattr(chunked._ChunkedAttention, "apply",
                        lambda *a: calls.append(1) or real(*a))
    torch.manual_seed(0)
    q, k, v = (torch.randn(9, 2, 6, 4, requires_grad=True) for _ in range(3))
    mask = torch.rand(9, 1, 6, 6) > 0.4 if masked else None
    if masked:
        mask[0, 0, 2] = False  # a query row that may see nothing
    probe = torch.randn(9, 2, 6, 4)
    results = []
    for fast in (True, False):
        torch.manual_seed(1)
        out, _ = scaled_dot_product_attention(q, k, v, mask, dropout=0.3, fast=fast)
        results.append((out, *torch.autograd.grad((out * probe).sum(), (q, k, v))))
    assert calls == [1]
    for a, b in zip(*results):
        assert maxerr(a, b) <= TOL
    zeros = (results[0][0] == 0).float().mean().item()
    assert zeros < 0.2 + (0.2 if masked else 0)  # dropout zeroed weights, not outputs


def test_dropout_mask_statistics_and_identity_at_inference():
    torch.manual_seed(0)
    x = torch.ones(200_000)
    y = attention.dropout(x, 0.25)
    assert (y == 0).float().mean().item() == pytest.approx(0.25, abs=0.005)
    assert y.mean().item() == pytest.approx(1.0, abs=0.01)  # inverted dropout keeps the mean
    assert torch.unique(y).tolist() == [0.0, pytest.approx(4 / 3)]
    assert attention.dropout(x, 0.25, training=False) is x
    mha = MultiHeadAttention(2, 4, dropout=0.5)
    z = torch.randn(2, 5, 8)
    mha.eval()
    assert maxerr(mha(z), mha(z)) == 0
    mha.train()
    assert maxerr(mha(z), mha(z)) > 0


def test_gradcheck_float64_chunked_path():
    torch.manual_seed(0)
    q, k, v = (torch.randn(3, 2, 4, 3, dtype=torch.float64, requires_grad=True)
               for _ in range(3))
    mask = torch.rand(3, 1, 4, 4) > 0.3
    assert torch.autograd.gradcheck(
        lambda a, b, c: attention._ChunkedAttention.apply(a, b, c, mask, 0.0), (q, k, v))


def test_gradcheck_float64_formula_and_layer():
    torch.manual_seed(0)
    q, k, v = (torch.randn(1, 2, 3, 2, dtype=torch.float64, requires_grad=True)
               for _ in range(3))
    mask = causal_mask(3, 3)
    assert torch.autograd.gradcheck(
        lambda a, b, c: scaled_dot_product_attention(a, b, c, mask, fast=False)[0], (q, k, v))
    mha = MultiHeadAttention(2, 2, use_fast_path=False)
    x = torch.randn(2, 3, 4, dtype=torch.float64, requires_grad=True)
    mha(x)  # builds in float64
    assert torch.autograd.gradcheck(lambda a: mha(a, use_causal_mask=True), (x,))


def test_scaled_dot_product_attention_layer():
    layer = ScaledDotProductAttention()
    x = torch.randn(2, 4, 6)
    out, w = layer(x, return_attention_scores=True)
    assert out.shape == (2, 4, 6) and torch.allclose(w.sum(-1), torch.ones(2, 4))
    assert maxerr(out, layer(x)) <= TOL
    assert layer.compute_output_shape((None, 4, 6)) == (None, 4, 6)
    with pytest.raises(TypeError, match="bool"):
        scaled_dot_product_attention(x, x, x, attention_mask=torch.ones(4, 4))
    pad = torch.tensor([[True, True, False, False]] * 2)
    _, w = layer(x, mask=pad, return_attention_scores=True)
    assert w[..., 2:].abs().max() == 0 and torch.allclose(w.sum(-1), torch.ones(2, 4))


# ---------------------------------------------------------------- multi-head
def test_mha_golden_values_constant_weights():
    mha = MultiHeadAttention(2, 2, kernel_initializer=0.5, bias_initializer=0.0)
    y, scores = mha(torch.ones(1, 3, 4), return_attention_scores=True)
    # every key is the same -> uniform weights 1/3; each head's value = 4 * 0.5 = 2;
    # output = sum over 2 heads x 2 dims of 2 * 0.5 = 4.
    assert torch.allclose(scores, torch.full((1, 2, 3, 3), 1 / 3))
    assert torch.allclose(y, torch.full((1, 3, 4), 4.0))


def test_mha_keras_weight_layout_and_parameter_count():
    mha = MultiHeadAttention(num_heads=4, key_dim=3, value_dim=5, output_shape=7)
    q, v = torch.randn(2, 6, 8), torch.randn(2, 9, 10)
    assert mha(q, v).shape == (2, 6, 7)
    shapes = [w.shape for w in mha.get_weights()]
    assert shapes == [(8, 4, 3), (4, 3), (10, 4, 3), (4, 3), (10, 4, 5), (4, 5),
                      (4, 5, 7), (7,)]
    # textbook: W^Q, W^K, W^V per head plus W^O, each with its bias
    assert mha.count_params() == (8 * 12 + 12) + (10 * 12 + 12) + (10 * 20 + 20) + (20 * 7 + 7)
    d = 16  # the usual case dk = dv = d/nh: 4 (d^2 + d)
    mha2 = MultiHeadAttention(4, 4)
    mha2(torch.randn(1, 2, d))
    assert mha2.count_params() == 4 * (d * d + d)
    assert mha.compute_output_shape((None, None, 8)) == (None, None, 7)
    mha.set_weights(mha.get_weights())


def _torch_and_seqlab(embed=8, heads=2, kdim=None, vdim=None, bias=True):
    torch.manual_seed(1)
    ref = nn.MultiheadAttention(embed, heads, batch_first=True, kdim=kdim, vdim=vdim, bias=bias)
    with torch.no_grad():  # non-zero biases so they are tested too
        for p in ref.parameters():
            p.add_(0.1 * torch.randn_like(p))
    ours = MultiHeadAttention(heads, embed // heads, use_bias=bias)
    if kdim is not None:  # build for cross-attention shapes first
        ours(torch.randn(1, 2, embed), torch.randn(1, 3, vdim), torch.randn(1, 3, kdim))
    return ref, ours.load_torch_weights(ref)


def _param_grads_as_torch(ours, heads, embed):
    """Our gradients, laid out as torch's in_proj_weight/out_proj.weight gradients."""
    g = {n: p.grad for n, p in ours.named_parameters()}
    in_w = torch.cat([g[f"{n}_kernel"].reshape(-1, embed).t() for n in ("query", "key", "value")])
    return in_w, g["output_kernel"].reshape(embed, -1).t()


@pytest.mark.parametrize("mask_kind", ["none", "key_padding", "attn_mask", "causal", "both"])
def test_mha_parity_with_torch_forward_and_gradients(mask_kind):
    ref, ours = _torch_and_seqlab()
    B, T = 3, 6
    x = torch.randn(B, T, 8)
    pad = torch.ones(B, T, dtype=torch.bool)  # seqlab: True = real step
    pad[0, 4:] = False
    pad[2, 1:] = False
    allowed = torch.rand(T, T) > 0.3
    allowed[:, 0] = True  # every query sees something (torch gives NaN otherwise)
    torch_kw, our_kw = {}, {}
    if mask_kind in ("key_padding", "both"):
        torch_kw["key_padding_mask"] = ~pad  # torch: True = NOT allowed
        our_kw["value_mask"] = pad
    if mask_kind in ("attn_mask", "both"):
        torch_kw["attn_mask"] = ~allowed
        our_kw["attention_mask"] = allowed.expand(B, T, T)
    if mask_kind == "causal":
        torch_kw["attn_mask"] = nn.Transformer.generate_square_subsequent_mask(T) != 0
        our_kw["use_causal_mask"] = True
    xr = x.clone().requires_grad_(True)
    xo = x.clone().requires_grad_(True)
    y_ref, w_ref = ref(xr, xr, xr, average_attn_weights=False, **torch_kw)
    y, w = ours(xo, xo, return_attention_scores=True, **our_kw)
    assert maxerr(y, y_ref) <= TOL and maxerr(w, w_ref) <= TOL
    y_fast = ours(xo, xo, **our_kw)  # the fast path gives the same output
    assert maxerr(y_fast, y_ref) <= TOL
    probe = torch.randn_like(y)
    (y_ref * probe).sum().backward()
    (y_fast * probe).sum().backward()
    assert maxerr(xo.grad, xr.grad) <= TOL
    in_w, out_w = _param_grads_as_torch(ours, 2, 8)
    assert maxerr(in_w, ref.in_proj_weight.grad) <= TOL
    assert maxerr(out_w, ref.out_proj.weight.grad) <= TOL
    assert maxerr(ours.output_bias.grad, ref.out_proj.bias.grad) <= TOL


def test_mha_cross_attention_parity_with_torch_kdim_vdim():
    ref, ours = _torch_and_seqlab(kdim=5, vdim=6)
    q, k, v = torch.randn(2, 4, 8), torch.randn(2, 7, 5), torch.randn(2, 7, 6)
    y_ref = ref(q, k, v, need_weights=False)[0]
    assert maxerr(ours(q, v, k), y_ref) <= TOL


def test_causal_output_at_t_ignores_later_tokens():
    torch.manual_seed(0)
    mha = MultiHeadAttention(2, 4)
    x = torch.randn(2, 8, 8)
    y = mha(x, use_causal_mask=True)
    for t in range(8):
        x2 = x.clone()
        x2[:, t + 1:] = torch.randn_like(x2[:, t + 1:])
        y2 = mha(x2, use_causal_mask=True)
        assert maxerr(y2[:, : t + 1], y[:, : t + 1]) <= TOL
    assert maxerr(mha(x)[:, 0], y[:, 0]) > 1e-3  # without the mask, it does change


def test_kv_cache_incremental_equals_full():
    torch.manual_seed(0)
    mha = MultiHeadAttention(2, 4)
    x = torch.randn(2, 7, 8)
    full = mha(x, use_causal_mask=True)
    cache = {}
    steps = [mha(x[:, :3], use_causal_mask=True, cache=cache)]  # a prompt of 3 steps
    steps += [mha(x[:, t: t + 1], use_causal_mask=True, cache=cache) for t in range(3, 7)]
    assert cache["key"].shape == (2, 2, 7, 4)
    assert maxerr(torch.cat(steps, 1), full) <= TOL
    # a padding mask attached to the new step (as Embedding(mask_zero) leaves) is not
    # mistaken for the mask of all the cached keys
    step = attach_mask(x[:, 6:7].clone(), torch.ones(2, 1, dtype=torch.bool))
    cache = {"key": cache["key"][:, :, :6], "value": cache["value"][:, :, :6]}
    assert maxerr(mha(step, use_causal_mask=True, cache=cache), full[:, 6:]) <= TOL
    memory = torch.randn(2, 5, 8)  # cross-attention: keys/values computed once
    static = {"static": True}
    first = mha(x[:, :1], memory, cache=static)
    k_id = id(static["key"])
    second = mha(x[:, 1:2], memory, cache=static)
    assert id(static["key"]) == k_id
    assert maxerr(torch.cat([first, second], 1), mha(x[:, :2], memory)) <= TOL


def test_mha_padding_mask_attached_by_embedding_and_torch_sequential():
    from seqlab.layers import Embedding
    emb = Embedding(10, 8, mask_zero=True)
    ids = torch.tensor([[3, 4, 0, 0], [5, 6, 7, 1]])
    mha = MultiHeadAttention(2, 4)
    x = emb(ids)
    _, scores = mha(x, return_attention_scores=True)
    assert scores[0, :, :2, 2:].abs().max() == 0  # padded keys get no weight
    assert torch.allclose(scores[0, :, :2].sum(-1), torch.ones(2, 2))
    model = nn.Sequential(nn.Linear(3, 8), MultiHeadAttention(2, 4), PositionalEncoding())
    assert model(torch.randn(2, 5, 3)).shape == (2, 5, 8)


def test_mha_errors_name_the_layer_and_the_fix():
    with pytest.raises(ValueError, match="num_heads must be a positive integer, got 0"):
        MultiHeadAttention(0, 4)
    with pytest.raises(ValueError, match="query must be a \\(B, T, D\\) tensor, got \\(2, 8\\)"):
        MultiHeadAttention(2, 4)(torch.randn(2, 8))
    with pytest.raises(ValueError, match="dropout must be a float in"):
        MultiHeadAttention(2, 4, dropout=1.5)


def test_mha_config_round_trip():
    mha = MultiHeadAttention(3, 5, value_dim=2, dropout=0.1, name="att")
    again = MultiHeadAttention.from_config(mha.get_config())
    assert (again.num_heads, again.key_dim, again.value_dim, again.dropout) == (3, 5, 2, 0.1)


# ---------------------------------------------------------------- positional encoding
def test_positional_encoding_golden_values_course_formula():
    d = 6
    pe = PositionalEncoding()
    out = pe(torch.zeros(1, 50, d))[0]
    for pos in (0, 1, 7, 49):
        for i in range(d // 2):
            angle = pos / 10000 ** (2 * i / d)
            assert out[pos, 2 * i].item() == pytest.approx(math.sin(angle), abs=1e-6)
            assert out[pos, 2 * i + 1].item() == pytest.approx(math.cos(angle), abs=1e-6)
    x = torch.randn(2, 5, 7)  # odd d_model; added to the input
    table = PositionalEncoding.sinusoids(5, 7).float()
    assert maxerr(PositionalEncoding()(x), x + table) <= 1e-6
    assert PositionalEncoding().count_params() == 0


def test_positional_encoding_offset_extension_and_learned():
    pe = PositionalEncoding(max_length=4)
    x = torch.zeros(1, 10, 4)
    full = pe(x)  # beyond max_length: the sinusoids are extended
    assert maxerr(pe(x[:, :1], offset=6), full[:, 6:7]) <= 1e-6
    learned = PositionalEncoding(max_length=8, learned=True)
    y = learned(torch.zeros(2, 3, 4))
    assert learned.count_params() == 8 * 4 and [w.shape for w in learned.get_weights()] == [(8, 4)]
    assert maxerr(y[0], learned.position_embeddings[:3]) == 0
    with pytest.raises(ValueError, match="max_length=8"):
        learned(torch.zeros(1, 9, 4))
    y.sum().backward()
    assert learned.position_embeddings.grad is not None
