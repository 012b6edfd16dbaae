"""Subword vocabulary, tied embeddings, label smoothing, warmup and checkpoint averaging:
each piece of the translation recipe on its own, then together on a made-up grammar."""
import importlib.util
import json
import math
from pathlib import Path

import pytest
import torch

from seqlab import tasks, translation
from seqlab.config import Config, ConfigError
from seqlab.data.parallel import write_pairs
from seqlab.models.recurrent.encoder_decoder import teacher_forcing_loss
from seqlab.models.step_callbacks import AverageLastEpochs, inverse_sqrt
from seqlab.models.transformers import TransformerSeq2Seq

_spec = importlib.util.spec_from_file_location(  # the made-up grammar of the word-level test
    "translation_grammar", Path(__file__).with_name("test_translation_learning.py"))
_grammar = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_grammar)
grammar_pairs = _grammar.grammar_pairs

needs_sentencepiece = pytest.mark.skipif(importlib.util.find_spec("sentencepiece") is None,
                                         reason="subwords need sentencepiece "
                                                "(pip install sentencepiece)")
needs_sacrebleu = pytest.mark.skipif(importlib.util.find_spec("sacrebleu") is None,
                                     reason="BLEU/chrF need sacrebleu (pip install sacrebleu)")


@needs_sentencepiece
def test_subword_round_trip_and_json():
    from seqlab.data.subwords import SubwordTokenizer
    sources, targets = grammar_pairs()
    tok = SubwordTokenizer.fit(sources + targets, vocab_size=60)
    assert tok.vocab_size <= 60
    # a sentence made of known pieces in a new order decodes to itself
    text = "la mesa blanca brilla the old boat moves"
    ids = tok.texts_to_sequences([text], start_end=True)[0]
    assert ids[0] == tok.start_index and ids[-1] == tok.end_index
    assert 1 not in ids                                                  # no <unk>
    assert tok.sequences_to_texts([ids + [0, 0]]) == [text]
    again = SubwordTokenizer.from_json(tok.to_json())
    assert again.texts_to_sequences([text]) == tok.texts_to_sequences([text])


def test_tied_embeddings_share_one_table():
    kw = dict(vocab_size=20, d_model=8, num_heads=2, ff_dim=16, num_encoder_layers=1,
              num_decoder_layers=1)
    untied, tied = TransformerSeq2Seq(**kw), TransformerSeq2Seq(**kw, tie_embeddings=True)
    n = lambda m: sum(p.numel() for p in m.parameters())
    # tying drops the target table (V * D) and the output kernel (D * V), keeps a bias (V)
    assert n(untied) - n(tied) == 20 * 8 + 8 * 20
    table = tied.source_embedding.tokens.embeddings
    assert all(p is not table for name, p in tied.named_parameters()
               if "target_embedding" in name)
    logits = tied(torch.tensor([[3, 4, 5]]), torch.tensor([[1, 6]]))    # (1, 2, V)
    h = logits.sum()
    h.backward()
    assert table.grad is not None and table.grad.abs().sum() > 0
    with pytest.raises(ValueError, match="tie_embeddings"):
        TransformerSeq2Seq(**kw, target_vocab_size=30, tie_embeddings=True)


def test_label_smoothing_is_the_mixed_target_cross_entropy():
    class Fixed(torch.nn.Module):
        label_smoothing = 0.2

        def forward(self, src, tgt_in):
            return torch.tensor([[[2.0, 0.5, -1.0, 0.0]]])              # (1, 1, V = 4)
    total, count, _ = teacher_forcing_loss(Fixed(), (None, None, torch.tensor([[1]])))
    logp = torch.log_softmax(torch.tensor([2.0, 0.5, -1.0, 0.0]), -1)
    eps, V = 0.2, 4
    # (1 - eps) on the true token, eps / V on every token
    expected = -((1 - eps) * logp[1] + eps / V * logp.sum())
    assert count == 1 and math.isclose(total.item(), expected.item(), rel_tol=1e-6)


