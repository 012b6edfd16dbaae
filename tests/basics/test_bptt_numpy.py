"""The NumPy BPTT of seqlab.basics equals PyTorch autograd (float64, relative error < 1e-6),
for full and truncated BPTT, and against seqlab's own SimpleRNN layer when it exists."""
import numpy as np
import pytest
import torch

from seqlab.basics import bptt_numpy as bp

REL = 1e-6


def rel_err(a, b) -> float:
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return float(np.linalg.norm(a - b) / max(np.linalg.norm(b), 1e-300))


def torch_params(params):
    return {k: torch.tensor(v, dtype=torch.float64, requires_grad=True) for k, v in params.items()}


def torch_step_loss(y_t, target_t, loss):
    if loss == "mse":
        return 0.5 * ((y_t - target_t) ** 2).sum()
    return torch.nn.functional.cross_entropy(y_t, target_t, reduction="sum")


def torch_rnn(p, x, h0=None):
    """The same RNN with plain torch ops: hidden states (list of T+1) and outputs."""
    B, T, _ = x.shape
    h = [torch.zeros(B, p["W_hh"].shape[0], dtype=torch.float64) if h0 is None else h0]
    ys = []
    for t in range(T):
        h.append(torch.tanh(x[:, t] @ p["W_xh"] + h[-1] @ p["W_hh"] + p["b_h"]))
        ys.append(h[-1] @ p["W_hy"] + p["b_y"])
    return h, ys


def random_problem(seed, B, T, D, H, O, loss):
    rng = np.random.default_rng(seed)
    params = bp.init_params(D, H, O, seed=seed, scale=rng.uniform(0.5, 2.0))
    x = rng.normal(size=(B, T, D))
    target = rng.normal(size=(B, T, O)) if loss == "mse" else rng.integers(0, O, size=(B, T))
    return params, x, target


def torch_target(target, loss):
    return torch.tensor(target, dtype=torch.float64 if loss == "mse" else torch.long)


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("loss", ["mse", "softmax"])
def test_bptt_equals_autograd(seed, loss):
    B, T, D, H, O = [(1, 1, 1, 1, 2), (2, 7, 3, 5, 2), (3, 12, 4, 6, 3), (4, 20, 2, 8, 4),
                     (1, 30, 3, 3, 2), (5, 9, 6, 4, 5)][seed]
    params, x, target = random_problem(seed, B, T, D, H, O, loss)
    h0 = np.random.default_rng(seed + 100).normal(size=(B, H)) if seed % 2 else None
    L, grads = bp.bptt(params, x, target, loss=loss, h0=h0)

    p = torch_params(params)
    h0_t = torch.tensor(h0, requires_grad=True) if h0 is not None else None
    hs, ys = torch_rnn(p, torch.tensor(x), h0_t)
    for h in hs[1:]:
        h.retain_grad()
    tt = torch_target(target, loss)
    L_t = sum(torch_step_loss(ys[t], tt[:, t], loss) for t in range(T))
    L_t.backward()

    assert abs(L - L_t.item()) <= REL * abs(L_t.item())
    for name in bp.NAMES:
        assert rel_err(grads[name], p[name].grad) < REL, name
    # δ_t = ∂L/∂h_t at every step (what the vanishing-gradient plots show)
    dh_ref = np.stack([h.grad.numpy() for h in hs[1:]])  # (T, B, H)
    assert rel_err(grads["dh"], dh_ref) < REL
    if h0 is not None:
        assert rel_err(grads["dh0"], h0_t.grad) < REL


def test_bptt_gradient_is_not_trivially_zero_and_changes_with_weights():
    params, x, target = random_problem(0, 2, 6, 3, 4, 2, "mse")
    _, g1 = bp.bptt(params, x, target)
    params2 = dict(params, W_hh=params["W_hh"] * 1.5)
    _, g2 = bp.bptt(params2, x, target)
    assert np.linalg.norm(g1["W_hh"]) > 1e-3
    assert rel_err(g1["W_hh"], g2["W_hh"]) > 1e-3


def test_gradient_norm_vanishes_back_in_time_for_small_recurrent_weights():
    params, x, target = random_problem(1, 1, 40, 2, 8, 1, "mse")
    params["W_hh"] *= 0.3 / np.linalg.norm(params["W_hh"], 2)  # spectral norm 0.3 < 1
    target = np.zeros_like(target)
    target[:, -1] = 1.0
    dy_only_last = np.zeros((40, 1, 1))
    cache = bp.forward(params, x)
    dy_only_last[-1] = cache["y"][-1] - 1.0
    norms = np.linalg.norm(bp.backward(params, cache, dy_only_last)["dh"], axis=(1, 2))
    # ||δ_{t-1}|| <= ||W_hh|| ||δ_t||: at most 0.3 per step back
    assert np.all(norms[:-1] <= 0.3 * norms[1:] + 1e-300)
    assert norms[0] < 1e-15 * norms[-1]


def test_truncated_bptt_with_k_equal_length_is_full_bptt():
    params, x, target = random_problem(3, 2, 15, 3, 5, 2, "mse")
    L, full = bp.bptt(params, x, target)
    chunks = list(bp.truncated_bptt(params, x, target, k1=15))
    assert len(chunks) == 1 and chunks[0][0] == 15
    assert abs(chunks[0][1] - L) < 1e-12 * abs(L)
    for name in bp.NAMES:
        assert rel_err(chunks[0][2][name], full[name]) < 1e-12


