"""Recurrent cells: one time step of SimpleRNN, LSTM and GRU, written as the course's equations.

A cell maps ``(x_t, state) -> (h_t, new_state)``; the generic ``RNN`` layer (rnn.py) owns
the loop over time. Each cell splits its step in two so that the loop can be fast:

* ``project(x)``: the input half ``x W + b`` of every gate. It works on (B, D) or on a
  whole sequence (B, T, D), so ``RNN`` computes it for all steps in one matrix product.
* ``recur(xw_t, state)``: the recurrent half and the gate equations, one line per gate.

``forward(x_t, state)`` is ``recur(project(x_t), state)``.

Parameters follow Keras's layout (so ``get_weights()`` exchanges arrays with Keras):
``kernel`` (D, k*H), ``recurrent_kernel`` (H, k*H), ``bias`` (k*H,) -- or (2, 3H) for
``GRUCell(reset_after=True)`` -- with gate blocks of H columns in Keras's order: LSTM
``i, f, c, o`` (columns 0:H, H:2H, 2H:3H, 3H:4H), GRU ``z, r, h``. The comments above each
line write the equations with W the input weights (``kernel``), U the recurrent weights
(``recurrent_kernel``), b the bias, sigma the recurrent activation (sigmoid), tanh the
activation and ⊙ the element-wise product.

Notation of the course documents
--------------------------------
Slides: seed 001 "Réseaux de Neurones Récurrents", "Long-Short Term Memory", "Gated
Recurrent Unit"; seed 002 "LSTM: étape 1/4" to "4/4", "Variante : GRU"; seed 003
"Chapitre 3"; seed 004 "Backpropagation through time", "Long-short term memory (LSTM)",
"LSTM and GRU" (a table with Gamma gates). The documents write column vectors (``W x_t``), the code row vectors (``x_t @ kernel``):
each course matrix is the transpose of a block of columns, e.g. seed 001's
``W_F = kernel[:, H:2H].T`` (H, D) and ``U_F = recurrent_kernel[:, H:2H].T`` (H, H).
``[h_{t-1}, x_t]`` (seed 002, and seed 004's GRU) is one matrix on the concatenation:
``W_f = cat([recurrent_kernel[:, H:2H], kernel[:, H:2H]], dim=0).T`` (H, H + D).

SimpleRNN (``kernel`` / ``recurrent_kernel`` / ``bias`` / activation):

    seed 001   h_t = sigma_h(U x_t + V h_{t-1} + b_h)    U / V / b_h / sigma_h; its W, b_o,
               sigma_o (o_t = sigma_o(W h_t + b_o)) are the Dense layer after the RNN
    seed 003   h_t = g(W_hh h_{t-1} + W_xh X_t + b)     W_xh / W_hh / b / g; W_hy: the Dense
    seed 004   BPTT slides: W_xh / W_hh; W_oh: the Dense layer

LSTM, gate by gate (code: block of ``kernel``, ``recurrent_kernel``, ``bias``):

    code              seed 001            seed 002                  seed 004
    i  (block 0)      I_t: W_I, U_I, b_I  i_t: W_i, b_i             u: I^u, W^u, b^u
    f  (block 1)      F_t: W_F, U_F, b_F  f_t: W_f, b_f             f: I^f, W^f, b^f
    g  (block 2, c~)  W_c, U_c, b_c       C~_t: W_C, b_C            c~_t: I^c, W^c, b^c
    o  (block 3)      O_t: W_O, U_O, b_O  o_t: W_o, b_o             o: I^o, W^o, b^o
    c_next, h_next    c_t, h_t            C_t, h_t                  c_t, h_t
    ⊙                 ∘                   *                         ⊙

  seed 004 swaps the letters: its W is the *recurrent* weight (``recurrent_kernel``) and
  its I the *input* weight (``kernel``); its input gate is called u. (Its first slide
  writes ``I^o ⊙ c~_t`` in c_t; the later slides' ``u ⊙ c~_t`` is the equation coded
  here.) seed 001's o_t = f(W_o h_t + b_o) is the Dense layer after the LSTM, not the
  output gate O_t.

GRU (``reset_after=False``: every document applies the reset gate before the product):

    code              seed 001            seed 002                  seed 004 (Gamma table)
    z  (block 0)      Z_t: W_Z, U_Z, b_Z  1 - z_t: W_z, no bias     1 - Gamma_u
    r  (block 1)      R_t: W_R, U_R, b_R  r_t: W_r, no bias         Gamma_r
    h~ (block 2)      W_h, U_h, b_h       h~_t: W, no bias          c~<t>: W_c, b_c
    h_next            h_t                 h_t                       a<t> = c<t>
    ⊙                 ∘                   *                         ⋆

  The update gate is flipped in seeds 002 and 004: there z_t (Gamma_u) weights the
  candidate, ``h_t = (1 - z_t) * h_{t-1} + z_t * h~_t``, where the code (as seed 001,
  Keras and PyTorch) has ``h_t = z ⊙ h_{t-1} + (1 - z) ⊙ h~_t``. With a sigmoid,
  1 - sigma(a) = sigma(-a), so their update gate is the code's with every weight and bias
  negated: seed 002's ``W_z = -cat([recurrent_kernel[:, 0:H], kernel[:, 0:H]], dim=0).T``.
  PyTorch's ``nn.GRU`` (seed 004's code slide) is the ``reset_after=True`` form with the
  gate order r, z, n; ``nn.LSTM`` keeps i, f, g, o; ``fused.py`` maps the weights.

Shapes: B batch, T time, D input features, H units.
"""
from __future__ import annotations

