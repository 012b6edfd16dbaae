"""word2vec: pair generation, noise table, subsampling, learning on a planted corpus,
the text format, the PCA plot and the Embedding bridge."""
import numpy as np
import pytest
import torch

from seqlab.embeddings import Vocabulary, Word2Vec, WordVectors, planted_corpus, tokenize
from seqlab.embeddings.vocab import noise_table, skipgram_pairs, window_mask


def _naive_pairs(ids, sent, width):
    pairs = []
    for i in range(len(ids)):
        for j in range(len(ids)):
            if i != j and sent[i] == sent[j] and abs(i - j) <= width[i]:
                pairs.append((ids[i], ids[j]))
    return sorted(pairs)


def test_skipgram_pairs_match_a_plain_loop():
    rng = np.random.default_rng(3)
    ids = rng.integers(0, 50, 40)
    sent = np.repeat(np.arange(5), 8)
    width = 3 - np.random.default_rng(7).integers(0, 3, size=40)  # the draw skipgram_pairs makes
    c, o = skipgram_pairs(ids, sent, 3, np.random.default_rng(7))
    assert sorted(zip(c.tolist(), o.tolist())) == _naive_pairs(ids.tolist(), sent, width)


def test_window_mask_is_the_pairs_seen_from_each_center():
    rng = np.random.default_rng(4)
    ids = rng.integers(0, 50, 30)
    sent = np.repeat(np.arange(3), 10)
    mask = window_mask(ids, sent, 2, np.random.default_rng(9))  # (30, 5)
    assert mask.shape == (30, 5) and not mask[:, 2].any()  # a word is not its own context
    c, o = skipgram_pairs(ids, sent, 2, np.random.default_rng(9))
    assert len(c) == mask.sum()
    assert not mask[9, 3:].any() and not mask[10, :2].any()  # never across sentences


def test_noise_table_follows_unigram_to_the_075():
    vocab = Vocabulary(["a", "b", "c"], np.array([1000, 100, 10]))
    p = vocab.noise_distribution(0.75)
    np.testing.assert_allclose(p, np.array([1000, 100, 10]) ** 0.75 / (1000**.75 + 100**.75 + 10**.75))
    table = noise_table(p, size=100_000)
    np.testing.assert_allclose(np.bincount(table) / len(table), p, atol=1e-4)


def test_subsampling_keeps_rare_words_and_drops_frequent_ones():
    vocab = Vocabulary(["the", "roi"], np.array([100_000, 10]))
    keep = vocab.keep_probabilities(1e-3)
    t = 1e-3 * 100_010
    assert keep[1] == 1.0
    assert keep[0] == pytest.approx((np.sqrt(100_000 / t) + 1) * t / 100_000)
    assert vocab.keep_probabilities(0).tolist() == [1.0, 1.0]


def _cluster_precision(wv, clusters, topn=3):
    return np.mean([np.mean([w2 in members for w2, _ in wv.most_similar(w, topn=topn)])
                    for members in clusters.values() for w in members])


@pytest.mark.parametrize("sg,epochs,n", [(1, 5, 5000), (0, 10, 6000)])
def test_planted_structure_is_learned(sg, epochs, n):
    corpus = planted_corpus(n, seed=1)
    model = Word2Vec(corpus.sentences, vector_size=24, window=5, min_count=1, sg=sg,
                     epochs=epochs, seed=0)
    assert model.losses[-1] < model.losses[0]
    assert _cluster_precision(model.wv, corpus.clusters) >= 0.7
    accuracy = np.mean([model.analogy(a, b, c) == d for a, b, c, d in corpus.analogies])
    assert accuracy >= 0.6
    assert model.analogy("man", "king", "woman") == "queen"  # roi - homme + femme ≈ reine
    assert model.similarity("cat", "dog") > model.similarity("cat", "hammer")


@pytest.mark.parametrize("block_size,shared_negatives", [(8, 4), (32, 32)])
def test_other_blocks_learn_the_same_structure(block_size, shared_negatives):
    corpus = planted_corpus(5000, seed=1)
    model = Word2Vec(corpus.sentences, vector_size=24, min_count=1, sg=1, epochs=5, seed=0,
                     batch_size=256, block_size=block_size, shared_negatives=shared_negatives)
    assert _cluster_precision(model.wv, corpus.clusters) >= 0.7
    assert np.mean([model.analogy(a, b, c) == d for a, b, c, d in corpus.analogies]) >= 0.6
    with pytest.raises(ValueError, match="multiple of block_size"):
        Word2Vec(batch_size=100, block_size=16)
    with pytest.raises(ValueError, match="noise_block=40 must be a multiple of block_size"):
        Word2Vec(noise_block=40, block_size=16)
    with pytest.raises(ValueError, match="multiple of noise_block=64"):
        Word2Vec(batch_size=1040)  # CBOW: noise words shared by 64 centers by default


