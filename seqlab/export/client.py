"""A reference client for an ONNX export folder: NumPy + onnxruntime only.

This file imports neither torch nor any other part of seqlab: copy it next to an export
folder and run it where only ``numpy`` and ``onnxruntime`` are installed.

    predict(inputs)         classify: labels; tag: a tag per token; forecast: the next
                            ``horizon`` values after each history (recursively, as
                            ``seqlab predict``)
    generate(prompt, n)     a language model's greedy continuation, one step graph call
                            per token (its state carried between calls)
    decode(sources)         seq2seq: greedy decoding with the encoder and the step graph

    $ python client.py runs/sentiment/export/onnx "a very good film"

Texts are tokenized as seqlab's Tokenizer does (its JSON is in vocab.json) and padded on
the right with 0.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np


# ---------------------------------------------------------------------- tokenizer
class Tokenizer:
    """The encoding half of ``seqlab.data.Tokenizer`` from its JSON."""

    def __init__(self, data: dict):
        c = data["config"]
        self.num_words, self.filters, self.lower = c["num_words"], c["filters"], c["lower"]
        self.split, self.char_level = c["split"], c["char_level"]
        self.oov_token, self.start_token, self.end_token = (c["oov_token"], c["start_token"],
                                                            c["end_token"])
        self.word_index = {w: int(i) for w, i in data["word_index"].items()}
        self.index_word = {i: w for w, i in self.word_index.items()}
        self.oov = self.word_index.get(self.oov_token) if self.oov_token is not None else None
        self.start = self.word_index.get(self.start_token) if self.start_token else None
        self.end = self.word_index.get(self.end_token) if self.end_token else None

    def tokenize(self, text) -> list:
        if not isinstance(text, str):
            return [t.lower() for t in text] if self.lower else list(text)
        if self.char_level:
            return list(text.lower() if self.lower else text)
        if self.lower:
            text = text.lower()
        if self.filters:
            text = text.translate(str.maketrans({ch: self.split for ch in self.filters}))
        return [w for w in text.split(self.split) if w]

    def encode(self, text) -> list:
        out = []
        for t in self.tokenize(text):
            i = self.word_index.get(t)
            if i is not None and not (self.num_words and i >= self.num_words):
                out.append(i)
            elif self.oov is not None:
                out.append(self.oov)
        return out

    def decode(self, ids) -> str:
        sep = "" if self.char_level else self.split
        words = []
        for i in ids:
            i = int(i)
            if i in (0, self.start):
                continue
            if self.end is not None and i == self.end:
                break
            w = self.index_word.get(i)
            if w is not None and not (self.num_words and i >= self.num_words):
                words.append(w)
            elif self.oov is not None:
                words.append(self.oov_token)
        return sep.join(words)


def pad(seqs, value=0, dtype=np.int64) -> np.ndarray:
    """Right-pad id lists to the longest: (B, T)."""
    T = max([len(s) for s in seqs] + [1])
    out = np.full((len(seqs), T), value, dtype=dtype)
    for i, s in enumerate(seqs):
        out[i, :len(s)] = s
    return out


# ---------------------------------------------------------------------- the client
class Client:
    """Runs an ONNX export folder (``seqlab export RUN --format onnx``).

    Args:
        folder: the export folder (metadata.json, vocab.json, *.onnx).
        threads: onnxruntime intra-op threads (1 for predictable latency).
    """

    def __init__(self, folder, threads: int = 1):
        import onnxruntime as ort
        self.folder = Path(folder)
        self.meta = json.loads((self.folder / "metadata.json").read_text(encoding="utf-8"))
        if self.meta.get("format") != "onnx":
            raise ValueError(f"{self.folder}: format is {self.meta.get('format')!r}; this "
                             f"client runs ONNX exports (seqlab export RUN --format onnx).")
        vocab_file = self.folder / "vocab.json"
        self.vocab = json.loads(vocab_file.read_text(encoding="utf-8")) if vocab_file.exists() else {}
        self.task = self.meta["task"]
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
        self.sessions = {name: ort.InferenceSession(str(self.folder / g["file"]), opts,
                                                    providers=["CPUExecutionProvider"])
                         for name, g in self.meta["graphs"].items()}
        self.tokenizers = {k: Tokenizer(v) for k, v in self.vocab.items()
                           if isinstance(v, dict) and v.get("class_name") == "Tokenizer"}

    def run(self, graph: str, feeds: dict) -> dict:
        """One graph call: {input name: array} -> {output name: array}."""
        sess = self.sessions[graph]
        names = [o.name for o in sess.get_outputs()]
        used = {i.name for i in sess.get_inputs()}  # an input the graph ignores was dropped
        return dict(zip(names, sess.run(names, {k: v for k, v in feeds.items() if k in used})))

    # ------------------------------------------------------------------ encoding
    def encode_texts(self, texts) -> list:
        """Texts -> id lists (never empty), cut at the run's max_len, as seqlab does."""
        tok = self.tokenizers["tokenizer"]
        seqs = [tok.encode(t) or [tok.oov or 1] for t in texts]
        max_len = self.meta.get("max_len") or 0
        return [s[:max_len] for s in seqs] if max_len else seqs

    def tag_inputs(self, sentences) -> tuple:
        """Token lists -> words (B, T), chars (B, T, L)."""
        words = pad([self.tokenizers["words"].encode(s) for s in sentences])
        L = self.meta["max_word"]
        chars = np.zeros(words.shape + (L,), dtype=np.int64)
        ctok = self.tokenizers["chars"]
        for b, sent in enumerate(sentences):
            for t, w in enumerate(sent[:words.shape[1]]):
                ids = ctok.encode(w)[:L] or [1]
                chars[b, t, :len(ids)] = ids
        return words, chars

    # ------------------------------------------------------------------ predict
    def logits(self, inputs) -> np.ndarray:
        """The raw graph output of a batch: classify (B, C), tag (B, T, K), forecast (B, h, D)."""
        if self.task == "classify":
            if self.meta["text"]:
                return self.run("model", {"ids": pad(self.encode_texts(inputs))})["logits"]
            seqs = [np.asarray(s, dtype=np.float32).reshape(len(s), -1) for s in inputs]
            T, D = max(len(s) for s in seqs), seqs[0].shape[1]
            x = np.zeros((len(seqs), T, D), dtype=np.float32)
            mask = np.zeros((len(seqs), T), dtype=bool)
            for i, s in enumerate(seqs):
                x[i, :len(s)], mask[i, :len(s)] = s, True
            return self.run("model", {"x": x, "mask": mask})["logits"]
        if self.task == "tag":
            words, chars = self.tag_inputs(inputs)
            return self.run("model", {"words": words, "chars": chars})["logits"]
        if self.task == "forecast":
            return self.run("model", {"x": np.asarray(inputs, dtype=np.float32)})["forecast"]
        raise ValueError(f"logits: task {self.task!r} has no single-call output; use "
                         f"generate (language models) or decode (seq2seq).")

    def predict(self, inputs) -> list:
        """classify: texts (or series) -> labels; tag: token lists -> tag lists;
        forecast: histories (lists of numbers, one column) -> the next horizon values."""
        if self.task == "classify":
            classes = self.meta["classes"]
            return [classes[i] for i in self.logits(inputs).argmax(-1)]
        if self.task == "tag":
            inputs = [s.split() if isinstance(s, str) else list(s) for s in inputs]
            tags = self.meta["tags"]
            pred = self.logits(inputs)[..., 1:].argmax(-1)                  # never padding
            return [[tags[j] for j in pred[k, :len(s)]] for k, s in enumerate(inputs)]
        if self.task == "forecast":
            return [self.forecast(np.asarray(h, dtype=np.float64).reshape(len(h), -1)).tolist()
                    for h in inputs]
        if self.task == "seq2seq":
            return self.decode(inputs)
        raise ValueError(f"predict: task {self.task!r}; use generate for a language model.")

    def forecast(self, history: np.ndarray, steps=None) -> np.ndarray:
        """The next ``steps`` (default horizon) values (steps, D) after ``history`` (T, D),
        feeding forecasts back: the run's log / differencing / scaling around the graph."""
        m = self.meta
        steps = steps or m["horizon"]
        z = list(_levels(history, m))                                       # levels
        lag = m["period"] if m["difference"] else 0
        mean, std = np.asarray(m["mean"]), np.asarray(m["std"])
        zz = np.asarray(z)
        d = zz[lag:] - zz[:-lag] if lag else zz
        s = list((d - mean) / std)                                         # scaled inputs
        if len(s) < m["window"]:
            raise ValueError(f"forecast: the history needs at least {m['window'] + lag} "
                             f"values (window + season), got {len(history)}.")
        start = len(z)
        while len(z) - start < steps:
            x = np.asarray(s[-m["window"]:], dtype=np.float32)[None]        # (1, W, D)
            for p in self.run("model", {"x": x})["forecast"][0]:            # (h, D)
                dz = p * std + mean
                z.append(dz + z[-lag] if lag else dz)
                s.append(p)
        return _unlevel(np.asarray(z[start:start + steps]), m)

    # ------------------------------------------------------------------ generation
    def _zero_states(self, graph: str, B: int) -> dict:
        out = {}
        for inp in self.meta["graphs"][graph]["inputs"]:
            if inp["name"] in ("h", "c"):
                shape = [B if isinstance(n, str) else n for n in inp["shape"]]
                out[inp["name"]] = np.zeros(shape, dtype=np.float32)
        return out

    def generate(self, prompt: str, length: int = 50) -> str:
        """``prompt`` and its greedy continuation of ``length`` tokens (never padding)."""
        tok = self.tokenizers["tokenizer"]
        ids = tok.encode(prompt)
        if not ids:
            raise ValueError("generate: the prompt has no known token; give a longer prompt.")
        return tok.decode(ids + self.generate_ids(ids, length))

    def generate_ids(self, ids, length: int, stream=None) -> list:
        """Greedy continuation of the id list ``ids``: ``length`` new ids. ``stream``
        (optional) is called with each new id as soon as it is chosen."""
        state = self._zero_states("step", 1)
        logits = None
        for i in ids:                                                      # read the prompt
            logits, state = self._lm_step(i, state)
        out = []
        for _ in range(length):
            scores = logits[0].copy()
            scores[0] = -np.inf                                            # never padding
            nxt = int(scores.argmax())
            out.append(nxt)
            if stream is not None:
                stream(nxt)
            logits, state = self._lm_step(nxt, state)
        return out

    def _lm_step(self, token: int, state: dict):
        res = self.run("step", {"token": np.asarray([token], dtype=np.int64), **state})
        return res["logits"], {k: res[f"{k}_out"] for k in state}

    def decode(self, sources, max_len=None) -> list:
        """seq2seq: source texts -> greedy decoded texts (one batch)."""
        tok = self.tokenizers["tokenizer"]
        src_ids = [tok.encode(s) for s in sources]
        ids = self.decode_ids(src_ids, max_len)
        return [tok.decode(row) for row in ids]

    def decode_ids(self, src_ids, max_len=None) -> list:
        """Greedy decoding of id lists: the encoder once, then one step call per token."""
        m = self.meta
        max_len = max_len or m["max_target_len"]
        enc = self.run("encoder", {"src": pad(src_ids)})
        n_state = sum(1 for i in m["graphs"]["step"]["inputs"] if i["name"].startswith("state"))
        state = {f"state{i}": enc[f"state{i}"] for i in range(n_state)}
        memory, src_mask = enc["memory"], enc["src_mask"]
        B = len(src_ids)
        token = np.full(B, m["start"], dtype=np.int64)
        done = np.zeros(B, dtype=bool)
        out = []
        for _ in range(max_len):
            res = self.run("step", {"token": token, **state, "memory": memory,
                                    "src_mask": src_mask})
            token = res["logits"].argmax(-1).astype(np.int64)
            token[done] = 0                                                # 0 after the end
            out.append(token)
            state = {k: res[f"{k}_out"] for k in state}
            done |= token == m["end"]
            if done.all():
                break
        return np.stack(out, 1).tolist()


