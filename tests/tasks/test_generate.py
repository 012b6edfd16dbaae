"""generate: a word LM learns a tiny grammar (the course's sentence scores), a char LM samples."""
import numpy as np

from seqlab import tasks
from seqlab.tasks import generate, ngram

SUBJECTS = ["la voiture", "la maison", "le chat", "le chien"]
ENDINGS = {"la voiture": ["est bleue", "est rouge", "roule vite"],
           "la maison": ["est bleue", "est grande"],
           "le chat": ["mange une souris", "dort", "est noir"],
           "le chien": ["mange un os", "dort", "court vite"]}


def _corpus(path, n=1500, seed=0):
    rng = np.random.default_rng(seed)
    lines = []
    for _ in range(n):
        s = SUBJECTS[rng.integers(len(SUBJECTS))]
        lines.append(f"{s} {ENDINGS[s][rng.integers(len(ENDINGS[s]))]} .")
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def test_word_model_scores_grammatical_sentence_higher(tmp_path, helpers):
    path = _corpus(tmp_path / "phrases.txt")
    cfg = helpers.config(tmp_path, "generate",
                         {"dataset": "file", "path": str(path), "level": "word", "seq_len": 20},
                         {"cell": "gru", "units": 32, "embedding_dim": 16},
                         {"epochs": 6, "batch_size": 16, "learning_rate": 0.01})
    run, m = tasks.train(cfg, verbose=False)
    # the grammar allows ~2 bits per word at most; uniform over 20 words is 4.4
    assert m["bits_per_token"] < 2.0, m
    assert m["bits_per_token"] < m["baseline_kneser_ney_bits"] + 0.3
    _, task, model, vocab = tasks.load(run.path)
    good = task.score(model, vocab, run.config, "la voiture est bleue")
    bad = task.score(model, vocab, run.config, "la voiture mange bleue")
    assert good > bad + 2.0, (good, bad)
    assert (run.path / "plots" / "samples.png").is_file()


def test_char_model_samples_from_prompt_with_top_k(tmp_path, helpers):
    path = tmp_path / "abc.txt"
    path.write_text("abcd" * 600, encoding="utf-8")
    cfg = helpers.config(tmp_path, "generate",
                         {"dataset": "file", "path": str(path), "level": "char", "seq_len": 16},
                         {"cell": "lstm", "units": 16, "embedding_dim": 8},
                         {"epochs": 4, "batch_size": 16, "learning_rate": 0.02})
    run, m = tasks.train(cfg, verbose=False)
    assert m["bits_per_char"] < 0.2, m
    _, task, model, vocab = tasks.load(run.path)
    text = task.sample(model, vocab, run.config, "ab", length=10, temperature=0.5, top_k=1)
    assert text == "ab" + "cdab" * 2 + "cd"


def test_kneser_ney_normalised_and_learns():
    text = list("the cat sat on the mat. " * 20)
    lm = ngram.KneserNey(4).fit(text)
    for history in (list("the "), list("zz"), []):
        assert abs(sum(lm.prob(history, c) for c in lm.vocab) - 1) < 1e-9
    assert lm.bits_per_token(list("the cat sat"), list("mat. ")) < 1.0
