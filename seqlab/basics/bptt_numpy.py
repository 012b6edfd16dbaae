"""Backpropagation through time for a simple RNN, in NumPy, from the course's formulas
(seed 003, "Chapitre 3": h_t = g(W_hh h_{t-1} + W_xh x_t + b), ŷ_t = W_hy h_t + b, one
loss per step, summed; seed 001/002: the gradients of the unrolled network are the sums
of the per-step gradients, "règle de chaînage").

Teaching code: readable rather than fast, every line an equation. The weights use Keras's
SimpleRNN layout (row vectors on the left), so they load from / into ``seqlab.layers``:

    W_xh (D, H)  = SimpleRNN kernel           b_h (H,) = SimpleRNN bias
    W_hh (H, H)  = SimpleRNN recurrent_kernel
    W_hy (H, O)  = Dense kernel               b_y (O,) = Dense bias

Forward, for t = 1..T (x_t (B, D), h_0 = 0 unless given):

    z_t = x_t W_xh + h_{t-1} W_hh + b_h      (B, H)
    h_t = tanh(z_t)                          (B, H)
    y_t = h_t W_hy + b_y                     (B, O)
    L   = Σ_t L_t(y_t, target_t)             summed over time and batch

Backward (δ_t = ∂L/∂h_t, the total gradient reaching h_t), for t = T..1:

    ∂L/∂y_t  = ∂L_t/∂y_t                     (B, O) (mse: y_t - target_t; softmax: p_t - 1[target])
    ∂L/∂W_hy += h_tᵀ ∂L/∂y_t ;  ∂L/∂b_y += Σ_batch ∂L/∂y_t
    δ_t      = ∂L/∂y_t W_hyᵀ + δ_{t+1}^→     (the second term comes back from step t+1)
    ∂L/∂z_t  = δ_t ∘ (1 - h_t²)               (tanh' = 1 - tanh²)
    ∂L/∂W_xh += x_tᵀ ∂L/∂z_t ;  ∂L/∂W_hh += h_{t-1}ᵀ ∂L/∂z_t ;  ∂L/∂b_h += Σ_batch ∂L/∂z_t
    δ_{t}^→  = ∂L/∂z_t W_hhᵀ                 (what flows to h_{t-1})

The recursion multiplies by W_hhᵀ diag(1 - h_t²) once per step back in time: the norm of
δ shrinks (vanishing) or grows (exploding) geometrically; ``bptt`` returns every δ_t so
this can be plotted. ``truncated_bptt`` and ``train_truncated`` stop the recursion k2 steps
back, for streams too long to unroll (a delayed echo is learned only if k2 reaches it).

    >>> import numpy as np
    >>> params = init_params(D=3, H=4, O=2, seed=0)
    >>> x = np.random.default_rng(1).normal(size=(2, 5, 3))  # (B, T, D)
    >>> cache = forward(params, x)
    >>> cache["h"].shape, cache["y"].shape        # h includes h_0
    ((6, 2, 4), (5, 2, 2))
"""
from __future__ import annotations

from typing import Iterator, Optional

import numpy as np

Params = dict  # "W_xh", "W_hh", "b_h", "W_hy", "b_y" -> np.ndarray
NAMES = ("W_xh", "W_hh", "b_h", "W_hy", "b_y")


def init_params(D: int, H: int, O: int, seed: Optional[int] = 0, scale: float = 0.5) -> Params:
    """Random weights N(0, scale²/fan_in) in Keras's layout (see the module docstring)."""
    rng = np.random.default_rng(seed)
    return {
        "W_xh": rng.normal(0, scale / np.sqrt(D), (D, H)),
        "W_hh": rng.normal(0, scale / np.sqrt(H), (H, H)),
        "b_h": rng.normal(0, 0.1, H),
        "W_hy": rng.normal(0, scale / np.sqrt(H), (H, O)),
        "b_y": rng.normal(0, 0.1, O),
    }