from typing import Callable, Optional, Sequence, Union

import torch
from torch import nn

from seqlab import activations
from seqlab.layers import initializers
from seqlab.layers.base import Layer, Shape, check_positive_int

State = list  # list of (B, H) tensors: [h] or [h, c]


class _Cell(Layer):
    """Shared parameter handling of the three cells (``gates`` blocks of H columns)."""

    gates = 1            # k: number of gate blocks in kernel / recurrent_kernel / bias
    n_states = 1         # 1: [h]; 2: [h, c]
    gate_log = None      # seqlab.inspect sets a list: recur() appends each step's gates

    def __init__(self, units: int, activation: Union[str, Callable] = "tanh",
                 use_bias: bool = True, kernel_initializer="glorot_uniform",
                 recurrent_initializer="orthogonal", bias_initializer="zeros",
                 kernel_regularizer=None, recurrent_regularizer=None, bias_regularizer=None,
                 kernel_constraint=None, recurrent_constraint=None, bias_constraint=None,
                 **kwargs):
        super().__init__(**kwargs)
        who = f"{type(self).__name__} {self.name}"
        self.regularize("kernel", kernel_regularizer, kernel_constraint)
        self.regularize("recurrent_kernel", recurrent_regularizer, recurrent_constraint)
        self.regularize("bias", bias_regularizer, bias_constraint)
        self.units = check_positive_int(who, "units", units)
        self.activation_name = activations.name_of(activation)
        self.activation = activations.get(activation, who)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.recurrent_initializer = initializers.get(recurrent_initializer)
        self.bias_initializer = initializers.get(bias_initializer)

    @property
    def state_size(self) -> list[int]:
        return [self.units] * self.n_states

    def bias_shape(self) -> tuple:
        return (self.gates * self.units,)

    def build(self, input_shape: Shape) -> None:
        D, H, k = input_shape[-1], self.units, self.gates
        if D is None:
            raise ValueError(f"{self.name} ({type(self).__name__}): the feature dimension must "
                             f"be known, got input shape {tuple(input_shape)}.")
        self.kernel = nn.Parameter(self.kernel_initializer((D, k * H)))  # (D, kH)
        # As Keras: one initialiser call for the whole (H, kH) matrix, so the default
        # orthogonal one gives it orthonormal rows (each gate block 1/sqrt(k) of an
        # orthogonal matrix's scale), not k orthogonal blocks.
        self.recurrent_kernel = nn.Parameter(self.recurrent_initializer((H, k * H)))  # (H, kH)
        self.bias = nn.Parameter(self.init_bias()) if self.use_bias else None

    def init_bias(self) -> torch.Tensor:
        return self.bias_initializer(self.bias_shape())

    def input_bias(self) -> Optional[torch.Tensor]:
        """The bias added to the input projection (all of it, except GRU reset_after)."""
        return self.bias

    def project(self, x: torch.Tensor) -> torch.Tensor:
        """Input half of every gate: ``x W + b``: (..., D) -> (..., kH)."""
        xw = torch.matmul(x, self.kernel)  # (..., kH)
        b = self.input_bias()
        return xw + b if b is not None else xw

    def forward(self, x_t: torch.Tensor, state: Sequence[torch.Tensor]):
        """One step: x_t (B, D), state [h] or [h, c] of (B, H) -> (h_t (B, H), new state)."""
        return self.recur(self.project(x_t), list(state))

    def recurrent_weights(self) -> tuple:
        """What ``recur`` multiplies h_{t-1} by. A loop takes it once per sequence (slicing
        a parameter at every step would cost a full-size zero gradient per step)."""
        return (self.recurrent_kernel,)

    def recur(self, xw_t: torch.Tensor, state: State, weights: Optional[tuple] = None,
              rec_mask: Optional[torch.Tensor] = None):
        """Recurrent half and gate equations: xw_t (B, kH) = ``project(x_t)``, state ->
        (h_t, new_state). ``weights``: ``recurrent_weights()`` (computed when None);
        ``rec_mask`` (B, H): recurrent-dropout mask applied to h_{t-1}."""
        raise NotImplementedError

    def get_initial_state(self, batch_size: int, device=None, dtype=None) -> State:
        ref = next(self.parameters(), None) if device is None or dtype is None else None
        device = device or (ref.device if ref is not None else None)
        dtype = dtype or (ref.dtype if ref is not None else torch.get_default_dtype())
        return [torch.zeros(batch_size, self.units, device=device, dtype=dtype)
                for _ in range(self.n_states)]

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        return (input_shape[0], self.units)


