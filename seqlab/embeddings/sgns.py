"""word2vec's update: one SGD step of skip-gram or CBOW with negative sampling, written by
hand on the rows a batch uses and applied with ``index_add_`` (sparse, no autograd).

A batch is N consecutive words of the corpus (several sentences), each the center of a
window: ``mask[i, k] = 1`` when the word at offset k - W from center i is one of its
contexts (inside its reduced window and its sentence). Skip-gram, with v_i = W_in[center i]
and u_o = W_out[word o], gives each (center i, context o) pair the loss

    L_io = -log σ(u_o · v_i) - Σ_{k=1..K} log σ(-u_{n_k} · v_i),   n_k ~ P_noise ∝ count^0.75

The noise term does not depend on o, so the m_i pairs of center i share one noise sum
weighted m_i. CBOW replaces v_i by h_i, the mean (or sum) of its contexts' input vectors,
and predicts the center word: one term per center (weight 1 in the noise sum).

Blocks: the centers are cut into blocks of B consecutive words. The B centers of a block and
the L = B + 2W words around them form a (B, L) band; all the center-context scores of the
block are one matrix product (B, E) @ (E, L), masked to the band, and the gradients are two
more products: three small matrix products instead of one dot product per pair. CBOW's
window sums are the band times the block's input rows, (B, L) @ (L, E), and its center
scores one dot product per window (a (B, B) product would use only its diagonal).

Batched negative sampling: the S noise words are drawn once per noise group of G centers (a
whole number of blocks, one block unless ``block_size`` says the blocks are smaller) and each
noise term weighs K/S, so the expected gradient is that of K noise words per pair. Each word
scores S noise words whatever G: a larger G makes fewer, larger (G, E) @ (E, S) products and
gathers and updates G times fewer noise rows. As in word2vec.c / gensim, the learning rate
multiplies the gradient of the log-likelihood (plain SGD, ascent on log σ); σ saturates
as in word2vec.c (gensim skips the scores outside (-6, 6)).

Shapes: N centers, E vector size, W window, B centers per block, nb = N / B blocks,
L = B + 2W words around a block, S noise words per group of G centers, N / G groups.

    >>> W_in, W_out = torch.randn(6, 3) * 0.1, torch.zeros(6, 3)
    >>> mask = torch.tensor([[0., 0, 1], [1., 0, 1]])  # W = 1: the left and right neighbours
    >>> batch = Batch(centers=torch.tensor([1, 2]), around=torch.tensor([0, 1, 2, 3]),
    ...               mask=mask)
    >>> loss = sg_step(W_in, W_out, batch, noise=torch.tensor([[4, 5]]), lr=0.025, negative=5)
    >>> round(loss / math.log(2), 3)  # scores 0: 3 pairs + (1 + 2) * 5 noise terms, log 2 each
    18.0
"""
from __future__ import annotations

import ctypes
import math  # noqa: F401  (the docstring's example)
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import torch
import torch.nn.functional as F

from seqlab import native

CBOW_SOURCE = Path(__file__).with_name("cbow.c")  # the CBOW step in C (float32 CPU)

@dataclass
class Batch:
    centers: torch.Tensor  # (N,) word id of each center
    around: torch.Tensor   # (N + 2W,) word ids of the centers and W words each side
    mask: torch.Tensor     # (N, 2W + 1) float: 1 where offset k - W is a context of center i


def _blocks(rows: torch.Tensor, B: int, W: int) -> torch.Tensor:
    """The L = B + 2W rows around each block of B centers, as an overlapping view (no copy):
    (N + 2W, E) -> (nb, L, E)."""
    n_blocks = (rows.shape[0] - 2 * W) // B
    E = rows.shape[1]
    return rows.as_strided((n_blocks, B + 2 * W, E), (B * E, E, 1))  # (nb, L, E)


