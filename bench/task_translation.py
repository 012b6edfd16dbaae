"""Task figure: English -> Spanish Bible verses, BLEU and chrF on a fixed held-out set.

Systems, all trained on the same training verses (the ``seq2seq`` task, ``tasks.train``,
so ``Model.fit``), with a SentencePiece BPE vocabulary shared by both languages learned
from the training side, label smoothing, an inverse-square-root schedule with warmup,
the mean of the last epochs' weights, and beam search:
  - ``lstm``: the attention encoder-decoder (LSTM, Luong attention);
  - ``transformer``: the Transformer seq2seq with tied embeddings;
  - ``dictionary``: word-for-word IBM Model 1 (seqlab.models.word_dictionary).
Both sides are lower-cased with punctuation split off (seqlab.data.parallel.tokenize);
BLEU and chrF (sacrebleu) are computed on that tokenized text for every system alike.

Each call trains the systems it is given for a CPU-time budget (``--minutes``, checked
after every epoch) or a number of epochs, and stores their rows in
docs/results/translation.json under ``--tag``; docs/results/translation.md is
rewritten from every stored row of the same data split. The rows of the report are
rerun with the command recorded beside them (``--systems`` alone rewrites the report), e.g.:

    OMP_NUM_THREADS=1 python bench/task_translation.py --systems lstm transformer dictionary --minutes 5 --tag quick
    OMP_NUM_THREADS=1 python bench/task_translation.py --systems transformer --minutes 45 --tag long
"""
import argparse
import json
import random
import shlex
import sys
import tempfile
import time
from pathlib import Path

import torch

from seqlab import tasks
from seqlab.data.parallel import score
from seqlab.config import Config
from seqlab.data.parallel import load_parallel, write_pairs
from seqlab.models.callbacks import Callback
from seqlab.models.word_dictionary import WordDictionary

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "bible_en_es.tsv"
if not DATA.exists():
    DATA = Path("/work/shared/data/bible_en_es.tsv")
RESULTS = ROOT / "docs" / "results"
parser = argparse.ArgumentParser()
parser.add_argument("--data", default=str(DATA))
parser.add_argument("--systems", nargs="*", default=["lstm", "transformer", "dictionary"],
                    choices=["lstm", "transformer", "dictionary"])
parser.add_argument("--tag", default="quick", help="row label: a rerun replaces its rows")
parser.add_argument("--minutes", type=float, default=5.0, help="CPU minutes per system")
parser.add_argument("--epochs", type=int, default=0, help="> 0: train this many epochs")
parser.add_argument("--max-words", type=int, default=40)
parser.add_argument("--test", type=int, default=400, help="held-out verses")
parser.add_argument("--wall-minutes", type=float, default=0,
                    help="> 0: also stop after the first epoch past this wall-clock time")
parser.add_argument("--subwords", type=int, default=3000)
parser.add_argument("--d-model", type=int, default=128, help="Transformer d_model")
parser.add_argument("--layers", type=int, default=3, help="Transformer layers per stack")
parser.add_argument("--units", type=int, default=256, help="LSTM units")
parser.add_argument("--average", type=int, default=3, help="average the last N epochs")
parser.add_argument("--beam", type=int, default=4)
parser.add_argument("--limit", type=int, default=0, help="> 0: only this many training pairs")
parser.add_argument("--results", default=str(RESULTS / "translation.json"))
parser.add_argument("--finish", nargs=2, metavar=("RUN_DIR", "LOG"),
                    help="score the last checkpoint of a stopped call's run of --systems "
                         "(one system) instead of training; LOG is what that call printed, "
                         "for its CPU time")
args = parser.parse_args()
torch.set_num_threads(1)

# ---------------------------------------------------------------------- one fixed split
src, tgt = load_parallel(args.data, "en", "es", max_words=args.max_words)
order = list(range(len(src)))
random.Random(0).shuffle(order)
test_idx, train_idx = order[:args.test], order[args.test:]
if args.limit:
    train_idx = train_idx[:args.limit]
tmp = Path(tempfile.mkdtemp(prefix="seqlab-translation-"))
train_file = write_pairs(tmp / "train.tsv", [src[i] for i in train_idx],
                         [tgt[i] for i in train_idx])
test_file = write_pairs(tmp / "test.tsv", [src[i] for i in test_idx], [tgt[i] for i in test_idx])
split = {"max_words": args.max_words, "pairs": len(src), "train": len(train_idx),
         "test": len(test_idx), "shuffle_seed": 0}