class SimpleRNNCell(_Cell):
    """Elman cell (seed 001): ``h_t = tanh(W x_t + U h_{t-1} + b)``.

    >>> cell = SimpleRNNCell(4)
    >>> h, state = cell(torch.zeros(2, 3), cell.get_initial_state(2))  # builds on first use
    >>> tuple(h.shape)
    (2, 4)
    """

    gates = 1

    def recur(self, xw_t, state, weights=None, rec_mask=None):
        (U,) = weights or self.recurrent_weights()                         # (H, H)
        h_prev = state[0]                                                  # (B, H)
        if rec_mask is not None:
            h_prev = h_prev * rec_mask
        # h_t = tanh(W x_t + U h_{t-1} + b)         (seed 001: U x_t + V h_{t-1} + b_h)
        h_next = self.activation(xw_t + h_prev @ U)                        # (B, H)
        return h_next, [h_next]


class LSTMCell(_Cell):
    """Long short-term memory cell (seeds 001, 002, 004); gate order i, f, c, o as Keras.

    Args (besides those of SimpleRNNCell):
        recurrent_activation: the gates' squashing function sigma (default sigmoid).
        unit_forget_bias: start the forget-gate bias at 1 (Jozefowicz et al.), as Keras.

    >>> cell = LSTMCell(4)
    >>> h, (h2, c) = cell(torch.zeros(2, 3), cell.get_initial_state(2))
    >>> tuple(c.shape)
    (2, 4)
    """

    gates = 4
    n_states = 2

    def __init__(self, units: int, activation="tanh", recurrent_activation="sigmoid",
                 use_bias: bool = True, kernel_initializer="glorot_uniform",
                 recurrent_initializer="orthogonal", bias_initializer="zeros",
                 unit_forget_bias: bool = True, **kwargs):
        super().__init__(units, activation, use_bias, kernel_initializer,
                         recurrent_initializer, bias_initializer, **kwargs)
        self.recurrent_activation_name = activations.name_of(recurrent_activation)
        self.recurrent_activation = activations.get(recurrent_activation,
                                                    f"LSTMCell {self.name}")
        self.unit_forget_bias = bool(unit_forget_bias)

    def init_bias(self) -> torch.Tensor:
        b = self.bias_initializer(self.bias_shape())                        # (4H,)
        if self.unit_forget_bias:
            H = self.units
            b = torch.cat([b[:H], torch.ones(H), b[2 * H:]])  # Keras: b_f starts at 1
        return b

    def recur(self, xw_t, state, weights=None, rec_mask=None):
        (U,) = weights or self.recurrent_weights()                         # (H, 4H)
        h_prev, c_prev = state                                             # (B, H) each
        if rec_mask is not None:
            h_prev = h_prev * rec_mask
        hu = h_prev @ U                                                    # (B, 4H)
        xi, xf, xc, xo = xw_t.chunk(4, dim=-1)                             # 4 x (B, H)
        ui, uf, uc, uo = hu.chunk(4, dim=-1)                               # 4 x (B, H)
        sigma, tanh = self.recurrent_activation, self.activation
        # i_t = sigma(W_i x_t + U_i h_{t-1} + b_i)                  input gate
        i = sigma(xi + ui)
        # f_t = sigma(W_f x_t + U_f h_{t-1} + b_f)                  forget gate
        f = sigma(xf + uf)
        # c~_t = tanh(W_c x_t + U_c h_{t-1} + b_c)                  candidate memory
        g = tanh(xc + uc)
        # o_t = sigma(W_o x_t + U_o h_{t-1} + b_o)                  output gate
        o = sigma(xo + uo)
        # c_t = f_t ⊙ c_{t-1} + i_t ⊙ c~_t                          (⊙: element-wise product)
        c_next = f * c_prev + i * g
        if self.gate_log is not None:
            self.gate_log.append({"i": i, "f": f, "o": o})
        # h_t = o_t ⊙ tanh(c_t)
        h_next = o * tanh(c_next)
        return h_next, [h_next, c_next]


