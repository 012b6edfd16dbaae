"""Every model family trains through the one backward function of
``seqlab.models.training`` (a spy counts its calls and still runs it)."""
import numpy as np
import pytest
import torch

from seqlab.models import training


@pytest.fixture
def spy(monkeypatch):
    """Counts the calls of the one backward function (and still runs it)."""
    calls = []
    real = training.backward

    def counting(model, batch, acc, rows=0, *more):
        calls.append(type(model).__name__)
        return real(model, batch, acc, rows, *more)
    monkeypatch.setattr(training, "backward", counting)
    return calls


# ---------------------------------------------------------------------- autoencoders
def test_autoencoders_reach_the_one_backward(spy):
    from seqlab.models.autoencoders import VAE, Autoencoder, train_autoencoder
    x = np.random.default_rng(0).normal(size=(40, 6)).astype("float32")
    history = train_autoencoder(VAE(6, 2, hidden=(4,), likelihood="gaussian"), x,
                                epochs=2, batch_size=16, validation_data=x[:8])
    assert spy == ["VAE"] * 6                           # 3 batches x 2 epochs
    assert sorted(history) == ["kl", "loss", "reconstruction",
                               "val_kl", "val_loss", "val_reconstruction"]
    assert all(len(v) == 2 for v in history.values())
    spy.clear()
    ae = Autoencoder(6, 2, hidden=(4,), l1=0.1)
    histories = ae.pretrain_layerwise(x, epochs=1, batch_size=20)
    assert spy == ["LayerPair"] * 4 and len(histories) == 2   # 2 layers x 2 batches


def test_an_autoencoder_logs_its_terms_and_they_add_up_to_the_loss():
    from seqlab.models.autoencoders import Autoencoder
    torch.manual_seed(0)
    ae = Autoencoder(5, 8, activation="sigmoid", sparsity_target=0.1, sparsity_weight=0.5,
                     l1=0.2)
    x = torch.rand(12, 5)
    total, count, logs = ae.compute_loss((x,))
    assert count == 12 and sorted(logs) == ["kl_sparsity", "l1", "reconstruction"]
    parts = {k: float(v / n) for k, (v, n) in logs.items()}
    expected = parts["reconstruction"] + 0.2 * parts["l1"] + 0.5 * parts["kl_sparsity"]
    assert float(total.detach()) / 12 == pytest.approx(expected, rel=1e-6)
    assert total.requires_grad and not any(v.requires_grad for v, _ in logs.values())


def test_lbfgs_full_batch_trains_an_autoencoder_through_fit(spy):
    from seqlab.models.autoencoders import Autoencoder, train_autoencoder
    x = np.random.default_rng(1).normal(size=(30, 6)).astype("float32")
    torch.manual_seed(0)
    ae = Autoencoder(6, 3, activation="linear")
    history = train_autoencoder(ae, x, epochs=3, batch_size=None, optimizer="lbfgs", lr=1.0)
    assert len(spy) > 3                                 # L-BFGS evaluates several times a step
    assert history["loss"][-1] < 0.8 * history["loss"][0]


# ---------------------------------------------------------------------- masked-LM pretraining
def _texts(n=24, seed=0):
    rng = np.random.default_rng(seed)
    return [[int(t) for t in rng.integers(1, 12, size=rng.integers(4, 9))] for _ in range(n)]


def _mlm():
    import seqlab
    from seqlab.models.pretraining import MaskedLanguageModel
    torch.manual_seed(0)
    mlm = MaskedLanguageModel(vocab_size=13, d_model=8, num_heads=2, ff_dim=16, num_layers=1,
                              dropout=0.0)
    mlm.compile(optimizer=seqlab.optimizers.Adam(learning_rate=1e-2), global_clipnorm=1.0)
    return mlm


def test_masked_lm_pretraining_reaches_the_one_backward_and_is_reproducible(spy):
    texts = _texts()
    runs = [_mlm().pretrain(texts, epochs=2, batch_size=10, seed=3, verbose=0)
            for _ in range(2)]
    assert spy == ["MaskedLanguageModel"] * 12          # 2 runs x 2 epochs x 3 batches
    assert sorted(runs[0]) == ["loss", "time"] and len(runs[0]["loss"]) == 2
    assert runs[0]["loss"] == runs[1]["loss"]           # same seed: same masks and order
    other = _mlm().pretrain(texts, epochs=2, batch_size=10, seed=4, verbose=0)
    assert other["loss"] != runs[0]["loss"]


