"""Truncated BPTT: k = stream length is full BPTT; k < length cuts gradients at windows."""
import numpy as np
import pytest
import torch

import seqlab
from seqlab.layers import LSTM, Dense, SimpleRNN
from seqlab.models.truncated_bptt import truncated_bptt


def _model(cell=LSTM):
    torch.manual_seed(0)
    model = seqlab.Sequential([cell(6, return_sequences=True), Dense(2)])
    model.build((None, None, 3))
    return model.double()


def _grads(model):
    return {n: p.grad.clone() for n, p in model.named_parameters()}


def mse(out, y):
    return ((out - y) ** 2).mean()


@pytest.mark.parametrize("cell", [LSTM, SimpleRNN])
def test_k_equal_to_the_length_gives_full_bptt_gradients(cell):
    x = torch.randn(2, 12, 3, dtype=torch.float64)
    y = torch.randn(2, 12, 2, dtype=torch.float64)
    model = _model(cell)
    mse(model(x), y).backward()
    full = _grads(model)
    model.zero_grad()
    truncated_bptt(model, x, y, k1=12, loss=mse)
    for name, g in _grads(model).items():
        torch.testing.assert_close(g, full[name], rtol=1e-10, atol=1e-12)


def test_k1_equal_k2_equals_chunks_with_detached_state():
    x = torch.randn(2, 12, 3, dtype=torch.float64)
    y = torch.randn(2, 12, 2, dtype=torch.float64)
    model = _model()
    truncated_bptt(model, x, y, k1=4, loss=mse)
    got = _grads(model)
    # Reference by hand: three chunks of 4, state carried but detached.
    model.zero_grad()
    layer, dense = model.layers
    state = None
    for start in (0, 4, 8):
        out = layer(x[:, start:start + 4], initial_state=state, )
        seq = out
        loss = mse(dense(seq), y[:, start:start + 4]) * 4 / 12
        loss.backward()
        with torch.no_grad():
            state = _final_state(layer, x[:, :start + 4])
    for name, g in _grads(model).items():
        torch.testing.assert_close(got[name], g, rtol=1e-10, atol=1e-12)


def _final_state(layer, x):
    saved = layer.return_state
    layer.return_state = True
    out = layer(x)
    layer.return_state = saved
    return [s.detach() for s in out[1:]]


def test_k2_longer_than_k1_backpropagates_further_than_k1():
    x = torch.randn(1, 16, 3, dtype=torch.float64)
    y = torch.randn(1, 16, 2, dtype=torch.float64)
    norms = {}
    for k2 in (4, 8):
        model = _model(SimpleRNN)
        truncated_bptt(model, x, y, k1=4, k2=k2, loss=mse)
        norms[k2] = _grads(model)
    # Same losses, different gradient paths: the recurrent kernel's gradient differs.
    key = "layers.0.cell.recurrent_kernel" if "layers.0.cell.recurrent_kernel" in norms[4] \
        else next(k for k in norms[4] if "recurrent" in k)
    assert not torch.allclose(norms[4][key], norms[8][key])


def test_training_a_long_stream_with_an_optimizer_reduces_the_loss():
    torch.manual_seed(0)
    t = np.arange(2000)
    stream = np.sin(t * 2 * np.pi / 25)[None, :, None].astype("float32")  # (1, T, 1)
    x, y = stream[:, :-1], stream[:, 1:]
    model = seqlab.Sequential([SimpleRNN(16, return_sequences=True), Dense(1)])
    model.build((None, None, 1))
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    first = truncated_bptt(model, x, y, k1=50, optimizer=opt, loss=mse)
    for _ in range(3):
        last = truncated_bptt(model, x, y, k1=50, optimizer=opt, loss=mse)
    assert np.mean(last) < 0.1 * np.mean(first[:5])
    assert model.layers[0].stateful is False          # restored afterwards


def test_bad_k_and_backward_layers_are_refused():
    model = _model()
    x = torch.randn(1, 8, 3, dtype=torch.float64)
    with pytest.raises(ValueError, match="1 <= k1 <= k2"):
        truncated_bptt(model, x, x[..., :2], k1=4, k2=2)
    back = seqlab.Sequential([SimpleRNN(3, return_sequences=True, go_backwards=True)])
    back.build((None, None, 3))
    with pytest.raises(ValueError, match="forwards"):
        truncated_bptt(back, x.float(), x[..., :3].float(), k1=4)


@pytest.mark.parametrize("k1,k2", [(4, 4), (4, 6), (3, 7), (5, 5)])
def test_windows_count_every_output_once_when_k1_does_not_divide_the_length(k1, k2):
    from seqlab.models.truncated_bptt import StreamWindows
    x = torch.arange(10.0).reshape(1, 10, 1)
    windows = list(StreamWindows(x, x, k1, k2).batches())
    targets = torch.cat([w.y for w in windows], dim=1)
    assert torch.equal(targets, x)                    # steps 0..9, each once, in order
    for w in windows:
        assert w.x.shape[1] <= k2 and w.y.shape[1] <= k1
        assert torch.equal(w.x[:, -w.y.shape[1]:], w.y)   # the loss is on the window's end
        if k1 == k2:
            assert w.carry and w.warm.shape[1] == 0
    if k1 == k2:                                      # carried: the windows tile the stream
        assert torch.equal(torch.cat([w.x for w in windows], dim=1), x)


def test_k2_longer_than_k1_equals_windows_from_the_state_reached_without_gradient():
    x = torch.randn(2, 10, 3, dtype=torch.float64)
    y = torch.randn(2, 10, 2, dtype=torch.float64)
    model = _model(SimpleRNN)
    truncated_bptt(model, x, y, k1=3, k2=5, loss=mse)
    got = _grads(model)
    model.zero_grad()
    layer, dense = model.layers
    prev = 0
    for t in (3, 6, 9, 10):                           # window x[t-5:t], loss on x[prev:t]
        first = max(0, t - 5)
        state = None
        if first:
            with torch.no_grad():
                state = _final_state(layer, x[:, :first])
        out = dense(layer(x[:, first:t], initial_state=state))
        n = t - prev
        (mse(out[:, -n:], y[:, prev:t]) * n / 10).backward()
        prev = t
    for name, g in _grads(model).items():
        torch.testing.assert_close(got[name], g, rtol=1e-10, atol=1e-12)


def test_an_optimizer_that_needs_a_closure_is_refused():
    model = _model()
    x = torch.randn(1, 8, 3, dtype=torch.float64)
    with pytest.raises(ValueError, match="several times a step"):
        truncated_bptt(model, x, x[..., :2], k1=4, optimizer=torch.optim.LBFGS(model.parameters()))
