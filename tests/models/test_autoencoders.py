"""Autoencoders: linear AE = PCA subspace, denoising, sparse, stacked pretraining, VAE ELBO,
sequence autoencoders, anomaly-detection helpers."""
import numpy as np
import pytest
import torch
from scipy.linalg import subspace_angles

from seqlab.models.autoencoders import (VAE, Autoencoder, ConvAutoencoder, RecurrentAutoencoder,
                                        corrupt, train_autoencoder)
from seqlab.models.autoencoders.anomaly import (choose_threshold, plot_anomalies,
                                                pointwise_scores, precision_recall,
                                                roc_auc, rolling_zscore, sliding_windows)

sklearn_datasets = pytest.importorskip("sklearn.datasets")


@pytest.fixture(scope="module")
def digits():
    x = sklearn_datasets.load_digits().data.astype("float32") / 16.0  # (1797, 64) in [0, 1]
    idx = np.random.default_rng(0).permutation(len(x))
    return x[idx[:1400]], x[idx[1400:]]


def _angles_to_pca(ae, xc, k):
    top_k = np.linalg.svd(xc, full_matrices=False)[2][:k].T  # (64, k) principal axes
    decoder = ae.decoder[0].kernel.detach().numpy().T  # (64, k): spans the reconstructions
    return np.degrees(subspace_angles(top_k, decoder))


def test_linear_autoencoder_spans_the_pca_subspace(digits):
    x = digits[0][:600]
    xc = x - x.mean(axis=0)
    k = 5  # digits: the 5th and 6th eigenvalues are well apart (fast convergence)
    torch.manual_seed(0)
    ae = Autoencoder(64, k, activation="linear", use_bias=False)
    assert _angles_to_pca(ae, xc, k).max() > 45  # untrained: far from the PCA subspace
    train_autoencoder(ae, xc, epochs=6, batch_size=None, optimizer="lbfgs", lr=1.0)
    angles = _angles_to_pca(ae, xc, k)
    assert angles.max() < 5.0, angles
    # and its error is PCA's: the best rank-k reconstruction
    s = np.linalg.svd(xc, compute_uv=False)
    pca_mse = (s[k:] ** 2).sum() / xc.size
    assert float(ae.reconstruction_error(xc).mean()) == pytest.approx(pca_mse, rel=0.02)


def test_denoising_beats_the_noisy_input_and_a_plain_autoencoder(digits):
    train, test = digits
    torch.manual_seed(1)
    clean = torch.as_tensor(test)
    noisy = corrupt(clean, "gaussian", 0.3)
    mse = {}
    for name, noise in (("plain", None), ("denoising", "gaussian")):
        ae = Autoencoder(64, 32, activation="relu", output_activation="sigmoid", noise=noise,
                         noise_level=0.3)
        train_autoencoder(ae, train, epochs=40, batch_size=128, lr=5e-3, seed=0)
        with torch.no_grad():
            mse[name] = float(((ae(noisy) - clean) ** 2).mean())
    noisy_mse = float(((noisy - clean) ** 2).mean())
    assert mse["denoising"] < 0.5 * noisy_mse
    assert mse["denoising"] < 0.85 * mse["plain"], mse


def test_masking_noise_zeroes_the_expected_share():
    torch.manual_seed(0)
    x = torch.ones(200, 50)
    assert float((corrupt(x, "masking", 0.3) == 0).float().mean()) == pytest.approx(0.3, abs=0.02)
    assert torch.equal(corrupt(x, None, 0.3), x)


def test_sparsity_penalties_shrink_the_code(digits):
    train = digits[0][:500]
    means = {}
    for name, opts in (("none", {}), ("kl", dict(sparsity_target=0.05, sparsity_weight=0.5)),
                       ("l1", dict(l1=0.5))):
        torch.manual_seed(0)
        ae = Autoencoder(64, 32, activation="sigmoid", output_activation="sigmoid", **opts)
        history = train_autoencoder(ae, train, epochs=15, batch_size=100, lr=1e-2, seed=0)
        assert history["loss"][-1] < history["loss"][0]
        with torch.no_grad():
            means[name] = float(ae.encode(torch.as_tensor(train)).mean())
    assert means["kl"] < 0.15 < means["none"], means  # ρ̂ pulled toward ρ = 0.05
    assert means["l1"] < 0.5 * means["none"], means