def test_masked_lm_compute_loss_counts_the_selected_tokens():
    mlm = _mlm()
    ids = torch.tensor([[3, 4, 5, 6, 7, 8, 0, 0]] * 20)  # (20, 8), 2 padding steps each
    mlm.masking_generator = torch.Generator().manual_seed(0)
    total, count, _ = mlm.compute_loss((ids,))
    assert 0 < int(count) <= 120 and abs(int(count) / 120 - 0.15) < 0.08
    mlm.masking_generator = torch.Generator().manual_seed(0)
    assert torch.equal(mlm.compute_loss((ids,))[0], total)  # masks from the generator


# ---------------------------------------------------------------------- Transformer seq2seq
def test_transformer_seq2seq_reaches_the_one_backward(spy):
    import seqlab
    from seqlab.models.transformers import TransformerSeq2Seq
    torch.manual_seed(0)
    model = TransformerSeq2Seq(vocab_size=12, d_model=8, num_heads=2, ff_dim=16,
                               num_encoder_layers=1, num_decoder_layers=1, dropout=0.0)
    model.compile(optimizer="adam", global_clipnorm=1.0)
    sources = _texts(20)
    targets = [[1] + s[::-1] + [2] for s in sources]
    seen = []
    history = model.fit_pairs(sources, targets, epochs=3, batch_size=8, verbose=0,
                              on_epoch_end=lambda epoch, logs: seen.append(logs) or epoch == 1)
    assert spy == ["TransformerSeq2Seq"] * 6            # stopped after 2 epochs x 3 batches
    assert len(history["loss"]) == 2 and sorted(history) == ["loss", "time"]
    assert seen[-1]["loss"] == history["loss"][-1]


def test_teacher_forcing_loss_is_the_mean_over_real_target_tokens():
    from seqlab.models.transformers import TransformerSeq2Seq
    torch.manual_seed(0)
    model = TransformerSeq2Seq(vocab_size=9, d_model=8, num_heads=2, ff_dim=16,
                               num_encoder_layers=1, num_decoder_layers=1, dropout=0.0).eval()
    src = torch.tensor([[3, 4, 0], [5, 6, 7]])
    tgt = torch.tensor([[1, 8, 2, 0], [1, 3, 4, 2]])                  # 2 + 3 real targets
    with torch.no_grad():
        total, count, _ = model.compute_loss((src, tgt))
        logp = torch.log_softmax(model(src, tgt[:, :-1]), -1)         # (2, 3, 9)
    gold = tgt[:, 1:]
    expected = -sum(logp[b, t, gold[b, t]] for b in range(2) for t in range(3) if gold[b, t])
    assert int(count) == 5 and float(total) == pytest.approx(float(expected), rel=1e-5)


# ---------------------------------------------------------------------- truncated BPTT
@pytest.mark.parametrize("with_optimizer", [True, False])
def test_truncated_bptt_reaches_the_one_backward(spy, with_optimizer):
    import seqlab
    from seqlab.layers import LSTM, Dense
    from seqlab.models.truncated_bptt import truncated_bptt
    torch.manual_seed(0)
    model = seqlab.Sequential([LSTM(4, return_sequences=True), Dense(1)])
    model.build((None, None, 1))
    model.compile(optimizer="sgd", loss="mse")          # its own settings stay as they are
    x, y = torch.randn(2, 23, 1), torch.randn(2, 23, 1)
    opt = torch.optim.SGD(model.parameters(), lr=0.1) if with_optimizer else None
    before = [p.detach().clone() for p in model.parameters()]
    losses = truncated_bptt(model, x, y, k1=5, k2=8, optimizer=opt, clipnorm=1.0)
    assert len(losses) == 5 and spy == ["StreamTrainer"] * 5   # windows end at 5 .. 20, 23
    moved = any(not torch.equal(p, b) for p, b in zip(model.parameters(), before))
    assert moved == with_optimizer
    assert all(p.grad is not None for p in model.parameters())
    assert model.optimizer is None and model.global_clipnorm is None
    assert not model.layers[0].stateful
