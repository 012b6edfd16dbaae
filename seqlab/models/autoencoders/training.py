"""``train_autoencoder``: a short way to ``compile`` and ``fit`` an autoencoder.

Every autoencoder here is a ``Model`` that says its loss (``loss_terms``, see
``seqlab.models.autoencoders.base``), so ``Model.fit`` trains it like any model; this
function only picks the optimizer from a name and a rate, slices ``x`` into batches
(the target is the input) and returns ``fit``'s history: ``{term: [mean per epoch]}``
with ``val_<term>`` on validation data (computed in eval mode).

    >>> import numpy as np
    >>> from seqlab.models.autoencoders import Autoencoder
    >>> x = np.random.default_rng(0).normal(size=(64, 8)).astype("float32")
    >>> ae = Autoencoder(8, 3, activation="linear")
    >>> history = train_autoencoder(ae, x, epochs=3, batch_size=32)
    >>> len(history["loss"])
    3
"""
from __future__ import annotations

from typing import Optional

import numpy as np
import torch

from seqlab.models.adapters import ArrayData

OPTIMIZERS = ("adam", "sgd", "lbfgs")


def as_float_tensor(x, who: str = "autoencoder", dtype=torch.float32) -> torch.Tensor:
    """numpy/tensor input -> a float tensor, with a clear error for anything else."""
    if isinstance(x, torch.Tensor):
        return x.to(dtype) if not x.is_floating_point() else x
    try:
        return torch.as_tensor(np.asarray(x, dtype=np.float32), dtype=dtype)
    except (TypeError, ValueError):
        raise TypeError(f"{who}: expected a numeric array (N, ...), got "
                        f"{type(x).__name__}. Convert it with np.asarray(x, 'float32').") from None


def make_optimizer(model, optimizer: str, lr: float, weight_decay: float,
                   full_batch: bool) -> torch.optim.Optimizer:
    """Adam, SGD with momentum 0.9, or full-batch L-BFGS (strong Wolfe line search)."""
    params = [p for p in model.parameters() if p.requires_grad]
    if optimizer == "adam":
        return torch.optim.Adam(params, lr=lr, weight_decay=weight_decay)
    if optimizer == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=0.9, weight_decay=weight_decay)
    if optimizer == "lbfgs":
        if not full_batch:
            raise ValueError("train_autoencoder: optimizer='lbfgs' needs the full batch; "
                             "pass batch_size=None.")
        return torch.optim.LBFGS(params, lr=lr, max_iter=20, history_size=20,
                                 line_search_fn="strong_wolfe")
    raise ValueError(f"train_autoencoder: optimizer must be one of {OPTIMIZERS}, got "
                     f"{optimizer!r}.")


def train_autoencoder(model, x, epochs: int = 10, batch_size: Optional[int] = 128,
                      lr: float = 1e-3, optimizer: str = "adam", validation_data=None,
                      seed: Optional[int] = 0, verbose: int = 0, weight_decay: float = 0.0,
                      clipnorm: Optional[float] = None, global_clipnorm: Optional[float] = None,
                      callbacks=None) -> dict[str, list[float]]:
    """Compile ``model`` with the named optimizer and ``fit`` it to rebuild ``x``.

    Args:
        model: an autoencoder of ``seqlab.models.autoencoders`` (a ``Model`` with
            ``loss_terms``); it stays on its device.
        x: training inputs (N, ...); the targets are the inputs themselves.
        epochs: passes over x. batch_size: None = full batch (no shuffling).
        lr: learning rate. optimizer: "adam", "sgd" (momentum 0.9) or "lbfgs" (full batch).
        validation_data: inputs (M, ...) scored after every epoch (``val_*``).
        seed: seeds weights built now, shuffling, noise and sampling (``fit(seed=...)``).
        verbose: 1 prints one line per epoch.
        weight_decay: L2 penalty of the optimiser.
        clipnorm: clip each parameter's gradient to this norm; global_clipnorm: clip the
            norm of all gradients together (recurrent autoencoders train more steadily
            with e.g. ``global_clipnorm=1.0``). As in ``Model.compile``.
        callbacks: more ``seqlab.models.callbacks.Callback`` for ``fit``.

    Returns ``fit``'s ``History.history``: {term: [value per epoch], ...}.
    """
    if not hasattr(model, "loss_terms") or not hasattr(model, "fit"):
        raise TypeError(f"train_autoencoder: {type(model).__name__} has no loss_terms(x); "
                        f"use one of seqlab.models.autoencoders' models.")
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs <= 0:
        raise ValueError(f"train_autoencoder: epochs must be a positive integer, got {epochs!r}.")
    x = as_float_tensor(x, type(model).__name__)
    if len(x) == 0:
        raise ValueError("train_autoencoder: x is empty; give at least one sample.")
    full = batch_size is None or batch_size >= len(x)
    model.compile(optimizer=make_optimizer(model, optimizer, lr, weight_decay, full),
                  clipnorm=clipnorm, global_clipnorm=global_clipnorm)
    val = None
    if validation_data is not None:
        val = ArrayData(as_float_tensor(validation_data, type(model).__name__), None)
    history = model.fit(ArrayData(x, None), batch_size=len(x) if full else int(batch_size),
                        epochs=epochs, verbose=2 if verbose else 0, callbacks=callbacks,
                        validation_data=val, shuffle=not full, seed=seed, device=None)
    return history.history


__all__ = ["train_autoencoder", "as_float_tensor", "make_optimizer"]
