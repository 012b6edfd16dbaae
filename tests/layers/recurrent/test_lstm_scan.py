"""The LSTM loop in C (layers/recurrent/scans.c), forward and backward, equals the
equations and torch's kernel at any number of rows, in its AVX-512 build and its portable
one, fires where it should and steps aside elsewhere."""
import numpy as np
import pytest
import torch

from seqlab import native
from seqlab.layers.recurrent import fused, lstm_scan
from seqlab.layers.recurrent.layers import LSTM
from seqlab.layers.recurrent.wrappers import Bidirectional

pytestmark = pytest.mark.skipif(lstm_scan.kernel() is None,
                                reason="the C kernel did not build here (no C compiler?)")


@pytest.fixture
def spy(monkeypatch):
    """The shapes lstm_scan.run was called with."""
    calls = []
    real = lstm_scan.run
    monkeypatch.setattr(lstm_scan, "run", lambda cell, x, *a: calls.append(tuple(x.shape))
                        or real(cell, x, *a))
    return calls


def _layer(H: int, D: int, seed: int = 0, **kw) -> LSTM:
    torch.manual_seed(seed)
    layer = LSTM(H, **kw)
    layer.build_once((None, None, D))
    with torch.no_grad():
        for p in layer.parameters():
            p.normal_(0, 0.5)
    return layer.eval()


def _equations(layer: LSTM, x: torch.Tensor, h: torch.Tensor, c: torch.Tensor):
    """The course's LSTM step by step in float64: (h_t for every t, h_T, c_T)."""
    W, U, b = (t.detach().double() for t in (layer.cell.kernel, layer.cell.recurrent_kernel,
                                              layer.cell.bias))
    h, c, ys = h.double(), c.double(), []
    for x_t in x.double().unbind(1):                                  # (B, D) each
        a_i, a_f, a_g, a_o = (x_t @ W + h @ U + b).chunk(4, dim=-1)
        i, f, g, o = a_i.sigmoid(), a_f.sigmoid(), a_g.tanh(), a_o.sigmoid()
        c = f * c + i * g
        h = o * c.tanh()
        ys.append(h)
    return torch.stack(ys, 1), h, c


# H: part of one 16-unit block, one block, blocks and a part; B: one row, a block of 6
# rows and a tail of 1 to 5 rows
@pytest.mark.parametrize("H", [1, 5, 16, 64, 70])
@pytest.mark.parametrize("B, D, T", [(1, 1, 1), (1, 7, 9), (1, 16, 40), (2, 3, 5),
                                     (6, 16, 12), (13, 7, 9), (17, 1, 4)])
def test_equals_the_equations_and_torch(spy, H, B, D, T):
    layer = _layer(H, D, return_sequences=True, return_state=True)
    x = torch.randn(B, T, D)
    h0, c0 = torch.randn(B, H), torch.randn(B, H)
    with torch.inference_mode():
        y, h, c = layer(x, initial_state=[h0, c0])
    assert spy == [(B, T, D)]
    ref = torch.nn.LSTM(D, H, batch_first=True)
    with torch.no_grad():
        ref.weight_ih_l0.copy_(layer.cell.kernel.t())
        ref.weight_hh_l0.copy_(layer.cell.recurrent_kernel.t())
        ref.bias_ih_l0.copy_(layer.cell.bias)
        ref.bias_hh_l0.zero_()
        y_ref, (h_ref, c_ref) = ref(x, (h0[None], c0[None]))
    # Near the float64 equations, within float32's rounding carried through T steps:
    # errors relative to max(1, |value|), in float32 epsilons, measured at most 41-57
    # for this loop (AVX-512 / portable build) and 53-67 for torch's own float32 kernel
    # (AVX-512 / default ATen kernels) over these shapes and up to 64 rows; the bound
    # leaves room for any CPU or BLAS. (These weights, N(0, 0.5), amplify rounding over
    # time: at T = 200 both reach 120-310 epsilons.)
    y64, h64, c64 = _equations(layer, x, h0, c0)
    eps = torch.finfo(torch.float32).eps
    for got, torch_got, want in ((y, y_ref, y64), (h, h_ref[0], h64), (c, c_ref[0], c64)):
        assert got.dtype == torch.float32
        for out in (got, torch_got):
            rel = ((out.double() - want).abs() / want.abs().clamp_min(1)).max().item()
            assert rel <= 128 * eps, rel / eps

