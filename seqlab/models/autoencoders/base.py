"""What the autoencoders share: each says its loss, and ``Model.fit`` trains it.

An autoencoder's loss is its own: ``loss_terms(x) -> {"loss", "reconstruction", ...}``
gives the batch means of the minimised total (reconstruction + penalties: L1 or KL
sparsity, the VAE's KL term) and of each term. ``compute_loss`` turns that into what
``fit`` expects: the total for back-propagation, every other term in the logs, so the
history holds each term per epoch (and ``val_<term>`` on validation data). The target
is the input: ``ae.fit(x, x)`` or ``ae.fit(source)`` for batches ``Batch(x, ...)`` or
``(x,)``.

    >>> import numpy as np
    >>> from seqlab.models.autoencoders import Autoencoder
    >>> x = np.random.default_rng(0).normal(size=(64, 8)).astype("float32")
    >>> ae = Autoencoder(8, 3, activation="linear")
    >>> ae.compile(optimizer="adam")           # no loss: the autoencoder says its own
    >>> sorted(ae.fit(x, x, epochs=2, verbose=0, seed=0).history)
    ['loss', 'reconstruction']

Shapes: B batch.
"""
from __future__ import annotations

from typing import Any

import torch

from seqlab.models.adapters import Batch
from seqlab.models.model import Model


def batch_inputs(batch: Any) -> torch.Tensor:
    """The inputs of a batch: ``Batch.x``, or the first element of a tuple/list."""
    if isinstance(batch, Batch):
        return batch.x
    if isinstance(batch, torch.Tensor):
        return batch
    if isinstance(batch, (tuple, list)) and batch:
        return batch[0]
    raise TypeError(f"autoencoder compute_loss: expected a Batch, a tensor or a tuple "
                    f"(x,), got {type(batch).__name__}. Train with fit(x, x) or "
                    f"train_autoencoder(model, x).")


def terms_loss(model, batch: Any) -> tuple[torch.Tensor, int, dict]:
    """``compute_loss`` from ``model.loss_terms(x)`` (batch means): ``(loss * B, B,
    {term: (mean * B, B)})`` for every term but ``"loss"``."""
    x = batch_inputs(batch)                      # (B, ...)
    terms = model.loss_terms(x)
    n = int(x.shape[0])
    logs = {k: (v.detach() * n, n) for k, v in terms.items() if k != "loss"}
    return terms["loss"] * n, n, logs


class ReconstructionModel(Model):
    """A ``Model`` trained to rebuild its input; subclasses define ``loss_terms(x)``."""

    def loss_terms(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        raise NotImplementedError(f"{type(self).__name__}: define loss_terms(x) -> "
                                  f"{{'loss': ..., 'reconstruction': ...}}.")

    def compute_loss(self, batch: Any) -> tuple[torch.Tensor, int, dict]:
        """The batch's ``loss_terms``: the total to minimise, each term in the logs."""
        return terms_loss(self, batch)


__all__ = ["ReconstructionModel", "terms_loss", "batch_inputs"]
