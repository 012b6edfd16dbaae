"""GRU's hand-written backward through time (gru_scan.py), both forms (reset_after=True and
the course's reset_after=False), against the equations run by autograd (the cell's own
``recur``): outputs and the gradients of x, W, U, the biases and h0, with and without a
bias, a loss on every output and on the last one. Also: the layer takes that path on the
CPU when training and equals the explicit loop there."""
import pytest
import torch

from seqlab.layers.recurrent import GRU, GRUCell
from seqlab.layers.recurrent.gru_scan import run_course_gru, run_gru

B, T, D, H = 3, 7, 4, 5
FORMS = {True: (run_gru, "_GRUScanBackward"), False: (run_course_gru, "_CourseGRUScanBackward")}


def uses_scan(y, node: str) -> bool:
    """True when the autograd graph behind ``y`` holds the scan's node."""
    seen, todo = set(), [y.grad_fn]
    while todo:
        fn = todo.pop()
        if fn is None or fn in seen:
            continue
        seen.add(fn)
        if type(fn).__name__ == node:
            return True
        todo += [f for f, _ in fn.next_functions]
    return False


def equations(cell, x, h0):
    """The cell's own step, t = 1..T, recorded by autograd."""
    b = cell.input_bias()
    xw = x @ cell.kernel + (b if b is not None else 0)
    h, hs = h0, []
    for t in range(x.shape[1]):
        h, _ = cell.recur(xw[:, t], [h])
        hs.append(h)
    return torch.stack(hs, 1), h


@pytest.mark.parametrize("reset_after", [True, False])
@pytest.mark.parametrize("use_bias", [True, False])
@pytest.mark.parametrize("loss_on", ["all", "last", "both"])
def test_scan_equals_equations(reset_after, use_bias, loss_on, float64_cell):
    torch.manual_seed(0)
    cell, x, h0 = float64_cell(GRUCell(H, reset_after=reset_after, use_bias=use_bias,
                                       dtype=torch.float64), B, T, D)
    w_all = torch.randn(B, T, H, dtype=torch.float64) * (loss_on != "last")
    w_last = torch.randn(B, H, dtype=torch.float64) * (loss_on != "all")
    results = []
    for run in (FORMS[reset_after][0], None):
        hs, h_last = equations(cell, x, h0) if run is None else run(cell, x, h0)
        loss = (hs * w_all).sum() + (h_last * w_last).sum()
        params = [x, h0] + list(cell.parameters())
        results.append([hs.detach(), h_last.detach(), *torch.autograd.grad(loss, params)])
    for got, want in zip(*results):
        torch.testing.assert_close(got, want, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("reset_after", [True, False])
@pytest.mark.parametrize("steps_per_chunk", [1, 3, T])
def test_chunked_input_projection_equals_equations(reset_after, steps_per_chunk, float64_cell,
                                                   monkeypatch):
    """Both scans project the input a chunk of steps at a time (T = 7 in chunks of 3: 3, 3
    and a last one of 1)."""
    from seqlab.layers.recurrent import gru_scan
    monkeypatch.setattr(gru_scan, "_chunk_steps", lambda H, B, T: steps_per_chunk)
    torch.manual_seed(2)
    cell, x, h0 = float64_cell(GRUCell(H, reset_after=reset_after, dtype=torch.float64),
                               B, T, D)
    w = torch.randn(B, T, H, dtype=torch.float64)
    results = []
    for run in (FORMS[reset_after][0], equations):
        hs, _ = run(cell, x, h0)
        grads = torch.autograd.grad((hs * w).sum(), [x, h0] + list(cell.parameters()))
        results.append([hs.detach(), *grads])
    for got, want in zip(*results):
        torch.testing.assert_close(got, want, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("reset_after", [True, False])
def test_layer_trains_through_the_scan_and_equals_the_explicit_loop(reset_after):
    torch.manual_seed(1)
    fast = GRU(H, reset_after=reset_after, return_sequences=True)
    slow = GRU(H, reset_after=reset_after, return_sequences=True, use_fused=False)
    x = torch.randn(B, T, D)
    fast(x), slow(x)
    slow.set_weights(fast.get_weights())
    outs, grads = [], []
    for layer in (fast, slow):
        layer.zero_grad()
        y = layer(x)
        assert uses_scan(y, FORMS[reset_after][1]) == (layer is fast)
        y.pow(2).sum().backward()
        outs.append(y.detach())
        grads.append([p.grad.clone() for p in layer.parameters()])
    assert (fast.last_path, slow.last_path) == ("fused", "explicit")
    torch.testing.assert_close(outs[0], outs[1], rtol=1e-5, atol=1e-6)
    for g, s in zip(*grads):
        torch.testing.assert_close(g, s, rtol=1e-5, atol=1e-5)
    with torch.no_grad():                 # inference: torch's kernel or the equations
        torch.testing.assert_close(fast(x), outs[0], rtol=1e-5, atol=1e-6)


def test_a_gradient_of_the_gradient_is_refused_not_wrong():
    """The scans' backward is written with in-place kernels: asking for second derivatives
    through it raises instead of returning a wrong number."""
    cell = GRUCell(H, reset_after=True)
    cell.build_once((None, D))
    x = torch.randn(B, T, D, requires_grad=True)
    _, h_last = run_gru(cell, x, torch.zeros(B, H))
    (g,) = torch.autograd.grad(h_last.sum(), x, create_graph=True)
    with pytest.raises(RuntimeError, match="once_differentiable|twice|does not require grad"):
        g.sum().backward()
