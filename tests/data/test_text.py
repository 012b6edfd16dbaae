"""Tokenizer: Keras's documented behaviour on golden examples, round trips, JSON."""
import pytest
from hypothesis import given, settings, strategies as st

from seqlab.data import Tokenizer, text_to_word_sequence, tokenizer_from_json

TEXTS = ["The cat sat on the mat.", "The dog ate the cat!", "A dog."]
# counts: the 4, cat 2, dog 2, sat 1, on 1, mat 1, ate 1, a 1 (ties: first seen first)


def test_word_index_frequency_order_and_default_filters():
    tok = Tokenizer()
    tok.fit_on_texts(TEXTS)
    assert list(tok.word_index.items()) == [("the", 1), ("cat", 2), ("dog", 3), ("sat", 4),
                                            ("on", 5), ("mat", 6), ("ate", 7), ("a", 8)]
    assert tok.word_counts["the"] == 4 and tok.word_docs["cat"] == 2
    assert tok.document_count == 3 and tok.index_word[3] == "dog"
    assert tok.texts_to_sequences(["The cat, the DOG; a bird"]) == [[1, 2, 1, 3, 8]]
    assert text_to_word_sequence("Don't stop\tme\nnow") == ["don't", "stop", "me", "now"]


def test_num_words_keeps_only_indices_below_it():
    tok = Tokenizer(num_words=3)  # Keras: the num_words - 1 = 2 most frequent words
    tok.fit_on_texts(TEXTS)
    assert len(tok.word_index) == 8  # word_index keeps everything, as in Keras
    assert tok.texts_to_sequences(["the cat dog sat"]) == [[1, 2]]
    assert tok.vocab_size == 3


def test_oov_token_is_index_1_and_replaces_unknown_and_cut_words():
    tok = Tokenizer(num_words=4, oov_token="<OOV>")
    tok.fit_on_texts(TEXTS)
    assert tok.word_index["<OOV>"] == 1 and tok.word_index["the"] == 2
    assert tok.texts_to_sequences(["the cat dog zebra"]) == [[2, 3, 1, 1]]
    assert tok.sequences_to_texts([[2, 3, 1, 7]]) == ["the cat <OOV> <OOV>"]


def test_char_level_does_not_filter_and_joins_without_spaces():
    tok = Tokenizer(char_level=True)
    tok.fit_on_texts(["Hi! hi"])
    assert tok.word_index == {"h": 1, "i": 2, "!": 3, " ": 4}  # Keras: no filters
    seq = tok.texts_to_sequences(["hi !"])
    assert seq == [[1, 2, 4, 3]] and tok.sequences_to_texts(seq) == ["hi !"]


def test_start_end_tokens_for_decoders():
    tok = Tokenizer(char_level=True, lower=False, oov_token="?", start_token="<s>",
                    end_token="</s>")
    tok.fit_on_texts(["535+61", "596"])
    assert [tok.oov_index, tok.start_index, tok.end_index] == [1, 2, 3]
    seq = tok.texts_to_sequences(["596"], start_end=True)[0]
    assert seq[0] == 2 and seq[-1] == 3 and len(seq) == 5
    assert tok.sequences_to_texts([seq + [4, 4], [0, 0] + seq]) == ["596", "596"]
    with pytest.raises(ValueError, match="start_end=True needs start_token"):
        Tokenizer().texts_to_sequences(["a"], start_end=True)


def test_padding_index_zero_is_skipped():
    tok = Tokenizer(oov_token="<unk>")
    tok.fit_on_texts(TEXTS)
    assert tok.sequences_to_texts([[0, 0, 2, 3]]) == ["the cat"]


def test_json_round_trip_and_atomic_save(tmp_path):
    tok = Tokenizer(num_words=5, oov_token="<unk>", start_token="<s>", end_token="</s>")
    tok.fit_on_texts(TEXTS)
    again = tokenizer_from_json(tok.to_json())
    assert again.word_index == tok.word_index and again.get_config() == tok.get_config()
    assert again.texts_to_sequences(TEXTS) == tok.texts_to_sequences(TEXTS)
    tok.save(tmp_path / "vocab.json")
    loaded = Tokenizer.load(tmp_path / "vocab.json")
    assert loaded.word_counts == tok.word_counts
    assert [p.name for p in tmp_path.iterdir()] == ["vocab.json"]  # no temp file left
    (tmp_path / "bad.json").write_text('{"a": 1}')
    with pytest.raises(ValueError, match="not a seqlab Tokenizer JSON"):
        Tokenizer.load(tmp_path / "bad.json")


def test_errors_are_clear():
    with pytest.raises(ValueError, match="num_words must be None or a positive integer, got 0"):
        Tokenizer(num_words=0)
    with pytest.raises(TypeError, match="Wrap it"):
        Tokenizer().fit_on_texts("just one string")


@settings(max_examples=60, deadline=None)
@given(st.lists(st.text(min_size=0, max_size=30), min_size=1, max_size=6))
def test_char_round_trip(texts):
    tok = Tokenizer(char_level=True, lower=False)
    tok.fit_on_texts(texts)
    seqs = tok.texts_to_sequences(texts)
    assert tok.sequences_to_texts(seqs) == texts
    assert all(1 <= i < tok.vocab_size for s in seqs for i in s)


words = st.text(alphabet="abcdefgXYZ'", min_size=1, max_size=6)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(words, max_size=8).map(" ".join), min_size=1, max_size=6),
       st.lists(words, max_size=8).map(", ".join))
def test_word_round_trip_and_oov(texts, unseen):
    tok = Tokenizer(oov_token="<unk>")
    tok.fit_on_texts(texts)
    seqs = tok.texts_to_sequences(texts)
    assert tok.sequences_to_texts(seqs) == [" ".join(text_to_word_sequence(t)) for t in texts]
    # Texts with unseen words keep one index per word: nothing dropped or invented.
    out = tok.texts_to_sequences([unseen])[0]
    assert len(out) == len(text_to_word_sequence(unseen))
    known = {w for t in texts for w in text_to_word_sequence(t)}
    assert [i == 1 for i in out] == [w not in known for w in text_to_word_sequence(unseen)]


def test_texts_to_matrix_modes_follow_keras_formulas():
    import numpy as np
    tok = Tokenizer()
    tok.fit_on_texts(["a b b", "b c"])  # b -> 1 (3 times, 2 docs), a -> 2, c -> 3
    assert tok.texts_to_matrix(["b a a z"], mode="binary").tolist() == [[0, 1, 1, 0]]
    assert tok.texts_to_matrix(["b a a"], mode="count").tolist() == [[0, 1, 2, 0]]
    np.testing.assert_allclose(tok.texts_to_matrix(["b a a"], mode="freq"),
                               [[0, 1 / 3, 2 / 3, 0]])
    tfidf = tok.texts_to_matrix(["b a a"], mode="tfidf")
    np.testing.assert_allclose(tfidf, [[0, np.log(1 + 2 / 3), (1 + np.log(2)) * np.log(2),
                                        0]])
    small = Tokenizer(num_words=2)
    small.fit_on_texts(["a b b"])
    assert small.texts_to_matrix(["a b"]).shape == (1, 2)  # columns < num_words
    with pytest.raises(ValueError, match="mode must be one of"):
        tok.texts_to_matrix(["a"], mode="onehot")
