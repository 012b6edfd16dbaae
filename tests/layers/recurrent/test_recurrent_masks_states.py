"""Recurrent layers over padded batches (masks), stateful calls, and the one-step API."""
import numpy as np
import pytest
import torch

from seqlab.layers import Dense, Embedding
from seqlab.layers.recurrent import GRU, LSTM, Bidirectional, SimpleRNN

TOL = 1e-5
SEQS = [[5, 2, 7, 1, 3, 9], [4, 8, 2], [6], [3, 3, 1, 7]]


def pad(seqs, padding):
    T = max(map(len, seqs))
    rows = [([0] * (T - len(s)) + s) if padding == "pre" else (s + [0] * (T - len(s)))
            for s in seqs]
    return torch.tensor(rows)


LAYERS = {
    "LSTM": lambda **k: LSTM(5, **k),
    "GRU": lambda **k: GRU(5, **k),
    "GRU_reset_after": lambda **k: GRU(5, reset_after=True, **k),
    "SimpleRNN": lambda **k: SimpleRNN(5, **k),
    "Bi_LSTM": lambda **k: Bidirectional(LSTM(5, **k)),
    "Bi_GRU": lambda **k: Bidirectional(GRU(5, reset_after=True, **k)),
}


@pytest.mark.parametrize("name", list(LAYERS))
@pytest.mark.parametrize("padding", ["pre", "post"])
@pytest.mark.parametrize("use_fused", ["auto", False])
def test_padded_batch_gives_each_sequence_its_unpadded_final_state(name, padding, use_fused):
    torch.manual_seed(0)
    emb = Embedding(10, 4, mask_zero=True)
    layer = LAYERS[name](return_state=True, use_fused=use_fused)
    x = pad(SEQS, padding)
    out = layer(emb(x))                                        # mask rides on emb's output
    paths = layer.last_path if isinstance(layer, Bidirectional) else (layer.last_path,)
    assert set(paths) == {"fused" if use_fused == "auto" and name != "GRU" else "explicit"}
    for i, seq in enumerate(SEQS):
        alone = layer(emb(torch.tensor([seq])))
        for batched, single in zip(out, alone):
            assert (batched[i] - single[0]).abs().max().item() <= TOL, (i, seq)


@pytest.mark.parametrize("name", ["LSTM", "GRU_reset_after", "SimpleRNN"])
@pytest.mark.parametrize("padding", ["pre", "post"])
def test_steps_padded_in_every_row_change_nothing(name, padding):
    """Padding longer than every row (the fused path runs only the longest row's steps):
    outputs, states and gradients equal the step-by-step loop over all T."""
    x = pad(SEQS, padding)
    x = torch.cat([torch.zeros(4, 3, dtype=x.dtype), x] if padding == "pre"
                  else [x, torch.zeros(4, 3, dtype=x.dtype)], dim=1)   # (4, T + 3)
    got = []
    for use_fused in ("auto", False):
        torch.manual_seed(0)
        emb = Embedding(10, 4, mask_zero=True)
        layer = LAYERS[name](return_sequences=True, return_state=True, use_fused=use_fused)
        out = layer(emb(x))
        assert layer.last_path == ("fused" if use_fused == "auto" else "explicit")
        sum(o.square().sum() for o in out).backward()
        got.append([o.detach() for o in out] + [p.grad for p in layer.parameters()])
    for a, b in zip(*got):
        torch.testing.assert_close(a, b, rtol=TOL, atol=TOL)


@pytest.mark.parametrize("use_fused", ["auto", False])
def test_masked_step_outputs_follow_keras(use_fused):
    """RNN: a masked step repeats the previous output (zeros before the first real step);
    Bidirectional(return_sequences): masked steps output zeros."""
    torch.manual_seed(0)
    x = torch.randn(2, 5, 3)
    mask = torch.tensor([[0, 1, 1, 0, 1], [1, 1, 0, 0, 0]]).bool()
    lstm = LSTM(4, return_sequences=True, use_fused=use_fused)
    y = lstm(x, mask=mask)
    assert torch.all(y[0, 0] == 0)
    assert torch.equal(y[0, 3], y[0, 2])
    assert torch.equal(y[1, 2], y[1, 1]) and torch.equal(y[1, 4], y[1, 1])
    assert not torch.equal(y[0, 4], y[0, 2])
    bi = Bidirectional(LSTM(4, return_sequences=True, use_fused=use_fused))
    yb = bi(x, mask=mask)
    assert torch.all(yb[~mask] == 0)
    assert torch.all(yb[mask].abs().sum(-1) > 0)


