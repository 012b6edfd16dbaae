"""Loss functions by Keras name, numerically stable from logits or probabilities.

Every loss maps ``(y_pred, y_true)`` to one value per sample (and per time step for
sequence outputs): the last axis (features or classes) is reduced, Keras-style. The
training loop then averages, skipping padded steps when a mask is present.

``from_logits=True`` means ``y_pred`` are raw scores. ``Model.compile`` sets it for you
when the model ends in a ``sigmoid``/``softmax`` Dense or Activation: the model then
hands the loss its pre-activation, so ``binary_crossentropy`` never takes ``log(0)``.

    >>> import torch
    >>> bce = get("binary_crossentropy")
    >>> float(bce(torch.tensor([[0.0]]), torch.tensor([1.0]), from_logits=True).mean())
    0.6931...

Shapes: B batch, T time, C classes, D features.
"""
from __future__ import annotations

from typing import Callable, Optional, Union

import torch
import torch.nn.functional as F

EPSILON = 1e-7  # Keras's backend.epsilon(): probabilities are clipped to [eps, 1 - eps]


def _differ_by_trailing_one(a, b) -> bool:
    """True when ``a`` is ``b`` plus a last axis of size 1, or the other way round."""
    a, b = tuple(a), tuple(b)
    if len(a) < len(b):
        a, b = b, a
    return len(a) == len(b) + 1 and a[-1] == 1 and a[:-1] == b


def _match(y_pred: torch.Tensor, y_true: torch.Tensor, loss: str) -> torch.Tensor:
    """``y_true`` as a float tensor shaped like ``y_pred``. As in Keras, the shapes may
    differ only by a trailing axis of size 1: (B,) for (B, 1), (B, T) for (B, T, 1)."""
    y_true = y_true.to(y_pred.dtype)
    if y_true.shape == y_pred.shape:
        return y_true
    if _differ_by_trailing_one(y_true.shape, y_pred.shape):
        return y_true.reshape(y_pred.shape)  # (B,) -> (B, 1)
    hint = ""
    if loss == "categorical_crossentropy" and y_true.dim() == y_pred.dim() - 1:
        hint = (" The targets look like class indices: use "
                "loss='sparse_categorical_crossentropy' or one-hot encode them "
                "(seqlab.data.to_categorical).")
    raise ValueError(f"{loss}: targets of shape {tuple(y_true.shape)} do not match the "
                     f"model's output shape {tuple(y_pred.shape)}.{hint}")


def mean_squared_error(y_pred, y_true, from_logits: bool = False) -> torch.Tensor:
    """mean over the last axis of (y_pred - y_true)^2   # (B, D) -> (B,)"""
    return (y_pred - _match(y_pred, y_true, "mse")).square().mean(dim=-1)


def mean_absolute_error(y_pred, y_true, from_logits: bool = False) -> torch.Tensor:
    """mean over the last axis of |y_pred - y_true|   # (B, D) -> (B,)"""
    return (y_pred - _match(y_pred, y_true, "mae")).abs().mean(dim=-1)


def binary_crossentropy(y_pred, y_true, from_logits: bool = False) -> torch.Tensor:
    """-(y log p + (1 - y) log(1 - p)), mean over the last axis   # (B, 1) -> (B,)"""
    y = _match(y_pred, y_true, "binary_crossentropy")
    if from_logits:
        # log-sum-exp form inside torch: exact for any logit, no log(0).
        return F.binary_cross_entropy_with_logits(y_pred, y, reduction="none").mean(dim=-1)
    p = y_pred.clamp(EPSILON, 1.0 - EPSILON)
    return -(y * torch.log(p) + (1.0 - y) * torch.log1p(-p)).mean(dim=-1)


def categorical_crossentropy(y_pred, y_true, from_logits: bool = False) -> torch.Tensor:
    """-sum_c y_c log p_c over the last axis, y one-hot (or soft)   # (B, C) -> (B,)"""
    y = _match(y_pred, y_true, "categorical_crossentropy")
    if from_logits:
        log_p = torch.log_softmax(y_pred, dim=-1)
    else:
        p = y_pred / y_pred.sum(dim=-1, keepdim=True)  # Keras renormalises
        log_p = torch.log(p.clamp(EPSILON, 1.0 - EPSILON))
    return -(y * log_p).sum(dim=-1)


