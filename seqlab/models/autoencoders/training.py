"""The autoencoders' training loop: the target is the input, the loss is the model's own.

Every autoencoder here defines ``loss_terms(x) -> dict`` whose ``"loss"`` entry is what is
minimised (reconstruction + penalties: L1/KL sparsity, the VAE's KL term). Keras's ``fit``
has no place for such terms, so this small loop trains them; ``history`` holds the mean of
every term per epoch (and ``val_<term>`` on validation data, computed in eval mode).

    >>> import numpy as np
    >>> from seqlab.models.autoencoders import Autoencoder
    >>> x = np.random.default_rng(0).normal(size=(64, 8)).astype("float32")
    >>> ae = Autoencoder(8, 3, activation="linear")
    >>> history = train_autoencoder(ae, x, epochs=3, batch_size=32)
    >>> len(history["loss"])
    3
"""
from __future__ import annotations

from collections import defaultdict
from typing import Optional

import numpy as np
import torch
from torch import nn


def as_float_tensor(x, who: str = "autoencoder", dtype=torch.float32) -> torch.Tensor:
    """numpy/tensor input -> a float tensor, with a clear error for anything else."""
    if isinstance(x, torch.Tensor):
        return x.to(dtype) if not x.is_floating_point() else x
    try:
        return torch.as_tensor(np.asarray(x, dtype=np.float32), dtype=dtype)
    except (TypeError, ValueError):
        raise TypeError(f"{who}: expected a numeric array (N, ...), got "
                        f"{type(x).__name__}. Convert it with np.asarray(x, 'float32').") from None


def _epoch_means(model: nn.Module, x: torch.Tensor, batch_size: int) -> dict[str, float]:
    sums: dict[str, float] = defaultdict(float)
    for s in range(0, len(x), batch_size):
        xb = x[s:s + batch_size]
        for k, v in model.loss_terms(xb).items():
            sums[k] += float(v) * len(xb)
    return {k: v / len(x) for k, v in sums.items()}


def train_autoencoder(model: nn.Module, x, epochs: int = 10, batch_size: Optional[int] = 128,
                      lr: float = 1e-3, optimizer: str = "adam", validation_data=None,
                      seed: Optional[int] = 0, verbose: int = 0, weight_decay: float = 0.0,
                      clipnorm: Optional[float] = None) -> dict[str, list[float]]:
    """Minimise ``model.loss_terms(x)["loss"]`` with Adam (or ``"sgd"``/``"lbfgs"``).

    Args:
        x: training inputs (N, ...); the targets are the inputs themselves.
        epochs: passes over x. batch_size: None = full batch.
        lr: learning rate. optimizer: "adam", "sgd" or "lbfgs" (full batch).
        validation_data: inputs (M, ...) scored after every epoch (``val_*``).
        seed: seeds shuffling, noise and sampling. verbose: 1 prints one line per epoch.
        weight_decay: L2 penalty of the optimiser. clipnorm: clip the gradient norm
            (recurrent autoencoders train more steadily with e.g. 1.0).

    Returns the history: {term: [value per epoch], ...}.
    """
    if not hasattr(model, "loss_terms"):
        raise TypeError(f"train_autoencoder: {type(model).__name__} has no loss_terms(x); "
                        f"use one of seqlab.models.autoencoders' models.")
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs <= 0:
        raise ValueError(f"train_autoencoder: epochs must be a positive integer, got {epochs!r}.")
    x = as_float_tensor(x, type(model).__name__)
    if len(x) == 0:
        raise ValueError("train_autoencoder: x is empty; give at least one sample.")
    val = as_float_tensor(validation_data) if validation_data is not None else None
    if seed is not None:
        torch.manual_seed(seed)
    with torch.no_grad():
        model.loss_terms(x[:2])  # builds lazy layers before the optimiser sees the parameters
    params = [p for p in model.parameters() if p.requires_grad]
    full = batch_size is None or batch_size >= len(x)
    bs = len(x) if full else int(batch_size)
    if optimizer == "adam":
        opt = torch.optim.Adam(params, lr=lr, weight_decay=weight_decay)
    elif optimizer == "sgd":
        opt = torch.optim.SGD(params, lr=lr, momentum=0.9, weight_decay=weight_decay)
    elif optimizer == "lbfgs":
        if not full:
            raise ValueError("train_autoencoder: optimizer='lbfgs' needs the full batch; "
                             "pass batch_size=None.")
        opt = torch.optim.LBFGS(params, lr=lr, max_iter=20, history_size=20,
                                line_search_fn="strong_wolfe")
    else:
        raise ValueError(f"train_autoencoder: optimizer must be 'adam', 'sgd' or 'lbfgs', "
                         f"got {optimizer!r}.")
    gen = torch.Generator().manual_seed(seed if seed is not None else 0)
    history: dict[str, list[float]] = defaultdict(list)
    for epoch in range(epochs):
        model.train()
        order = torch.randperm(len(x), generator=gen) if not full else torch.arange(len(x))
        sums: dict[str, float] = defaultdict(float)
        for s in range(0, len(x), bs):
            xb = x[order[s:s + bs]]
            if optimizer == "lbfgs":
                def closure():
                    opt.zero_grad()
                    loss = model.loss_terms(xb)["loss"]
                    loss.backward()
                    return loss
                opt.step(closure)
                with torch.no_grad():
                    terms = model.loss_terms(xb)
            else:
                terms = model.loss_terms(xb)
                opt.zero_grad(set_to_none=True)
                terms["loss"].backward()
                if clipnorm:
                    torch.nn.utils.clip_grad_norm_(params, clipnorm)
                opt.step()
            for k, v in terms.items():
                sums[k] += float(v.detach()) * len(xb)
        for k, v in sums.items():
            history[k].append(v / len(x))
        if val is not None:
            model.eval()
            with torch.no_grad():
                for k, v in _epoch_means(model, val, bs).items():
                    history[f"val_{k}"].append(v)
        if verbose:
            print(f"epoch {epoch + 1}/{epochs} " + " ".join(
                f"{k}={v[-1]:.4g}" for k, v in history.items()), flush=True)
    model.eval()
    return dict(history)
