"""Transformer layers: parity with torch.nn.TransformerEncoderLayer/DecoderLayer and the
stacks (forward and gradients, both norm placements), positional encoding vs permutation
equivariance, causal masking, KV-cache decoding, attention inspection, parameter counts,
Sequential use."""
import pytest
import torch
from torch import nn

from seqlab.layers import Dense, Embedding
from seqlab.layers.attention import PositionalEncoding
from seqlab.layers.transformer import (Transformer, TransformerDecoder, TransformerDecoderLayer,
                                       TransformerEncoder, TransformerEncoderLayer)

TOL = 1e-5
D, NH, FF = 8, 2, 16


def maxerr(a, b):
    return (a - b).abs().max().item()


def _perturbed(module):
    """Non-trivial LayerNorm weights and biases, so every weight is really compared."""
    torch.manual_seed(3)
    with torch.no_grad():
        for name, p in module.named_parameters():
            if "norm" in name or "bias" in name:
                p.add_(0.2 * torch.randn_like(p))
    return module


def _compare_grads(ours, ref, pairs):
    for our_name, ref_name, convert in pairs:
        g_ours = dict(ours.named_parameters())[our_name].grad
        g_ref = convert(dict(ref.named_parameters())[ref_name].grad)
        assert maxerr(g_ours, g_ref) <= TOL, our_name