def forward(params: Params, x: np.ndarray, h0: Optional[np.ndarray] = None) -> dict:
    """Run the RNN over x (B, T, D). Returns a cache with time first:
    ``x`` (T, B, D), ``h`` (T+1, B, H) with h[0] = h_0, ``y`` (T, B, O)."""
    x = np.asarray(x, dtype=float).transpose(1, 0, 2)  # (B, T, D) -> (T, B, D)
    T, B, _ = x.shape
    H = params["W_hh"].shape[0]
    h = np.zeros((T + 1, B, H))
    h[0] = 0.0 if h0 is None else h0
    y = np.zeros((T, B, params["W_hy"].shape[1]))
    for t in range(T):  # h[t + 1] is the course's h_t for step t + 1
        z = x[t] @ params["W_xh"] + h[t] @ params["W_hh"] + params["b_h"]  # z_t (B, H)
        h[t + 1] = np.tanh(z)  # h_t = tanh(z_t)
        y[t] = h[t + 1] @ params["W_hy"] + params["b_y"]  # y_t (B, O)
    return {"x": x, "h": h, "y": y}


def step_losses(y: np.ndarray, target: np.ndarray,
                loss: str = "mse") -> tuple[np.ndarray, np.ndarray]:
    """Per-step losses L_t (T,) and their gradients ∂L_t/∂y_t (T, B, O).

    ``mse``: L_t = ½ Σ (y_t - target_t)², target (T, B, O) or (B, T, O).
    ``softmax``: L_t = -Σ log softmax(y_t)[target_t], target (T, B) class ids.
    """
    if loss == "mse":
        diff = y - target
        return 0.5 * (diff ** 2).sum(axis=(1, 2)), diff
    if loss == "softmax":
        target = np.asarray(target, dtype=int)
        p = np.exp(y - y.max(axis=-1, keepdims=True))
        p /= p.sum(axis=-1, keepdims=True)  # softmax over the O classes
        T, B = target.shape
        picked = p[np.arange(T)[:, None], np.arange(B)[None, :], target]  # (T, B)
        dy = p.copy()
        dy[np.arange(T)[:, None], np.arange(B)[None, :], target] -= 1.0  # p - onehot
        return -np.log(picked).sum(axis=1), dy
    raise ValueError(f"bptt_numpy: loss must be 'mse' or 'softmax', got {loss!r}.")


def backward(params: Params, cache: dict, dy: np.ndarray, t_start: int = 0,
             t_end: Optional[int] = None, dh_end: Optional[np.ndarray] = None) -> dict:
    """The BPTT recursion over steps t_end-1 .. t_start (0-based, default all).

    ``dy`` (T, B, O) holds ∂L/∂y_t (zero where a step has no loss); ``dh_end`` a gradient
    arriving at the last hidden state from later. Gradients stop at h[t_start]
    (truncation). Returns the five parameter gradients, ``dh`` (T, B, H) with
    δ_t = ∂L/∂h_t for t in the range, and ``dh0`` = ∂L/∂h[t_start].
    """
    x, h = cache["x"], cache["h"]
    t_end = len(x) if t_end is None else t_end
    grads = {name: np.zeros_like(params[name]) for name in NAMES}
    dh_all = np.zeros(h[1:].shape)
    dh_next = np.zeros_like(h[0]) if dh_end is None else dh_end  # δ^→ from step t_end
    for t in reversed(range(t_start, t_end)):
        h_t, h_prev = h[t + 1], h[t]
        grads["W_hy"] += h_t.T @ dy[t]  # ∂L/∂W_hy += h_tᵀ ∂L/∂y_t
        grads["b_y"] += dy[t].sum(axis=0)
        dh = dy[t] @ params["W_hy"].T + dh_next  # δ_t = ∂L/∂y_t W_hyᵀ + δ^→
        dh_all[t] = dh
        dz = dh * (1.0 - h_t ** 2)  # ∂L/∂z_t = δ_t ∘ tanh'(z_t)
        grads["W_xh"] += x[t].T @ dz  # ∂L/∂W_xh += x_tᵀ ∂L/∂z_t
        grads["W_hh"] += h_prev.T @ dz  # ∂L/∂W_hh += h_{t-1}ᵀ ∂L/∂z_t
        grads["b_h"] += dz.sum(axis=0)  # ∂L/∂b_h += Σ_batch ∂L/∂z_t
        dh_next = dz @ params["W_hh"].T  # flows on to h_{t-1}
    grads["dh"] = dh_all
    grads["dh0"] = dh_next
    return grads


