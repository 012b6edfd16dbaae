"""Export a run folder: the graphs of its task model (``writer.py``) plus ``vocab.json``
(the run's tokenizers, class or tag names, scalers) and the task's metadata (what a client
does before and after each graph), all written atomically.
"""
from __future__ import annotations

import json
from pathlib import Path

from seqlab.export.graphs import graphs_for
from seqlab.errors import ExportError
from seqlab.export.writer import FORMATS, _check_format, _write_json, export_model, write_graphs


def task_metadata(task: str, cfg, vocab: dict) -> dict:
    """What a client needs besides the graphs: pre- and post-processing settings."""
    out: dict = {"task": task}
    if task == "classify":
        out.update(text=bool(vocab["text"]), classes=list(vocab["classes"]),
                   max_len=cfg.data.max_len, features=vocab.get("features"))
    elif task == "forecast":
        out.update({k: vocab[k] for k in ("columns", "target", "period", "log", "difference",
                                           "window", "horizon", "mean", "std")})
        out.update({k: vocab[k] for k in ("transform", "lambda", "shift") if k in vocab})
    elif task == "tag":
        from seqlab.tasks.tag import MAX_WORD
        out.update(tags=list(vocab["tags"]), max_word=MAX_WORD)
    elif task == "generate":
        out.update(level=vocab["level"])
    elif task == "seq2seq":
        from seqlab.data import Tokenizer
        if vocab["tokenizer"].get("class_name") == "SubwordTokenizer":
            raise ExportError("export: this seq2seq run reads SentencePiece subwords "
                              "([data] level = \"subword\"), which the NumPy client cannot "
                              "tokenize, nor seqlab serve (which serves an export); translate "
                              "with seqlab predict RUN --input FILE, or train with level = "
                              "\"word\" to export it.")
        tok = Tokenizer.from_json(json.dumps(vocab["tokenizer"]))
        out.update(start=tok.start_index, end=tok.end_index,
                   max_target_len=vocab["max_target_len"], max_len=cfg.data.max_len)
    return out


def export_run(run_dir, format: str = "onnx", output=None) -> Path:
    """Export the trained model of a run folder with what a client needs beside it.

    Writes ``output`` (default ``RUN/export/FORMAT``): the graph file(s) (``model``;
    ``step`` for a language model; ``encoder`` and ``step`` for seq2seq), ``metadata.json``
    and ``vocab.json``. Returns the folder.

    >>> export_run("runs/sentiment", "onnx")  # doctest: +SKIP
    PosixPath('runs/sentiment/export/onnx')
    """
    from seqlab import tasks
    _check_format(format)
    run, _, model, vocab = tasks.load(run_dir)
    model = model.cpu().float()
    task = run.config.task
    out = Path(output) if output is not None else run.path / "export" / format
    graphs = graphs_for(task, model, vocab)
    meta = task_metadata(task, run.config, vocab)
    if task == "generate":
        meta["lstm"] = len(graphs[0].inputs) == 3
    meta.update(format=format, run=run.path.name, graphs=write_graphs(graphs, model, format, out))
    _write_json(out / "vocab.json", vocab)
    _write_json(out / "metadata.json", meta)
    return out


__all__ = ["export_run", "export_model", "FORMATS", "write_graphs", "task_metadata"]
