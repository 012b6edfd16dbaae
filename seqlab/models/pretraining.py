"""Masked-language-model pretraining of a Transformer encoder (the course's "[option]
BERT"), then fine-tuning it as a classifier.

Pretraining needs no labels: hide some tokens of each text and train the encoder to
guess them from both sides (Devlin et al. 2019). Each real token is selected with
probability 15%; a selected token is replaced by the mask id 80% of the time, by a
random token 10% of the time and left unchanged 10% of the time (so the model cannot
rely on seeing the mask id, which never occurs at fine-tuning time). The loss is the
cross-entropy at the selected positions only::

    ids  "the film is a [MASK] delight"   labels  "-   -    -  -  sheer   -"
    MaskedLanguageModel: TransformerTextEncoder -> Dense(D, gelu) -> LayerNorm -> Dense(V)

As in BERT, the last Dense reuses the input embedding matrix (``tie_weights=True``):
logits = h E^T + b. Every masked guess then scores all V embeddings, so each word's
vector learns from every prediction (not only when the word appears), which matters
on a small corpus, and the head adds V parameters instead of D V.

The mask id must be an id that no text uses: ``mask_token_id(vocab_size)`` takes one
past the tokenizer's ids, so the model's vocabulary is ``vocab_size + 1``.
``compute_loss`` draws a fresh masking of every batch (from the model's
``masking_generator``, seeded by ``pretrain``), so ``fit`` trains it on batches of ids;
``pretrain(texts)`` is the short way, with BERT's warmup and linear decay as a per-step
learning-rate callback. ``classifier_from_pretrained`` then builds a
``TransformerClassifier`` whose encoder starts from the pretrained weights (the MLM head
is dropped).

    >>> ids = torch.randint(1, 50, (4, 10))
    >>> inputs, labels = mask_tokens(ids, mask_id=50, vocab_size=51, seed=0)
    >>> inputs.shape, bool(((labels != 0) <= (ids != 0)).all())
    (torch.Size([4, 10]), True)

Shapes: B batch, T time, D d_model, V vocabulary (mask id included).
"""
from __future__ import annotations

from typing import Any, Optional, Sequence

import torch
import torch.nn.functional as F

from seqlab.layers.base import Shape, check_positive_int, check_rate
from seqlab.layers.core import Dense
from seqlab.layers.normalization import LayerNormalization
from seqlab.models.adapters import Batch
from seqlab.models.model import Model
from seqlab.models.transformers.classifier import TransformerClassifier, TransformerTextEncoder
from seqlab.models.transformers.batches import TokenBatches, pad_ids

IGNORE = 0  # label of a position that is not predicted (0 is never a real token)


def mask_token_id(vocab_size: int) -> int:
    """The mask id for a tokenizer with ids in [0, vocab_size): one past them."""
    return check_positive_int("mask_token_id", "vocab_size", vocab_size)


def mask_tokens(ids: torch.Tensor, mask_id: int, vocab_size: int, rate: float = 0.15,
                special_ids: Sequence[int] = (0,), first_random_id: int = 1,
                seed: Optional[int] = None, generator: Optional[torch.Generator] = None):
    """BERT's masking of a batch of ids (B, T): returns ``(inputs, labels)``.

    Each token not in ``special_ids`` (padding) is selected with probability ``rate``;
    selected tokens become ``mask_id`` (80%), a random id in [first_random_id,
    vocab_size) other than ``mask_id`` (10%) or stay (10%). ``labels`` holds the
    original id at selected positions and ``IGNORE`` (0) elsewhere.
    """
    check_rate("mask_tokens", "rate", rate)
    if generator is None:
        generator = torch.Generator(device=ids.device)
        generator.manual_seed(int(torch.randint(0, 2 ** 62, ())) if seed is None else seed)
    u = torch.rand(ids.shape, generator=generator, device=ids.device)  # (B, T)
    real = torch.ones_like(ids, dtype=torch.bool)
    for s in special_ids:
        real &= ids != s
    selected = real & (u < rate)
    action = torch.rand(ids.shape, generator=generator, device=ids.device)  # (B, T)
    to_mask = selected & (action < 0.8)
    to_random = selected & (action >= 0.8) & (action < 0.9)
    # random ids in [first_random_id, vocab_size) \ {mask_id}
    n_choices = vocab_size - first_random_id - int(first_random_id <= mask_id < vocab_size)
    rand = torch.randint(0, n_choices, ids.shape, generator=generator,
                         device=ids.device) + first_random_id
    if first_random_id <= mask_id < vocab_size:
        rand = rand + (rand >= mask_id).long()  # skip the mask id
    inputs = torch.where(to_mask, torch.full_like(ids, mask_id), ids)
    inputs = torch.where(to_random, rand, inputs)
    labels = torch.where(selected, ids, torch.full_like(ids, IGNORE))
    return inputs, labels