def bptt(params: Params, x: np.ndarray, target: np.ndarray, loss: str = "mse",
         h0: Optional[np.ndarray] = None) -> tuple[float, dict]:
    """Full BPTT: returns L = Σ_t L_t and the gradients (see ``backward``).

    ``x`` (B, T, D); ``target`` (B, T, O) for mse or (B, T) class ids for softmax.
    """
    cache = forward(params, x, h0)
    target = np.swapaxes(np.asarray(target), 0, 1)  # batch-first -> time-first
    losses, dy = step_losses(cache["y"], target, loss)
    return float(losses.sum()), backward(params, cache, dy)


def truncated_bptt(params: Params, x: np.ndarray, target: np.ndarray, k1: int,
                   k2: Optional[int] = None, loss: str = "mse",
                   h0: Optional[np.ndarray] = None) -> Iterator[tuple[int, float, dict]]:
    """Truncated BPTT(k1, k2) over a long stream x (B, T, D) (Williams & Peng, 1990).

    Every k1 steps, the losses of those k1 steps are backpropagated at most k2 >= k1
    steps back in time; the state itself is carried forward without a break. Yields
    ``(t_end, loss, grads)`` per chunk so a training loop can update after each.
    With k1 = k2 = T it is full BPTT; with k1 = k2 = k it is the usual "chunks of k,
    state carried, gradient stopped at each chunk boundary" (stateful training).
    """
    k2 = k1 if k2 is None else k2
    if not 1 <= k1 <= k2:
        raise ValueError(f"truncated_bptt: need 1 <= k1 <= k2, got k1={k1}, k2={k2}.")
    cache = forward(params, x, h0)  # the state flows over the whole stream
    target = np.swapaxes(np.asarray(target), 0, 1)
    losses, dy = step_losses(cache["y"], target, loss)
    T = len(cache["x"])
    for t_end in range(k1, T + k1, k1):
        t_end = min(t_end, T)
        t_loss = (t_end - 1) // k1 * k1  # the chunk's first step (the last chunk may be short)
        dy_chunk = np.zeros_like(dy)
        dy_chunk[t_loss:t_end] = dy[t_loss:t_end]  # only this chunk's losses
        grads = backward(params, cache, dy_chunk, t_start=max(t_end - k2, 0), t_end=t_end)
        yield t_end, float(losses[t_loss:t_end].sum()), grads


def train_truncated(params: Params, x: np.ndarray, target: np.ndarray, k1: int,
                    k2: Optional[int] = None, learning_rate: float = 0.01, loss: str = "mse",
                    clipnorm: Optional[float] = None) -> list[float]:
    """Stochastic gradient descent over one long stream with truncated BPTT(k1, k2).

    Every k1 steps: rerun the last k2 steps from the state stored for their start
    (with the current weights), backpropagate the losses of the last k1 steps through
    those k2 steps only, update ``params`` in place (gradient norm clipped to
    ``clipnorm``). Memory and time per update are O(k2), whatever the stream's length.
    A dependency longer than k2 steps cannot be learned: the gradient never reaches it.
    Returns the mean per-step loss of each chunk.
    """
    k2 = k1 if k2 is None else k2
    if not 1 <= k1 <= k2:
        raise ValueError(f"train_truncated: need 1 <= k1 <= k2, got k1={k1}, k2={k2}.")
    B, T, _ = np.shape(x)
    states = {0: np.zeros((B, params["W_hh"].shape[0]))}  # step index -> h before it
    losses = []
    for t_end in range(k1, T + 1, k1):
        start = max(t_end - k2, 0)
        cache = forward(params, x[:, start:t_end], h0=states[start])  # window of <= k2 steps
        step_l, dy = step_losses(cache["y"], np.swapaxes(target[:, start:t_end], 0, 1), loss)
        first = t_end - k1 - start  # the window's steps before this chunk carry no loss
        dy[:first] = 0.0
        grads = backward(params, cache, dy)
        norm = np.sqrt(sum((grads[name] ** 2).sum() for name in NAMES))
        scale = min(1.0, clipnorm / max(norm, 1e-300)) if clipnorm else 1.0
        for name in NAMES:
            params[name] = params[name] - learning_rate * scale * grads[name]  # W <- W - α ∂L/∂W
        next_start = max(t_end + k1 - k2, 0)
        states[next_start] = cache["h"][next_start - start]  # where the next window begins
        for old in [s for s in states if s < next_start]:
            del states[old]
        losses.append(float(step_l[first:].mean() / B))
    return losses
