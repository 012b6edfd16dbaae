"""SimpleRNN's hand-written backward through time (rnn_scan.py) against the equations run
by autograd: outputs and the gradients of x, W, b, U and h0, for tanh and relu, with and
without a bias, a loss on every output and on the last one. Also: the layer takes that path
on the CPU."""
import pytest
import torch

from seqlab.layers.recurrent import SimpleRNN, SimpleRNNCell
from seqlab.layers.recurrent.rnn_scan import run_simple_rnn

B, T, D, H = 3, 7, 4, 5


def equations(x, W, b, U, h0, act):
    """h_t = act(x_t W + b + h_{t-1} U), step by step."""
    h, hs = h0, []
    for t in range(x.shape[1]):
        a = x[:, t] @ W + h @ U + (b if b is not None else 0)
        h = torch.tanh(a) if act == "tanh" else torch.relu(a)
        hs.append(h)
    return torch.stack(hs, 1), h


@pytest.mark.parametrize("act", ["tanh", "relu"])
@pytest.mark.parametrize("use_bias", [True, False])
def test_scan_equals_equations(act, use_bias, float64_cell):
    torch.manual_seed(0)
    cell, x, h0 = float64_cell(SimpleRNNCell(H, activation=act, use_bias=use_bias,
                                             dtype=torch.float64), B, T, D)
    w_all = torch.randn(B, T, H, dtype=torch.float64)  # a loss on every output ...
    w_last = torch.randn(B, H, dtype=torch.float64)    # ... and on h_T
    results = []
    for run in (run_simple_rnn, None):
        if run is None:
            hs, h_last = equations(x, cell.kernel, cell.bias, cell.recurrent_kernel, h0, act)
        else:
            hs, h_last = run(cell, x, h0, act)
        loss = (hs * w_all).sum() + (h_last * w_last).sum()
        params = [x, h0] + list(cell.parameters())
        grads = torch.autograd.grad(loss, params)
        results.append([hs.detach(), h_last.detach(), *grads])
    for got, want in zip(*results):
        torch.testing.assert_close(got, want, rtol=1e-10, atol=1e-10)


def test_scan_only_last_output_and_layer_path():
    """The layer (return_sequences=False) runs the scan on the CPU and its gradients equal
    the explicit loop's."""
    torch.manual_seed(1)
    fast, slow = SimpleRNN(H), SimpleRNN(H, use_fused=False)
    x = torch.randn(B, T, D)
    fast(x), slow(x)
    slow.set_weights(fast.get_weights())
    grads = []
    for layer in (fast, slow):
        layer.zero_grad()
        layer(x).pow(2).sum().backward()
        grads.append([p.grad.clone() for p in layer.parameters()])
    assert (fast.last_path, slow.last_path) == ("fused", "explicit")
    for g, s in zip(*grads):
        torch.testing.assert_close(g, s, rtol=1e-5, atol=1e-6)