def main(argv=None) -> int:
    """``python client.py FOLDER INPUT...``: predict / decode each input, or generate."""
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) < 2:
        print("usage: python client.py EXPORT_FOLDER INPUT [INPUT ...]", file=sys.stderr)
        return 2
    client = Client(argv[0])
    if client.task == "generate":
        for prompt in argv[1:]:
            print(client.generate(prompt, 40))
        return 0
    inputs = argv[1:]
    if client.task in ("forecast",) or (client.task == "classify" and not client.meta["text"]):
        inputs = [[float(v) for v in s.replace(",", " ").split()] for s in inputs]
    for x, y in zip(argv[1:], client.predict(inputs)):
        print(f"{x}\t{y}")
    return 0


if __name__ == "__main__":
    sys.exit(main())


def _levels(y: np.ndarray, m: dict) -> np.ndarray:
    """The run's target transform (none, log or Box-Cox), as the forecast task applies it."""
    kind = m.get("transform") or ("log" if m["log"] else "none")
    if kind == "boxcox":
        lam, c = np.asarray(m["lambda"]), np.asarray(m["shift"])
        base = np.maximum(y + c, 1e-8)
        return np.where(np.abs(lam) < 1e-6, np.log(base), (base ** lam - 1) / lam)
    return np.log(y) if kind == "log" else y


def _unlevel(z: np.ndarray, m: dict) -> np.ndarray:
    kind = m.get("transform") or ("log" if m["log"] else "none")
    if kind == "boxcox":
        lam, c = np.asarray(m["lambda"]), np.asarray(m["shift"])
        safe = np.where(np.abs(lam) < 1e-6, 1.0, lam)
        base = np.maximum(lam * z + 1, 0.0) ** (1 / safe)
        return np.where(np.abs(lam) < 1e-6, np.exp(z), base) - c
    return np.exp(z) if kind == "log" else z
