"""Tokenizing sentence pairs, the IBM Model 1 dictionary, and BLEU/chrF scoring."""
from pathlib import Path

import importlib.util

import pytest

from seqlab import translation
from seqlab.data import files
from seqlab.data.parallel import load_parallel, tokenize, write_pairs
from seqlab.models.word_dictionary import WordDictionary

BIBLE = Path("/work/shared/data/bible_en_es.tsv")

needs_sacrebleu = pytest.mark.skipif(importlib.util.find_spec("sacrebleu") is None,
                                    reason="BLEU/chrF need sacrebleu (pip install sacrebleu)")


def test_tokenize_splits_punctuation_and_lowers():
    assert tokenize("Y dijo Dios: Sea la luz.") == "y dijo dios : sea la luz ."
    assert tokenize("God’s Spirit") == "god’s spirit"


def test_write_then_load_round_trip_with_length_filter(tmp_path):
    path = write_pairs(tmp_path / "p.tsv", ["Hello, world!", "a b c d e f"],
                       ["Hola, mundo!", "x"], "en", "es")
    assert files.load_pairs(path, "en", "es") == (["Hello, world!", "a b c d e f"],
                                                 ["Hola, mundo!", "x"])
    src, tgt = load_parallel(path, "en", "es", max_words=5)
    assert (src, tgt) == (["hello , world !"], ["hola , mundo !"])


def test_write_pairs_refuses_unequal_lengths(tmp_path):
    with pytest.raises(ValueError, match="2 sources but 1 targets"):
        write_pairs(tmp_path / "p.tsv", ["a", "b"], ["x"])


def test_ibm1_resolves_a_word_only_by_elimination():
    # "haus" is never seen without "das"; EM explains "das" by "the" and frees "haus"
    d = WordDictionary(iterations=10).fit(["the house", "the book", "a book"],
                                          ["das haus", "das buch", "ein buch"])
    assert d.best["house"][0] == "haus" and d.best["house"][1] > 0.5
    assert d.translate("a book") == "ein buch"
    one = WordDictionary(iterations=1).fit(["the house", "the book", "a book"],
                                           ["das haus", "das buch", "ein buch"])
    assert one.best["house"][1] < d.best["house"][1]        # EM sharpens the table


def test_dictionary_refuses_bad_arguments():
    with pytest.raises(ValueError, match="iterations must be >= 1, got 0"):
        WordDictionary(iterations=0)
    with pytest.raises(ValueError, match="1 sources and 0 targets"):
        WordDictionary().fit(["a"], [])


@needs_sacrebleu
def test_scores_order_systems():
    refs = ["el perro come la carne", "la casa es roja"]
    assert translation.score(refs, refs) == {"bleu": 100.0, "chrf": 100.0}
    half = translation.score(["el perro come pan", "la casa es azul"], refs)
    bad = translation.score(["x y z", "q r s"], refs)
    assert 0 < half["bleu"] < 100 and bad["bleu"] < half["bleu"]
    assert bad["chrf"] < half["chrf"] < 100
    with pytest.raises(ValueError, match="2 hypotheses but 1 references"):
        translation.score(["a", "b"], ["a"])


@needs_sacrebleu
@pytest.mark.skipif(not BIBLE.exists(), reason=f"{BIBLE} absent (the shared benchmark data)")
def test_dictionary_baseline_on_bible_verses():
    src, tgt = load_parallel(BIBLE, "en", "es", max_words=16, limit=2200)
    d = WordDictionary().fit(src[:2000], tgt[:2000])
    s = translation.score([d.translate(x) for x in src[2000:]], tgt[2000:])
    identity = translation.score(src[2000:], tgt[2000:])     # English copied unchanged
    assert s["bleu"] > identity["bleu"] + 5 and s["chrf"] > identity["chrf"] + 10, (s, identity)
