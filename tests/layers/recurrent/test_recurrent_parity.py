"""Parity of seqlab's SimpleRNN / LSTM / GRU(reset_after=True) with torch.nn.RNN / LSTM / GRU
given the same weights: forward and gradients, float32 max abs error <= 1e-5 (gradients:
1e-5 times their largest magnitude when that exceeds 1, since float32 keeps 7 digits and two
correct summation orders differ by a few units in the last place of values near 10), in every
combination of return_sequences x go_backwards x Bidirectional x two stacked layers, on both
the fused and the explicit path; and fused against explicit (including masks, where torch
has no equivalent).

The Keras -> torch weight conversion is written here, independently of seqlab/fused.py.
"""
import itertools

import numpy as np
import pytest
import torch

from seqlab.layers.recurrent import GRU, LSTM, Bidirectional, SimpleRNN

B, T, D, H = 3, 5, 4, 6
TOL = 1e-5


def close(ours, ref) -> bool:
    """Max abs error <= TOL, scaled by the reference's magnitude above 1."""
    return (ours - ref).abs().max().item() <= TOL * max(1.0, ref.abs().max().item())

MAKERS = {
    "SimpleRNN": (lambda **k: SimpleRNN(H, **k), torch.nn.RNN),
    "LSTM": (lambda **k: LSTM(H, **k), torch.nn.LSTM),
    "GRU": (lambda **k: GRU(H, reset_after=True, **k), torch.nn.GRU),
}


def keras_to_torch(kind, kernel, recurrent, bias):
    """Keras (D, kH), (H, kH), bias -> torch weight_ih (kH, D), weight_hh, b_ih, b_hh."""
    if kind == "GRU":  # Keras gates z, r, h -> torch r, z, n; bias (2, 3H) = [b_ih, b_hh]
        def reorder(m):
            z, r, h = np.split(m, 3, axis=-1)
            return np.concatenate([r, z, h], axis=-1)
        kernel, recurrent, bias = reorder(kernel), reorder(recurrent), reorder(bias)
        return kernel.T, recurrent.T, bias[0], bias[1]
    return kernel.T, recurrent.T, bias, np.zeros_like(bias)  # LSTM i,f,c,o = torch i,f,g,o


def randomize(layer, rng):
    """Give every weight a random value (biases too, so they are tested)."""
    layer.set_weights([rng.normal(0, 0.5, w.shape).astype(np.float32)
                       for w in layer.get_weights()])


def torch_module(kind, seq_layers, bidirectional, in_dim):
    """A torch module holding the weights of the seqlab layer(s) (forward, [backward])."""
    cls = MAKERS[kind][1]
    mod = cls(in_dim, H, batch_first=True, bidirectional=bidirectional)
    with torch.no_grad():
        for suffix, layer in zip(["", "_reverse"], seq_layers):
            w = keras_to_torch(kind, *layer.get_weights())
            for name, value in zip(["weight_ih", "weight_hh", "bias_ih", "bias_hh"], w):
                getattr(mod, f"{name}_l0{suffix}").copy_(torch.as_tensor(value))
    return mod


def reference(mod, x, go_backwards, bidirectional, return_sequences):
    """What the seqlab layer must return, computed with the torch module."""
    if not bidirectional:
        y = mod(x.flip(1) if go_backwards else x)[0]          # processing order, as Keras
        return y if return_sequences else y[:, -1]
    y = mod(x)[0]                                             # (B, T, 2H), time-aligned
    fwd, bwd = y[..., :H], y[..., H:]                          # torch's directions
    if not go_backwards:   # seqlab forward layer = torch fwd, seqlab backward = torch bwd
        return y if return_sequences else torch.cat([fwd[:, -1], bwd[:, 0]], -1)
    # seqlab "forward" layer reads backwards: its weights sit in torch's reverse direction
    if return_sequences:
        return torch.cat([bwd.flip(1), fwd.flip(1)], -1)
    return torch.cat([bwd[:, 0], fwd[:, -1]], -1)


def torch_order(layer, bidirectional, go_backwards):
    """seqlab layers in the order of torch's directions (forward in time, then reverse)."""
    if not bidirectional:
        return [layer]
    subs = [layer.forward_layer, layer.backward_layer]
    return subs[::-1] if go_backwards else subs  # the "forward" layer reads backwards


def torch_grads(kind, mod, suffix):
    g = [getattr(mod, f"{n}_l0{suffix}").grad for n in ["weight_ih", "weight_hh", "bias_ih"]]
    if kind == "GRU":
        g.append(getattr(mod, f"bias_hh_l0{suffix}").grad)
    return g