MODELS = {
    "lstm": ({"cell": "lstm", "units": args.units, "embedding_dim": args.units,
              "attention": "luong"}, {"learning_rate": 0.002, "warmup_steps": 200}),
    "transformer": ({"arch": "transformer", "units": args.d_model, "heads": 4,
                     "layers": args.layers, "dropout": 0.1, "tie_embeddings": True},
                    {"learning_rate": 0.0015, "warmup_steps": 300}),
}
NAMES = {"lstm": f"attention LSTM encoder-decoder ({args.units} units, Luong)",
         "transformer": f"Transformer (d_model {args.d_model}, {args.layers}+{args.layers} "
                        f"layers, 4 heads, tied embeddings)"}


def config(system: str) -> Config:
    model, training = MODELS[system]
    cfg = Config.from_dict({
        "task": "seq2seq",
        "data": {"dataset": "file", "path": str(train_file), "test_path": str(test_file),
                 "text_column": "source", "label_column": "target", "level": "subword",
                 "subwords": args.subwords, "val_fraction": 0.0},
        "model": {**model, "beam_width": args.beam},
        "training": {"epochs": args.epochs or 1000, "batch_size": 64,
                     "lr_schedule": "inverse_sqrt", "label_smoothing": 0.1,
                     "average_last": args.average if args.average > 1 else 0,
                     **training}})
    cfg.runs_dir, cfg.name = str(tmp / "runs"), system
    return cfg


class CpuClock(Callback):
    """Counts epochs and the process CPU time of ``fit``; stops after the first epoch
    that ends past ``budget`` CPU seconds (None = the configured epochs)."""

    def __init__(self, budget):
        super().__init__()
        self.budget, self.epochs = budget, 0

    def on_train_begin(self, logs=None):
        self.start, self.wall = time.process_time(), time.time()

    def on_epoch_end(self, epoch, logs=None):
        self.epochs += 1
        self.cpu = time.process_time() - self.start
        print(f"  epoch {self.epochs}: loss {logs.get('loss', float('nan')):.3f}, "
              f"{self.cpu / 60:.1f} CPU-min", flush=True)
        if self.budget is not None and self.cpu > self.budget:
            self.model.stop_training = True
        if args.wall_minutes and time.time() - self.wall > args.wall_minutes * 60:
            self.model.stop_training = True


print("command: python bench/task_translation.py " + shlex.join(sys.argv[1:]), flush=True)


def neural(system: str) -> dict:
    """Train for the budget; the run's test metrics hold BLEU and chrF of its beam output."""
    clock = CpuClock(None if args.epochs else args.minutes * 60)
    t0 = time.process_time()
    run, metrics = tasks.train(config(system), callbacks=[clock], verbose=False)
    decode_cpu = time.process_time() - t0 - clock.cpu  # mostly decoding the test set
    _, task, model, vocab = tasks.load(run.path)
    shown = [src[i] for i in test_idx[:3]]
    outputs = task.predict(model, vocab, run.config, shown)
    return {"bleu": metrics["bleu"], "chrf": metrics["chrf"], "epochs": clock.epochs,
            "train_cpu_min": clock.cpu / 60, "other_cpu_min": decode_cpu / 60,
            "examples": [[s, tgt[i], o] for s, i, o in zip(shown, test_idx, outputs)]}


def finish(system: str) -> dict:
    """The last completed epoch of a run whose process was stopped during the next one
    (its model is that epoch's checkpoint), with the CPU time its call printed."""
    import re
    from safetensors.torch import load_file
    from seqlab.checkpoint_files import read_meta
    from seqlab.runs import Run
    run_dir, log = args.finish
    run = Run.open(run_dir)
    cfg, task = run.config, tasks.get("seq2seq")
    vocab = run.read_json("vocab.json")
    data = task.prepare(cfg, vocab=vocab)
    model = task.build_model(cfg, vocab)
    checkpoint = run.file(run.CHECKPOINT)
    tensors = load_file(str(checkpoint))  # the weights only: no more training follows
    model.load_state_dict({k[len("model."):]: v for k, v in tensors.items()
                           if k.startswith("model.")})
    model.eval()
    epochs = read_meta(checkpoint)["epoch"] + 1
    lines = re.findall(r"epoch (\d+): loss [\d.]+, ([\d.]+) CPU-min",
                       Path(log).read_text(encoding="utf-8"))
    cpu = {int(e): float(m) for e, m in lines}[epochs]
    t0 = time.process_time()
    with torch.no_grad():
        metrics = task.evaluate(model, data, cfg, "test")
        shown = [src[i] for i in test_idx[:3]]
        outputs = task.predict(model, vocab, cfg, shown)
    return {"bleu": metrics["bleu"], "chrf": metrics["chrf"], "epochs": epochs,
            "train_cpu_min": cpu, "other_cpu_min": (time.process_time() - t0) / 60,
            "stopped_during_epoch": epochs + 1,
            "examples": [[s, tgt[i], o] for s, i, o in zip(shown, test_idx, outputs)]}


