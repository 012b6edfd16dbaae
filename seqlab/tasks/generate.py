"""Language models (characters or words): predict the next token, sample, score sentences.

The text becomes one stream of token ids. The last ``test_fraction`` is held out, the
last ``val_fraction`` of the rest validates. Training cuts the training stream into
chunks of ``seq_len + 1`` tokens (a random offset each epoch) and learns, at every
position, P(x_{t+1} | x_1..x_t) with cross-entropy (truncated backpropagation through
``seq_len`` steps):

    Embedding -> recurrent stack (return_sequences) -> Dropout -> Dense(V) logits

Evaluation runs the held-out stream in long chunks, carrying the recurrent state from one
chunk to the next. Reported: cross-entropy, perplexity = exp(nats per token) and bits
per token (= bits per character for a character model), beside a modified Kneser-Ney
n-gram model (order chosen on validation, tasks/ngram.py) fitted on the same split.

Generation steps the recurrent state one token at a time (``layer.step``, O(1) per
token): the prompt is read, then each next token is drawn from softmax(logits / T)
restricted to the k likeliest (temperature T, top-k). ``score`` gives
log P(t_2..t_n | t_1) of a sentence: the course's P("La voiture est bleue") >
P("La voiture mange bleue"), runnable as ``seqlab score RUN "text"``.

Shapes: B batch, T time, E embedding, H units, V vocabulary.
"""
from __future__ import annotations

import json
import math
from typing import Optional

import numpy as np
import torch
import torch.nn.functional as F

from seqlab.config import Config
from seqlab.data import Tokenizer
from seqlab.errors import SeqlabError
from seqlab.models.recurrent import LanguageModel
from seqlab.tasks.common import Data
from seqlab.tasks.common import build_with, load_dataset, recurrent, require_test, user_files

MONITOR = ("cross_entropy", "min")  # the validation metric [training] keep_best selects on


# ---------------------------------------------------------------------- data
def _tokenizer(vocab: dict) -> Tokenizer:
    return Tokenizer.from_json(json.dumps(vocab["tokenizer"]))


def _text(cfg: Config) -> str:
    d = cfg.data
    if d.dataset == "file":
        from seqlab.data import files
        return files.load_text(d.path)
    raw = load_dataset(cfg)
    if "text" in raw and isinstance(raw["text"], str):
        return raw["text"]
    if d.text_column in raw:
        return "\n".join(map(str, raw[d.text_column]))
    raise SeqlabError(f"[data] dataset = {d.dataset!r} has no text; set [data] text_column "
                      f"to one of its fields: {', '.join(raw)}.")


def prepare(cfg: Config, vocab: Optional[dict] = None) -> Data:
    d = cfg.data
    own = {}  # the user's own files: the training text, and val / test texts when given
    if d.dataset == "file":
        from seqlab.data import files
        own = {s: files.load_text(p, d.encoding) for s, p in user_files(cfg).items()}
    text = own.pop("train") if own else _text(cfg)
    n_test = 0 if "test" in own else int(len(text) * d.test_fraction)
    rest = text[:len(text) - n_test]
    n_val = 0 if "val" in own else int(len(rest) * d.val_fraction)
    parts = [rest[:len(rest) - n_val], own.get("val", rest[len(rest) - n_val:]),
             own.get("test", text[len(text) - n_test:])]
    require_test(len(parts[2]), cfg)
    if vocab is None:
        tok = Tokenizer(num_words=None if d.level == "char" else d.num_words,
                        char_level=d.level == "char", lower=d.level == "word",
                        filters="" if d.level == "char" else '"#$%&()*+-/<=>@[\\]^_`{|}~\t\n',
                        oov_token="<unk>")
        tok.fit_on_texts([parts[0]])
        vocab = {"tokenizer": json.loads(tok.to_json()), "level": d.level}
    tok = _tokenizer(vocab)
    ids = [np.asarray(tok.texts_to_sequences([p])[0], dtype=np.int64) for p in parts]
    if d.max_samples:
        ids[0] = ids[0][:d.max_samples * (d.seq_len + 1)]
    return Data(*ids, vocab, {"texts": parts})


def build_model(cfg: Config, vocab: dict) -> LanguageModel:
    model = LanguageModel(cfg, _tokenizer(vocab).vocab_size, recurrent=recurrent)
    return build_with(model, torch.ones(2, 3, dtype=torch.long))


def train_batches(data: Data, cfg: Config, rng):
    L = cfg.data.seq_len + 1
    stream = data.train
    offset = int(rng.integers(0, L))
    n = (len(stream) - offset) // L
    chunks = torch.as_tensor(stream[offset:offset + n * L].reshape(n, L))  # (N, L)
    order = rng.permutation(n)
    for i in range(0, n, cfg.training.batch_size):
        yield (chunks[order[i:i + cfg.training.batch_size]],)


