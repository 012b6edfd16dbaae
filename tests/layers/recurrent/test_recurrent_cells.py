"""Recurrent cells and layers: golden values from numpy re-implementations of the course's
equations (Keras weight layout), float64 gradcheck of the explicit path, parameter counts,
the fused-path dispatch, Keras weight layout, shapes, and construction errors."""
import math

import numpy as np
import pytest
import torch
from torch.func import functional_call

from seqlab.layers import Dense, Embedding
from seqlab.layers.recurrent import (GRU, LSTM, RNN, Bidirectional, GRUCell, LSTMCell,
                                     SimpleRNN, SimpleRNNCell, fused)


def sigmoid(a):
    return 1 / (1 + np.exp(-a))


# ------------------------------------------------------------------ numpy references
def np_simple_rnn(x, W, U, b):
    h = np.zeros((x.shape[0], U.shape[0]))
    out = []
    for t in range(x.shape[1]):
        h = np.tanh(x[:, t] @ W + h @ U + b)
        out.append(h)
    return np.stack(out, 1), [h]


def np_lstm(x, W, U, b):
    H = U.shape[0]
    h = c = np.zeros((x.shape[0], H))
    out = []
    for t in range(x.shape[1]):
        a = x[:, t] @ W + h @ U + b                       # Keras blocks: i, f, c, o
        i, f = sigmoid(a[:, :H]), sigmoid(a[:, H:2 * H])
        g, o = np.tanh(a[:, 2 * H:3 * H]), sigmoid(a[:, 3 * H:])
        c = f * c + i * g
        h = o * np.tanh(c)
        out.append(h)
    return np.stack(out, 1), [h, c]


def np_gru(x, W, U, b, reset_after):
    H = U.shape[0]
    h = np.zeros((x.shape[0], H))
    b_in, b_rec = (b[0], b[1]) if reset_after else (b, np.zeros(3 * H))
    out = []
    for t in range(x.shape[1]):
        xw = x[:, t] @ W + b_in                           # Keras blocks: z, r, h
        hu = h @ U + b_rec
        z = sigmoid(xw[:, :H] + hu[:, :H])
        r = sigmoid(xw[:, H:2 * H] + hu[:, H:2 * H])
        if reset_after:
            cand = np.tanh(xw[:, 2 * H:] + r * hu[:, 2 * H:])
        else:
            cand = np.tanh(xw[:, 2 * H:] + (r * h) @ U[:, 2 * H:])
        h = z * h + (1 - z) * cand
        out.append(h)
    return np.stack(out, 1), [h]


LAYERS = {
    "SimpleRNN": (lambda **k: SimpleRNN(3, **k), np_simple_rnn),
    "LSTM": (lambda **k: LSTM(3, **k), np_lstm),
    "GRU": (lambda **k: GRU(3, **k), lambda *a: np_gru(*a, reset_after=False)),
    "GRU_reset_after": (lambda **k: GRU(3, reset_after=True, **k),
                        lambda *a: np_gru(*a, reset_after=True)),
}


@pytest.mark.parametrize("name", list(LAYERS))
@pytest.mark.parametrize("use_fused", ["auto", False])
def test_golden_constant_initialisers(name, use_fused):
    make, ref = LAYERS[name]
    layer = make(kernel_initializer=0.1, recurrent_initializer=-0.2, bias_initializer=0.05,
                 return_sequences=True, return_state=True, use_fused=use_fused)
    x = np.linspace(-1, 1, 2 * 4 * 2).reshape(2, 4, 2)
    out = layer(torch.as_tensor(x, dtype=torch.float32))
    W, U, b = [w.astype(np.float64) for w in layer.get_weights()]
    assert np.all(W == np.float32(0.1)) and np.all(U == np.float32(-0.2))
    if name == "LSTM":  # unit_forget_bias (Keras): forget block = ones, the rest from
        # bias_initializer
        assert np.allclose(b, np.r_[[0.05] * 3, [1.0] * 3, [0.05] * 6])
    else:
        assert np.allclose(b, 0.05)
    y_ref, states_ref = ref(x, W, U, b)
    assert np.abs(out[0].detach().numpy() - y_ref).max() <= 1e-6
    for s, s_ref in zip(out[1:], states_ref):
        assert np.abs(s.detach().numpy() - s_ref).max() <= 1e-6


