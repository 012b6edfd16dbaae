"""Latency and throughput of an exported run on onnxruntime vs seqlab's own ``predict``.

Two runs: Rotten Tomatoes sentiment (examples/sentiment_rotten_tomatoes.toml with a
bidirectional LSTM, ``--arch cnn`` for the example's CNN) and airline passengers
(examples/forecast_airline.toml), each trained briefly (the figures are about speed, not
accuracy). Both candidates go from raw inputs to the answers a user gets (tokenizing,
padding, scaling included): seqlab's ``task.predict`` on torch and the reference client
(seqlab/export/client.py) on onnxruntime; and the model call alone (``model(ids)`` vs
one onnxruntime session run on the same padded batch). One thread each, batch 1 and
batch 64, interleaved rounds (bench/harness.py), min / median / max.

    OMP_NUM_THREADS=1 python bench/export.py [--quick] [--out docs/results/export_serve.md]
"""
from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from bench.harness import add_common_args, interleave, machine_info  # noqa: E402


def write_section(path: Path, name: str, text: str) -> None:
    """Put ``text`` between this script's markers in the Markdown file ``path``."""
    begin, end = f"<!-- {name}: begin -->", f"<!-- {name}: end -->"
    block = f"{begin}\n{text.rstrip()}\n{end}\n"
    old = path.read_text(encoding="utf-8") if path.exists() else (
        "# Export and serve: measured\n\nWritten by `bench/export.py --out` and "
        "`bench/serve_load.py --out`; rerun them to refresh their sections.\n\n")
    if begin in old:
        old = re.sub(re.escape(begin) + r".*?" + re.escape(end) + r"\n?", lambda m: block,
                     old, flags=re.S)
    else:
        old = old.rstrip() + "\n\n" + block
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(old, encoding="utf-8")


def client_window(client, history) -> np.ndarray:
    """The scaled last window (W, D) the forecast graph reads after ``history``."""
    m = client.meta
    z = np.log(history) if m["log"] else np.asarray(history, dtype=np.float64)
    lag = m["period"] if m["difference"] else 0
    d = z[lag:] - z[:-lag] if lag else z
    s = (d - m["mean"][0]) / m["std"][0]
    return s[-m["window"]:, None]


def train(config: str, runs_dir: str, name: str, **overrides):
    from seqlab import tasks
    from seqlab.config import Config
    cfg = Config.load(ROOT / "examples" / config)
    cfg.runs_dir, cfg.name = runs_dir, name
    for section, values in overrides.items():
        for k, v in values.items():
            setattr(getattr(cfg, section), k, v)
    run, _ = tasks.train(cfg, verbose=False)
    return run.path


