"""Sequence autoencoders (seed 001, "LSTM Autoencoder"): a window of a signal is squeezed
into one vector and rebuilt step by step.

* ``RecurrentAutoencoder``: LSTM/GRU encoder -> its final state h (B, H) -> RepeatVector(T)
  (B, T, H) -> LSTM/GRU decoder (return_sequences) -> TimeDistributed(Dense(D)) (B, T, D).
* ``ConvAutoencoder``: Conv1D layers with stride 2 halve time at each level (B, T/2^n, F);
  the decoder repeats each step twice then convolves, back to (B, T, D).

Both train with ``fit(x, x)`` or ``train_autoencoder`` (MSE) and give per-step errors for
anomaly detection.
Shapes: B batch, T time steps, D features, H units, F filters.

    >>> ae = RecurrentAutoencoder(timesteps=20, features=1, units=8, cell="gru")
    >>> ae(torch.zeros(4, 20, 1)).shape
    torch.Size([4, 20, 1])
"""
from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

from seqlab.layers import GRU, LSTM, Conv1D, Dense, RepeatVector, TimeDistributed
from seqlab.layers.base import check_positive_int
from seqlab.models.autoencoders.base import ReconstructionModel


class _SequenceAE(ReconstructionModel):
    """Shared parts: input checks, MSE loss terms, per-step reconstruction errors."""

    def build(self, input_shape) -> None:
        with torch.no_grad():  # one dummy window creates every lazily built weight
            self.forward(torch.zeros(1, self.timesteps, self.features))

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def _check(self, x: torch.Tensor) -> None:
        if x.dim() != 3 or x.shape[1] != self.timesteps or x.shape[2] != self.features:
            raise ValueError(
                f"{self.name} ({type(self).__name__}): expected windows (B, {self.timesteps}, "
                f"{self.features}), got shape {tuple(x.shape)}. Cut the signal with "
                f"seqlab.models.autoencoders.anomaly.sliding_windows(signal, {self.timesteps}).")

    def loss_terms(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        loss = ((self(x) - x) ** 2).mean()
        return {"loss": loss, "reconstruction": loss}

    @torch.no_grad()
    def reconstruction_error(self, x, batch_size: int = 256) -> torch.Tensor:
        """Squared error of every step, averaged over features (eval mode). (B, T)"""
        from seqlab.models.autoencoders.training import as_float_tensor
        x = as_float_tensor(x, self.name).to(next(self.parameters()))
        was = self.training
        self.eval()
        out = torch.cat([((self(x[s:s + batch_size]) - x[s:s + batch_size]) ** 2).mean(dim=2)
                         for s in range(0, len(x), batch_size)])
        self.train(was)
        return out


class RecurrentAutoencoder(_SequenceAE):
    """LSTM (or GRU) sequence-to-sequence autoencoder through one state vector.

    Args:
        timesteps: T, the window length. features: D per step.
        units: H, size of the encoder state (the code) and of the decoder.
        cell: "lstm" or "gru".
        reverse: the decoder rebuilds the window from its last step to its first (the
            output is flipped back), so the steps the encoder saw last come out first;
            this eases training on long windows (Srivastava et al., 2015).
    """

    def __init__(self, timesteps: int, features: int = 1, units: int = 32, cell: str = "lstm",
                 reverse: bool = False, **kwargs):
        super().__init__(**kwargs)
        who = f"RecurrentAutoencoder {self.name}"
        self.timesteps = check_positive_int(who, "timesteps", timesteps)
        self.features = check_positive_int(who, "features", features)
        self.units = check_positive_int(who, "units", units)
        self.reverse = bool(reverse)
        layers = {"lstm": LSTM, "gru": GRU}
        if cell not in layers:
            raise ValueError(f"{who}: cell must be 'lstm' or 'gru', got {cell!r}.")
        self.encoder = layers[cell](self.units)  # (B, T, D) -> (B, H)
        self.repeat = RepeatVector(self.timesteps)  # (B, H) -> (B, T, H)
        self.decoder = layers[cell](self.units, return_sequences=True)  # (B, T, H)
        self.head = TimeDistributed(Dense(self.features))  # (B, T, D)
        self.build_once((None, self.timesteps, self.features))

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """(B, T, D) -> the encoder's final state h (B, H)"""
        self._check(x)
        return self.encoder(x)

    def decode(self, h: torch.Tensor) -> torch.Tensor:
        """(B, H) -> (B, T, D)"""
        y = self.head(self.decoder(self.repeat(h)))  # (B, T, D)
        return torch.flip(y, dims=[1]) if self.reverse else y

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(x))


class ConvAutoencoder(_SequenceAE):
    """Conv1D autoencoder: strided convolutions down, repeat-and-convolve up.

    Args:
        timesteps: T (any length; the output is cut back to T). features: D.
        filters: channels of each encoder level (time halves at each), mirrored on the way up.
        kernel_size: odd window length of every convolution.
        activation: of the hidden convolutions.
    """

    def __init__(self, timesteps: int, features: int = 1, filters: Sequence[int] = (16, 8),
                 kernel_size: int = 7, activation: str = "relu", **kwargs):
        super().__init__(**kwargs)
        who = f"ConvAutoencoder {self.name}"
        self.timesteps = check_positive_int(who, "timesteps", timesteps)
        self.features = check_positive_int(who, "features", features)
        filters = [check_positive_int(who, "filters", f) for f in filters]
        if not filters:
            raise ValueError(f"{who}: filters needs at least one level, e.g. (16, 8).")
        k = check_positive_int(who, "kernel_size", kernel_size)
        self.encoder = nn.ModuleList(Conv1D(f, k, strides=2, padding="same",
                                            activation=activation) for f in filters)
        self.decoder = nn.ModuleList(Conv1D(f, k, padding="same", activation=activation)
                                     for f in filters[::-1])
        self.head = Conv1D(self.features, k, padding="same")  # linear output (B, T, D)
        self.build_once((None, self.timesteps, self.features))

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """(B, T, D) -> (B, ceil(T / 2^n), F_last)"""
        self._check(x)
        for conv in self.encoder:
            x = conv(x)
        return x

    def decode(self, h: torch.Tensor) -> torch.Tensor:
        """(B, T', F) -> (B, T, D): each level repeats every step twice, then convolves."""
        for conv in self.decoder:
            h = conv(torch.repeat_interleave(h, 2, dim=1))  # (B, 2T', F)
        return self.head(h)[:, :self.timesteps]  # (B, T, D)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(x))