def test_golden_by_hand_simple_rnn():
    """One unit, two steps, the numbers written out: h1 = tanh(.5*1), h2 = tanh(.5*2 - h1)."""
    layer = SimpleRNN(1, kernel_initializer=0.5, recurrent_initializer=-1.0,
                      return_sequences=True)
    y = layer(torch.tensor([[[1.0], [2.0]]]))[0, :, 0].tolist()
    h1 = math.tanh(0.5)
    h2 = math.tanh(1.0 - h1)
    assert y == pytest.approx([h1, h2], abs=1e-6)


@pytest.mark.parametrize("name", list(LAYERS))
def test_keras_gate_layout_with_random_weights(name):
    """Distinct weights per gate block: the Keras gate order i,f,c,o / z,r,h is respected."""
    make, ref = LAYERS[name]
    layer = make(return_sequences=True, return_state=True)
    x = np.random.default_rng(0).normal(size=(2, 4, 2))
    layer(torch.zeros(1, 1, 2))
    rng = np.random.default_rng(1)
    weights = [rng.normal(0, 0.7, w.shape) for w in layer.get_weights()]
    layer.set_weights(weights)
    out = layer(torch.as_tensor(x, dtype=torch.float32))
    y_ref, states_ref = ref(x, *weights)
    assert np.abs(out[0].detach().numpy() - y_ref).max() <= 1e-5
    for s, s_ref in zip(out[1:], states_ref):
        assert np.abs(s.detach().numpy() - s_ref).max() <= 1e-5


# ------------------------------------------------------------------ gradcheck
@pytest.mark.parametrize("name", list(LAYERS))
@pytest.mark.parametrize("masked", [False, True])
def test_gradcheck_explicit_path_float64(name, masked):
    make, _ = LAYERS[name]
    layer = make(return_sequences=True, use_fused=False)
    torch.manual_seed(0)
    x = torch.randn(2, 3, 2, dtype=torch.float64, requires_grad=True)
    layer(x)                                                   # builds in float64
    names = [n for n, _ in layer.named_parameters()]
    params = tuple(p.detach().clone().requires_grad_(True) for p in layer.parameters())
    mask = torch.tensor([[True, False, True], [False, True, True]]) if masked else None

    def f(x, *ps):
        return functional_call(layer, dict(zip(names, ps)), (x,), {"mask": mask})

    assert torch.autograd.gradcheck(f, (x,) + params, eps=1e-6, atol=1e-6)
    assert layer.last_path == "explicit"


# ------------------------------------------------------------------ parameter counts
@pytest.mark.parametrize("D,H", [(64, 128), (3, 5), (10, 1)])
def test_parameter_count_formulas(D, H):
    def count(layer):
        layer(torch.zeros(1, 2, D))
        return layer.count_params()
    assert count(SimpleRNN(H)) == D * H + H * H + H
    assert count(LSTM(H)) == 4 * (D * H + H * H + H)
    assert count(GRU(H)) == 3 * (D * H + H * H + H)
    assert count(GRU(H, reset_after=True)) == 3 * (D * H + H * H + 2 * H)
    assert count(LSTM(H, use_bias=False)) == 4 * (D * H + H * H)
    assert count(Bidirectional(LSTM(H))) == 2 * 4 * (D * H + H * H + H)


def test_course_counts():
    """The numbers printed in seed 001's summaries."""
    def model_total(rnn):
        emb, dense = Embedding(1000, 64), Dense(10, activation="softmax")
        y = rnn(emb(torch.zeros(1, 3, dtype=torch.long)))
        dense(y)
        return rnn.count_params(), emb.count_params() + rnn.count_params() + dense.count_params()
    assert model_total(SimpleRNN(128)) == (24704, 89994)
    assert model_total(LSTM(128)) == (98816, 164106)
    assert model_total(GRU(128)) == (74112, 139402)