def main() -> None:
    p = add_common_args(argparse.ArgumentParser(description=__doc__.splitlines()[0]))
    p.add_argument("--arch", default="rnn", choices=("rnn", "cnn"))
    p.add_argument("--out", default=None, help="Markdown file to write the results into")
    args = p.parse_args()
    import torch
    torch.set_num_threads(1)
    from seqlab import tasks
    from seqlab.export import export_run
    from seqlab.export.client import Client

    runs_dir = tempfile.mkdtemp(prefix="bench-export-")
    model = {"arch": args.arch}
    if args.arch == "rnn":
        model.update(bidirectional=True, units=64, cell="lstm")
    sentiment = train("sentiment_rotten_tomatoes.toml", runs_dir, "sentiment",
                      model=model, training={"epochs": 1, "keep_best": False, "threads": 1},
                      data={"max_samples": 500 if args.quick else 2000})
    forecast = train("forecast_airline.toml", runs_dir, "airline", model={"arch": "rnn"},
                     training={"epochs": 2, "threads": 1})

    rows = []
    for label, path in (("sentiment", sentiment), ("forecast", forecast)):
        run, task, m, vocab = tasks.load(path)
        client = Client(export_run(path, "onnx"), threads=1)
        if label == "sentiment":
            data = task.prepare(run.config, vocab=vocab)
            lines = data.info["raw_text"]["test"] if data.info.get("raw_text") else None
            lines = lines or ["a good film"] * 64
        else:
            hist = list(task.prepare(run.config, vocab=vocab).test["history"][:, 0])
            need = vocab["window"] + (vocab["period"] if vocab["difference"] else 0)
            lines = [", ".join(f"{v:.6g}" for v in hist[i:i + need + 12])
                     for i in range(0, len(hist) - need - 12)]
        for batch in (1, 64):
            items = (lines * (1 + 64 // max(1, len(lines))))[:batch]
            inputs = items if label == "sentiment" else \
                [[float(v) for v in l.split(",")] for l in items]
            n_calls = 64 // batch if batch < 64 else 2

            if label == "sentiment":
                ids = client.encode_texts(items)
                from seqlab.export.client import pad
                feeds = {"ids": pad(ids)}
            else:
                x = np.stack([np.asarray(client_window(client, v)) for v in inputs])
                feeds = {"x": x.astype(np.float32)}
            tensors = [torch.as_tensor(v) for v in feeds.values()]

            def seqlab_predict():
                with torch.no_grad():
                    for _ in range(n_calls):
                        task.predict(m, vocab, run.config, items)
                return n_calls * batch

            def onnx_predict():
                for _ in range(n_calls):
                    client.predict(inputs)
                return n_calls * batch

            def seqlab_forward():
                with torch.no_grad():
                    for _ in range(n_calls):
                        m(*tensors)
                return n_calls * batch

            def onnx_forward():
                for _ in range(n_calls):
                    client.run("model", feeds)
                return n_calls * batch

            res = interleave({"seqlab predict": seqlab_predict, "onnxruntime predict": onnx_predict,
                              "seqlab forward": seqlab_forward,
                              "onnxruntime forward": onnx_forward},
                             repeats=args.repeats, warmup=args.warmup, unit="items/s")
            for what in ("predict", "forward"):
                for name in (f"seqlab {what}", f"onnxruntime {what}"):
                    s = res.stats(name)
                    rows.append((label, batch, name, s["min"], s["median"], s["max"],
                                 1000 * batch / s["max"], 1000 * batch / s["median"],
                                 1000 * batch / s["min"]))
                r = res.ratio(f"onnxruntime {what}", f"seqlab {what}")
                rows.append((label, batch, f"speed-up {what}", r["min"], r["median"],
                             r["max"], None, None, None))
    info = machine_info()
    text = [f"## Exported model vs seqlab predict (bench/export.py{' --quick' if args.quick else ''})",
            "",
            f"{info.get('cpu')}, torch {info.get('torch')}, 1 thread; sentiment: "
            f"Rotten Tomatoes {args.arch}{' (bidirectional LSTM 64)' if args.arch == 'rnn' else ''}, "
            f"forecast: airline LSTM 32 (recursive forecast of the horizon). Raw inputs to "
            f"answers; {args.repeats} interleaved rounds.",
            "",
            "`predict` is raw inputs to answers; `forward` the model call alone on the same "
            "padded batch. seqlab's classify `predict` rebuilds its Tokenizer from vocab.json "
            "on every call (a 20,000-word vocabulary here), which is most of its "
            "batch-1 latency; the forward rows compare the two runtimes alone.",
            "",
            "| run | batch | candidate | items/s min | median | max | latency/call ms min | median | max |",
            "|---|---:|---|---:|---:|---:|---:|---:|---:|"]
    for label, batch, name, lo, med, hi, l_lo, l_med, l_hi in rows:
        if name.startswith("speed-up"):
            text.append(f"| {label} | {batch} | onnxruntime / seqlab ({name.split()[1]}) | {lo:.2f}x | {med:.2f}x | "
                        f"{hi:.2f}x | | | |")
        else:
            text.append(f"| {label} | {batch} | {name} | {lo:,.0f} | {med:,.0f} | {hi:,.0f} | "
                        f"{l_lo:.2f} | {l_med:.2f} | {l_hi:.2f} |")
    out = "\n".join(text)
    print(out)
    if args.out:
        write_section(Path(args.out), "export", out)


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    main()
