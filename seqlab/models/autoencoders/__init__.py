"""Autoencoders (seed 001, "Autoencodeurs"): dense (simple, stacked, denoising, sparse),
variational, sequence (LSTM/GRU and Conv1D), and anomaly detection from reconstruction
error.

    >>> from seqlab.models.autoencoders import Autoencoder, train_autoencoder
    >>> ae = Autoencoder(64, 8, activation="linear")    # the PCA autoencoder
"""
from seqlab.models.autoencoders.dense import Autoencoder, corrupt, kl_sparsity
from seqlab.models.autoencoders.training import train_autoencoder
from seqlab.models.autoencoders.vae import VAE

__all__ = ["Autoencoder", "VAE", "train_autoencoder", "corrupt", "kl_sparsity"]
from seqlab.models.autoencoders.sequence import ConvAutoencoder, RecurrentAutoencoder  # noqa: E402
from seqlab.models.autoencoders import anomaly  # noqa: E402

__all__ += ["RecurrentAutoencoder", "ConvAutoencoder", "anomaly"]