def test_saturated_gates_and_nan_as_torch(spy):
    layer = _layer(6, 3, return_sequences=True)
    x = torch.randn(2, 12, 3) * 400          # gate pre-activations far beyond +-88
    x[0, 7, 1] = float("nan")                # row 0 from step 7 on; row 1 stays finite
    with torch.inference_mode():
        y = layer(x)
        layer.use_fused = False
        y_loop = layer(x)
    assert spy == [(2, 12, 3)]
    assert torch.isnan(y[0, 7:]).all() and torch.isnan(y_loop[0, 7:]).all()
    torch.testing.assert_close(y[0, :7], y_loop[0, :7], rtol=0, atol=1e-6)
    torch.testing.assert_close(y[1], y_loop[1], rtol=0, atol=1e-6)
    assert y[0, :7].abs().max() <= 1 and y[1].abs().max() <= 1


def test_masked_rows_reversed_and_bidirectional_equal_the_loop(spy):
    x = torch.randn(3, 10, 4)
    mask = torch.tensor([[0, 0, 0, 1, 1, 1, 1, 1, 1, 1],            # pre-padded
                         [1, 1, 1, 1, 1, 1, 0, 0, 0, 0],            # right-padded
                         [1, 0, 1, 1, 0, 1, 1, 1, 0, 1]]).bool()    # holes
    for make in (lambda: _layer(9, 4, return_state=True),
                 lambda: _layer(9, 4, return_sequences=True, go_backwards=True),
                 lambda: Bidirectional(_layer(9, 4, return_sequences=True)).eval()):
        for rows in (slice(0, 1), slice(0, 3)):
            layer = make()
            spy.clear()
            with torch.inference_mode():
                fast = layer(x[rows], mask=mask[rows])
                for sub in layer.modules():
                    if isinstance(sub, LSTM):
                        sub.use_fused = False
                loop = layer(x[rows], mask=mask[rows])
            assert spy and all(shape[0] == rows.stop for shape in spy), spy
            for a, b in zip(fast if isinstance(fast, list) else [fast],
                            loop if isinstance(loop, list) else [loop]):
                torch.testing.assert_close(a, b, rtol=0, atol=2e-6)


def test_last_output_only_skips_the_sequence(spy, monkeypatch):
    """return_sequences=False: the loop writes no (B, T, H) outputs; h_T is its final h."""
    layer = _layer(20, 5, return_state=True)
    x = torch.randn(7, 9, 5)
    kept = []
    real = lstm_scan.run
    monkeypatch.setattr(lstm_scan, "run", lambda *a: kept.append(a[-1]) or real(*a))
    with torch.inference_mode():
        fast = layer(x)
        layer.use_fused = False
        loop = layer(x)
    assert kept == [False]
    for a, b in zip(fast, loop):
        torch.testing.assert_close(a, b, rtol=0, atol=2e-6)


def test_torch_kernel_runs_where_the_loop_does_not_apply(spy, monkeypatch):
    x = torch.randn(2, 5, 3)
    layer = _layer(4, 3)
    with torch.no_grad():
        layer.double()(x.double())                    # float64
        layer.float()
        monkeypatch.setenv("SEQLAB_NATIVE", "0")      # turned off
        monkeypatch.setattr(lstm_scan.native, "_loaded", {})
        layer(x)
    assert spy == []
    monkeypatch.setenv("SEQLAB_NATIVE", "1")
    monkeypatch.setattr(lstm_scan.native, "_loaded", {})
    with torch.no_grad():
        layer(x)
        layer(x[:1])
    layer.train()(x)                                  # training: the loop, with its backward
    assert spy == [(2, 5, 3), (1, 5, 3), (2, 5, 3)]


@pytest.mark.parametrize("H", [1, 5, 16, 70])
@pytest.mark.parametrize("B, D, T, chunk", [(1, 3, 6, None), (7, 5, 9, None),
                                            (13, 16, 4, None), (7, 5, 9, 4), (6, 2, 11, 1)])