@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("padded", [False, True])
def test_encoder_layer_parity_with_torch(norm_first, padded):
    torch.manual_seed(0)
    ref = _perturbed(nn.TransformerEncoderLayer(D, NH, FF, dropout=0.0, batch_first=True,
                                                norm_first=norm_first))
    ours = TransformerEncoderLayer(NH, FF, dropout=0.0, norm_first=norm_first)
    ours.load_torch_weights(ref)
    x = torch.randn(3, 6, D)
    pad = torch.ones(3, 6, dtype=torch.bool)
    if padded:
        pad[0, 4:] = False
        pad[1, 2:] = False
    xr, xo = x.clone().requires_grad_(True), x.clone().requires_grad_(True)
    yr = ref(xr, src_key_padding_mask=~pad if padded else None)
    yo = ours(xo, mask=pad if padded else None)
    real = pad[..., None].float()  # padded positions are free to differ
    assert maxerr(yr * real, yo * real) <= TOL
    probe = torch.randn_like(yr) * real
    (yr * probe).sum().backward()
    (yo * probe).sum().backward()
    assert maxerr(xr.grad, xo.grad) <= TOL
    _compare_grads(ours, ref, [
        ("ff_inner.kernel", "linear1.weight", lambda g: g.t()),
        ("ff_outer.bias", "linear2.bias", lambda g: g),
        ("norm1.gamma", "norm1.weight", lambda g: g),
        ("self_attention.query_kernel", "self_attn.in_proj_weight",
         lambda g: g[:D].t().reshape(D, NH, D // NH)),
        ("self_attention.output_kernel", "self_attn.out_proj.weight",
         lambda g: g.t().reshape(NH, D // NH, D))])


@pytest.mark.parametrize("norm_first", [False, True])
def test_decoder_layer_parity_with_torch(norm_first):
    torch.manual_seed(0)
    ref = _perturbed(nn.TransformerDecoderLayer(D, NH, FF, dropout=0.0, batch_first=True,
                                                norm_first=norm_first))
    ours = TransformerDecoderLayer(NH, FF, dropout=0.0, norm_first=norm_first)
    ours.load_torch_weights(ref)
    x, memory = torch.randn(3, 5, D), torch.randn(3, 7, D)
    memory_pad = torch.ones(3, 7, dtype=torch.bool)
    memory_pad[0, 3:] = False
    tensors = [t.clone().requires_grad_(True) for t in (x, memory, x, memory)]
    causal = nn.Transformer.generate_square_subsequent_mask(5)
    yr = ref(tensors[0], tensors[1], tgt_mask=causal, tgt_is_causal=True,
             memory_key_padding_mask=~memory_pad)
    yo = ours(tensors[2], tensors[3], memory_mask=memory_pad)  # causal by default
    assert maxerr(yr, yo) <= TOL
    probe = torch.randn_like(yr)
    (yr * probe).sum().backward()
    (yo * probe).sum().backward()
    assert maxerr(tensors[0].grad, tensors[2].grad) <= TOL
    assert maxerr(tensors[1].grad, tensors[3].grad) <= TOL
    _compare_grads(ours, ref, [
        ("cross_attention.key_kernel", "multihead_attn.in_proj_weight",
         lambda g: g[D:2 * D].t().reshape(D, NH, D // NH)),
        ("norm3.beta", "norm3.bias", lambda g: g),
        ("ff_outer.kernel", "linear2.weight", lambda g: g.t())])


@pytest.mark.filterwarnings("ignore:enable_nested_tensor")
@pytest.mark.parametrize("norm_first", [False, True])
def test_stacks_and_encoder_decoder_parity_with_torch_transformer(norm_first):
    torch.manual_seed(0)
    ref = _perturbed(nn.Transformer(D, NH, 2, 2, FF, dropout=0.0, batch_first=True,
                                    norm_first=norm_first))
    ours = Transformer(2, 2, num_heads=NH, ff_dim=FF, dropout=0.0, norm_first=norm_first,
                       final_norm=True)  # torch's Transformer always ends with a norm
    ours.encoder.load_torch_weights(ref.encoder)
    ours.decoder.load_torch_weights(ref.decoder)
    src, tgt = torch.randn(2, 6, D), torch.randn(2, 4, D)
    causal = nn.Transformer.generate_square_subsequent_mask(4)
    yr = ref(src, tgt, tgt_mask=causal, tgt_is_causal=True)
    assert maxerr(ours(src, tgt), yr) <= TOL
    with pytest.raises(ValueError, match="cannot load a torch stack of 2 layers"):
        TransformerEncoder(3, NH, FF).load_torch_weights(ref.encoder)


def test_gradcheck_float64_encoder_layer_explicit_path():
    torch.manual_seed(0)
    layer = TransformerEncoderLayer(2, 6, dropout=0.0, use_fast_path=False)
    x = torch.randn(2, 3, 4, dtype=torch.float64, requires_grad=True)
    layer(x)  # builds in float64
    assert torch.autograd.gradcheck(layer, (x,))


def test_positional_encoding_breaks_permutation_equivariance():
    torch.manual_seed(0)
    enc = TransformerEncoder(2, NH, FF, dropout=0.0)
    pe = PositionalEncoding()
    x = torch.randn(2, 7, D)
    perm = torch.tensor([3, 0, 6, 1, 5, 2, 4])
    # without positions, self-attention sees a set: permuting the input permutes the output
    assert maxerr(enc(x[:, perm]), enc(x)[:, perm]) <= TOL
    # with positions, order matters
    assert maxerr(enc(pe(x[:, perm])), enc(pe(x))[:, perm]) > 1e-2


def test_causal_decoder_output_at_t_ignores_later_tokens():
    torch.manual_seed(0)
    dec = TransformerDecoder(2, NH, FF, dropout=0.0)
    x, memory = torch.randn(2, 6, D), torch.randn(2, 4, D)
    y = dec(x, memory)
    for t in range(6):
        x2 = x.clone()
        x2[:, t + 1:] += torch.randn_like(x2[:, t + 1:])
        assert maxerr(dec(x2, memory)[:, : t + 1], y[:, : t + 1]) <= TOL
    assert maxerr(dec(x, memory, use_causal_mask=False)[:, 0], y[:, 0]) > 1e-3


@pytest.mark.parametrize("cross", [True, False])
def test_kv_cache_incremental_decoding_equals_full_recomputation(cross):
    torch.manual_seed(0)
    dec = TransformerDecoder(2, NH, FF, dropout=0.0, norm_first=True, cross_attention=cross)
    memory = torch.randn(2, 5, D) if cross else None
    x = torch.randn(2, 6, D)
    full = dec(x, memory)
    cache = dec.init_cache()
    outs = [dec(x[:, :2], memory, cache=cache)]  # a 2-step prompt, then one step at a time
    for t in range(2, 6):
        assert dec.cache_length(cache) == t
        outs.append(dec(x[:, t: t + 1], memory, cache=cache))
    assert maxerr(torch.cat(outs, 1), full) <= TOL


def test_kv_cache_greedy_generation_gives_the_same_tokens():
    torch.manual_seed(0)
    V = 11
    emb, pe, out = Embedding(V, D), PositionalEncoding(), Dense(V)
    dec = TransformerDecoder(2, NH, FF, dropout=0.0, cross_attention=False)
    with torch.no_grad():
        full_tokens = torch.tensor([[1], [2]])
        for _ in range(8):  # full recomputation of the whole prefix at every step
            logits = out(dec(pe(emb(full_tokens))))
            full_tokens = torch.cat([full_tokens, logits[:, -1:].argmax(-1)], 1)
        cache, tokens = dec.init_cache(), torch.tensor([[1], [2]])
        step_in = tokens
        for _ in range(8):  # only the new token, with the cache
            h = dec(pe(emb(step_in), offset=dec.cache_length(cache)), cache=cache)
            step_in = out(h)[:, -1:].argmax(-1)
            tokens = torch.cat([tokens, step_in], 1)
    assert torch.equal(tokens, full_tokens)
    assert len(set(tokens[0].tolist())) > 1  # it did generate something


def test_attention_weights_of_every_layer_and_head_are_retrievable():
    torch.manual_seed(0)
    enc = TransformerEncoder(3, NH, FF, dropout=0.0)
    x = torch.randn(2, 5, D)
    y, scores = enc(x, return_attention_scores=True)
    assert len(scores) == 3 and all(s.shape == (2, NH, 5, 5) for s in scores)
    assert torch.allclose(scores[1].sum(-1), torch.ones(2, NH, 5))
    enc.need_weights = True
    y2 = enc(x)  # the fast path is not used when weights are kept
    assert maxerr(y, y2) <= TOL
    assert all(maxerr(a, b) == 0 for a, b in zip(enc.last_attention, scores))
    dec = TransformerDecoderLayer(NH, FF, dropout=0.0)
    _, s = dec(torch.randn(2, 3, D), torch.randn(2, 4, D), return_attention_scores=True)
    assert s["self"].shape == (2, NH, 3, 3) and s["cross"].shape == (2, NH, 3, 4)
    assert s["self"][0, 0].triu(1).abs().max() == 0  # causal: no weight on the future


def test_parameter_counts_textbook_formula_and_torch():
    layer = TransformerEncoderLayer(NH, FF)
    layer(torch.randn(1, 2, D))
    attention = 4 * (D * D + D)  # W^Q, W^K, W^V, W^O with biases
    feed_forward = (D * FF + FF) + (FF * D + D)
    norms = 2 * 2 * D
    assert layer.count_params() == attention + feed_forward + norms
    ref = nn.TransformerEncoderLayer(D, NH, FF, batch_first=True)
    assert layer.count_params() == sum(p.numel() for p in ref.parameters())
    # keras_hub's TransformerEncoder order: attention (8), its norm, the FF's norm, W_1, W_2
    shapes = [w.shape for w in layer.get_weights()]
    assert shapes[:8] == [(D, NH, D // NH), (NH, D // NH)] * 3 + [(NH, D // NH, D), (D,)]
    assert shapes[8:] == [(D,)] * 4 + [(D, FF), (FF,), (FF, D), (D,)]
    dec = TransformerDecoderLayer(NH, FF)
    dec(torch.randn(1, 2, D), torch.randn(1, 3, D))
    assert dec.count_params() == 2 * attention + feed_forward + 3 * 2 * D


def test_padding_mask_from_embedding_and_sequential_use():
    from seqlab.layers import GlobalAveragePooling1D
    from seqlab.models.sequential import Sequential
    torch.manual_seed(0)
    model = Sequential([Embedding(20, D, mask_zero=True, input_length=6), PositionalEncoding(),
                        TransformerEncoder(2, NH, FF, dropout=0.0),
                        TransformerDecoderLayer(NH, FF, cross_attention=False),
                        GlobalAveragePooling1D(), Dense(3)])
    assert model.output_shape == (None, 3)
    enc = model.layers[2]
    assert enc.count_params() == 2 * (4 * (D * D + D) + 2 * D * FF + FF + D + 4 * D)
    ids = torch.tensor([[3, 4, 5, 0, 0, 0], [3, 4, 5, 6, 7, 8]])
    assert model(ids).shape == (2, 3)
    # padding: a real token's output ignores whatever sits in padded positions
    x = Embedding(20, D, mask_zero=True)(ids)
    mask = ids != 0
    y = enc(x, mask=mask)
    x2 = x.clone()
    x2[0, 3:] = 5.0
    assert maxerr(enc(x2, mask=mask)[0, :3], y[0, :3]) <= TOL
    assert maxerr(enc(x2)[0, :3], y[0, :3]) > 1e-3


def test_errors_and_config():
    with pytest.raises(ValueError, match="d_model=8 is not divisible by num_heads=3"):
        TransformerEncoderLayer(3, FF)(torch.randn(1, 2, 8))
    with pytest.raises(ValueError, match="needs memory=encoder_output"):
        TransformerDecoderLayer(NH, FF)(torch.randn(1, 2, 8))
    with pytest.raises(ValueError, match="built with cross_attention=False"):
        TransformerDecoderLayer(NH, FF, cross_attention=False)(torch.randn(1, 2, 8),
                                                               torch.randn(1, 3, 8))
    with pytest.raises(ValueError, match="ff_dim must be a positive integer"):
        TransformerEncoderLayer(NH, 0)
    enc = TransformerEncoder(2, NH, FF, norm_first=True, name="enc")
    again = TransformerEncoder.from_config(enc.get_config())
    assert len(again.layers) == 2 and again.final_norm is not None
    dec = TransformerDecoder.from_config(TransformerDecoder(
        1, NH, FF, cross_attention=False, attention_dropout=0.0).get_config())
    assert dec.layers[0].has_cross_attention is False
    dec(torch.randn(1, 2, D))
    assert dec.layers[0].self_attention.dropout == 0.0 and dec.layers[0].dropout == 0.1
    model = Transformer.from_config(Transformer(1, 2, num_heads=NH, ff_dim=FF).get_config())
    assert len(model.encoder.layers) == 1 and len(model.decoder.layers) == 2


def _order_data(n, generator, T=8):
    """Tokens 3..9 with one 1 and one 2 at random places; label: does the 1 come first?"""
    x = torch.randint(3, 10, (n, T), generator=generator)
    pos = torch.stack([torch.randperm(T, generator=generator)[:2] for _ in range(n)])
    x[torch.arange(n), pos[:, 0]] = 1
    x[torch.arange(n), pos[:, 1]] = 2
    return x, (pos[:, 0] < pos[:, 1]).long()


@pytest.mark.parametrize("use_positions", [True, False])
def test_learns_word_order_only_with_positional_encoding(use_positions):
    """A 1-layer encoder + mean pooling learns "is 1 before 2?" (100% on held-out data)
    only when positions are encoded; without them it is a set function: chance."""
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(0)
    emb, pe = Embedding(10, 16), PositionalEncoding()
    enc, head = TransformerEncoder(1, 2, 32, dropout=0.0), Dense(2)

    def model(x):
        h = pe(emb(x)) if use_positions else emb(x)
        return head(enc(h).mean(1))

    model(torch.zeros(1, 8, dtype=torch.long))
    params = [p for m in (emb, enc, head) for p in m.parameters()]
    opt = torch.optim.Adam(params, lr=1e-2)
    for _ in range(120):
        x, y = _order_data(32, g)
        loss = nn.functional.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    x, y = _order_data(1000, g)
    with torch.no_grad():
        accuracy = (model(x).argmax(-1) == y).float().mean().item()
    if use_positions:
        assert accuracy >= 0.97
    else:
        assert 0.4 <= accuracy <= 0.6


def test_every_layer_in_a_saved_and_reloaded_sequential(tmp_path):
    import seqlab
    from seqlab import layers as L
    torch.manual_seed(0)
    model = seqlab.Sequential([
        L.Embedding(50, 16, mask_zero=True, input_length=10),
        L.PositionalEncoding(learned=True, max_length=10), L.MultiHeadAttention(2, 8),
        L.ScaledDotProductAttention(), L.TransformerEncoder(1, 2, 32, norm_first=True),
        L.TransformerDecoderLayer(2, 32, cross_attention=False), L.LayerNormalization(),
        L.BatchNormalization(), L.GlobalAveragePooling1D(), L.Dense(3)])
    assert model.output_shape == (None, 3)  # shapes known before any data
    x = torch.randint(0, 50, (4, 10))
    model(x)  # training mode: the BatchNormalization's moving statistics move
    model.eval()
    y = model(x)
    model.save(tmp_path / "m.seqlab")
    again = seqlab.load_model(tmp_path / "m.seqlab")
    again.eval()
    assert maxerr(again(x), y) <= TOL
    assert again.layers[7].moving_mean.abs().sum() > 0