def test_untrained_vectors_fail_the_same_checks():
    # The bar above is not trivially met: random vectors of the same vocabulary miss it.
    corpus = planted_corpus(3000, seed=1)
    vocab = Vocabulary.build(corpus.sentences)
    wv = WordVectors(vocab.index_to_key, np.random.default_rng(0).normal(size=(len(vocab), 24)))
    assert _cluster_precision(wv, corpus.clusters) < 0.5
    assert np.mean([wv.analogy(a, b, c) == d for a, b, c, d in corpus.analogies]) < 0.2


def test_plain_text_is_tokenised():
    text = "Le roi parle au peuple. La reine parle au roi !\nLe peuple écoute."
    assert tokenize(text)[1] == ["la", "reine", "parle", "au", "roi"]
    model = Word2Vec(text * 5, vector_size=8, min_count=2, epochs=1)
    assert "écoute" in model and "reine" in model.wv.index_to_key


def test_word2vec_text_format_round_trip(tmp_path):
    model = Word2Vec(planted_corpus(500, seed=2).sentences, vector_size=16, min_count=1,
                     epochs=1)
    path = tmp_path / "vectors.txt"
    model.save_word2vec_format(path)
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines[0] == f"{len(model.wv)} 16"
    assert lines[1].split(" ")[0] == model.wv.index_to_key[0]
    loaded = Word2Vec.load_word2vec_format(path)
    assert loaded.index_to_key == model.wv.index_to_key
    np.testing.assert_allclose(loaded.vectors, model.wv.vectors, rtol=1e-5, atol=1e-7)
    assert [w for w, _ in loaded.most_similar("king", topn=5)] == \
        [w for w, _ in model.most_similar("king", topn=5)]


def test_bad_text_format_is_reported(tmp_path):
    path = tmp_path / "bad.txt"
    path.write_text("roi 0.1 0.2\n", encoding="utf-8")
    with pytest.raises(ValueError, match="first line must be 'V E'"):
        WordVectors.load_word2vec_format(path)


@pytest.mark.parametrize("trainable", [False, True])
def test_embedding_layer_from_vectors(trainable):
    model = Word2Vec(planted_corpus(500, seed=2).sentences, vector_size=8, min_count=1,
                     epochs=1)
    layer = model.embedding_layer(trainable=trainable)
    ids = torch.as_tensor(model.wv.ids(["king", "queen"]))[None]  # (1, 2)
    out = layer(ids)  # (1, 2, 8)
    np.testing.assert_allclose(out[0, 0].detach().numpy(), model["king"], rtol=1e-6)
    assert layer.embeddings.requires_grad is trainable
    params = [p for p in layer.parameters() if p.requires_grad]
    assert len(params) == int(trainable)
    if trainable:
        out.pow(2).sum().backward()
        with torch.no_grad():  # one plain SGD step (torch.optim's import is slow here)
            layer.embeddings -= 0.5 * layer.embeddings.grad
        assert not np.allclose(layer.embeddings[ids[0, 0]].detach().numpy(), model["king"])


def test_embedding_layer_with_padding_row():
    wv = WordVectors(["roi", "reine"], np.arange(6.0).reshape(2, 3))
    layer = wv.embedding_layer(mask_zero=True)
    ids = torch.as_tensor(wv.ids(["reine", "roi"], mask_zero=True))[None]
    assert ids.tolist() == [[2, 1]]
    assert layer(ids)[0, 0].tolist() == [3.0, 4.0, 5.0]
    assert layer.embeddings[0].abs().sum() == 0


def test_pca_plot_is_written(tmp_path):
    wv = WordVectors([f"w{i}" for i in range(6)], np.random.default_rng(0).normal(size=(6, 5)))
    path = tmp_path / "pca.png"
    points = wv.plot_pca(["w0", "w1", "w2", "w3"], path)
    assert points.shape == (4, 2) and path.stat().st_size > 1000
    assert points[:, 0].var() >= points[:, 1].var()  # first axis carries the most variance


def test_errors_name_the_argument():
    with pytest.raises(ValueError, match="window must be a positive integer, got 0"):
        Word2Vec(window=0)
    with pytest.raises(TypeError, match="unknown option"):
        Word2Vec(size=10)
    with pytest.raises(ValueError, match="min_count=50"):
        Word2Vec([["a", "b"]], min_count=50)
    with pytest.raises(RuntimeError, match="not trained"):
        Word2Vec().most_similar("a")
    with pytest.raises(KeyError, match="not in the vocabulary"):
        WordVectors(["a"], np.ones((1, 2)))["b"]
