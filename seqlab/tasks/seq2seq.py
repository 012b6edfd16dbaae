"""Sequence to sequence: an RNN encoder-decoder, the course's "calculator".

The data are (source, target) string pairs, e.g. the addition dataset's "535+61" -> "596"
(with ``reverse = true`` the source is fed reversed, "16+535", which shortens the path
between the digits that are added). Both sides are tokenized (characters, words, or
SentencePiece subwords learned from the training pairs, ``level = "subword"``) with
one shared vocabulary; the target is wrapped in start/end tokens:

    source  "16+535"          -> encoder
    decoder in   <s> 5 9 6    (teacher forcing: the true previous token)
    decoder out  5 9 6 </s>   (what the loss compares with)

The model is ``seqlab.models.recurrent.EncoderDecoder``; its docstring gives the
attention equations (Luong, Bahdanau).
Decoding steps the decoder one token at a time (``layer.step``): greedy (the likeliest
token) or beam search (keep the ``beam_width`` likeliest prefixes). Metrics: exact match
(the whole output right) and character accuracy (per position of the true target); for
words and subwords also BLEU and chrF (sacrebleu, when installed).

Shapes: B batch, S source steps, T target steps, E embedding, H units, V vocabulary.
"""
from __future__ import annotations

import functools
import importlib.util
import json
from collections import Counter
from typing import Optional

import numpy as np
import torch

from seqlab.config import Config
from seqlab.data import Tokenizer
from seqlab.data.parallel import score
from seqlab.data.subwords import SubwordTokenizer
from seqlab.errors import SeqlabError
from seqlab.models.model import Model
from seqlab.models.recurrent import EncoderDecoder, beam_search, greedy, teacher_forcing_loss
from seqlab.tasks.common import Data
from seqlab.tasks.common import (build_with, column, length_batches, load_dataset, pad,
                                 read_user_files, recurrent, split_user_parts, take)

MONITOR = ("exact_match", "max")  # the validation metric [training] keep_best selects on


# ---------------------------------------------------------------------- the recipe
def _pairs(cfg: Config) -> tuple[list[str], list[str], Optional[dict]]:
    """(sources, targets, rows per user file or None for a registry dataset): from a user
    file's two columns or a registry dataset."""
    d = cfg.data
    if d.dataset == "file":
        from seqlab.data import files
        (sources, targets), counts = read_user_files(cfg, lambda path: files.load_pairs(
            path, d.text_column, d.label_column, encoding=d.encoding))
        return sources, targets, counts
    raw = load_dataset(cfg)
    if isinstance(raw, (list, tuple)):
        return [str(s) for s, _ in raw], [str(t) for _, t in raw], None
    src_col, tgt_col = ("x", "y") if "x" in raw else (d.text_column, d.label_column)
    return ([str(s) for s in column(raw, src_col, "text_column", d.dataset)],
            [str(t) for t in column(raw, tgt_col, "label_column", d.dataset)], None)


def prepare(cfg: Config, vocab: Optional[dict] = None) -> Data:
    sources, targets, counts = _pairs(cfg)
    if cfg.data.max_len:
        sources = [s[:cfg.data.max_len] for s in sources]
    tr, va, te = split_user_parts(cfg, len(sources), counts)
    if cfg.data.max_samples:
        tr = tr[:cfg.data.max_samples]
    if vocab is None:
        if cfg.data.level == "subword":
            tok = SubwordTokenizer.fit(take(sources, tr) + take(targets, tr), cfg.data.subwords)
        else:
            tok = Tokenizer(char_level=cfg.data.level == "char", lower=False, filters="",
                            oov_token="<unk>", start_token="<s>", end_token="</s>")
            tok.fit_on_texts(take(sources, tr) + take(targets, tr))
        vocab = {"tokenizer": json.loads(tok.to_json()),
                 "max_target_len": max(len(tok.tokenize(t)) for t in take(targets, tr)) + 1}
    tok = _tokenizer(vocab)

    def encode(idx):
        return (tok.texts_to_sequences(take(sources, idx)),
                tok.texts_to_sequences(take(targets, idx), start_end=True),
                take(targets, idx))

    return Data(encode(tr), encode(va), encode(te), vocab,
                {"train": len(tr), "val": len(va), "test": len(te)})


def _tokenizer(vocab: dict):
    """The run's ``Tokenizer`` (words, characters) or ``SubwordTokenizer``."""
    kind = SubwordTokenizer if vocab["tokenizer"].get("class_name") == "SubwordTokenizer" \
        else Tokenizer
    return kind.from_json(json.dumps(vocab["tokenizer"]))


@functools.lru_cache(maxsize=None)
def _transformer_class():
    from seqlab.models.transformers import TransformerSeq2Seq

    class RecipeTransformer(TransformerSeq2Seq):
        """seqlab's Transformer, trained on this recipe's (src, tgt_in, tgt_out) batches
        by the same loss as the recurrent encoder-decoder."""
        compute_loss = teacher_forcing_loss
    return RecipeTransformer


