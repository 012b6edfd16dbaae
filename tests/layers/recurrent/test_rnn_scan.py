"""SimpleRNN's hand-written backward through time (rnn_scan.py) against the equations run
by autograd: outputs and the gradients of x, W, b, U and h0, for tanh and relu, with and
without a bias, a loss on every output and on the last one; in float64 (the torch loops)
and in float32 (the C loops, scans.c, in their AVX-512 and portable builds). Also: the
layer takes that path on the CPU."""
import pytest
import torch

from seqlab import native
from seqlab.layers.recurrent import SimpleRNN, SimpleRNNCell, scans_c
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


needs_c = pytest.mark.skipif(scans_c.library() is None,
                             reason="the C loops did not build here (no C compiler?)")


def _float32_against_float64(act, use_bias, B_, T_, D_, H_, seed=0):
    """The scan in float32 (the C loops) and the equations in float64: the largest error
    of outputs, h_T and every gradient, relative to max(1, |value|)."""
    torch.manual_seed(seed)
    cell = SimpleRNNCell(H_, activation=act, use_bias=use_bias)
    cell.build_once((None, D_))
    with torch.no_grad():
        for p in cell.parameters():
            p.normal_(0, 1.5 / H_ ** 0.5)        # a recurrence that neither fades nor explodes
    x, h0 = torch.randn(B_, T_, D_), torch.randn(B_, H_)
    w_all, w_last = torch.randn(B_, T_, H_), torch.randn(B_, H_)
    x32, h32 = x.clone().requires_grad_(), h0.clone().requires_grad_()
    hs, h_last = run_simple_rnn(cell, x32, h32, act)
    loss = (hs * w_all).sum() + (h_last * w_last).sum()
    got = [hs, h_last, *torch.autograd.grad(loss, [x32, h32] + list(cell.parameters()))]
    params = [p.detach().double().requires_grad_() for p in cell.parameters()]
    W, U = params[0], params[1]
    b = params[2] if use_bias else None
    x64, h64 = x.double().requires_grad_(), h0.double().requires_grad_()
    hs64, last64 = equations(x64, W, b, U, h64, act)
    loss64 = (hs64 * w_all.double()).sum() + (last64 * w_last.double()).sum()
    want = [hs64, last64, *torch.autograd.grad(loss64, [x64, h64] + params)]
    return max(((g.double() - w).abs() / w.abs().clamp_min(1)).max().item()
               for g, w in zip(got, want))


@needs_c
@pytest.mark.parametrize("act", ["tanh", "relu"])
@pytest.mark.parametrize("B_, T_, D_, H_", [(1, 6, 3, 5), (7, 9, 4, 16), (13, 5, 2, 70),
                                            (6, 4, 8, 64)])
def test_c_loops_equal_the_float64_equations(act, B_, T_, D_, H_):
    """float32 through the C loops (scans.c): outputs and gradients within float32's
    rounding of the float64 equations (measured at most 3.1e-5, the torch loops in float32
    the same; bound 1e-4)."""
    assert _float32_against_float64(act, True, B_, T_, D_, H_) < 1e-4
    assert _float32_against_float64(act, False, B_, T_, D_, H_, seed=1) < 1e-4


@needs_c
def test_c_loops_nan_and_the_torch_loops_when_off(monkeypatch):
    """A NaN input poisons its row from that step on, as in the torch loops; with
    SEQLAB_NATIVE=0 the torch loops run and agree."""
    torch.manual_seed(2)
    cell = SimpleRNNCell(9)
    cell.build_once((None, 3))
    x = torch.randn(2, 6, 3)
    x[0, 3, 1] = float("nan")
    with torch.no_grad():
        c_hs, _ = run_simple_rnn(cell, x, torch.zeros(2, 9), "tanh")
        monkeypatch.setenv("SEQLAB_NATIVE", "0")
        t_hs, _ = run_simple_rnn(cell, x, torch.zeros(2, 9), "tanh")
    assert torch.isnan(c_hs[0, 3:]).all() and not torch.isnan(c_hs[0, :3]).any()
    assert not torch.isnan(c_hs[1]).any()
    torch.testing.assert_close(c_hs[0, :3], t_hs[0, :3], rtol=0, atol=1e-6)
    torch.testing.assert_close(c_hs[1], t_hs[1], rtol=0, atol=1e-6)