def test_gradients_equal_the_equations(spy, monkeypatch, H, B, D, T, chunk):
    """Every gradient (x, the three weights, h0, c0) through outputs, h_T and c_T at once,
    against autograd on the float64 equations; also walking back ``chunk`` steps at a
    time (a long sequence's backward)."""
    if chunk:
        monkeypatch.setattr(lstm_scan, "_chunk_steps", lambda *a: chunk)
    layer = _layer(H, D, seed=1, return_sequences=True, return_state=True).train()
    for p in layer.parameters():
        p.data.mul_(0.6)                              # a recurrence that does not explode
    x, h0, c0 = torch.randn(B, T, D), torch.randn(B, H), torch.randn(B, H)
    g_y, g_h, g_c = torch.randn(B, T, H), torch.randn(B, H), torch.randn(B, H)
    x_, h0_, c0_ = (t.clone().requires_grad_() for t in (x, h0, c0))
    y, h, c = layer(x_, initial_state=[h0_, c0_])
    ((y * g_y).sum() + (h * g_h).sum() + (c * g_c).sum()).backward()
    assert spy == [(B, T, D)]
    got = [x_.grad, h0_.grad, c0_.grad] + [p.grad for p in (
        layer.cell.kernel, layer.cell.recurrent_kernel, layer.cell.bias)]
    ref = [t.double().detach().requires_grad_() for t in (x, h0, c0)]
    W, U, b = (p.detach().double().requires_grad_() for p in (
        layer.cell.kernel, layer.cell.recurrent_kernel, layer.cell.bias))
    h64, c64, ys = ref[1], ref[2], []
    for x_t in ref[0].unbind(1):
        a_i, a_f, a_g, a_o = (x_t @ W + h64 @ U + b).chunk(4, dim=-1)
        c64 = a_f.sigmoid() * c64 + a_i.sigmoid() * a_g.tanh()
        h64 = a_o.sigmoid() * c64.tanh()
        ys.append(h64)
    ((torch.stack(ys, 1) * g_y).sum() + (h64 * g_h).sum() + (c64 * g_c).sum()).backward()
    for name, g, want in zip(["x", "h0", "c0", "W", "U", "b"], got, ref + [W, U, b]):
        err = ((g.double() - want.grad).abs().max() / want.grad.abs().max().clamp_min(1)).item()
        assert err < 1e-5, (name, err)


def test_last_output_training_equals_the_loop(spy):
    """return_sequences=False: the gradient enters through h_T alone (no (B, T, H) zeros)."""
    x = torch.randn(5, 12, 3)
    grads = []
    for fused_on in (True, False):
        layer = _layer(11, 3, seed=3).train()
        layer.use_fused = fused_on
        layer(x).sin().sum().backward()
        grads.append([p.grad for p in layer.parameters()])
    assert spy == [(5, 12, 3)]
    for a, b in zip(*grads):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-5)


def test_masked_training_equals_the_loop(spy):
    """Pre-padded, right-padded and holed rows in training: the loss and every gradient
    as the step-by-step cell gives them."""
    x = torch.randn(3, 10, 4)
    mask = torch.tensor([[0, 0, 0, 1, 1, 1, 1, 1, 1, 1],
                         [1, 1, 1, 1, 1, 1, 0, 0, 0, 0],
                         [1, 0, 1, 1, 0, 1, 1, 1, 0, 1]]).bool()
    grads = []
    for fused_on in (True, False):
        layer = _layer(9, 4, seed=2, return_sequences=True, return_state=True).train()
        layer.use_fused = fused_on
        y, h, c = layer(x, mask=mask)
        (y.square().sum() + h.sum() + c.sum()).backward()
        grads.append([p.grad for p in layer.parameters()])
    assert spy and all(shape[0] == 3 for shape in spy), spy
    for a, b in zip(*grads):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("batch_size", [1, 5])
def test_predict_uses_the_loop(spy, batch_size):
    import seqlab
    from seqlab import layers
    torch.manual_seed(0)
    model = seqlab.Sequential([layers.Embedding(50, 8), layers.LSTM(16), layers.Dense(1)])
    x = np.random.default_rng(0).integers(1, 50, size=(7, 11))
    out = model.predict(x, batch_size=batch_size)
    assert sum(shape[0] for shape in spy) == 7 and spy[0] == (batch_size, 11, 8)
    with torch.no_grad():
        np.testing.assert_allclose(out, model(torch.as_tensor(x)).numpy(), rtol=0, atol=2e-6)


def test_layout_and_weights_come_from_the_cell():
    layer = _layer(3, 2)
    weights = fused.torch_weights(layer.cell)
    x = torch.randn(2, 4, 2)
    hx = [torch.zeros(1, 2, 3), torch.zeros(1, 2, 3)]
    with torch.inference_mode():
        y, (h, c) = lstm_scan.run(layer.cell, x, hx, weights)
        with torch.no_grad():
            layer.cell.recurrent_kernel.mul_(0)        # the loop reads the cell's own U
        y0, _ = lstm_scan.run(layer.cell, x, hx, weights)
    assert h.shape == c.shape == (2, 3) and y.shape == (2, 4, 3)
    assert not torch.allclose(y, y0)
    torch.testing.assert_close(y0, _equations(layer, x, hx[0][0], hx[1][0])[0].float(),
                               rtol=0, atol=2e-6)