def _band(mask: torch.Tensor, B: int) -> torch.Tensor:
    """mask (N, 2W+1) -> band (nb, B, L): band[b, i, i + k] = mask[b B + i, k]."""
    N, K = mask.shape
    L = B + K - 1
    band = mask.new_zeros(N // B, B, L)  # (nb, B, L)
    band.as_strided((N // B, B, K), (B * L, L + 1, 1)).copy_(mask.view(N // B, B, K))
    return band


def _block_ids(around: torch.Tensor, B: int, W: int) -> torch.Tensor:
    """The word ids of ``_blocks``' rows, flattened: (nb * L,)."""
    n_blocks = (len(around) - 2 * W) // B
    return around.as_strided((n_blocks, B + 2 * W), (B, 1)).reshape(-1)


def _negatives(x: torch.Tensor, weight: torch.Tensor, W_out: torch.Tensor,
               noise: torch.Tensor, lr: float, negative: int):
    """The noise terms of input vectors x (N / G, G, E) with per-center weights (N / G, G)
    against each group's noise words ``noise`` (N / G, S). Reads W_out, writes nothing.
    Returns (lr * dlogL/dx (N / G, G, E), the update of the noise rows (N / G * S, E), loss)."""
    n_blocks, S = noise.shape
    w = (weight * (negative / S)).unsqueeze(2)  # (nb, B, 1)
    u = W_out.index_select(0, noise.view(-1)).view(n_blocks, S, -1)  # (nb, S, E)
    score = torch.bmm(x, u.transpose(1, 2))  # (nb, B, S)
    # loss  w log(1 + e^s) = -w log σ(-s);   lr * dlogL/ds = -lr w σ(s)
    loss = F.binary_cross_entropy_with_logits(score, torch.zeros_like(score), w,
                                              reduction="sum")
    g = torch.sigmoid(score).mul_(w * -lr)  # (nb, B, S)
    grad_x = torch.bmm(g, u)  # (nb, B, E): Σ_s g_is u_s
    grad_u = torch.bmm(g.transpose(1, 2), x).view(-1, x.shape[2])  # (nb*S, E): Σ_i g_is x_i
    return grad_x, grad_u, loss


@torch.no_grad()
def sg_step(W_in: torch.Tensor, W_out: torch.Tensor, batch: Batch, noise: torch.Tensor,
            lr: float, negative: int, block_size: Optional[int] = None) -> float:
    """One skip-gram step on ``batch``, in place on W_in and W_out (B = ``block_size``
    centers per block, by default N / len(noise): one noise group per block). Returns the
    summed loss."""
    N, K = batch.mask.shape
    W, B = (K - 1) // 2, block_size or N // noise.shape[0]
    E = W_in.shape[1]
    v = W_in.index_select(0, batch.centers).view(-1, B, E)  # (nb, B, E)
    u = _blocks(W_out.index_select(0, batch.around), B, W)  # (nb, L, E)
    band = _band(batch.mask, B)  # (nb, B, L)
    score = torch.bmm(v, u.transpose(1, 2))  # (nb, B, L): u_o · v_i for every o near i
    # loss -log σ(u_o · v_i) on the band;  lr * dlogL/ds = lr (1 - σ(s)) = lr σ(-s)
    loss = F.binary_cross_entropy_with_logits(score, band, band, reduction="sum")
    g = torch.sigmoid(-score).mul_(band * lr)  # (nb, B, L)
    grad_v, grad_noise, neg_loss = _negatives(v.view(len(noise), -1, E),
                                              batch.mask.sum(1).view(len(noise), -1), W_out,
                                              noise, lr, negative)
    # v_i += Σ_o g_io u_o + Σ_s g_is u_s
    grad_v = grad_v.view(-1, B, E).baddbmm_(g, u).view(N, E)  # (N, E)
    # u_o += Σ_i g_io v_i  (a word near two blocks gets both sums);  u_s += Σ_i g_is v_i
    W_out.index_add_(0, _block_ids(batch.around, B, W), torch.bmm(g.transpose(1, 2), v)
                     .view(-1, E))
    W_out.index_add_(0, noise.view(-1), grad_noise)
    W_in.index_add_(0, batch.centers, grad_v)
    return float(loss + neg_loss)


@torch.no_grad()
def cbow_step(W_in: torch.Tensor, W_out: torch.Tensor, batch: Batch, noise: torch.Tensor,
              lr: float, negative: int, cbow_mean: bool = True,
              block_size: Optional[int] = None) -> float:
    """One CBOW step on ``batch``, in place on W_in and W_out. Returns the summed loss.

    The windows of a block are its band: h = band @ x, one (B, L) @ (L, E) product, and
    the update of the context rows is the transposed product. Each window then scores its
    own center (one dot product per row) and its block's S noise words (one (B, E) @ (E, S)
    product per block).

    As word2vec.c and gensim, every context word of a window receives the whole update of
    h with the mean (not 1/m of it, the exact gradient), and 1/m of it with the sum.

    float32 on the CPU, the same step runs in C (``cbow.c``: each row read where it lies,
    no gathered copies) when it could be built (``seqlab/native.py``)."""
    N, K = batch.mask.shape
    n_groups, S = noise.shape
    lib = cbow_library() if _fits_c(W_in, W_out, batch, noise) else None
    if lib is not None:
        loss = lib.seqlab_cbow_step(N, W_in.shape[1], (K - 1) // 2, N // n_groups, S,
                                    W_in.data_ptr(), W_out.data_ptr(), batch.around.data_ptr(),
                                    batch.mask.data_ptr(), noise.data_ptr(), lr, negative,
                                    int(cbow_mean))
        if loss >= 0:  # (-1: no scratch memory; the torch step below)
            return loss
    B, E, W = block_size or N // n_groups, W_in.shape[1], (K - 1) // 2
    n_blocks = N // B
    m = batch.mask.sum(1, keepdim=True)  # (N, 1) contexts per center
    valid = (m > 0).to(W_in.dtype).view(N)  # (N,) centers with no context give no update
    band = _band(batch.mask, B)  # (nb, B, L)
    x = _blocks(W_in.index_select(0, batch.around), B, W)  # (nb, L, E)
    h = torch.bmm(band, x).view(N, E)  # (N, E): h_i = Σ_o x_o, 0 for a center alone
    if cbow_mean:
        h = h.div_(m.clamp_min(1))  # h_i = Σ_o x_o / m_i
    # the center: loss -log σ(u_c · h_i);  lr * dlogL/ds = lr σ(-s)
    u_c = W_out.index_select(0, batch.centers)  # (N, E)
    s_c = (h * u_c).sum(1)  # (N,)
    loss = F.softplus(-s_c).mul_(valid).sum()
    g_c = torch.sigmoid(-s_c).mul_(valid * lr).unsqueeze(1)  # (N, 1)
    # the noise words: the skip-gram step's terms with weight 1 per window
    grad_h, grad_noise, neg_loss = _negatives(h.view(n_groups, -1, E), valid.view(n_groups, -1),
                                              W_out, noise, lr, negative)
    grad_h = grad_h.view(N, E).addcmul_(g_c, u_c)  # (N, E): g_ic u_c + Σ_s g_is u_s
    if not cbow_mean:
        grad_h = grad_h.div_(m.clamp_min(1))
    # u_c += g_ic h_i;  u_s += Σ_i g_is h_i
    W_out.index_add_(0, batch.centers, h.mul_(g_c))
    W_out.index_add_(0, noise.view(-1), grad_noise)
    # x_o += grad_h of each window o is in (a word near two blocks gets both sums)
    W_in.index_add_(0, _block_ids(batch.around, B, W),
                    torch.bmm(band.transpose(1, 2), grad_h.view(n_blocks, B, E)).view(-1, E))
    return float(loss + neg_loss)


def cbow_library():
    """The compiled ``cbow.c`` with its argument types set, or None (no C compiler,
    ``SEQLAB_NATIVE=0``: ``cbow_step`` runs its torch code)."""
    return native.load(CBOW_SOURCE, {"seqlab_cbow_step": (
        [ctypes.c_int] * 5 + [ctypes.c_void_p] * 5 + [ctypes.c_float, ctypes.c_float,
                                                      ctypes.c_int], ctypes.c_double)})


def _fits_c(W_in, W_out, batch: Batch, noise) -> bool:
    """Whether the C step can take these tensors as they are."""
    return (all(t.device.type == "cpu" and t.is_contiguous()
                for t in (W_in, W_out, batch.around, batch.mask, noise))
            and W_in.dtype == W_out.dtype == batch.mask.dtype == torch.float32
            and batch.around.dtype == noise.dtype == torch.int64
            and len(batch.around) == len(batch.mask) + batch.mask.shape[1] - 1
            and len(batch.mask) % len(noise) == 0)
