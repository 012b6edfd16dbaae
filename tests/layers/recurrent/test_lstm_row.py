"""The batch-1 LSTM inference loop in C (layers/recurrent/lstm_row.c) equals the equations
and torch's kernel, fires where it should and steps aside elsewhere."""
import numpy as np
import pytest
import torch

from seqlab.layers.recurrent import fused, lstm_row
from seqlab.layers.recurrent.layers import LSTM
from seqlab.layers.recurrent.wrappers import Bidirectional

pytestmark = pytest.mark.skipif(lstm_row.kernel() is None,
                                reason="the C kernel did not build here (no C compiler?)")


@pytest.fixture
def spy(monkeypatch):
    """The shapes lstm_row.run was called with."""
    calls = []
    real = lstm_row.run
    monkeypatch.setattr(lstm_row, "run", lambda cell, x, *a: calls.append(tuple(x.shape))
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
    for x_t in x.double().unbind(1):                                  # (1, D) each
        a_i, a_f, a_g, a_o = (x_t @ W + h @ U + b).chunk(4, dim=-1)
        i, f, g, o = a_i.sigmoid(), a_f.sigmoid(), a_g.tanh(), a_o.sigmoid()
        c = f * c + i * g
        h = o * c.tanh()
        ys.append(h)
    return torch.stack(ys, 1), h, c


@pytest.mark.parametrize("H", [1, 5, 32, 64, 70])  # 4H: no full block, 1 block, blocks + tail
@pytest.mark.parametrize("D, T", [(1, 1), (7, 9), (16, 40)])
def test_equals_the_equations_and_torch(spy, H, D, T):
    layer = _layer(H, D, return_sequences=True, return_state=True)
    x = torch.randn(1, T, D)
    h0, c0 = torch.randn(1, H), torch.randn(1, H)
    with torch.inference_mode():
        y, h, c = layer(x, initial_state=[h0, c0])
    assert spy == [(1, T, D)]
    ref = torch.nn.LSTM(D, H, batch_first=True)
    with torch.no_grad():
        ref.weight_ih_l0.copy_(layer.cell.kernel.t())
        ref.weight_hh_l0.copy_(layer.cell.recurrent_kernel.t())
        ref.bias_ih_l0.copy_(layer.cell.bias)
        ref.bias_hh_l0.zero_()
        y_ref, (h_ref, c_ref) = ref(x, (h0[None], c0[None]))
    # Near the float64 equations, within float32's rounding carried through T steps:
    # errors relative to max(1, |value|), in float32 epsilons, measured at most 27 for
    # this loop and 21-47 for torch's own float32 kernel (AVX-512 or default ATen
    # kernels) over these shapes and T = 200; the bound leaves room for any CPU or BLAS.
    y64, h64, c64 = _equations(layer, x, h0, c0)
    eps = torch.finfo(torch.float32).eps
    for got, torch_got, want in ((y, y_ref[0], y64[0]), (h, h_ref[0], h64), (c, c_ref[0], c64)):
        assert got.dtype == torch.float32
        for out in (got, torch_got):
            rel = ((out.double() - want).abs() / want.abs().clamp_min(1)).max().item()
            assert rel <= 128 * eps, rel / eps

def test_saturated_gates_and_nan_as_torch(spy):
    layer = _layer(6, 3, return_sequences=True)
    x = torch.randn(1, 12, 3) * 400          # gate pre-activations far beyond +-88
    x[0, 7, 1] = float("nan")
    with torch.inference_mode():
        y = layer(x)
        layer.use_fused = False
        y_loop = layer(x)
    assert spy == [(1, 12, 3)]
    assert torch.isnan(y[0, 7:]).all() and torch.isnan(y_loop[0, 7:]).all()
    torch.testing.assert_close(y[0, :7], y_loop[0, :7], rtol=0, atol=1e-6)
    assert y[0, :7].abs().max() <= 1


def test_masked_row_reversed_and_bidirectional_equal_the_loop(spy):
    x = torch.randn(1, 10, 4)
    mask = torch.tensor([[0, 0, 0, 1, 1, 1, 1, 1, 1, 1]]).bool()     # pre-padded row
    for make in (lambda: _layer(9, 4, return_state=True),
                 lambda: _layer(9, 4, return_sequences=True, go_backwards=True),
                 lambda: Bidirectional(_layer(9, 4, return_sequences=True)).eval()):
        layer = make()
        spy.clear()
        with torch.inference_mode():
            fast = layer(x, mask=mask)
            for sub in layer.modules():
                if isinstance(sub, LSTM):
                    sub.use_fused = False
            loop = layer(x, mask=mask)
        assert spy and all(shape[0] == 1 for shape in spy), spy
        for a, b in zip(fast if isinstance(fast, list) else [fast],
                        loop if isinstance(loop, list) else [loop]):
            torch.testing.assert_close(a, b, rtol=0, atol=2e-6)


def test_torch_kernel_runs_where_the_loop_does_not_apply(spy):
    x = torch.randn(1, 5, 3)
    layer = _layer(4, 3)
    with torch.no_grad():
        layer(torch.randn(2, 5, 3))                   # two rows
        layer.double()(x.double())                    # float64
        layer.float().train()(x)                      # training
    layer.eval()(x)                                   # a gradient is recorded
    assert spy == []
    with torch.no_grad():
        layer(x)
    assert spy == [(1, 5, 3)]


def test_predict_at_batch_1_uses_the_loop(spy):
    import seqlab
    from seqlab import layers
    torch.manual_seed(0)
    model = seqlab.Sequential([layers.Embedding(50, 8), layers.LSTM(16), layers.Dense(1)])
    x = np.random.default_rng(0).integers(1, 50, size=(3, 11))
    out = model.predict(x, batch_size=1)
    assert spy == [(1, 11, 8)] * 3
    with torch.no_grad():
        np.testing.assert_allclose(out, model(torch.as_tensor(x)).numpy(), rtol=0, atol=2e-6)


def test_layout_and_weights_come_from_the_cell():
    layer = _layer(3, 2)
    weights = fused.torch_weights(layer.cell)
    x = torch.randn(1, 4, 2)
    hx = [torch.zeros(1, 1, 3), torch.zeros(1, 1, 3)]
    with torch.inference_mode():
        y, (h, c) = lstm_row.run(layer.cell, x, hx, weights)
        with torch.no_grad():
            layer.cell.recurrent_kernel.mul_(0)        # the loop reads the cell's own U
        y0, _ = lstm_row.run(layer.cell, x, hx, weights)
    assert h.shape == c.shape == (1, 3) and y.shape == (1, 4, 3)
    assert not torch.allclose(y, y0)
    torch.testing.assert_close(y0, _equations(layer, x, hx[0][0], hx[1][0])[0].float(),
                               rtol=0, atol=2e-6)