def test_weights_keras_layout_and_bidirectional_order():
    lstm = LSTM(5)
    lstm(torch.zeros(1, 2, 3))
    assert [w.shape for w in lstm.get_weights()] == [(3, 20), (5, 20), (20,)]
    gru = GRU(5, reset_after=True)
    gru(torch.zeros(1, 2, 3))
    assert [w.shape for w in gru.get_weights()] == [(3, 15), (5, 15), (2, 15)]
    bi = Bidirectional(GRU(4))
    bi(torch.zeros(1, 2, 3))
    ws = [np.full(w.shape, i, dtype=np.float32) for i, w in enumerate(bi.get_weights())]
    bi.set_weights(ws)
    assert [w.flat[0] for w in bi.forward_layer.get_weights()] == [0, 1, 2]
    assert [w.flat[0] for w in bi.backward_layer.get_weights()] == [3, 4, 5]
    assert bi.backward_layer.go_backwards and not bi.forward_layer.go_backwards


@pytest.mark.parametrize("make,k", [(lambda: SimpleRNN(16), 1), (lambda: LSTM(16), 4),
                                     (lambda: GRU(16), 3),
                                     (lambda: GRU(16, reset_after=True), 3)])
def test_default_recurrent_kernel_has_orthonormal_rows_as_keras(make, k):
    """Keras draws the whole (H, kH) recurrent kernel with one orthogonal call: its rows
    are orthonormal, so K K^T = I (k orthogonal (H, H) blocks would give k I, a recurrent
    product sqrt(k) times larger at the start of training)."""
    torch.manual_seed(0)
    layer = make()
    layer(torch.zeros(1, 2, 3))
    K = layer.cell.recurrent_kernel.detach().double()                  # (H, kH)
    assert K.shape == (16, 16 * k)
    torch.testing.assert_close(K @ K.T, torch.eye(16, dtype=torch.float64),
                               atol=1e-5, rtol=0)


# ------------------------------------------------------------------ fused dispatch
def test_fused_path_runs_when_it_should(monkeypatch):
    calls = []
    real = fused._call
    monkeypatch.setattr(fused, "_call", lambda *a: calls.append(a[0]) or real(*a))
    x = torch.randn(2, 4, 3)
    post = torch.tensor([[1, 1, 1, 1], [1, 1, 0, 0]]).bool()
    cases = [(SimpleRNN(3), None, "rnn_tanh"), (SimpleRNN(3, activation="relu"), None,
             "rnn_relu"), (LSTM(3), post, "lstm"), (GRU(3, reset_after=True), post, "gru"),
             (LSTM(3, dropout=0.5), None, "lstm"),
             (LSTM(3, recurrent_dropout=0.5), None, "lstm")]  # eval mode: no recurrent dropout
    for layer, mask, kind in cases:
        calls.clear()
        layer.eval()
        layer(x, mask=mask)
        assert layer.last_path == "fused" and calls == [kind], (layer, calls)


def test_explicit_path_when_fused_cannot_run(monkeypatch):
    calls = []
    real = fused._call
    monkeypatch.setattr(fused, "_call", lambda *a: calls.append(a[0]) or real(*a))
    x = torch.randn(2, 4, 3)
    cases = [GRU(3, reset_after=True, activation="relu"),
             LSTM(3, recurrent_activation="hard_sigmoid"), SimpleRNN(3, activation="sigmoid"),
             LSTM(3, use_fused=False)]
    for layer in cases:
        layer(x)
        assert layer.last_path == "explicit", layer
    lstm = LSTM(3, recurrent_dropout=0.3)
    lstm.train()
    lstm(x)
    assert lstm.last_path == "explicit"
    course = GRU(3)                  # the course's GRU: its own scan when trained ...
    with torch.no_grad():
        course(x)                    # ... the equations step by step otherwise
    assert course.last_path == "explicit"
    assert calls == []
    assert "reset_after=False" in GRU(3).fused_ok()[1]


# ------------------------------------------------------------------ shapes
@pytest.mark.parametrize("return_sequences", [False, True])
@pytest.mark.parametrize("return_state", [False, True])
@pytest.mark.parametrize("merge_mode", ["none", "concat", "sum", "mul", "ave", None])
def test_output_shapes_match_compute_output_shape(return_sequences, return_state, merge_mode):
    layer = LSTM(4, return_sequences=return_sequences, return_state=return_state)
    if merge_mode != "none":
        layer = Bidirectional(layer, merge_mode=merge_mode)
    out = layer(torch.zeros(2, 5, 3))
    shape = layer.compute_output_shape((None, 5, 3))
    outs = out if isinstance(out, list) else [out]
    shapes = shape if isinstance(shape, list) else [shape]
    assert [tuple(o.shape) for o in outs] == [(2,) + tuple(s[1:]) for s in shapes]
    assert all(s[0] is None for s in shapes)
    width = 8 if merge_mode == "concat" else 4
    assert shapes[0][-1] == width and len(shapes[0]) == (3 if return_sequences else 2)