def test_inverse_sqrt_and_average_last_epochs():
    f = inverse_sqrt(100)
    assert f(0) == pytest.approx(0.01) and f(99) == pytest.approx(1.0)
    assert f(399) == pytest.approx(0.5)                                  # sqrt(100 / 400)
    model = torch.nn.Linear(2, 1)
    cb = AverageLastEpochs(2)
    cb.set_model(model)
    cb.on_train_begin()
    for value in (1.0, 2.0, 4.0):                                        # three epoch ends
        with torch.no_grad():
            model.weight.fill_(value)
        cb.on_epoch_end(0)
    cb.on_train_end()
    assert torch.allclose(model.weight, torch.full((1, 2), 3.0))         # mean of 2 and 4


def test_new_options_are_checked():
    base = {"task": "seq2seq", "data": {"dataset": "addition", "level": "subword"}}
    Config.from_dict(base)
    with pytest.raises(ConfigError, match="label_smoothing"):
        Config.from_dict({**base, "training": {"label_smoothing": 1.5}})
    with pytest.raises(ConfigError, match="average_last"):
        Config.from_dict({**base, "training": {"average_last": 3, "keep_best": True}})
    with pytest.raises(ConfigError, match="lr_schedule"):
        Config.from_dict({**base, "training": {"lr_schedule": "noam"}})


@needs_sentencepiece
@needs_sacrebleu
@pytest.mark.learning
def test_subword_transformer_recipe_beats_word_for_word(tmp_path):
    """The whole recipe (subwords, tied Transformer, label smoothing, warmup, averaged
    weights, beam search) through the task, on the grammar that word-for-word cannot do."""
    sources, targets = grammar_pairs()                                   # 240 pairs
    path = write_pairs(tmp_path / "pairs.tsv", sources, targets)
    cfg = Config.from_dict({
        "task": "seq2seq",
        "data": {"dataset": "file", "path": str(path), "text_column": "source",
                 "label_column": "target", "level": "subword", "subwords": 80,
                 "test_fraction": 0.2, "val_fraction": 0.0},
        "model": {"arch": "transformer", "units": 32, "heads": 2, "layers": 1,
                  "dropout": 0.0, "tie_embeddings": True, "beam_width": 3},
        "training": {"epochs": 40, "batch_size": 16, "learning_rate": 0.005,
                     "lr_schedule": "inverse_sqrt", "warmup_steps": 40,
                     "label_smoothing": 0.1, "average_last": 3}})
    cfg.runs_dir, cfg.name = str(tmp_path / "runs"), "subwords"
    run, _ = tasks.train(cfg, verbose=False)
    vocab = json.loads((run.path / "vocab.json").read_text(encoding="utf-8"))
    assert vocab["tokenizer"]["class_name"] == "SubwordTokenizer"
    report = translation.compare(run.path)
    assert report["dictionary"]["bleu"] < 50, report
    assert report["model"]["bleu"] > report["dictionary"]["bleu"] + 30, report  # 100 vs 1.1
    # the saved run reloads and translates a new sentence of the grammar
    _, task, model, vocab = tasks.load(run.path)
    out = task.predict(model, vocab, run.config, ["the red house falls"])[0]
    assert out.startswith("la casa"), out


def test_export_refuses_a_subword_run_in_one_sentence():
    from seqlab.errors import ExportError
    from seqlab.export.bundle import task_metadata
    vocab = {"tokenizer": {"class_name": "SubwordTokenizer", "config": {}},
             "max_target_len": 5}
    with pytest.raises(ExportError, match="seqlab predict"):
        task_metadata("seq2seq", Config(), vocab)


BIBLE = Path("/work/shared/data/bible_en_es.tsv")


@needs_sentencepiece
@pytest.mark.skipif(not BIBLE.exists(), reason=f"{BIBLE} absent (the shared benchmark data)")
def test_bible_pieces_cover_held_out_verses():
    """Pieces learned from 2000 verses of both languages spell 200 others back exactly,
    with fewer than two pieces per word on average (characters would take about five)."""
    from seqlab.data.parallel import load_parallel
    from seqlab.data.subwords import SubwordTokenizer
    src, tgt = load_parallel(BIBLE, "en", "es", max_words=30, limit=2200)
    tok = SubwordTokenizer.fit(src[:2000] + tgt[:2000], vocab_size=1000)
    held_out = src[2000:] + tgt[2000:]
    ids = tok.texts_to_sequences(held_out)
    assert tok.sequences_to_texts(ids) == held_out
    words = sum(len(t.split()) for t in held_out)
    assert sum(len(i) for i in ids) < 2 * words                          # measured 1.55
