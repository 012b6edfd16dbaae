"""Dense autoencoders (seed 001, "Autoencodeurs"): simple, stacked, denoising, sparse.

    x (B, D) -> encoder Dense layers -> code h (B, K) -> decoder Dense layers -> x̂ (B, D)

* **simple**: one code layer. With linear activations and the MSE loss it learns the same
  subspace as PCA's top-K components ("activations linéaires et loss MSE ≈ ACP").
* **stacked** (empilés): ``hidden=(64, 32)`` adds layers, mirrored in the decoder;
  ``pretrain_layerwise`` trains each encoder layer with its mirror first (greedy).
* **denoising** (débruiteurs): ``noise="gaussian"`` (x + σ ε) or ``"masking"`` (each entry
  zeroed with probability p) corrupts the input while training; the target stays clean.
* **sparse** (épars): ``l1`` adds l1 · mean|h|; ``sparsity_target=ρ`` with
  ``sparsity_weight=β`` adds β Σ_k KL(ρ || ρ̂_k), ρ̂_k the mean activation of code unit k
  over the batch (the code must be a sigmoid).

Shapes: B batch, D input features, K code units.

    >>> ae = Autoencoder(64, 8, hidden=(32,), activation="relu")
    >>> ae(torch.zeros(5, 64)).shape, ae.encode(torch.zeros(5, 64)).shape
    (torch.Size([5, 64]), torch.Size([5, 8]))
"""
from __future__ import annotations

from typing import Optional, Sequence

import torch
from torch import nn

from seqlab.layers import Dense
from seqlab.layers.base import check_positive_int, check_rate
from seqlab.models.autoencoders.base import ReconstructionModel

NOISES = (None, "gaussian", "masking")


def corrupt(x: torch.Tensor, noise: Optional[str], level: float) -> torch.Tensor:
    """Gaussian noise x + level·ε, or masking noise (entries zeroed with probability level)."""
    if noise is None or level == 0:
        return x
    if noise == "gaussian":
        return x + level * torch.randn_like(x)
    return x * (torch.rand_like(x) >= level).to(x.dtype)  # masking


def kl_sparsity(code: torch.Tensor, rho: float) -> torch.Tensor:
    """Σ_k KL(ρ || ρ̂_k) = Σ_k ρ log(ρ/ρ̂_k) + (1-ρ) log((1-ρ)/(1-ρ̂_k)), ρ̂ = batch mean."""
    rho_hat = code.mean(dim=0).clamp(1e-6, 1 - 1e-6)  # (K,)
    return (rho * torch.log(rho / rho_hat)
            + (1 - rho) * torch.log((1 - rho) / (1 - rho_hat))).sum()