@torch.no_grad()
def nats_per_token(model, ids: np.ndarray, chunk: int = 2000) -> float:
    """Mean -ln P(x_{t+1} | x_<=t) over a stream, the state carried across chunks."""
    device = next(model.parameters()).device
    x = torch.as_tensor(ids, device=device)
    states, total, count = None, 0.0, 0
    for i in range(0, len(x) - 1, chunk):
        inp, tgt = x[i:i + chunk][None], x[i + 1:i + chunk + 1][None]
        inp = inp[:, :tgt.shape[1]]
        logits, states = model(inp, states)
        total += float(F.cross_entropy(logits[0], tgt[0], reduction="sum"))
        count += tgt.shape[1]
    return total / max(count, 1)


def evaluate(model, data: Data, cfg: Config, split: str) -> dict:
    ids = getattr(data, split)
    if len(ids) < 2:
        return {}
    nats = nats_per_token(model, ids)
    unit = "char" if data.vocab["level"] == "char" else "token"
    return {"cross_entropy": nats, "perplexity": math.exp(nats),
            f"bits_per_{unit}": nats / math.log(2)}


def finish(run, model, data: Data, metrics: dict) -> dict:
    """The tuned Kneser-Ney baseline and sample texts (a PNG and metrics.json)."""
    from seqlab import plots
    from seqlab.tasks import ngram
    tok = _tokenizer(data.vocab)
    train, val, test = (list(map(int, s)) for s in (data.train, data.val, data.test))
    from seqlab import baselines
    from seqlab.baselines.language import kneser_ney
    out = {}
    key = "bits_per_char" if "bits_per_char" in metrics else "bits_per_token"
    if val and test:
        orders = range(2, 11) if data.vocab["level"] == "char" else range(1, 5)
        (bits, order), sec = baselines.timed(kneser_ney, train, val, test, orders)
        out["baseline_kneser_ney_order"] = order
        out["baseline_kneser_ney_bits"] = bits
        out.update(baselines.compare(key, metrics[key], {"kneser_ney": bits}, higher=False,
                                     seconds={"kneser_ney": round(sec, 3)}))
    prompt = data.info["texts"][2][:20] if data.vocab["level"] == "char" else \
        " ".join(tok.sequences_to_texts([data.test[:3]]))
    samples = []
    for temperature in (0.5, 1.0):
        torch.manual_seed(0)
        text = sample(model, data.vocab, run.config, prompt, 300, temperature, top_k=0)
        samples.append(f"[temperature {temperature}] {text}")
    plots.text_samples(samples, run.plots_dir / "samples.png", title="samples from the model")
    out["samples"] = samples
    return out


# ---------------------------------------------------------------------- use
@torch.no_grad()
def sample(model, vocab: dict, cfg: Config, prompt: str, length: int = 200,
           temperature: float = 1.0, top_k: int = 0) -> str:
    """``prompt`` followed by ``length`` sampled tokens."""
    tok = _tokenizer(vocab)
    device = next(model.parameters()).device
    ids = tok.texts_to_sequences([prompt])[0] if prompt else []
    if not ids:
        ids = [int(torch.randint(2, tok.vocab_size, (1,)))]
    states, logits = None, None
    for i in ids:                                                          # read the prompt
        logits, states = model.step(torch.tensor([i], device=device), states)
    out = list(ids)
    for _ in range(length):
        scaled = logits[0] / temperature                                   # (V,)
        scaled[0] = -float("inf")                                          # never padding
        if top_k and top_k < scaled.numel():
            kth = scaled.topk(top_k).values[-1]
            scaled = scaled.masked_fill(scaled < kth, -float("inf"))
        nxt = int(torch.multinomial(torch.softmax(scaled, -1), 1))
        out.append(nxt)
        logits, states = model.step(torch.tensor([nxt], device=device), states)
    text = tok.sequences_to_texts([out])[0]
    return text


@torch.no_grad()
def score(model, vocab: dict, cfg: Config, text: str) -> float:
    """log P(t_2..t_n | t_1) in nats (natural log) of ``text``."""
    tok = _tokenizer(vocab)
    ids = tok.texts_to_sequences([text])[0]
    if len(ids) < 2:
        raise SeqlabError(f"score: {text!r} has fewer than 2 tokens; nothing to score.")
    device = next(model.parameters()).device
    x = torch.as_tensor(ids, device=device)[None]
    logits, _ = model(x[:, :-1])
    return float(-F.cross_entropy(logits[0], x[0, 1:], reduction="sum"))


def predict(model, vocab: dict, cfg: Config, lines: list[str]) -> list[str]:
    """Each line is scored: its log-probability (nats) given its first token."""
    return [f"{score(model, vocab, cfg, line):.3f}" for line in lines]


def headline(metrics: dict):
    key = "bits_per_char" if "bits_per_char" in metrics else "bits_per_token"
    best = metrics.get("best_baseline") or {}
    return key, metrics[key], best.get("value", metrics.get("baseline_kneser_ney_bits"))