# ------------------------------------------------------------------ errors
@pytest.mark.parametrize("make,fragment", [
    (lambda: LSTM(0), "units"), (lambda: GRU(-3), "-3"), (lambda: SimpleRNN(2.5), "2.5"),
    (lambda: LSTM(4, activation="tanhh"), "tanhh"),
    (lambda: GRU(4, recurrent_activation="sigmoidd"), "sigmoidd"),
    (lambda: SimpleRNN(4, dropout=1.0), "dropout"),
    (lambda: LSTM(4, recurrent_dropout=-0.1), "recurrent_dropout"),
    (lambda: Bidirectional(LSTM(4), merge_mode="max"), "merge_mode"),
])
def test_bad_arguments_fail_at_construction(make, fragment):
    with pytest.raises(ValueError) as err:
        make()
    msg = str(err.value)
    assert fragment in msg
    assert any(name in msg for name in ("LSTM", "GRU", "SimpleRNN", "Bidirectional"))


def test_bad_argument_messages_say_how_to_fix():
    with pytest.raises(ValueError, match=r"LSTM.*units.*got 0.*units=32"):
        LSTM(0)
    with pytest.raises(ValueError, match=r"GRU.*dropout.*\[0, 1\).*got 1\.5"):
        GRU(3, dropout=1.5)
    with pytest.raises(TypeError, match="recurrent layer"):
        Bidirectional(Dense(3))


@pytest.mark.parametrize("shape", [(2, 3), (2, 3, 4, 5)])
def test_wrong_input_rank_fails_at_first_call(shape):
    layer = GRU(4, name="my_gru")
    with pytest.raises(ValueError, match=r"my_gru.*rank 3.*\(B, T, D\).*got shape"):
        layer(torch.zeros(shape))


def test_generic_rnn_with_cells_and_config_round_trip():
    for cell in (SimpleRNNCell(3), LSTMCell(3), GRUCell(3, reset_after=True)):
        layer = RNN(cell, return_sequences=True)
        y = layer(torch.randn(2, 4, 2))
        assert tuple(y.shape) == (2, 4, 3)
        clone = RNN.from_config(layer.get_config())
        clone(torch.zeros(1, 1, 2))
        clone.set_weights(layer.get_weights())
        x = torch.randn(2, 4, 2)
        assert torch.allclose(clone(x), layer(x))
    lstm = LSTM(3, return_state=True, go_backwards=True)
    again = LSTM.from_config(lstm.get_config())
    assert again.return_state and again.go_backwards and again.units == 3


def test_compiled_step_falls_back_to_python_when_compiling_fails(monkeypatch):
    def broken_compile(*args, **kwargs):
        raise RuntimeError("no C++ compiler")
    monkeypatch.setattr(torch, "compile", broken_compile)
    torch.manual_seed(0)
    x = torch.randn(2, 4, 3)
    plain = GRU(5, return_sequences=True, use_fused=False)   # the Python step, as the fallback
    compiled = GRU(5, return_sequences=True, compile_step=True)
    plain(x)
    with pytest.warns(RuntimeWarning, match="torch.compile.*failed.*Python step"):
        compiled(x)
    compiled.set_weights(plain.get_weights())
    assert compiled.last_path == "explicit"
    assert torch.equal(compiled(x), plain(x))


def test_feature_size_checked_and_dtype_cast_after_build():
    layer = LSTM(3, name="enc")
    layer(torch.zeros(2, 4, 5))
    with pytest.raises(ValueError, match=r"enc.*built for 5 input features.*\(2, 4, 6\)"):
        layer(torch.zeros(2, 4, 6))
    y = layer(torch.zeros(2, 4, 5, dtype=torch.float64))       # cast to the weights' dtype
    assert y.dtype == torch.float32
    with pytest.raises(ValueError, match="built for 5"):
        layer.step(torch.zeros(2, 6))