class Autoencoder(ReconstructionModel):
    """A dense autoencoder; the options make it stacked, denoising or sparse.

    Args:
        input_dim: D, the size of an input vector.
        code_dim: K, the size of the code (bottleneck).
        hidden: sizes of the encoder layers before the code, mirrored in the decoder.
        activation: of the hidden layers ("linear" everywhere gives the PCA autoencoder).
        code_activation: of the code layer (default: ``activation``).
        output_activation: of the reconstruction (default linear; "sigmoid" for [0, 1] data).
        noise, noise_level: None, "gaussian" (σ) or "masking" (p): denoising training.
        l1: weight of the L1 penalty on the code.
        sparsity_target, sparsity_weight: ρ and β of the KL sparsity penalty.
        use_bias: biases in every Dense layer.

    ``loss_terms(x)`` returns {"loss", "reconstruction", ("l1"), ("kl_sparsity")};
    ``compile(optimizer=...)`` then ``fit(x, x)`` trains it (or ``train_autoencoder``).
    """

    def __init__(self, input_dim: int, code_dim: int, hidden: Sequence[int] = (),
                 activation: str = "relu", code_activation: Optional[str] = None,
                 output_activation: Optional[str] = None, noise: Optional[str] = None,
                 noise_level: float = 0.0, l1: float = 0.0,
                 sparsity_target: Optional[float] = None, sparsity_weight: float = 0.0,
                 use_bias: bool = True, **kwargs):
        super().__init__(**kwargs)
        who = f"Autoencoder {self.name}"
        self.input_dim = check_positive_int(who, "input_dim", input_dim)
        self.code_dim = check_positive_int(who, "code_dim", code_dim)
        self.hidden = [check_positive_int(who, "hidden", h) for h in hidden]
        if noise not in NOISES:
            raise ValueError(f"{who}: noise must be one of {NOISES}, got {noise!r}.")
        if noise == "masking":
            check_rate(who, "noise_level", noise_level)
        elif noise_level < 0:
            raise ValueError(f"{who}: noise_level must be >= 0, got {noise_level!r}.")
        code_activation = code_activation or activation
        if sparsity_target is not None:
            if not 0 < sparsity_target < 1:
                raise ValueError(f"{who}: sparsity_target ρ must lie in (0, 1), got "
                                 f"{sparsity_target!r}. Typical: 0.05.")
            if code_activation != "sigmoid":
                raise ValueError(f"{who}: the KL sparsity penalty reads code activations as "
                                 f"probabilities; got code_activation={code_activation!r}. "
                                 f"Pass code_activation='sigmoid'.")
        self.noise, self.noise_level = noise, float(noise_level)
        self.l1, self.sparsity_target = float(l1), sparsity_target
        self.sparsity_weight = float(sparsity_weight)
        sizes = [self.input_dim, *self.hidden, self.code_dim]  # D, h1, ..., K
        acts = [activation] * len(self.hidden) + [code_activation]
        self.encoder = nn.ModuleList(Dense(n, activation=a, use_bias=use_bias)
                                     for n, a in zip(sizes[1:], acts))
        dec_sizes = sizes[::-1][1:]  # ..., h1, D
        dec_acts = [activation] * len(self.hidden) + [output_activation]
        self.decoder = nn.ModuleList(Dense(n, activation=a, use_bias=use_bias)
                                     for n, a in zip(dec_sizes, dec_acts))
        self.build_once((None, self.input_dim))

    def build(self, input_shape) -> None:
        shape = (None, self.input_dim)
        for layer in [*self.encoder, *self.decoder]:
            layer.build_once(shape)
            shape = layer.compute_output_shape(shape)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def _check(self, x: torch.Tensor) -> None:
        if x.dim() != 2 or x.shape[1] != self.input_dim:
            raise ValueError(f"{self.name} (Autoencoder): expected input (B, {self.input_dim}), "
                             f"got shape {tuple(x.shape)}. Flatten each sample to a vector.")

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """(B, D) -> code (B, K)"""
        self._check(x)
        for layer in self.encoder:
            x = layer(x)
        return x

    def decode(self, h: torch.Tensor) -> torch.Tensor:
        """code (B, K) -> reconstruction (B, D)"""
        for layer in self.decoder:
            h = layer(h)
        return h

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Reconstruct x; in training mode a denoising autoencoder corrupts x first."""
        if self.training:
            x = corrupt(x, self.noise, self.noise_level)
        return self.decode(self.encode(x))

    def loss_terms(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        x_in = corrupt(x, self.noise, self.noise_level) if self.training else x
        code = self.encode(x_in)  # (B, K)
        x_hat = self.decode(code)  # (B, D)
        terms = {"reconstruction": ((x_hat - x) ** 2).mean()}  # the clean x is the target
        loss = terms["reconstruction"]
        if self.l1:
            terms["l1"] = code.abs().mean()
            loss = loss + self.l1 * terms["l1"]
        if self.sparsity_target is not None and self.sparsity_weight:
            terms["kl_sparsity"] = kl_sparsity(code, self.sparsity_target)
            loss = loss + self.sparsity_weight * terms["kl_sparsity"]
        terms["loss"] = loss
        return terms

    @torch.no_grad()
    def reconstruction_error(self, x) -> torch.Tensor:
        """Mean squared error of each sample's reconstruction (eval mode, no noise). (B,)"""
        from seqlab.models.autoencoders.training import as_float_tensor
        x = as_float_tensor(x, self.name)
        was = self.training
        self.eval()
        err = ((self.decode(self.encode(x)) - x) ** 2).mean(dim=1)
        self.train(was)
        return err

    def pretrain_layerwise(self, x, epochs: int = 10, **train_kwargs) -> list[dict]:
        """Greedy layer-wise pretraining of a stacked autoencoder: encoder layer i and its
        mirror in the decoder learn to reconstruct the codes of layer i-1 (the input for
        i = 0), each as a one-layer autoencoder with the same noise/penalties, trained by
        ``train_autoencoder`` (so by ``fit``; ``train_kwargs`` are its options). Then
        ``train_autoencoder`` fine-tunes the whole stack. Returns one history per layer."""
        from seqlab.models.autoencoders.training import as_float_tensor, train_autoencoder
        h = as_float_tensor(x, self.name)
        histories = []
        n = len(self.encoder)
        for i in range(n):
            pair = LayerPair(self.encoder[i], self.decoder[n - 1 - i], self)
            histories.append(train_autoencoder(pair, h, epochs=epochs, **train_kwargs))
            with torch.no_grad():
                h = self.encoder[i](h.to(next(pair.parameters())))
        return histories


class LayerPair(ReconstructionModel):
    """One encoder layer and its mirror, trained as a one-layer autoencoder."""

    def __init__(self, enc: Dense, dec: Dense, owner: Autoencoder):
        super().__init__(name=f"{owner.name}_{enc.name}_pair")
        self.enc, self.dec, self.owner = enc, dec, [owner]  # list: not a submodule
        self.built = True  # its layers are the owner's, built

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.dec(self.enc(x))

    def loss_terms(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        ae = self.owner[0]
        code = self.enc(corrupt(x, ae.noise, ae.noise_level) if self.training else x)
        terms = {"reconstruction": ((self.dec(code) - x) ** 2).mean()}
        terms["loss"] = terms["reconstruction"] + ae.l1 * code.abs().mean()
        return terms