def build_model(cfg: Config, vocab: dict) -> Model:
    """The recurrent encoder-decoder, or (arch = "transformer") seqlab's Transformer, which
    follows the same encode/step protocol, so the decoders run on it unchanged."""
    tok = _tokenizer(vocab)
    m = cfg.model
    if m.arch == "transformer":
        model = _transformer_class()(tok.vocab_size, d_model=m.units, num_heads=m.heads,
                                     ff_dim=4 * m.units, num_encoder_layers=m.layers,
                                     num_decoder_layers=m.layers, dropout=m.dropout,
                                     tie_embeddings=m.tie_embeddings)
    else:
        model = EncoderDecoder(cfg, tok.vocab_size, recurrent=recurrent)
    model.label_smoothing = cfg.training.label_smoothing  # read by teacher_forcing_loss
    return build_with(model, torch.ones(2, 3, dtype=torch.long),
                      torch.ones(2, 2, dtype=torch.long))


def train_batches(data: Data, cfg: Config, rng):
    src, tgt, _ = data.train
    for idx in length_batches([len(s) for s in src], cfg.training.batch_size, rng):
        t = pad(take(tgt, idx))                                            # (B, T + 1)
        yield pad(take(src, idx)), t[:, :-1], t[:, 1:]


def decode(model, vocab: dict, cfg: Config, sources: list, batch_size: int = 512):
    """Token-id lists -> decoded strings (greedy, or beam search when beam_width > 1)."""
    tok = _tokenizer(vocab)
    device = next(model.parameters()).device
    out: list[Optional[str]] = [None] * len(sources)
    for idx in length_batches([len(s) for s in sources], batch_size, None):
        src = pad(take(sources, idx)).to(device)
        if cfg.model.beam_width > 1 and cfg.model.arch == "transformer":
            # the Transformer's batched beam, ranked by mean log-probability per token
            ids = model.beam_search(src, tok.start_index, tok.end_index,
                                    vocab["max_target_len"], cfg.model.beam_width,
                                    length_penalty=1.0).tolist()
        elif cfg.model.beam_width > 1:
            ids = beam_search(model, src, tok.start_index, tok.end_index,
                              vocab["max_target_len"], cfg.model.beam_width)
        else:
            ids = greedy(model, src, tok.start_index, tok.end_index,
                         vocab["max_target_len"])[0].tolist()
        for i, text in zip(idx, tok.sequences_to_texts(ids)):
            out[i] = text
    return out


def evaluate(model, data: Data, cfg: Config, split: str) -> dict:
    src, _, truth = getattr(data, split)
    if not src:
        return {}
    pred = decode(model, data.vocab, cfg, src)
    chars = sum(len(t) for t in truth)
    right = sum(sum(a == b for a, b in zip(p, t)) for p, t in zip(pred, truth))
    scores = {"exact_match": float(np.mean([p == t for p, t in zip(pred, truth)])),
              "char_accuracy": right / max(chars, 1)}
    if cfg.data.level != "char" and importlib.util.find_spec("sacrebleu") is not None:
        # corpus BLEU and chrF of the space-separated words (seqlab.data.parallel.score)
        scores.update(score([p.replace("<unk>", "").strip() for p in pred], truth))
    return scores


def finish(run, model, data: Data, metrics: dict) -> dict:
    """Baseline (always the most frequent training target) and an attention map."""
    from seqlab import plots
    common = Counter(data.train[2]).most_common(1)[0][0]
    baseline = float(np.mean([t == common for t in data.test[2]]))
    if getattr(model, "attention", None) is not None and data.test[0]:
        tok = _tokenizer(data.vocab)
        src = pad(data.test[0][:1]).to(next(model.parameters()).device)
        with torch.no_grad():
            ids, attn = greedy(model, src, tok.start_index, tok.end_index,
                               data.vocab["max_target_len"])
        source = [tok.index_word[i] for i in data.test[0][0]]
        target = [tok.index_word.get(i, "?") for i in ids[0].tolist()]
        plots.attention_map(attn[0, :len(target)].cpu().numpy(), source, target,
                            run.plots_dir / "attention.png",
                            title=f"{run.config.model.attention} attention")
    from seqlab import baselines
    return {"baseline_most_frequent": baseline,
            **baselines.compare("exact_match", metrics["exact_match"],
                                {"most_frequent": baseline}, higher=True)}


def predict(model, vocab: dict, cfg: Config, lines: list[str]) -> list[str]:
    tok = _tokenizer(vocab)
    return decode(model, vocab, cfg, tok.texts_to_sequences(lines))


def headline(metrics: dict):
    return "exact_match", metrics["exact_match"], metrics.get("baseline_most_frequent")