@pytest.mark.parametrize("name", ["LSTM", "GRU", "GRU_reset_after", "SimpleRNN"])
def test_stateful_two_chunks_equal_whole(name):
    torch.manual_seed(0)
    x = torch.randn(3, 7, 2)
    whole = LAYERS[name](return_sequences=True, return_state=True)
    stateful = LAYERS[name](return_sequences=True, return_state=True, stateful=True)
    y_whole = whole(x)
    stateful(x[:, :1])
    stateful.set_weights(whole.get_weights())
    stateful.reset_states()
    first = stateful(x[:, :4])
    second = stateful(x[:, 4:])
    assert (torch.cat([first[0], second[0]], 1) - y_whole[0]).abs().max() <= TOL
    for s_chunked, s_whole in zip(second[1:], y_whole[1:]):
        assert (s_chunked - s_whole).abs().max() <= TOL
    assert all(not s.requires_grad for s in stateful.states)
    stateful.reset_states()                                    # forget: same as a fresh start
    again = stateful(x[:, :4])
    assert (again[0] - first[0]).abs().max() <= TOL
    with pytest.raises(ValueError, match="reset_states"):
        stateful(x[:2, :4])


def test_training_through_a_stateful_layer():
    torch.manual_seed(0)
    lstm = LSTM(8, stateful=True, return_sequences=True)
    head = Dense(1)
    x = torch.randn(4, 12, 2)
    target = x.cumsum(1)[..., :1] * 0.1                       # depends on the past
    lstm(x[:, :1])
    head(torch.zeros(1, 8))
    params = list(lstm.parameters()) + list(head.parameters())
    before = [p.detach().clone() for p in params]
    opt = torch.optim.Adam(params, lr=0.02)
    losses = []
    for epoch in range(15):
        lstm.reset_states()
        for chunk in range(3):                                 # state carried across chunks
            sl = slice(4 * chunk, 4 * chunk + 4)
            loss = torch.nn.functional.mse_loss(head(lstm(x[:, sl])), target[:, sl])
            opt.zero_grad()
            loss.backward()                                    # no in-place / graph errors
            opt.step()
            losses.append(loss.item())
    assert any((p - b).abs().max() > 0 for p, b in zip(params, before))
    assert np.mean(losses[-3:]) < 0.5 * np.mean(losses[:3])


@pytest.mark.parametrize("name", ["LSTM", "GRU", "GRU_reset_after", "SimpleRNN"])
def test_step_equals_layer_over_sequence(name):
    torch.manual_seed(0)
    x = torch.randn(2, 6, 3)
    layer = LAYERS[name](return_sequences=True, return_state=True)
    y, *final = layer(x)
    state = None
    for t in range(6):
        y_t, state = layer.step(x[:, t], state)
        assert (y_t - y[:, t]).abs().max() <= TOL
    for a, b in zip(state, final):
        assert (a - b).abs().max() <= TOL
    y3, _ = layer.step(x[:, :1])                               # (B, 1, D) -> (B, 1, H)
    assert tuple(y3.shape) == (2, 1, 5)
    assert len(layer.get_initial_state(7)) == (2 if name == "LSTM" else 1)
    assert tuple(layer.get_initial_state(7)[0].shape) == (7, 5)


def test_stateful_step_carries_its_state():
    torch.manual_seed(0)
    x = torch.randn(1, 4, 3)
    layer = GRU(5, stateful=True, return_sequences=True)
    y = layer(x)
    layer.reset_states()
    ys = [layer.step(x[:, t])[0] for t in range(4)]
    assert (torch.stack(ys, 1) - y).abs().max() <= TOL
    with pytest.raises(NotImplementedError, match="backward"):
        Bidirectional(GRU(3)).step(x[:, 0])


def test_initial_state_and_its_errors():
    torch.manual_seed(0)
    x = torch.randn(2, 3, 4)
    lstm = LSTM(5)
    h0, c0 = torch.randn(2, 5), torch.randn(2, 5)
    assert not torch.allclose(lstm(x, initial_state=[h0, c0]), lstm(x))
    with pytest.raises(ValueError, match=r"initial_state.*\(2, 5\)"):
        lstm(x, initial_state=[h0])


def test_dropout_only_in_training():
    torch.manual_seed(0)
    x = torch.randn(4, 5, 6)
    for layer in (LSTM(5, dropout=0.5), GRU(5, recurrent_dropout=0.5)):
        layer.eval()
        assert torch.equal(layer(x), layer(x))
        layer.train()
        y = layer(x)
        assert not torch.allclose(y, layer(x))
        y.sum().backward()
        assert all(p.grad is not None for p in layer.parameters())


@pytest.mark.parametrize("name", ["LSTM", "GRU", "GRU_reset_after", "SimpleRNN"])
def test_step_uses_the_fused_cell_kernel_when_possible(name):
    layer = LAYERS[name]()
    layer(torch.zeros(1, 2, 3))
    rng = np.random.default_rng(0)
    layer.set_weights([rng.normal(0, 0.5, w.shape) for w in layer.get_weights()])
    layer.step(torch.zeros(1, 3))
    assert layer.last_path == ("explicit" if name == "GRU" else "fused")
    explicit = LAYERS[name](use_fused=False)
    explicit(torch.zeros(1, 2, 3))
    explicit.set_weights(layer.get_weights())
    x, state_a, state_b = torch.randn(2, 3), None, None
    for _ in range(3):
        y_a, state_a = layer.step(x, state_a)
        y_b, state_b = explicit.step(x, state_b)
        assert (y_a - y_b).abs().max() <= TOL
    assert explicit.last_path == "explicit"
