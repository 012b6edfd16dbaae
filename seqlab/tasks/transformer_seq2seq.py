"""The seq2seq recipe (``seqlab/tasks/seq2seq.py``) with a Transformer encoder-decoder.

Everything but the model is the RNN recipe's: the data (calculator, or a file of
sentence pairs), the tokenizer with start/end tokens, teacher-forcing batches and loss,
greedy or beam decoding (``[model] beam_width``), exact match and character accuracy.
``TransformerSeq2Seq`` follows that recipe's model protocol (``forward(src, tgt_in)``,
``encode``, ``step``), so its decoders run on it unchanged. The [model] fields map as:

    units       -> d_model (and ff_dim = 4 * units; heads: 4, or fewer when units is not
                   divisible by 4)
    layers      -> encoder layers and decoder layers
    dropout     -> dropout of the Transformer

    >>> from seqlab.config import Config
    >>> cfg = Config.from_dict({"task": "seq2seq", "model": {"units": 16, "layers": 1}})
    >>> model = build_model(cfg, {"tokenizer": _tok_config(), "max_target_len": 5})
    >>> type(model).__name__
    'TransformerSeq2Seq'
"""
from __future__ import annotations

import json

from seqlab.config import Config
from seqlab.data import Tokenizer
from seqlab.models.transformers import TransformerSeq2Seq
from seqlab.tasks.seq2seq import (decode, evaluate, finish, headline, loss, predict,  # noqa: F401
                                  prepare, train_batches)


def _heads(units: int) -> int:
    return next(h for h in (4, 2, 1) if units % h == 0)


def build_model(cfg: Config, vocab: dict) -> TransformerSeq2Seq:
    tok = Tokenizer.from_json(json.dumps(vocab["tokenizer"]))
    m = cfg.model
    return TransformerSeq2Seq(tok.vocab_size, d_model=m.units, num_heads=_heads(m.units),
                              ff_dim=4 * m.units, num_encoder_layers=m.layers,
                              num_decoder_layers=m.layers, dropout=m.dropout)


def _tok_config() -> dict:
    """A tiny character tokenizer's JSON config (for the example above)."""
    tok = Tokenizer(char_level=True, filters="", start_token="<s>", end_token="</s>")
    tok.fit_on_texts(["12+3", "15"])
    return json.loads(tok.to_json())