@pytest.mark.parametrize("k1,k2", [(4, 4), (5, 5), (3, 7), (4, 6), (1, 3)])
def test_truncated_bptt_equals_autograd_with_detached_state(k1, k2):
    T = 17
    params, x, target = random_problem(4, 3, T, 3, 5, 2, "mse")
    p = torch_params(params)
    xt, tt = torch.tensor(x), torch_target(target, "mse")
    with torch.no_grad():
        hs, _ = torch_rnn(p, xt)  # the carried state, for restarting each window
    chunks = list(bp.truncated_bptt(params, x, target, k1=k1, k2=k2))
    ends = sorted({min(e, T) for e in range(k1, T + k1, k1)})
    assert [c[0] for c in chunks] == ends
    for t_end, loss, grads in chunks:
        t_loss = (t_end - 1) // k1 * k1  # first step of this chunk's losses
        start = max(t_end - k2, 0)  # the gradient stops at h[start]
        for v in p.values():
            v.grad = None
        h = hs[start].clone()  # detached: no gradient flows further back
        L = 0.0
        for t in range(start, t_end):
            h = torch.tanh(xt[:, t] @ p["W_xh"] + h @ p["W_hh"] + p["b_h"])
            if t >= t_loss:
                L = L + torch_step_loss(h @ p["W_hy"] + p["b_y"], tt[:, t], "mse")
        L.backward()
        assert abs(loss - L.item()) < 1e-10 * abs(L.item())
        for name in bp.NAMES:
            assert rel_err(grads[name], p[name].grad) < REL, (t_end, name)


def test_truncated_bptt_bad_arguments():
    params, x, target = random_problem(0, 1, 5, 2, 3, 1, "mse")
    with pytest.raises(ValueError, match="k1 <= k2"):
        list(bp.truncated_bptt(params, x, target, k1=4, k2=2))
    with pytest.raises(ValueError, match="'mse' or 'softmax'"):
        bp.bptt(params, x, target, loss="hinge")


def test_bptt_equals_autograd_through_seqlab_simple_rnn():
    from seqlab.layers import SimpleRNN
    B, T, D, H, O = 3, 10, 4, 6, 2
    params, x, target = random_problem(7, B, T, D, H, O, "mse")
    L, grads = bp.bptt(params, x, target)

    rnn = SimpleRNN(H, return_sequences=True)
    xt = torch.tensor(x, dtype=torch.float64)
    rnn(xt)  # builds in float64
    # Keras layout: kernel (D, H) = W_xh, recurrent_kernel (H, H) = W_hh, bias (H,) = b_h
    rnn.set_weights([params["W_xh"], params["W_hh"], params["b_h"]])
    for w in rnn.parameters():
        w.grad = None
    W_hy = torch.tensor(params["W_hy"], requires_grad=True)
    b_y = torch.tensor(params["b_y"], requires_grad=True)
    h = rnn(xt)  # (B, T, H)
    h_numpy = bp.forward(params, x)["h"][1:].transpose(1, 0, 2)  # (T, B, H) -> (B, T, H)
    np.testing.assert_allclose(h.detach().numpy(), h_numpy,
                               rtol=1e-12, atol=1e-12)
    y = h @ W_hy + b_y  # (B, T, O)
    L_t = 0.5 * ((y - torch.tensor(target)) ** 2).sum()
    L_t.backward()
    assert abs(L - L_t.item()) <= REL * abs(L_t.item())
    keras_names = {"kernel": "W_xh", "recurrent_kernel": "W_hh", "bias": "b_h"}
    by_name = {keras_names[n.split(".")[-1]]: p.grad.numpy() for n, p in rnn.named_parameters()}
    by_name.update(W_hy=W_hy.grad.numpy(), b_y=b_y.grad.numpy())
    for name in bp.NAMES:
        assert rel_err(grads[name], by_name[name]) < REL, name


def echo_stream(delay, B=8, T=4000, seed=0):
    """Target y_t = x_{t-delay}: the RNN must remember the input ``delay`` steps back."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(B, T, 1))
    y = np.zeros_like(x)
    y[:, delay:] = x[:, :-delay]
    return x, y


@pytest.mark.parametrize("k1,k2,learns", [(5, 5, True), (2, 6, True), (1, 1, False)])
def test_train_truncated_learns_an_echo_only_if_k2_reaches_back_far_enough(k1, k2, learns):
    # delay 3: the gradient of y_t must reach x_{t-3}, i.e. k2 >= 4 steps back
    x, y = echo_stream(delay=3)
    params = bp.init_params(1, 16, 1, seed=0, scale=1.0)
    losses = bp.train_truncated(params, x, y, k1=k1, k2=k2, learning_rate=0.01, clipnorm=5.0)
    tail = float(np.mean(losses[-len(losses) // 10:]))  # ½ MSE; predicting 0 gives 0.5
    assert (tail < 0.03) if learns else (tail > 0.1), tail


def test_train_truncated_first_update_equals_truncated_bptt_gradients():
    x, y = echo_stream(delay=2, B=2, T=12)
    params = bp.init_params(1, 4, 1, seed=1)
    _, _, grads = next(bp.truncated_bptt(params, x, y, k1=4, k2=4))
    updated = {k: v.copy() for k, v in params.items()}
    bp.train_truncated(updated, x[:, :4], y[:, :4], k1=4, learning_rate=0.1)
    for name in bp.NAMES:
        np.testing.assert_allclose(updated[name], params[name] - 0.1 * grads[name], rtol=1e-12)
