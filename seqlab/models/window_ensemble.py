"""``WindowEnsemble``: a forecaster made of small members, each a linear path plus an MLP
on its own look-back, averaged ([model] arch = "mlp" of the forecast task). Covariates
known ahead (c: F of them over the look-back and the h steps to forecast) join each
member's input when given.

Member k reads the last w_k steps of each column's window, relative to the column's last
value r (so a level shift moves the forecast with it), and says the next h steps:

    u       = [x[-w_k:] - r, c]                               (w_k + (w_k + h) F,)
    f_k(x)  = r + A_k u + b_k + MLP_k(u)                      (h,)
    f(x)    = mean_k f_k(x)                                   the forecast

The linear path A_k u + b_k is an autoregression (as DLinear / N-BEATS keep one); the
MLP's output layer starts at zero, so each member starts as that linear model and learns
what it misses. ``layers = 0``: no MLP, each member is its linear path alone. With
``relative = False`` the members read the scaled levels themselves (u = [x[-w_k:], c],
f_k(x) = A_k u + b_k + MLP_k(u)): with no MLP, one-step outputs and a full-batch LBFGS fit,
member k is the least-squares AR(w_k) of the series, fitted through ``Model.fit``.
Members differ by their initialisation and their look-back w_k (the windows are spread
over the members, which averages out a poor choice of window). The columns share the
members' weights (a global model across the series of the file).

Its loss is the sum over members of each member's mean squared error per window, so the
members train side by side, each on its own forecast, in the same ``Model.fit``. With
``quantiles`` (q_1 < ... < q_Q) each member also says those quantiles of each step, trained
by the pinball loss  max(q e, (q - 1) e),  e = t - f_q(x), added to the squared error;
``bands`` gives their mean over the members.

    >>> import torch
    >>> net = WindowEnsemble(windows=[4, 8], members=4, horizon=2, units=8, layers=1)
    >>> net(torch.zeros(3, 8, 2)).shape            # (B, W, D) -> (B, h, D)
    torch.Size([3, 2, 2])

Shapes: B batch, W window (the longest look-back), D columns, h horizon, K members.
"""
from __future__ import annotations

import torch
from torch import nn

from seqlab.models.model import Model


class WindowEnsemble(Model):
    """(B, W, D) scaled windows -> (B, h, D) the next h steps, the mean of K members.

    Args:
        windows: the look-backs w_k (each <= W), spread over the members in turn.
        members: K.
        horizon: h, steps said at once.
        units, layers: each member's MLP (``layers`` hidden layers of ``units``).
        dropout: between the MLP's hidden layers.
        covariates: F, known-future covariates per step (0: none; then D = 1).
        quantiles: levels in (0, 1) whose forecasts the members also say (() = none).
        relative: read the window relative to its last value (False: as it is).

    Batches (``compute_loss``): ``(x, t)``, windows (B, W, D) and what follows (B, h, D);
    with covariates ``(x, c, t)``, c (B, W + h, F) over the window and the h steps.
    """

    def __init__(self, windows: list[int], members: int, horizon: int, units: int,
                 layers: int = 2, dropout: float = 0.0, covariates: int = 0,
                 quantiles=(), relative: bool = True):
        super().__init__()
        self.relative = relative
        self.h, self.F, self.quantiles = horizon, covariates, [float(q) for q in quantiles]
        self.outs = horizon * (1 + len(self.quantiles))                  # point + quantiles
        self.looks = [int(windows[k % len(windows)]) for k in range(members)]
        sizes = [w + (w + horizon) * covariates for w in self.looks]
        self.linear = nn.ModuleList(nn.Linear(n, self.outs) for n in sizes)
        self.mlp = nn.ModuleList(self._mlp(n, units, layers, dropout) for n in sizes)

    def _mlp(self, w: int, units: int, layers: int, dropout: float) -> nn.Module:
        if layers == 0:  # the linear path alone
            return Zero()
        parts, width = [], w
        for _ in range(layers):
            parts += [nn.Linear(width, units), nn.ReLU(), nn.Dropout(dropout)]
            width = units
        last = nn.Linear(width, self.outs)
        nn.init.zeros_(last.weight), nn.init.zeros_(last.bias)           # starts linear
        return nn.Sequential(*parts, last)

    def members(self, x: torch.Tensor, c: torch.Tensor = None) -> torch.Tensor:
        """(B, W, D) [, (B, W + h, F)] -> (K, B, h, D): each member's forecast."""
        return self.outputs(x, c)[..., 0]

    def bands(self, x: torch.Tensor, c: torch.Tensor = None) -> torch.Tensor:
        """(B, W, D) [, (B, W + h, F)] -> (B, h, D, Q): the quantile forecasts."""
        return self.outputs(x, c)[..., 1:].mean(0)

    def outputs(self, x: torch.Tensor, c: torch.Tensor = None) -> torch.Tensor:
        """(B, W, D) [, (B, W + h, F)] -> (K, B, h, D, 1 + Q): point, then quantiles."""
        B, W, D = x.shape
        cols = x.transpose(1, 2).reshape(B * D, W)                        # (B D, W)
        ref = cols[:, -1:] if self.relative else torch.zeros_like(cols[:, -1:])  # (B D, 1)
        outs = []
        for w, lin, mlp in zip(self.looks, self.linear, self.mlp):
            u = cols[:, W - w:] - ref                                      # (B D, w)
            if self.F:                                                     # D = 1 here
                u = torch.cat([u, c[:, W - w:].reshape(B, -1)], 1)        # (B, w + (w+h) F)
            outs.append(ref + lin(u) + mlp(u))                             # (B D, (1+Q) h)
        out = torch.stack(outs)                                            # (K, B D, (1+Q) h)
        out = out.view(len(outs), B, D, 1 + len(self.quantiles), self.h)
        return out.permute(0, 1, 4, 2, 3)                                  # (K, B, h, D, 1+Q)

    def forward(self, x, c=None):
        return self.members(x, c).mean(0)                                  # (B, h, D)

    def compute_loss(self, batch):
        """Each member's squared errors, averaged per window, summed over the members."""
        *inputs, t = batch
        out = self.outputs(*inputs)                                        # (K, B, h, D, 1+Q)
        per_window = ((out[..., 0] - t) ** 2).mean(dim=(2, 3)).sum(0)      # (B,)
        if self.quantiles:
            q = torch.tensor(self.quantiles, dtype=out.dtype, device=out.device)  # (Q,)
            e = t.unsqueeze(-1) - out[..., 1:]                             # (K, B, h, D, Q)
            pinball = torch.maximum(q * e, (q - 1) * e)
            per_window = per_window + pinball.mean(dim=(2, 3)).sum(dim=(0, -1))
        return per_window.sum(), len(t), {}


class Zero(nn.Module):
    """A member without an MLP: adds nothing to its linear path."""

    def forward(self, u: torch.Tensor) -> int:
        return 0


__all__ = ["WindowEnsemble"]
