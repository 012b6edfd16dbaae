"""Variational autoencoder (seed 001, "Variational Autoencoder (Variationnels)").

The encoder gives a Gaussian q(z|x) = N(μ(x), diag σ²(x)) instead of one code; the decoder
gives p(x|z). Training maximises the evidence lower bound (ELBO), i.e. minimises

    -ELBO(x) = E_q[-log p(x|z)]  +  KL(q(z|x) || N(0, I))
             = reconstruction    +  ½ Σ_j (μ_j² + σ_j² - log σ_j² - 1)

with one sample z = μ + σ ⊙ ε, ε ~ N(0, I) (the reparameterisation trick: the randomness is
in ε, so gradients flow through μ and σ). ``likelihood="bernoulli"`` (data in [0, 1], binary
cross-entropy summed over features) or ``"gaussian"`` (unit variance: ½ squared error).

Shapes: B batch, D features, L latent size.

    >>> vae = VAE(64, latent_dim=2, hidden=(32,))
    >>> vae.sample(3).shape
    torch.Size([3, 64])
"""
from __future__ import annotations

import math
from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from seqlab.layers import Dense
from seqlab.layers.base import check_positive_int
from seqlab.models.autoencoders.base import ReconstructionModel


class VAE(ReconstructionModel):
    """A dense variational autoencoder.

    Args:
        input_dim: D. latent_dim: L.
        hidden: encoder layer sizes (mirrored in the decoder).
        activation: of the hidden layers.
        likelihood: "bernoulli" (inputs in [0, 1]) or "gaussian".
        beta: weight of the KL term (1 = the ELBO; β-VAE otherwise).

    ``loss_terms(x)`` returns per-sample means of {"loss" (= -ELBO), "reconstruction", "kl"};
    ``fit`` logs each (``reconstruction``, ``kl``, and ``val_*`` on validation data).
    """

    def __init__(self, input_dim: int, latent_dim: int = 2, hidden: Sequence[int] = (256,),
                 activation: str = "relu", likelihood: str = "bernoulli", beta: float = 1.0,
                 **kwargs):
        super().__init__(**kwargs)
        who = f"VAE {self.name}"
        self.input_dim = check_positive_int(who, "input_dim", input_dim)
        self.latent_dim = check_positive_int(who, "latent_dim", latent_dim)
        if likelihood not in ("bernoulli", "gaussian"):
            raise ValueError(f"{who}: likelihood must be 'bernoulli' or 'gaussian', got "
                             f"{likelihood!r}.")
        self.likelihood, self.beta = likelihood, float(beta)
        hidden = [check_positive_int(who, "hidden", h) for h in hidden]
        self.encoder = nn.ModuleList(Dense(h, activation=activation) for h in hidden)
        self.z_mean = Dense(self.latent_dim)  # μ
        self.z_log_var = Dense(self.latent_dim)  # log σ²
        self.decoder = nn.ModuleList(Dense(h, activation=activation) for h in hidden[::-1])
        self.out = Dense(self.input_dim)  # logits (bernoulli) or mean (gaussian)
        self.build_once((None, self.input_dim))

    def build(self, input_shape) -> None:
        shape = (None, self.input_dim)
        for layer in self.encoder:
            layer.build_once(shape)
            shape = layer.compute_output_shape(shape)
        self.z_mean.build_once(shape)
        self.z_log_var.build_once(shape)
        shape = (None, self.latent_dim)
        for layer in [*self.decoder, self.out]:
            layer.build_once(shape)
            shape = layer.compute_output_shape(shape)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, D) -> μ (B, L), log σ² (B, L)"""
        if x.dim() != 2 or x.shape[1] != self.input_dim:
            raise ValueError(f"{self.name} (VAE): expected input (B, {self.input_dim}), got "
                             f"shape {tuple(x.shape)}.")
        for layer in self.encoder:
            x = layer(x)
        return self.z_mean(x), self.z_log_var(x)

    def decode_logits(self, z: torch.Tensor) -> torch.Tensor:
        for layer in self.decoder:
            z = layer(z)
        return self.out(z)  # (B, D)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """z (B, L) -> the mean of p(x|z) (B, D): probabilities or Gaussian means."""
        y = self.decode_logits(z)
        return torch.sigmoid(y) if self.likelihood == "bernoulli" else y

    @staticmethod
    def reparameterize(mu: torch.Tensor, log_var: torch.Tensor) -> torch.Tensor:
        """z = μ + σ ⊙ ε, ε ~ N(0, I)"""
        return mu + torch.exp(0.5 * log_var) * torch.randn_like(mu)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Reconstruction: decode a sample z in training mode, the mean μ in eval mode."""
        mu, log_var = self.encode(x)
        z = self.reparameterize(mu, log_var) if self.training else mu
        return self.decode(z)

    def loss_terms(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        mu, log_var = self.encode(x)  # (B, L) each
        z = self.reparameterize(mu, log_var)
        y = self.decode_logits(z)  # (B, D)
        if self.likelihood == "bernoulli":
            rec = F.binary_cross_entropy_with_logits(y, x, reduction="none").sum(dim=1)
        else:
            rec = 0.5 * ((y - x) ** 2).sum(dim=1) + 0.5 * self.input_dim * math.log(2 * math.pi)
        # KL(N(μ, σ²) || N(0, 1)) summed over the L latent dimensions
        kl = 0.5 * (mu ** 2 + log_var.exp() - log_var - 1).sum(dim=1)  # (B,)
        return {"loss": (rec + self.beta * kl).mean(), "reconstruction": rec.mean(),
                "kl": kl.mean()}

    @torch.no_grad()
    def elbo(self, x, samples: int = 1) -> float:
        """Mean ELBO per sample (higher is better), averaged over ``samples`` draws of z."""
        from seqlab.models.autoencoders.training import as_float_tensor
        x = as_float_tensor(x, self.name)
        beta, self.beta = self.beta, 1.0
        try:
            return -sum(float(self.loss_terms(x)["loss"]) for _ in range(samples)) / samples
        finally:
            self.beta = beta

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """n new inputs: decode z ~ N(0, I). (n, D)"""
        p = next(self.parameters())
        z = torch.randn(n, self.latent_dim, generator=generator).to(p)
        return self.decode(z)

    @torch.no_grad()
    def interpolate(self, x_a, x_b, steps: int = 8) -> torch.Tensor:
        """Decode points on the segment between the codes μ(x_a) and μ(x_b). (steps, D)"""
        from seqlab.models.autoencoders.training import as_float_tensor
        x = as_float_tensor([list(map(float, x_a)), list(map(float, x_b))], self.name)
        mu, _ = self.encode(x.to(next(self.parameters())))
        t = torch.linspace(0, 1, steps, device=mu.device)[:, None]  # (steps, 1)
        return self.decode((1 - t) * mu[0] + t * mu[1])
