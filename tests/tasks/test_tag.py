"""tag: a BiLSTM + character tagger generalises to unseen words by their suffixes."""
import numpy as np

from seqlab import tasks


def _treebank(path, n=500, seed=0):
    """Sentences DET ADJ? NOUN VERB: nouns end in -lar, verbs in -di, adjectives in -ik;
    most stems are rare, so many test words are unseen in training."""
    rng = np.random.default_rng(seed)
    stems = ["".join(rng.choice(list("bcdfgkmnprst"), 1)) + "".join(rng.choice(list("aeiou"), 1))
             + "".join(rng.choice(list("bcdfgkmnprst"), 1)) for _ in range(400)]
    rows = ["tokens\ttags"]
    for _ in range(n):
        words, tags = ["bir"], ["DET"]
        if rng.random() < 0.5:
            words.append(stems[rng.integers(len(stems))] + "ik")
            tags.append("ADJ")
        words += [stems[rng.integers(len(stems))] + "lar", stems[rng.integers(len(stems))] + "di"]
        tags += ["NOUN", "VERB"]
        rows.append(" ".join(words) + "\t" + " ".join(tags))
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def test_tagger_beats_most_frequent_tag_on_unseen_words(tmp_path, helpers):
    path = _treebank(tmp_path / "tb.tsv")
    cfg = helpers.config(tmp_path, "tag",
                         {"dataset": "file", "path": str(path), "text_column": "tokens",
                          "label_column": "tags"},
                         {"cell": "gru", "units": 16, "embedding_dim": 8,
                          "char_embedding_dim": 8},
                         {"epochs": 4, "batch_size": 16, "learning_rate": 0.02})
    run, m = tasks.train(cfg, verbose=False)
    assert m["oov_rate"] > 0.1
    assert m["token_accuracy"] >= 0.95, m
    assert m["token_accuracy"] > m["baseline_most_frequent_tag"] + 0.04, m
    assert set(m["per_tag_f1"]) == {"ADJ", "DET", "NOUN", "VERB"}
    assert (run.path / "plots" / "per_tag_f1.png").is_file()
    _, task, model, vocab = tasks.load(run.path)
    out = task.predict(model, vocab, run.config, ["bir zozik mumular kekedi"])
    assert out == ["bir/DET zozik/ADJ mumular/NOUN kekedi/VERB"]


def test_split_seed_fixes_the_split_across_training_seeds(tmp_path, helpers):
    path = _treebank(tmp_path / "tb.tsv", n=100)
    task = tasks.get("tag")

    def test_sentences(seed, split_seed):
        cfg = helpers.config(tmp_path, "tag", {"dataset": "file", "path": str(path),
                                               "text_column": "tokens", "label_column": "tags",
                                               "split_seed": split_seed}, {},
                             {"seed": seed})
        return [" ".join(map(str, s)) for s in task.prepare(cfg).test[0]]

    assert test_sentences(1, split_seed=0) == test_sentences(2, split_seed=0)
    assert test_sentences(0, split_seed=-1) == test_sentences(5, split_seed=0)
    assert test_sentences(1, split_seed=-1) != test_sentences(2, split_seed=-1)


def test_word_dropout_hits_rare_words_often_and_frequent_words_rarely():
    from seqlab.data import Tokenizer
    from seqlab.tasks.tag import word_dropout_probabilities
    import json
    tok = Tokenizer(oov_token="<unk>")
    tok.fit_on_texts([["bir"] * 99 + ["kitap"]])
    p = word_dropout_probabilities({"words": json.loads(tok.to_json())}, 0.25)
    assert p[0] == p[1] == 0.0                                  # padding, OOV
    assert p[tok.word_index["kitap"]] == 0.25 / 1.25            # seen once: 20%
    assert p[tok.word_index["bir"]] == 0.25 / 99.25             # seen 99 times: 0.25%