def dictionary() -> dict:
    start = time.process_time()
    d = WordDictionary(iterations=8).fit([src[i] for i in train_idx],
                                         [tgt[i] for i in train_idx])
    train_cpu = time.process_time() - start
    s = score([d.translate(src[i]) for i in test_idx], [tgt[i] for i in test_idx])
    return {**s, "epochs": None, "train_cpu_min": train_cpu / 60}


path = Path(args.results)


def stored_rows() -> dict:
    """The rows stored for this split (read again before each write: another call of
    this script may have added rows meanwhile)."""
    stored = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    return stored.get("rows", {}) if stored.get("split") == split else {}


def describe(row: dict) -> str:
    if row["system"] == "dictionary":
        return "word-for-word dictionary (IBM Model 1, 8 EM iterations)"
    stopped = (f" (stopped during epoch {row['stopped_during_epoch']}: its last "
               f"checkpoint, scored with `--finish`)" if row.get("stopped_during_epoch") else "")
    return f"{row['name']}, {row['tag']}{stopped}"


def write_report() -> None:
    """docs/results/translation.md from every stored row of this split."""
    rows = stored_rows()
    d = {a: parser.get_default(a) for a in ("subwords", "beam")}
    lines = [
        "# English -> Spanish translation (Bible verses)", "",
        f"Generated by `bench/task_translation.py` from `bible_en_es.tsv`: verses whose "
        f"English and Spanish sides both have at most {split['max_words']} tokens "
        f"({split['pairs']} pairs); a fixed held-out test set of {split['test']} verses "
        f"(shuffled with seed 0), the other {split['train']} for training. Lower-cased, "
        f"punctuation split off; BLEU and chrF by sacrebleu on that tokenized text "
        f"(`tokenize='none'`).", "",
        f"The neural systems read and write SentencePiece BPE pieces ({d['subwords']} "
        f"unless the command says otherwise, shared by both languages, learned from the "
        f"training side), are trained by `seqlab.tasks.train` (so `Model.fit`) with label "
        f"smoothing 0.1 and a linear warmup then an inverse-square-root learning rate, and "
        f"decode the test set with a beam of {d['beam']}. `--average N` keeps the mean of "
        f"the weights of the last N epochs (1 = the last epoch's). Training stops at the "
        f"first epoch end past `--minutes` of CPU time (or `--wall-minutes` of wall-clock "
        f"time); the CPU time is the training process's own, on one thread of a 2-core "
        f"machine shared with other jobs; decoding the test set is not counted in it.", "",
        "| system | BLEU | chrF | epochs | training CPU-min | command |",
        "|---|---|---|---|---|---|"]
    for row in sorted(rows.values(), key=lambda r: (r["system"] != "dictionary",
                                                    r["train_cpu_min"])):
        lines.append(f"| {describe(row)} | {row['bleu']:.2f} | {row['chrf']:.2f} | "
                     f"{row['epochs'] or '-'} | {row['train_cpu_min']:.1f} | "
                     f"`{row['command']}` |")
    examples = [r for r in rows.values() if r.get("examples")]
    if examples:
        best = max(examples, key=lambda r: r["bleu"])
        lines += ["", f"Test verses and the output of the {describe(best)}:", ""]
        for source, reference, output in best["examples"]:
            lines += [f"- en: {source}", f"  - reference: {reference}",
                      f"  - output: {output}"]
    lines += ["", "The dictionary keeps source word order and copies unknown words; it is "
              "a strong baseline on this corpus because English and Spanish Bible verses "
              "follow each other nearly word for word and share names. A neural system "
              "has to learn the words, their order and when to stop from the pairs alone; "
              "the epochs column says how many passes over the training verses its CPU "
              "budget bought on this machine. Each row's command reruns it; a larger "
              "`--minutes` buys more epochs.", ""]
    path.with_suffix(".md").write_text("\n".join(lines), encoding="utf-8")
    print("wrote", path.with_suffix(".md"), flush=True)


command = "python bench/task_translation.py " + shlex.join(sys.argv[1:])
if args.finish:  # the row is the stopped call's: its command, epochs and CPU time
    head = Path(args.finish[1]).read_text(encoding="utf-8").splitlines()
    command = next((x[len("command: "):] for x in head if x.startswith("command: ")), command)
for system in args.systems:
    row = (dictionary() if system == "dictionary" else
           finish(system) if args.finish else neural(system))
    row.update(system=system, tag=args.tag, command=command, name=NAMES.get(system),
               average_last=args.average)
    print(system, args.tag, {k: v for k, v in row.items() if k != "examples"}, flush=True)
    rows = {**stored_rows(), f"{system}/{args.tag}": row}
    path.write_text(json.dumps({"split": split, "rows": rows}, indent=1, ensure_ascii=False)
                    + "\n", encoding="utf-8")
    write_report()
write_report()
