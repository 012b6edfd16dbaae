"""word2vec's sparse step (hand-written gradients, index_add_ on the rows used) equals one
dense SGD step on the same loss written pair by pair and differentiated by autograd; the
CBOW step in C (seqlab/embeddings/cbow.c) as well."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from seqlab import native
from seqlab.embeddings import sgns
from seqlab.embeddings.sgns import Batch, cbow_step, sg_step
from seqlab.embeddings.vocab import window_mask

V, E, W, B, S, K, LR = 9, 6, 2, 4, 3, 5, 0.3


def _example(seed=0):
    """A batch of 8 centers (2 blocks, 2 noise groups) over 3 sentences, with repeated words,
    and weights large enough that many rows receive several updates."""
    rng = np.random.default_rng(seed)
    ids = rng.integers(0, V, 8)
    sent = np.array([0, 0, 0, 1, 1, 1, 1, 2])
    mask = window_mask(ids, sent, W, rng)  # (8, 2W+1)
    around = np.pad(ids, (W, W))
    batch = Batch(torch.as_tensor(ids), torch.as_tensor(around),
                  torch.as_tensor(mask, dtype=torch.float32))
    g = torch.Generator().manual_seed(seed)
    W_in, W_out = torch.randn(V, E, generator=g) * 0.5, torch.randn(V, E, generator=g) * 0.5
    noise = torch.randint(V, (len(ids) // B, S), generator=g)
    return batch, W_in, W_out, noise


def _pairs(batch):
    """(center position, context word id) of every pair, from a plain loop over the mask."""
    return [(i, int(batch.around[i + k])) for i in range(len(batch.centers))
            for k in range(2 * W + 1) if batch.mask[i, k]]


def _noise_loss(x, W_out, noise, weight):
    """Σ_i w_i (K/S) Σ_s -log σ(-u_s · x_i), the noise words s of i's group."""
    loss = 0.0
    G = len(x) // len(noise)  # centers per noise group
    for i in range(len(x)):
        u = W_out[noise[i // G]]  # (S, E)
        loss = loss + weight[i] * K / S * F.softplus(u @ x[i]).sum()
    return loss


def _dense_step(loss_fn, W_in, W_out):
    W_in, W_out = W_in.clone().requires_grad_(), W_out.clone().requires_grad_()
    g_in, g_out = torch.autograd.grad(loss_fn(W_in, W_out), (W_in, W_out))
    return (W_in - LR * g_in).detach(), (W_out - LR * g_out).detach()


@pytest.mark.parametrize("block", [B, B // 2])  # a noise group is one block, or two
def test_skipgram_step_is_the_autograd_step(block):
    batch, W_in, W_out, noise = _example()
    pairs = _pairs(batch)
    assert len(pairs) > 8 and len(set(batch.centers.tolist())) < 8  # shared rows

    def loss_fn(W_in, W_out):
        v = W_in[batch.centers]  # (N, E)
        # Σ_(i, o) -log σ(u_o · v_i) + the noise terms, weighted by pairs per center
        positive = sum(F.softplus(-(W_out[o] @ v[i])) for i, o in pairs)
        return positive + _noise_loss(v, W_out, noise, batch.mask.sum(1))

    expected = _dense_step(loss_fn, W_in, W_out)
    loss = sg_step(W_in, W_out, batch, noise, LR, K, block_size=block)  # in place
    assert loss == pytest.approx(float(loss_fn(*_example()[1:3])), rel=1e-5)
    torch.testing.assert_close(W_in, expected[0], rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(W_out, expected[1], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("path", ["c", "torch"])
@pytest.mark.parametrize("cbow_mean,block", [(True, B), (False, B), (True, B // 2)])
def test_cbow_step_is_the_autograd_step_with_gensims_context_rule(cbow_mean, block, path,
                                                                   monkeypatch):
    if path == "c" and sgns.cbow_library() is None:
        pytest.skip("C kernel not built: " + native.why_not(sgns.CBOW_SOURCE))
    if path == "torch":
        monkeypatch.setattr(sgns, "cbow_library", lambda: None)
    batch, W_in, W_out, noise = _example(1)
    pairs = _pairs(batch)
    m = batch.mask.sum(1)  # (N,)
    valid = (m > 0).float()  # the last word is a sentence alone: no window, no update
    assert valid.tolist() == [1.0] * 7 + [0.0]
    m = m.clamp_min(1)
    A = torch.zeros(len(m), V)  # (N, V): which words are in each window
    for i, o in pairs:
        A[i, o] += 1.0

    def loss_fn(h, W_out):
        u = W_out[batch.centers]  # (N, E)
        return ((F.softplus(-(h * u).sum(1)) * valid).sum()
                + _noise_loss(h, W_out, noise, valid))

    h = (A @ W_in) / (m[:, None] if cbow_mean else 1.0)  # (N, E)
    h_new, W_out_expected = _dense_step(loss_fn, h, W_out)
    # word2vec.c / gensim: each context word gets the whole step of h with the mean (the
    # exact gradient would divide it by m), and 1/m of it with the sum (exact: the whole)
    step_h = (h_new - h) / (1.0 if cbow_mean else m[:, None])  # (N, E)
    W_in_expected = W_in + A.T @ step_h  # (V, E)
    loss = cbow_step(W_in, W_out, batch, noise, LR, K, cbow_mean=cbow_mean, block_size=block)
    assert loss == pytest.approx(float(loss_fn(h, _example(1)[2])), rel=1e-5)
    torch.testing.assert_close(W_in, W_in_expected, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(W_out, W_out_expected, rtol=1e-5, atol=1e-6)


def test_cbow_step_in_c_equals_the_torch_step_on_a_larger_batch(monkeypatch):
    """Vectors of 37 (two 16-lane blocks and 5), windows of every size, 4 noise groups."""
    if sgns.cbow_library() is None:
        pytest.skip("C kernel not built: " + native.why_not(sgns.CBOW_SOURCE))
    rng, g = np.random.default_rng(3), torch.Generator().manual_seed(3)
    ids, sent = rng.integers(0, 50, 64), np.repeat(np.arange(8), 8)
    mask = torch.as_tensor(window_mask(ids, sent, 3, rng), dtype=torch.float32)
    batch = Batch(torch.as_tensor(ids), torch.as_tensor(np.pad(ids, (3, 3))), mask)
    W_in, W_out = torch.randn(50, 37, generator=g), torch.randn(50, 37, generator=g)
    noise = torch.randint(50, (4, 6), generator=g)
    assert sgns._fits_c(W_in, W_out, batch, noise)  # the C step takes these as they are
    results = []
    for c in (True, False):
        if not c:
            monkeypatch.setattr(sgns, "cbow_library", lambda: None)
        a, b = W_in.clone(), W_out.clone()
        results.append((cbow_step(a, b, batch, noise, 0.05, 5, cbow_mean=False), a, b))
    (loss_c, in_c, out_c), (loss_t, in_t, out_t) = results
    assert loss_c == pytest.approx(loss_t, rel=1e-5)
    assert not torch.equal(in_c, W_in) and not torch.equal(out_c, W_out)  # a real step
    torch.testing.assert_close(in_c, in_t, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(out_c, out_t, rtol=1e-5, atol=1e-5)


def test_cbow_step_portable_build(monkeypatch, tmp_path):
    """cbow.c built for any CPU (-O3 alone: the compiler's vectors, the scalar exp and log)
    still makes the autograd step."""
    if native.compiler() is None:
        pytest.skip("no C compiler here")
    monkeypatch.setenv("SEQLAB_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(native, "_loaded", {})
    monkeypatch.setattr(native, "_FLAG_SETS", (["-O3"],))
    assert sgns.cbow_library() is not None
    test_cbow_step_is_the_autograd_step_with_gensims_context_rule(True, B, "c", monkeypatch)
    test_cbow_step_is_the_autograd_step_with_gensims_context_rule(False, B, "c", monkeypatch)
    assert native._loaded[str(sgns.CBOW_SOURCE)] is not None  # (the portable build)
