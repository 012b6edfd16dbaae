"""Speech to text with CTC: frames of an utterance -> its transcript ("three one four").

The data are a dataset with ``x_train`` / ``x_test`` feature frames (T, D) and ``y_train``
/ ``y_test`` transcripts (``spoken_digit_strings``); the validation part is split off the
training part. [data] level chooses the labels: "word" (a label per word) or "char" (per
character, the space included). The model is ``seqlab.models.recurrent.CTCRecognizer``.

Reported on the test part: word and character error rates (WER, CER) and the share of
utterances transcribed exactly, by greedy decoding, and by prefix beam search when [model]
beam_width > 1 (``*_beam``); the baseline cuts each utterance at its pauses and names each
piece by 1-NN DTW against isolated words of the training speakers (when the dataset has
them: ``words_x``, ``words_y``).

Shapes: B batch, T frames, D features, S labels, V label vocabulary.
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Optional

import numpy as np
import torch

from seqlab.config import Config
from seqlab.data import pad_batch
from seqlab.errors import SeqlabError
from seqlab.models.recurrent.ctc import CTCRecognizer
from seqlab.models.recurrent.ctc_decoding import (char_error_rate, greedy_decode,
                                                  prefix_beam_search, word_error_rate)
from seqlab.tasks.common import (Data, build_with, length_batches, load_dataset, pad,
                                 recurrent, split_indices, split_seed, take)

MONITOR = ("wer", "min")  # the validation metric [training] keep_best selects on


# ---------------------------------------------------------------------- data
def _labels(text: str, level: str) -> list[str]:
    return text.split() if level == "word" else list(" ".join(text.split()))


def _join(labels: list[str], level: str) -> str:
    return " ".join(labels) if level == "word" else "".join(labels)


def prepare(cfg: Config, vocab: Optional[dict] = None) -> Data:
    d = cfg.data
    if d.dataset == "file":
        raise SeqlabError('the transcribe task reads a dataset of audio features; set [data] '
                          'dataset = "spoken_digit_strings".')
    if d.level not in ("word", "char"):
        raise SeqlabError(f'[data] level = "{d.level}": transcripts are read as "word" or '
                          f'"char" labels.')
    raw = load_dataset(cfg)
    for key in ("x_train", "y_train", "x_test", "y_test"):
        if key not in raw:
            raise SeqlabError(f"[data] dataset = {d.dataset!r} has no {key}; the transcribe "
                              f"task needs frames x_train/x_test and transcripts "
                              f"y_train/y_test (e.g. dataset = \"spoken_digit_strings\").")
    x, y = list(raw["x_train"]), list(raw["y_train"])
    tr, va, _ = split_indices(len(x), d.val_fraction, 0.0, split_seed(cfg))
    if d.max_samples:
        tr = tr[:d.max_samples]
    if vocab is None:
        labels = sorted({l for text in take(y, tr) for l in _labels(text, d.level)})
        vocab = {"labels": labels, "level": d.level,
                 "features": int(np.asarray(x[0]).shape[1])}
    index = {l: i + 1 for i, l in enumerate(vocab["labels"])}              # 0 = blank

    def part(xs, ys):  # (frames, label ids, transcripts); labels unseen in training dropped
        ids = [[index[l] for l in _labels(t, d.level) if l in index] for t in ys]
        return [np.asarray(f, np.float32) for f in xs], ids, list(ys)

    splits = [part(take(x, tr), take(y, tr)), part(take(x, va), take(y, va)),
              part(raw["x_test"], raw["y_test"])]
    info = {"sizes": [len(s[0]) for s in splits], "features": raw.get("features", "mfcc")}
    if "words_x" in raw:
        info["templates"] = (list(raw["words_x"]), list(raw["words_y"]))
    return Data(*splits, vocab, info)


def build_model(cfg: Config, vocab: dict) -> CTCRecognizer:
    model = CTCRecognizer(cfg, len(vocab["labels"]) + 1, recurrent=recurrent)
    return build_with(model, torch.zeros(2, 8, vocab["features"]), torch.tensor([8, 6]))


def _batch(seqs: list):
    x, lengths = pad_batch(seqs)                                           # (B, T, D), (B,)
    return x, torch.as_tensor(lengths, dtype=torch.long)


def train_batches(data: Data, cfg: Config, rng):
    x, ids = data.train[0], data.train[1]
    for idx in length_batches([len(s) for s in x], cfg.training.batch_size, rng):
        targets = [ids[i] for i in idx]
        yield (*_batch(take(x, idx)), pad(targets),
               torch.as_tensor([len(t) for t in targets], dtype=torch.long))


# ---------------------------------------------------------------------- decoding
def log_probs(model, seqs: list, batch_size: int = 64) -> list[np.ndarray]:
    """Each utterance's (T', V + 1) log-probabilities, padding frames cut off."""
    device = next(model.parameters()).device
    out: list = [None] * len(seqs)
    for idx in length_batches([len(s) for s in seqs], batch_size, None):
        x, lengths = _batch(take(seqs, idx))
        with torch.no_grad():
            lp = model(x.to(device), lengths.to(device)).float().cpu().numpy()  # (B, T', V+1)
        for row, i in enumerate(idx):
            out[i] = lp[row, :(len(seqs[i]) + 1) // 2]
    return out


def transcribe(model, vocab: dict, seqs: list, beam_width: int = 1) -> list[str]:
    """Transcripts of feature sequences: greedy (beam_width 1) or prefix beam search."""
    names = ["<blank>"] + list(vocab["labels"])
    outs = []
    for lp in log_probs(model, seqs):
        ids = greedy_decode(lp) if beam_width <= 1 else prefix_beam_search(lp, beam_width)[0]
        outs.append(_join([names[i] for i in ids], vocab["level"]))
    return outs


def scores(refs: list[str], hyps: list[str], suffix: str = "") -> dict:
    """WER, CER and exact-match share of transcripts."""
    return {f"wer{suffix}": word_error_rate(refs, hyps),
            f"cer{suffix}": char_error_rate(refs, hyps),
            f"sentence_accuracy{suffix}": float(np.mean([r.split() == h.split()
                                                         for r, h in zip(refs, hyps)]))}


def evaluate(model, data: Data, cfg: Config, split: str) -> dict:
    x, _, refs = getattr(data, split)
    if not x:
        return {}
    out = scores(refs, transcribe(model, data.vocab, x))
    if split == "test" and cfg.model.beam_width > 1:
        t0 = time.process_time()
        out.update(scores(refs, transcribe(model, data.vocab, x, cfg.model.beam_width),
                          "_beam"))
        out["beam_cpu_seconds"] = round(time.process_time() - t0, 3)
    return out


def finish(run, model, data: Data, metrics: dict) -> dict:
    """The DTW baseline (pauses + 1-NN DTW on isolated words) and a few transcripts."""
    from seqlab import baselines
    from seqlab.baselines.dtw import words_by_segments
    x, _, refs = data.test
    fns, dtw_scores = {}, {}
    if "templates" in data.info:
        words_x, words_y = data.info["templates"]

        def dtw_wer():
            hyps = words_by_segments(x, words_x, words_y, data.info["features"])
            dtw_scores.update(scores(refs, hyps))
            return dtw_scores["wer"]
        fns["segment_dtw"] = dtw_wer
    values, seconds, skipped = baselines.run_all(fns)
    out = {f"baseline_dtw_{k}": v for k, v in dtw_scores.items()}
    out.update(baselines.compare("wer", metrics["wer"], values, higher=False,
                                 seconds=seconds, skipped=skipped))
    hyps = transcribe(model, data.vocab, x[:10])
    run.write_json("transcripts.json", [{"reference": r, "greedy": h}
                                        for r, h in zip(refs[:10], hyps)])
    return out


def predict(model, vocab: dict, cfg: Config, lines: list[str]) -> list[str]:
    """Each line a 16-bit PCM WAV file at 22,050 Hz -> its transcript."""
    from seqlab.data import audio
    from seqlab.data.speech import SAMPLE_RATE, read_wav
    seqs = []
    for line in lines:
        path = Path(line.strip())
        if not path.is_file():
            raise SeqlabError(f"--input: {line.strip()!r} is not a file; give one WAV file "
                              f"path a line.")
        wave, rate = read_wav(path)
        if rate != SAMPLE_RATE:
            raise SeqlabError(f"{path}: sampled at {rate} Hz; the model was trained at "
                              f"{SAMPLE_RATE} Hz, so resample it (e.g. sox in.wav -r "
                              f"{SAMPLE_RATE} out.wav).")
        seqs.append(audio.features(wave, cfg.data.options.get("features", "mfcc")))
    with torch.no_grad():
        return transcribe(model, vocab, seqs, cfg.model.beam_width)


def headline(metrics: dict):
    """(metric, value, the best baseline's value)."""
    best = metrics.get("best_baseline") or {}
    return "wer", metrics["wer"], best.get("value")
