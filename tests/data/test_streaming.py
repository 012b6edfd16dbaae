"""seqlab.data.streaming: a text file tokenised once to an id file + line index, read
back lazily as language-model windows."""
import numpy as np
import pytest

from seqlab.data import streaming
from seqlab.data.streaming import TokenCorpus, tokenise_corpus


@pytest.fixture
def corpus(tmp_path, monkeypatch):
    monkeypatch.setattr(streaming, "CHUNK", 7)  # many chunks: lines across chunk borders
    rng = np.random.default_rng(0)
    lines = ["".join(rng.choice(list("abcdé xyz"), rng.integers(1, 30))) for _ in range(50)]
    text = "\n".join(lines) + "\n"
    (tmp_path / "t.txt").write_text(text, encoding="utf-8")
    return tokenise_corpus(tmp_path / "t.txt", tmp_path / "ids"), text


def test_ids_and_line_index_give_the_text_back(corpus):
    c, text = corpus
    assert c.num_tokens == len(text) and c.decode(c.ids()) == text
    lines = [c.decode(c.read(o, n)) for o, n in c.lines()]
    assert lines == [line + "\n" for line in text.splitlines()]
    again = TokenCorpus(c.folder)  # reopened from disk alone
    assert again.vocab == c.vocab and again.decode(again.read(0, 40)) == text[:40]


def test_windows_predict_the_next_character_in_an_order_of_seed_and_epoch(corpus):
    c, text = corpus
    c = TokenCorpus(c.folder, seq_len=10)
    batches = list(c.batches(4, seed=1, epoch=2))
    assert len(batches) == c.num_batches(4) == len(list(c.batches(4, seed=1, epoch=5)))
    for x, y in batches:
        assert x.shape[1] == 10 and (x[:, 1:] == y[:, :-1]).all()
        for row_x, row_y in zip(x, y):
            window = c.decode(row_x.tolist() + [int(row_y[-1])])
            assert window in text
    same = list(c.batches(4, seed=1, epoch=2))
    other = list(c.batches(4, seed=1, epoch=3))
    assert all((a[0] == b[0]).all() for a, b in zip(batches, same))
    assert any(a[0].shape != b[0].shape or not (a[0] == b[0]).all()
               for a, b in zip(batches, other))


def test_an_unknown_character_is_named(tmp_path):
    (tmp_path / "t.txt").write_text("abc\nabz\n", encoding="utf-8")
    with pytest.raises(ValueError, match="'z'.*not in the vocabulary"):
        tokenise_corpus(tmp_path / "t.txt", tmp_path / "ids", vocab=["\n", "a", "b", "c"])


def test_ascii_and_other_chunks_mix_and_a_character_past_the_vocabulary_is_named(
        tmp_path, monkeypatch):
    monkeypatch.setattr(streaming, "CHUNK", 5)  # pure-ASCII chunks and UTF-8 ones
    text = "plain ascii line\nnaïve € sign\nmore ascii\n"
    (tmp_path / "t.txt").write_text(text, encoding="utf-8")
    c = tokenise_corpus(tmp_path / "t.txt", tmp_path / "ids")
    assert c.decode(c.ids()) == text and c.vocab == sorted(set(text))
    with pytest.raises(ValueError, match="'€'.*not in the vocabulary"):
        tokenise_corpus(tmp_path / "t.txt", tmp_path / "x", vocab=sorted(set(text) - {"€"}))


def test_an_epoch_takes_every_window_once_in_a_shuffled_order(corpus):
    c, _ = corpus
    c = TokenCorpus(c.folder, seq_len=3)
    c.read = lambda offset, n: np.full(n, offset, dtype=np.int64)  # a window = its offset
    n = c.num_windows()
    for epoch in (0, 1):
        starts = np.concatenate([x[:, 0].numpy() for x, _ in c.batches(4, seed=2,
                                                                       epoch=epoch)])
        shift = starts.min()
        assert sorted((starts - shift) // 3) == list(range(n))  # each tile once
        assert list((starts - shift) // 3) != list(range(n))    # not in file order