class GRUCell(_Cell):
    """Gated recurrent unit (seed 001); gate order z, r, h as Keras.

    Args (besides those of SimpleRNNCell):
        recurrent_activation: the gates' sigma (default sigmoid).
        reset_after: False (default) is the course's equation, the reset gate applied to
            h_{t-1} *before* the product with U_h, one bias (3H,). True is the cuDNN /
            PyTorch / Keras-3 form, reset applied after the product, with a second,
            recurrent bias: bias (2, 3H) = [input bias, recurrent bias].

    >>> cell = GRUCell(4)
    >>> h, state = cell(torch.zeros(2, 3), cell.get_initial_state(2))
    >>> tuple(h.shape)
    (2, 4)
    """

    gates = 3

    def __init__(self, units: int, activation="tanh", recurrent_activation="sigmoid",
                 use_bias: bool = True, kernel_initializer="glorot_uniform",
                 recurrent_initializer="orthogonal", bias_initializer="zeros",
                 reset_after: bool = False, **kwargs):
        super().__init__(units, activation, use_bias, kernel_initializer,
                         recurrent_initializer, bias_initializer, **kwargs)
        self.recurrent_activation_name = activations.name_of(recurrent_activation)
        self.recurrent_activation = activations.get(recurrent_activation,
                                                    f"GRUCell {self.name}")
        self.reset_after = bool(reset_after)

    def bias_shape(self) -> tuple:
        return (2, 3 * self.units) if self.reset_after else (3 * self.units,)

    def input_bias(self):
        if self.bias is None:
            return None
        return self.bias[0] if self.reset_after else self.bias            # (3H,)

    def recurrent_weights(self) -> tuple:
        if self.reset_after:
            return (self.recurrent_kernel,)                                # (H, 3H)
        H = self.units
        return tuple(self.recurrent_kernel.split([2 * H, H], dim=1))       # (H, 2H), (H, H)

    def recur(self, xw_t, state, weights=None, rec_mask=None):
        weights = weights or self.recurrent_weights()
        h_prev = state[0]                                                  # (B, H)
        h_in = h_prev * rec_mask if rec_mask is not None else h_prev
        xz, xr, xh = xw_t.chunk(3, dim=-1)                                 # 3 x (B, H)
        sigma, tanh = self.recurrent_activation, self.activation
        if self.reset_after:
            (U,) = weights                                                 # (H, 3H)
            hu = h_in @ U                                                  # (B, 3H)
            if self.bias is not None:
                hu = hu + self.bias[1]
            uz, ur, uh = hu.chunk(3, dim=-1)                               # 3 x (B, H)
            # z_t = sigma(W_z x_t + U_z h_{t-1} + b_z)              update gate
            z = sigma(xz + uz)
            # r_t = sigma(W_r x_t + U_r h_{t-1} + b_r)              reset gate
            r = sigma(xr + ur)
            # h~_t = tanh(W_h x_t + r_t ⊙ (U_h h_{t-1} + b'_h))     reset after the product
            h_tilde = tanh(xh + r * uh)
        else:
            U_zr, U_h = weights                                            # (H, 2H), (H, H)
            uz, ur = (h_in @ U_zr).chunk(2, dim=-1)                        # 2 x (B, H)
            # Z_t = sigma(W_Z x_t + U_Z h_{t-1} + b_Z)              update gate
            z = sigma(xz + uz)
            # R_t = sigma(W_R x_t + U_R h_{t-1} + b_R)              reset gate
            r = sigma(xr + ur)
            # h~_t = tanh(W_h x_t + U_h (R_t ⊙ h_{t-1}) + b_h)      course form (seed 001)
            h_tilde = tanh(xh + (r * h_in) @ U_h)
        if self.gate_log is not None:
            self.gate_log.append({"z": z, "r": r})
        # h_t = Z_t ⊙ h_{t-1} + (1 - Z_t) ⊙ h~_t
        h_next = z * h_prev + (1 - z) * h_tilde
        return h_next, [h_next]


__all__ = ["SimpleRNNCell", "LSTMCell", "GRUCell"]