def sparse_categorical_crossentropy(y_pred, y_true, from_logits: bool = False) -> torch.Tensor:
    """-log p[y] with y integer class ids   # (B, C), (B,) -> (B,);  (B, T, C), (B, T) -> (B, T)"""
    lead = tuple(y_pred.shape[:-1])
    if y_true.dim() == len(lead) + 1 and y_true.shape[-1] == 1:
        y_true = y_true.squeeze(-1)  # (B, 1) -> (B,)
    if tuple(y_true.shape) != lead:
        raise ValueError(
            f"sparse_categorical_crossentropy: targets must be class ids of shape {lead} "
            f"for outputs of shape {tuple(y_pred.shape)}, got {tuple(y_true.shape)}. "
            + ("They look one-hot: use loss='categorical_crossentropy'."
               if tuple(y_true.shape) == tuple(y_pred.shape) else "")
        )
    if y_true.is_floating_point():
        y_true = y_true.round()
    y_true = y_true.long()
    num_classes = y_pred.shape[-1]
    if y_true.numel() and (int(y_true.min()) < 0 or int(y_true.max()) >= num_classes):
        raise ValueError(
            f"sparse_categorical_crossentropy: class ids must lie in [0, {num_classes}), got "
            f"values in [{int(y_true.min())}, {int(y_true.max())}]. Give the last layer as "
            f"many units as there are classes."
        )
    log_p = (torch.log_softmax(y_pred, dim=-1) if from_logits
             else torch.log((y_pred / y_pred.sum(dim=-1, keepdim=True)).clamp(EPSILON, 1.0)))
    return -log_p.gather(-1, y_true.unsqueeze(-1)).squeeze(-1)


LOSSES: dict[str, Callable] = {
    "mse": mean_squared_error, "mean_squared_error": mean_squared_error,
    "mae": mean_absolute_error, "mean_absolute_error": mean_absolute_error,
    "binary_crossentropy": binary_crossentropy, "bce": binary_crossentropy,
    "categorical_crossentropy": categorical_crossentropy,
    "sparse_categorical_crossentropy": sparse_categorical_crossentropy,
}

# Which output activation a loss can undo: the model then hands it logits instead.
LOGIT_ACTIVATION = {
    binary_crossentropy: "sigmoid",
    categorical_crossentropy: "softmax",
    sparse_categorical_crossentropy: "softmax",
}


def get(loss: Union[str, Callable]) -> Callable:
    """The loss function for a Keras name, or ``loss`` itself if it is callable.

    A callable loss is called as ``loss(y_pred, y_true)`` and may return one value per
    sample or a scalar.
    """
    if callable(loss):
        return loss
    if isinstance(loss, str) and loss.lower() in LOSSES:
        return LOSSES[loss.lower()]
    raise ValueError(f"compile(): unknown loss {loss!r}. Choose one of "
                     f"{sorted(LOSSES)} or pass a callable loss(y_pred, y_true).")


def scalar_loss(loss: Optional[Callable]) -> Callable:
    """``loss(out, y)`` averaged to one number (a per-sample loss is meaned); MSE when
    ``loss`` is None. Used where a loop calls the loss by itself (truncated BPTT, the
    gradient inspection), e.g. ``scalar_loss(model.loss)`` for a compiled model."""
    if not callable(loss):
        return lambda out, y: ((out - y) ** 2).mean()

    def mean_loss(out, y):
        value = loss(out, y)
        return value.mean() if value.dim() else value
    return mean_loss


def name_of(loss: Union[str, Callable]) -> Optional[str]:
    """The canonical name of a built-in loss (for saving), else None."""
    fn = get(loss)
    for name, f in LOSSES.items():
        if f is fn:
            return name
    return None