def test_stacked_layerwise_pretraining_helps_before_fine_tuning(digits):
    train = digits[0][:600]
    torch.manual_seed(0)
    ae = Autoencoder(64, 8, hidden=(32,), activation="relu")
    before = float(ae.reconstruction_error(train).mean())
    histories = ae.pretrain_layerwise(train, epochs=10, batch_size=100, lr=1e-2)
    assert len(histories) == 2
    assert all(h["loss"][-1] < h["loss"][0] for h in histories)
    after = float(ae.reconstruction_error(train).mean())
    assert after < 0.5 * before
    history = train_autoencoder(ae, train, epochs=5, batch_size=100, lr=3e-3)
    assert history["loss"][-1] < after


def test_vae_heldout_elbo_improves_and_it_samples(digits):
    train, test = digits
    torch.manual_seed(0)
    vae = VAE(64, latent_dim=4, hidden=(64,))
    elbo_before = vae.elbo(test, samples=3)
    history = train_autoencoder(vae, train, epochs=12, batch_size=128, lr=3e-3,
                                validation_data=test, seed=0)
    val = history["val_loss"]  # -ELBO per held-out digit, after each epoch
    assert val[-1] < val[0] - 3 and val[-1] < -elbo_before - 10
    assert vae.elbo(test, samples=3) > elbo_before + 10
    assert history["val_kl"][-1] > 0.5  # the latent code is used (no posterior collapse)
    samples = vae.sample(16, generator=torch.Generator().manual_seed(0))
    assert samples.shape == (16, 64) and 0 <= float(samples.min()) <= float(samples.max()) <= 1
    path = vae.interpolate(test[0], test[1], steps=5)
    mu, _ = vae.encode(torch.as_tensor(test[:2]))
    assert torch.allclose(path[0], vae.decode(mu[:1])[0], atol=1e-5)
    assert torch.allclose(path[-1], vae.decode(mu[1:])[0], atol=1e-5)


def _sine_windows(n=96, t=24, seed=0):
    rng = np.random.default_rng(seed)
    phase = rng.uniform(0, 2 * np.pi, (n, 1))
    freq = rng.uniform(0.2, 0.4, (n, 1))
    return np.sin(freq * np.arange(t)[None, :] + phase)[..., None].astype("float32")  # (n, t, 1)


@pytest.mark.parametrize("make", [lambda: RecurrentAutoencoder(24, 1, units=16, cell="lstm"),
                                  lambda: RecurrentAutoencoder(24, 1, units=16, cell="gru"),
                                  lambda: ConvAutoencoder(24, 1, filters=(8, 8), kernel_size=5)],
                         ids=["lstm", "gru", "conv1d"])
def test_sequence_autoencoders_learn_sine_windows(make):
    torch.manual_seed(0)
    ae = make()
    x = _sine_windows()
    # 40 epochs: from Keras's recurrent initialisation (orthonormal rows of the whole (H, kH)
    # kernel) the GRU's loss falls to 0.06-0.15 of its first epoch over seeds 0-4 (at 25
    # epochs 0.22-0.40); the LSTM's to 0.04-0.18.
    history = train_autoencoder(ae, x, epochs=40, batch_size=32, lr=1e-2, seed=0)
    assert history["loss"][-1] < 0.25 * history["loss"][0], history["loss"]
    err = ae.reconstruction_error(x)
    assert err.shape == (96, 24)
    # a window unlike the training ones (a step) is rebuilt worse than the sines
    step = np.concatenate([-np.ones((1, 12, 1)), np.ones((1, 12, 1))], axis=1) * 1.5
    assert float(ae.reconstruction_error(step.astype("float32")).mean()) > 2 * float(err.mean())


