"""Stacks of identical Transformer layers (the paper's N = 6), with an optional final
LayerNorm (pre-norm stacks need one: their last residual is not normalised).

Shapes: B batch, T target/input steps, S source (memory) steps, D d_model, F ff_dim.
"""
from __future__ import annotations

from typing import Optional

import torch
from torch import nn

from seqlab.layers.base import Layer, Shape, attach_mask, check_positive_int, get_mask
from seqlab.layers.normalization import LayerNormalization
from seqlab.layers.transformer.block import _Block


class _Stack(Layer):
    """``num_layers`` identical layers (separate weights) and an optional final norm."""

    supports_masking = True
    _layer_class = None

    def __init__(self, num_layers: int, num_heads: int, ff_dim: int, dropout: float = 0.1,
                 activation: str = "relu", norm_first: bool = False,
                 layer_norm_epsilon: float = 1e-5, final_norm: Optional[bool] = None,
                 key_dim: Optional[int] = None, use_fast_path: bool = True,
                 attention_dropout: Optional[float] = None, **kwargs):
        extra = {k: kwargs.pop(k) for k in ("cross_attention",) if k in kwargs}
        super().__init__(**kwargs)
        self.num_layers = check_positive_int(f"{type(self).__name__} {self.name}",
                                             "num_layers", num_layers)
        self.layers = nn.ModuleList([
            self._layer_class(num_heads, ff_dim, dropout, activation, norm_first,
                              layer_norm_epsilon, key_dim, use_fast_path=use_fast_path,
                              attention_dropout=attention_dropout,
                              name=f"{self.name}_layer_{i}", **extra)
            for i in range(self.num_layers)])
        # Pre-norm stacks end with a LayerNorm (their last residual is not normalised).
        self.final_norm = (LayerNormalization(epsilon=layer_norm_epsilon)
                           if (norm_first if final_norm is None else final_norm) else None)

    def build(self, input_shape: Shape) -> None:
        for layer in self.layers:
            layer.build_once(input_shape)
        if self.final_norm is not None:
            self.final_norm.build_once(input_shape)

    @property
    def need_weights(self) -> bool:
        return all(layer.need_weights for layer in self.layers)

    @need_weights.setter
    def need_weights(self, value: bool) -> None:
        for layer in self.layers:
            layer.need_weights = bool(value)

    @property
    def last_attention(self) -> list:
        """The attention weights of the last call, one entry per layer (needs need_weights)."""
        return [layer.last_attention for layer in self.layers]

    def _run(self, x, mask, return_attention_scores, call):
        pad = get_mask(x, mask)
        all_scores = []
        for i, layer in enumerate(self.layers):
            out = call(i, layer, x, pad)
            x, scores = out if return_attention_scores else (out, None)
            all_scores.append(scores)
        if self.final_norm is not None:
            x = self.final_norm(x)
        x = attach_mask(x, pad)
        return (x, all_scores) if return_attention_scores else x

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        return tuple(input_shape)


def _load_stack(stack: _Stack, module) -> _Stack:
    if len(module.layers) != len(stack.layers) or (module.norm is None) != (
            stack.final_norm is None):
        raise ValueError(f"{stack.name}: cannot load a torch stack of {len(module.layers)} "
                         f"layers (final norm: {module.norm is not None}) into "
                         f"{len(stack.layers)} layers (final norm: "
                         f"{stack.final_norm is not None}).")
    if not stack.built:
        stack.build_once((None, None, module.layers[0].self_attn.embed_dim))
    for ours, ref in zip(stack.layers, module.layers):
        ours.load_torch_weights(ref)
    if module.norm is not None:
        with torch.no_grad():
            _Block._copy_norm(stack.final_norm, module.norm)
    return stack