def seqlab_grads_as_torch(kind, layer):
    cell = layer.cell
    w = keras_to_torch(kind, cell.kernel.grad.numpy(), cell.recurrent_kernel.grad.numpy(),
                       cell.bias.grad.numpy())
    return [torch.as_tensor(np.ascontiguousarray(a)) for a in (w if kind == "GRU" else w[:3])]


@pytest.mark.parametrize("kind", list(MAKERS))
@pytest.mark.parametrize("return_sequences,go_backwards,bidirectional,stacked,use_fused",
                         list(itertools.product([False, True], [False, True], [False, True],
                                                [False, True], ["auto", False])))
def test_parity_with_torch(kind, return_sequences, go_backwards, bidirectional, stacked,
                           use_fused):
    rng = np.random.default_rng(0)
    make = MAKERS[kind][0]
    n_layers = 2 if stacked else 1
    seq_flags = [True] * (n_layers - 1) + [return_sequences]
    layers, mods, in_dim = [], [], D
    x = torch.as_tensor(rng.normal(size=(B, T, D)).astype(np.float32))
    for rs in seq_flags:
        layer = make(return_sequences=rs, go_backwards=go_backwards, use_fused=use_fused)
        if bidirectional:
            layer = Bidirectional(layer)
        layer(torch.zeros(1, T, in_dim))                      # build
        subs = torch_order(layer, bidirectional, go_backwards)
        for sub in subs:
            randomize(sub, rng)
        layers.append(layer)
        mods.append(torch_module(kind, subs, bidirectional, in_dim))
        in_dim = H * (2 if bidirectional else 1)

    x_ours = x.clone().requires_grad_(True)
    x_ref = x.clone().requires_grad_(True)
    y_ours, y_ref = x_ours, x_ref
    for layer, mod, rs in zip(layers, mods, seq_flags):
        y_ours = layer(y_ours)
        y_ref = reference(mod, y_ref, go_backwards, bidirectional, rs)
    assert y_ours.shape == y_ref.shape
    assert (y_ours - y_ref).abs().max().item() <= TOL

    probe = torch.as_tensor(rng.normal(size=tuple(y_ref.shape)).astype(np.float32))
    (y_ours * probe).sum().backward()
    (y_ref * probe).sum().backward()
    assert close(x_ours.grad, x_ref.grad)
    for layer, mod in zip(layers, mods):
        subs = torch_order(layer, bidirectional, go_backwards)
        for sub, suffix in zip(subs, ["", "_reverse"]):
            for ours, ref in zip(seqlab_grads_as_torch(kind, sub), torch_grads(kind, mod, suffix)):
                assert close(ours, ref)
        expected = "fused" if use_fused == "auto" else "explicit"
        paths = layer.last_path if bidirectional else (layer.last_path,)
        assert set(paths) == {expected}


@pytest.mark.parametrize("kind", ["SimpleRNN", "LSTM", "GRU"])
@pytest.mark.parametrize("go_backwards", [False, True])
@pytest.mark.parametrize("mask_kind", [None, "post", "pre", "holes"])
def test_fused_equals_explicit(kind, go_backwards, mask_kind):
    """Same weights, same masks: both paths give the same outputs, states and gradients."""
    torch.manual_seed(1)
    make = MAKERS[kind][0]
    x = torch.randn(B, T, D)
    lengths = torch.tensor([5, 3, 1])
    steps = torch.arange(T)
    mask = {None: None, "post": steps < lengths[:, None],
            "pre": steps >= (T - lengths)[:, None],
            "holes": torch.tensor([[1, 0, 1, 1, 0], [0, 0, 1, 0, 1], [0, 0, 0, 0, 0]]).bool()
            }[mask_kind]
    fused = make(return_sequences=True, return_state=True, go_backwards=go_backwards)
    explicit = make(return_sequences=True, return_state=True, go_backwards=go_backwards,
                    use_fused=False)
    fused(x)
    explicit(x)
    randomize(fused, np.random.default_rng(2))
    explicit.set_weights(fused.get_weights())
    h0 = [torch.randn(B, H) for _ in fused.cell.state_size]
    results = []
    for layer in (fused, explicit):
        xi = x.clone().requires_grad_(True)
        out = layer(xi, mask=mask, initial_state=h0)
        sum(o.sum() * (i + 1) for i, o in enumerate(out)).backward()
        results.append((out, xi.grad, [p.grad for p in layer.parameters()]))
    assert (fused.last_path, explicit.last_path) == ("fused", "explicit")
    (out_f, gx_f, gp_f), (out_e, gx_e, gp_e) = results
    for a, b in zip(out_f, out_e):
        assert (a - b).abs().max().item() <= TOL
    assert (gx_f - gx_e).abs().max().item() <= TOL
    for a, b in zip(gp_f, gp_e):
        assert (a - b).abs().max().item() <= TOL