def test_sequence_autoencoder_rejects_wrong_windows():
    ae = RecurrentAutoencoder(10, 2, units=4)
    with pytest.raises(ValueError, match=r"expected windows \(B, 10, 2\), got shape \(3, 9, 2\)"):
        ae(torch.zeros(3, 9, 2))
    with pytest.raises(ValueError, match="cell must be 'lstm' or 'gru'"):
        RecurrentAutoencoder(10, cell="rnn")


def test_roc_auc_matches_sklearn_with_ties():
    metrics = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, 300)
    scores = np.round(rng.normal(size=300) + labels, 1)  # many ties
    assert roc_auc(scores, labels) == pytest.approx(metrics.roc_auc_score(labels, scores))
    assert roc_auc(labels, labels) == 1.0 and roc_auc(-labels, labels) == 0.0


def test_rolling_zscore_matches_a_plain_loop():
    x = np.random.default_rng(1).normal(size=60)
    z = rolling_zscore(x, window=10)
    for t in (5, 20, 59):
        past = x[max(0, t - 10):t]
        assert z[t] == pytest.approx(abs(x[t] - past.mean()) / past.std(), rel=1e-6)


def test_windows_scores_threshold_and_plot(tmp_path):
    signal = np.arange(10.0)
    windows, starts = sliding_windows(signal, 4, stride=2)
    assert windows.shape == (4, 4, 1) and starts.tolist() == [0, 2, 4, 6]
    assert windows[1, :, 0].tolist() == [2, 3, 4, 5]
    errors = np.zeros((4, 4))
    errors[3, :] = 1.0  # the last window (steps 6..9) is bad
    score = pointwise_scores(errors, starts, 10, mode="window")
    assert score[8:].tolist() == [1.0, 1.0] and score[6] == 0.5 and score[:4].max() == 0
    step = pointwise_scores(np.eye(4)[[0]].repeat(4, 0), starts, 10, mode="step")
    assert step[[0, 2, 4, 6]].tolist() == [1, 0.5, 0.5, 0.5] and step[1] == 0  # shared steps
    val = np.r_[np.zeros(90), np.ones(10)] + np.linspace(0, 0.1, 100)
    labels = np.r_[np.zeros(90), np.ones(10)]
    thr = choose_threshold(val, labels)
    assert precision_recall(val > thr, labels) == (1.0, 1.0, 1.0)
    assert choose_threshold(np.arange(101.0), quantile=0.9) == pytest.approx(90.0)
    path = tmp_path / "flags.png"
    plot_anomalies(signal, score, 0.6, path, labels=score > 0.9)
    assert path.stat().st_size > 1000


def test_construction_errors_name_the_fix():
    with pytest.raises(ValueError, match="code_activation='sigmoid'"):
        Autoencoder(8, 2, sparsity_target=0.05, sparsity_weight=1.0)
    with pytest.raises(ValueError, match="noise must be one of"):
        Autoencoder(8, 2, noise="salt")
    with pytest.raises(ValueError, match=r"expected input \(B, 8\)"):
        Autoencoder(8, 2)(torch.zeros(3, 7))
    with pytest.raises(ValueError, match="likelihood"):
        VAE(8, likelihood="poisson")
    with pytest.raises(ValueError, match="full batch"):
        train_autoencoder(Autoencoder(8, 2), np.zeros((10, 8)), batch_size=4, optimizer="lbfgs")


def test_reverse_decoding_flips_the_rebuilt_window():
    torch.manual_seed(0)
    ae = RecurrentAutoencoder(6, 2, units=4, reverse=True)
    x = torch.randn(3, 6, 2)
    with torch.no_grad():
        flipped = ae(x)
        ae.reverse = False
        assert torch.allclose(flipped, torch.flip(ae(x), dims=[1]))


def test_autoencoders_save_and_load(tmp_path):
    import seqlab
    torch.manual_seed(0)
    x = torch.randn(4, 8)
    for model in (Autoencoder(8, 3, hidden=(5,), activation="tanh", noise="masking",
                              noise_level=0.2), VAE(8, 2, hidden=(4,))):
        model.save(tmp_path / type(model).__name__)
        loaded = seqlab.load_model(tmp_path / type(model).__name__)
        model.eval(), loaded.eval()
        assert type(loaded) is type(model)
        assert torch.allclose(model(x), loaded(x))