class MaskedLanguageModel(Model):
    """An encoder with BERT's masked-token head: ids (B, T) -> logits (B, T, V).

    Args: those of ``TransformerTextEncoder`` (``vocab_size`` includes the mask id), plus
        mask_id: the id that hides a token (default ``vocab_size - 1``).
        tie_weights: the output layer shares the token embedding matrix (BERT).

    >>> mlm = MaskedLanguageModel(vocab_size=21, d_model=16, num_heads=2, ff_dim=32,
    ...                           num_layers=1)
    >>> mlm(torch.tensor([[3, 20, 5, 0]])).shape
    torch.Size([1, 4, 21])
    """

    def __init__(self, vocab_size: int, d_model: int = 128, num_heads: int = 4,
                 ff_dim: int = 512, num_layers: int = 2, max_length: int = 512,
                 dropout: float = 0.1, norm_first: bool = False,
                 learned_positions: bool = False, mask_id: Optional[int] = None,
                 tie_weights: bool = True, name: Optional[str] = None):
        super().__init__(name=name)
        self.vocab_size = check_positive_int(f"MaskedLanguageModel {self.name}",
                                             "vocab_size", vocab_size)
        self.mask_id = vocab_size - 1 if mask_id is None else int(mask_id)
        if not 0 < self.mask_id < vocab_size:
            raise ValueError(f"MaskedLanguageModel {self.name}: mask_id must lie in [1, "
                             f"{vocab_size}), got {mask_id!r}.")
        self.encoder_config = dict(vocab_size=vocab_size, d_model=d_model,
                                   num_heads=num_heads, ff_dim=ff_dim, num_layers=num_layers,
                                   max_length=max_length, dropout=dropout,
                                   norm_first=norm_first, learned_positions=learned_positions)
        self.body = TransformerTextEncoder(**self.encoder_config, name=f"{self.name}_encoder")
        self.transform = Dense(d_model, activation="gelu", name=f"{self.name}_transform")
        self.transform.build_once((None, None, d_model))
        self.transform_norm = LayerNormalization(epsilon=1e-5, name=f"{self.name}_norm")
        self.transform_norm.build_once((None, None, d_model))
        self.tie_weights = bool(tie_weights)
        if self.tie_weights:
            self.decoder_bias = torch.nn.Parameter(torch.zeros(vocab_size))  # (V,)
        else:
            self.decoder = Dense(vocab_size, name=f"{self.name}_decoder")
            self.decoder.build_once((None, None, d_model))
        self.mask_rate = 0.15  # share of the real tokens each masking selects
        self.masking_generator: Optional[torch.Generator] = None  # set by pretrain(seed)

    def forward(self, ids: torch.Tensor, mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        h = self.body(ids, mask=mask)  # (B, T, D)
        return self.predict_tokens(h)  # (B, T, V)

    def predict_tokens(self, h: torch.Tensor) -> torch.Tensor:
        """The MLM head on encoder vectors: (..., D) -> logits (..., V)."""
        h = self.transform_norm(self.transform(h))  # (..., D)
        if self.tie_weights:
            return F.linear(h, self.body.embedding.tokens.embeddings, self.decoder_bias)
        return self.decoder(h)

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        return tuple(input_shape) + (self.vocab_size,)

    def mlm_loss(self, ids: torch.Tensor, generator: Optional[torch.Generator] = None,
                 rate: float = 0.15) -> torch.Tensor:
        """Mean cross-entropy over the masked positions of a fresh masking of ``ids``."""
        inputs, labels = mask_tokens(ids, self.mask_id, self.vocab_size, rate,
                                     generator=generator)
        return self._masked_loss(inputs, labels, "mean")

    def _masked_loss(self, inputs: torch.Tensor, labels: torch.Tensor, reduction: str):
        """Cross-entropy at the selected positions; the (D -> V) head runs on those only
        (about 15% of the tokens: the largest product of the model shrinks 7-fold)."""
        h = self.body(inputs)  # (B, T, D)
        chosen = labels != IGNORE  # (B, T)
        logits = self.predict_tokens(h[chosen].unsqueeze(0))[0]  # (1, N, D) -> (N, V)
        return F.cross_entropy(logits, labels[chosen], reduction=reduction)

    @torch.no_grad()
    def evaluate_mlm(self, texts: Sequence[Sequence[int]], batch_size: int = 128,
                     seed: int = 0) -> float:
        """MLM loss on ``texts`` with a fixed masking (``seed``): comparable across calls."""
        was_training = self.training
        self.eval()
        device = next(self.parameters()).device
        gen = torch.Generator(device=device).manual_seed(seed)
        total, count = 0.0, 0
        for i in range(0, len(texts), batch_size):
            ids = pad_ids(texts[i:i + batch_size], device)
            inputs, labels = mask_tokens(ids, self.mask_id, self.vocab_size, generator=gen)
            n = int((labels != IGNORE).sum())
            if n:
                total += float(self._masked_loss(inputs, labels, "sum"))
                count += n
        self.train(was_training)
        return total / max(count, 1)

    def compute_loss(self, batch: Any) -> tuple[torch.Tensor, torch.Tensor, dict]:
        """A fresh masking of the batch's ids (``(ids,)`` from ``TokenBatches``, or a
        ``Batch`` whose ``x`` are ids (B, T)): the summed cross-entropy at the selected
        positions, and their number. The masks come from ``masking_generator`` (one is
        drawn from torch's seed, on the ids' device, when it is None or elsewhere)."""
        ids = batch.x if isinstance(batch, Batch) else batch[0]  # (B, T)
        gen = self.masking_generator
        if gen is None or gen.device != ids.device:
            gen = torch.Generator(device=ids.device)
            gen.manual_seed(int(torch.randint(0, 2 ** 62, ())))
            self.masking_generator = gen
        inputs, labels = mask_tokens(ids, self.mask_id, self.vocab_size, self.mask_rate,
                                     generator=gen)
        # a batch where no token was selected adds 0 with count 0: a zero gradient
        return self._masked_loss(inputs, labels, "sum"), (labels != IGNORE).sum(), {}

    def pretrain(self, texts: Sequence[Sequence[int]], epochs: int = 1, batch_size: int = 64,
                 seed: int = 0, verbose: int = 1, time_budget: Optional[float] = None,
                 lr_schedule: str = "constant", warmup: float = 0.0, callbacks=None) -> dict:
        """Train on unlabelled id lists with a fresh masking every batch (dynamic masking,
        as RoBERTa): ``fit`` on ``TokenBatches(texts)`` (similar lengths together), where
        the model stays, with the optimizer and clipping of ``compile``
        (``global_clipnorm`` bounds the norm of all gradients together). ``seed`` seeds
        the batch order and the masking. Returns the ``History.history``: ``{"loss":
        [...], "time": [...]}`` per epoch (MLM loss per masked token).

        ``lr_schedule="linear"`` is BERT's: the rate rises linearly from 0 over the first
        ``warmup`` share of the steps, then falls linearly to 0 at the last step of
        ``epochs`` (a ``time_budget`` that stops early leaves it part-way); "constant"
        keeps the optimizer's initial rate. ``callbacks`` go to ``fit``."""
        from seqlab.models.step_callbacks import StepLearningRate, TimeBudget
        if lr_schedule not in ("constant", "linear"):
            raise ValueError(f"pretrain(): lr_schedule must be 'constant' or 'linear', got "
                             f"{lr_schedule!r}.")
        check_rate("pretrain", "warmup", warmup)
        if not self.compiled:
            raise RuntimeError(f"pretrain(): {self.name} is not compiled. Call mlm.compile("
                               f"optimizer='adam', loss='sparse_categorical_crossentropy').")
        if not len(texts):
            raise ValueError("pretrain(): texts is empty; pass a list of token-id lists.")
        source = TokenBatches(texts, who="pretrain()")
        total_steps = epochs * source.num_batches(batch_size)
        factor = ((lambda step: linear_warmup_decay(step, total_steps, warmup))
                  if lr_schedule == "linear" else (lambda step: 1.0))
        device = next(self.parameters()).device
        self.masking_generator = torch.Generator(device=device).manual_seed(seed)
        history = self.fit(source, batch_size=batch_size, epochs=epochs,
                           verbose=2 if verbose else 0, seed=seed, device=None,
                           callbacks=[StepLearningRate(factor), TimeBudget(time_budget),
                                      *(callbacks or [])])
        return history.history


def linear_warmup_decay(step: int, total_steps: int, warmup: float) -> float:
    """BERT's learning-rate factor at optimizer step ``step`` (0-based) of
    ``total_steps``: up from 0 to 1 over the first ``warmup`` share, then down to 0.

    >>> [round(linear_warmup_decay(s, 10, 0.2), 2) for s in range(10)]
    [0.5, 1.0, 1.0, 0.86, 0.71, 0.57, 0.43, 0.29, 0.14, 0.0]
    """
    warm = int(round(warmup * total_steps))
    if step < warm:
        return (step + 1) / warm
    return max(0.0, (total_steps - 1 - step) / max(1, total_steps - 1 - warm))


def classifier_from_pretrained(mlm: MaskedLanguageModel, num_classes: int = 1,
                               pooling: str = "mean", dropout: Optional[float] = None,
                               name: Optional[str] = None) -> TransformerClassifier:
    """A ``TransformerClassifier`` whose encoder is a copy of ``mlm``'s (same sizes);
    its head starts fresh. ``dropout`` overrides the encoder's rate for fine-tuning."""
    config = dict(mlm.encoder_config)
    if dropout is not None:
        config["dropout"] = dropout
    clf = TransformerClassifier(num_classes=num_classes, pooling=pooling, name=name, **config)
    clf.body.load_state_dict(mlm.body.state_dict())
    return clf.to(next(mlm.parameters()).device)


__all__ = ["mask_tokens", "mask_token_id", "MaskedLanguageModel", "classifier_from_pretrained",
           "linear_warmup_decay", "IGNORE"]
