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

    def counting(model, batch, acc, rows=0):
        calls.append(type(model).__name__)
        return real(model, batch, acc, rows)
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
