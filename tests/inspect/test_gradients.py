"""seqlab.inspect: per-step gradients equal autograd's, gates, states, plots, callback."""
import numpy as np
import pytest
import torch

import seqlab
from seqlab.inspect import (GradientNormLogger, gate_activations, hidden_gradients,
                            hidden_states, plot_gates, plot_gradient_flow)
from seqlab.layers import GRU, LSTM, Bidirectional, Dense, SimpleRNN


def first(d):
    return next(iter(d.values()))


def _model(layer, T=7, D=3):
    torch.manual_seed(0)
    return seqlab.Sequential([layer, Dense(1)])


@pytest.mark.parametrize("make", [lambda: SimpleRNN(5), lambda: LSTM(5),
                                  lambda: GRU(5), lambda: GRU(5, reset_after=True)])
def test_hidden_gradients_equal_autograd_on_the_returned_sequence(make):
    """dL/dh_t from the probes equals autograd's total derivative w.r.t. h_t, computed
    independently: each h_t is re-fed as a leaf through the remaining steps by hand."""
    torch.manual_seed(0)
    layer = make()
    model = seqlab.Sequential([layer, Dense(1)])
    x = torch.randn(4, 6, 3, dtype=torch.float64)
    y = torch.randn(4, 1, dtype=torch.float64)
    flow = hidden_gradients(model, x, y, loss=lambda out, t: ((out - t) ** 2).mean())
    norms = first(flow.norms)
    # Reference: run the cell by hand, keep every h_t, retain its gradient.
    model = model.double()
    cell = model.layers[0].cell
    state = cell.get_initial_state(4, dtype=torch.float64)
    hs = []
    for t in range(6):
        h, state = cell(x[:, t], state)
        h.retain_grad()
        hs.append(h)
    loss = ((model.layers[1](h) - y) ** 2).mean()
    loss.backward()
    expected = np.array([float(h.grad.norm()) for h in hs])
    np.testing.assert_allclose(norms, expected, rtol=1e-10)
    assert flow.ratio() == pytest.approx(expected[-1] / expected[0])


def test_simple_rnn_gradient_vanishes_with_a_small_recurrent_kernel():
    model = _model(SimpleRNN(8, recurrent_initializer=0.01, kernel_initializer=0.1))
    x = torch.randn(2, 40, 3)
    flow = hidden_gradients(model, x, torch.zeros(2, 1))
    assert first(flow.norms).shape == (40,)
    assert flow.ratio() > 1e10            # float64 keeps the tiny early norms non-zero
    assert first(flow.norms)[0] > 0


def test_bidirectional_reports_both_directions_and_model_is_untouched():
    model = _model(Bidirectional(LSTM(4)))
    x = torch.randn(2, 5, 3)
    before = model.predict(x) if hasattr(model, "predict") else None
    flow = hidden_gradients(model, x, torch.zeros(2, 1))
    assert len(flow.norms) == 2 and all(n.shape == (5,) for n in flow.norms.values())
    layer = model.layers[0]
    assert layer.forward_layer.step_override is None
    assert next(model.parameters()).dtype == torch.float32
    if before is not None:
        np.testing.assert_allclose(model.predict(x), before)


def test_gate_activations_and_saturation_statistics():
    model = _model(LSTM(4))
    x = torch.randn(3, 6, 3)
    report = gate_activations(model, x)
    gates = first(report.values)
    assert set(gates) == {"i", "f", "o"} and gates["f"].shape == (3, 6, 4)
    assert ((gates["f"] > 0) & (gates["f"] < 1)).all()
    sat = first(report.saturation())
    assert all(0.0 <= v <= 1.0 for v in sat.values())
    # A forget bias of +20 saturates the forget gate completely.
    with torch.no_grad():
        model.layers[0].cell.bias[4:8] = 20.0
    assert first(gate_activations(model, x).saturation())["f"] == 1.0
    gru = first(gate_activations(_model(GRU(4)), x).values)
    assert set(gru) == {"z", "r"}


def test_hidden_states_match_return_sequences_output():
    torch.manual_seed(0)
    layer = GRU(4, return_sequences=True)
    model = seqlab.Sequential([layer])
    x = torch.randn(2, 5, 3)
    states = first(hidden_states(model, x))
    with torch.no_grad():
        np.testing.assert_allclose(states, model(x).numpy(), atol=1e-6)


def test_gradient_norm_logger_records_every_parameter(tmp_path):
    model = _model(SimpleRNN(4))
    model.compile("adam", "mse")
    log = GradientNormLogger()
    x, y = np.random.randn(32, 5, 3).astype("float32"), np.zeros((32, 1), "float32")
    model.fit(x, y, batch_size=8, epochs=2, verbose=0, callbacks=[log])
    assert len(log.norms) == 5                       # kernel, recurrent, bias, Dense x2
    assert all(len(v) == 8 and all(n > 0 for n in v) for v in log.norms.values())
    # gradients (not weights), after clipping: every logged norm is within clipnorm
    model.compile("adam", "mse", clipnorm=1e-3)
    clipped, every2 = GradientNormLogger(), GradientNormLogger(every=2)
    model.fit(x, y, batch_size=8, epochs=1, verbose=0, callbacks=[clipped, every2])
    assert all(0 < n <= 1e-3 * (1 + 1e-5) for v in clipped.norms.values() for n in v)
    assert {k: v[1::2] for k, v in clipped.norms.items()} == every2.norms


def test_plots_are_written(tmp_path):
    model = _model(LSTM(4))
    x = torch.randn(2, 6, 3)
    flow = hidden_gradients(model, x, torch.zeros(2, 1))
    p1 = plot_gradient_flow({"lstm": flow}, tmp_path / "flow.png")
    p2 = plot_gates(gate_activations(model, x), tmp_path / "gates.png")
    for p in (p1, p2):
        assert p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and p.stat().st_size > 5000


def test_model_without_recurrent_layer_gets_a_clear_error():
    model = seqlab.Sequential([Dense(2, input_shape=(3,))])
    with pytest.raises(ValueError, match="no seqlab recurrent layer"):
        hidden_gradients(model, torch.randn(2, 3), torch.zeros(2, 2))
