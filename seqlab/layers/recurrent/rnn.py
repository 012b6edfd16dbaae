"""The generic recurrent layer ``RNN(cell)``: it owns time (STYLE.md §2).

A cell does one step; ``RNN`` runs it over a sequence and handles everything about time:
``return_sequences``, ``return_state``, ``go_backwards``, ``stateful`` (+ ``reset_states``),
``initial_state``, masks, ``dropout`` / ``recurrent_dropout``, and the one-step API
``step(x_t, state)`` used for O(1)-per-token generation.

Two paths give the same numbers:

* **fused**: torch's own RNN/LSTM/GRU kernel (fused.py) whenever the configuration allows
  (built-in cell, standard activations, GRU ``reset_after=True``, no recurrent dropout);
  any mask is reduced to right-padding by a per-row gather, so padded steps never count.
  (A SimpleRNN on the CPU runs rnn_scan.py instead, and a GRU trained on the CPU
  gru_scan.py: the same equations as one autograd node with its backward through time
  written by hand, faster there. The course's GRU, ``reset_after=False``, which torch has no
  kernel for, is trained on that scan too when no step is masked and there is no recurrent
  dropout.)
* **explicit**: the cell's equations, step by step. The input projection ``x W + b`` of all
  steps is one matrix product; the loop (loops.py) iterates ``xw.unbind(1)`` (indexing
  ``xw[:, t]`` under autograd is ~20x slower); ``compile_step=True`` compiles the step with
  ``torch.compile`` (Python fallback if that fails; off by default, see loops.py).

``layer.last_path`` says which one ran ("fused" or "explicit").

Masks (B, T), True = real step: a masked step keeps the previous state. Its output follows
Keras: the previous step's output is repeated (zeros before the first real step), or zeros
when ``zero_output_for_mask=True`` (what ``Bidirectional`` uses with return_sequences).

Shapes: B batch, T time, D input features, H units.
"""
from __future__ import annotations

from typing import Optional, Sequence, Union

import numpy as np
import torch

from seqlab.layers.base import Layer, Shape, attach_mask, check_rate, get_mask
from seqlab.layers.recurrent import fused, gru_scan, keras_cell, loops


class RNN(Layer):
    """Runs ``cell`` over the time axis: (B, T, D) -> (B, H) or (B, T, H).

    Args:
        cell: a seqlab cell (``SimpleRNNCell``, ``LSTMCell``, ``GRUCell`` or a subclass of
            them): ``cell(x_t, state) -> (h_t, new_state)``; or a cell written the Keras
            way (``state_size`` and ``call(inputs, states)``, see keras_cell.py), run by
            the step-by-step loop.
        return_sequences: return every step's output (B, T, H), not only the last (B, H).
        return_state: also return the final state: ``[output, h]`` or ``[output, h, c]``.
        go_backwards: process the sequence from the end; with return_sequences the
            outputs come in processing (reversed) order, as in Keras.
        stateful: the final state of a call is the initial state of the next one
            (detached: gradients stop at the call boundary); ``reset_states()`` zeroes it.
        unroll: accepted for Keras compatibility; PyTorch runs eagerly, it changes nothing.
        dropout: fraction of the input features dropped (one mask per sequence).
        recurrent_dropout: fraction of h_{t-1} dropped in the recurrent products (one mask
            per sequence; forces the explicit path).
        zero_output_for_mask: outputs at masked steps are zeros instead of the previous output.
        use_fused: "auto" (default) takes the fused kernel when possible; False always runs
            the explicit loop.
        compile_step: compile the explicit path's step with ``torch.compile`` (default:
            environment variable ``SEQLAB_COMPILE=1``; falls back to Python on failure).
        use_cudnn: Keras's switch for the fused kernel: False forces the explicit loop (as
            ``use_fused=False``); True / "auto" allow the fused kernel (torch's, on CPU too).
        seed: seeds the dropout masks (a generator of the layer's own, advancing at each
            call, as Keras's seed generator); initialisers take their own ``seed``.
        implementation: accepted (1 or 2) and ignored, as in Keras 3: the two paths above
            are chosen by configuration, not by this flag.
        dtype, activity_regularizer, name, trainable, input_shape: as every layer.

    Call: ``layer(x, mask=None, initial_state=None, training=None)``; ``initial_state`` is a
    tensor (B, H) or a list ``[h, c]``.

    >>> from seqlab.layers.recurrent import LSTMCell
    >>> layer = RNN(LSTMCell(8), return_sequences=True)
    >>> tuple(layer(torch.zeros(2, 5, 3)).shape)
    (2, 5, 8)
    """

    supports_masking = True

    def __init__(self, cell: Layer, return_sequences: bool = False, return_state: bool = False,
                 go_backwards: bool = False, stateful: bool = False, unroll: bool = False,
                 dropout: float = 0.0, recurrent_dropout: float = 0.0,
                 zero_output_for_mask: bool = False, use_fused: Union[str, bool] = "auto",
                 compile_step: Optional[bool] = None, use_cudnn: Union[str, bool] = "auto",
                 seed: Optional[int] = None, implementation: Optional[int] = None, **kwargs):
        super().__init__(**kwargs)
        who = f"{type(self).__name__} {self.name}"
        self.keras_cell = keras_cell.is_keras_cell(cell)
        if not (hasattr(cell, "recur") and hasattr(cell, "state_size")) and not self.keras_cell:
            raise TypeError(f"{who}: cell must be a seqlab recurrent cell (SimpleRNNCell, "
                            f"LSTMCell, GRUCell) or a layer with state_size and "
                            f"call(inputs, states) -> (output, new_states), got {cell!r}.")
        if self.keras_cell:
            keras_cell.state_sizes(cell)  # fail early on a malformed state_size
            if recurrent_dropout:
                raise ValueError(f"{who}: recurrent_dropout applies to seqlab's own cells; a "
                                 f"Keras-style cell applies its own recurrent dropout in "
                                 f"call(). Pass recurrent_dropout=0.0.")
        if use_fused not in ("auto", True, False):
            raise ValueError(f"{who}: use_fused must be 'auto' or False, got {use_fused!r}.")
        if use_cudnn not in ("auto", True, False):
            raise ValueError(f"{who}: use_cudnn must be 'auto', True or False, got "
                             f"{use_cudnn!r}.")
        if implementation not in (None, 1, 2):
            raise ValueError(f"{who}: implementation must be 1 or 2 (ignored: see the "
                             f"docstring), got {implementation!r}.")
        if use_cudnn is False:
            use_fused = False
        self.use_cudnn, self.implementation, self.seed = use_cudnn, implementation, seed
        self._generators: dict = {}  # device -> torch.Generator (seeded dropout)
        self.cell = cell
        self.return_sequences = bool(return_sequences)
        self.return_state = bool(return_state)
        self.go_backwards = bool(go_backwards)
        self.stateful = bool(stateful)
        self.unroll = bool(unroll)
        self.dropout = check_rate(who, "dropout", dropout)
        self.recurrent_dropout = check_rate(who, "recurrent_dropout", recurrent_dropout)
        self.zero_output_for_mask = bool(zero_output_for_mask)
        self.use_fused = use_fused
        self.compile_step = loops.COMPILE_DEFAULT if compile_step is None else bool(compile_step)
        self._compiled = None  # loops.CompiledStep, made on first explicit call
        self.last_path: Optional[str] = None  # "fused" or "explicit", set by each call
        self._states: Optional[list] = None   # carried state when stateful
        # seqlab.inspect runs the explicit loop with its own step (probes on h_t); None here.
        self.step_override = None

    # ----------------------------------------------------------------- shapes
    @property
    def units(self) -> int:
        if self.keras_cell:
            return keras_cell.output_size(self.cell)
        return self.cell.units

    def _state_sizes(self) -> list:
        return keras_cell.state_sizes(self.cell) if self.keras_cell else self.cell.state_size

    def _initial_state(self, B: int, device=None, dtype=None) -> list:
        if self.keras_cell:
            ref = next(self.cell.parameters(), None) if hasattr(self.cell, "parameters") else None
            dtype = dtype or (ref.dtype if ref is not None else None)
            return keras_cell.initial_state(self.cell, B, device, dtype)
        return self.cell.get_initial_state(B, device=device, dtype=dtype)

    def _generator(self, device) -> Optional[torch.Generator]:
        if self.seed is None:
            return None
        key = str(device)
        if key not in self._generators:
            self._generators[key] = torch.Generator(device=device).manual_seed(int(self.seed))
        return self._generators[key]

    # ----------------------------------------------------------------- micro-batches
    # What ``fit`` asks before it runs a training batch as row slices
    # (seqlab.models.micro_batches): a stateful layer carries each row's state from batch
    # to batch, so it needs the whole batch; torch's fused LSTM kernel runs faster on
    # slices (GRU and SimpleRNN kernels do not), sized by its units.
    @property
    def needs_whole_batch(self) -> bool:
        return self.stateful

    @property
    def micro_batch_units(self) -> Optional[int]:
        return self.units if fused.fused_kind(self.cell)[0] == "lstm" else None

    def _rank_error(self, shape) -> ValueError:
        return ValueError(
            f"{self.name} ({type(self).__name__}): expected input of rank 3 (batch, time, "
            f"features) = (B, T, D), got shape {tuple(shape)}. For one step use "
            f"layer.step(x_t); for a (B, T) sequence of token ids put an Embedding first; "
            f"for a (B, T) series add a feature axis with x.unsqueeze(-1).")

    def build(self, input_shape: Shape) -> None:
        if len(input_shape) != 3:
            raise self._rank_error(input_shape)
        if hasattr(self.cell, "build_once"):
            self.cell.build_once((input_shape[0], input_shape[-1]))
        elif hasattr(self.cell, "build"):
            self.cell.build((input_shape[0], input_shape[-1]))

    def compute_output_shape(self, input_shape: Shape):
        B, T, H = input_shape[0], input_shape[1], self.units
        out = (B, T, H) if self.return_sequences else (B, H)
        if self.return_state:
            return [out] + [(B, n) for n in self._state_sizes()]
        return out

    def compute_mask(self, inputs, mask=None):
        if mask is None or not self.return_sequences:
            return None
        return mask.flip(1) if self.go_backwards else mask  # outputs in processing order

    # ----------------------------------------------------------------- states
    def get_initial_state(self, batch_size: int) -> list:
        """Zero state ``[h]`` or ``[h, c]``, each (batch_size, H)."""
        return self._initial_state(batch_size)

    def reset_states(self, states=None) -> None:
        """Forget the carried state (stateful layers), or set it to ``states``."""
        self._states = None if states is None else [s.detach() for s in _as_list(states)]

    def reset_state(self, states=None) -> None:
        """Keras 3's name of ``reset_states``."""
        self.reset_states(states)

    @property
    def states(self) -> Optional[list]:
        return self._states

    def _start_state(self, B: int, initial_state, x: torch.Tensor) -> list:
        if initial_state is not None:
            state = _as_list(initial_state)
        elif self.stateful and self._states is not None:
            state = self._states
            if state[0].shape[0] != B:
                raise ValueError(
                    f"{self.name}: stateful layer carries a state for batch size "
                    f"{state[0].shape[0]} but got a batch of {B}. Keep the batch size "
                    f"fixed, or call reset_states() first.")
        else:
            return self._initial_state(B, device=x.device, dtype=x.dtype)
        want = [(B, n) for n in self._state_sizes()]
        got = [tuple(s.shape) for s in state]
        if got != want:
            raise ValueError(f"{self.name}: initial_state must be tensors of shapes {want} "
                             f"([h] or [h, c]), got {got}.")
        return [s.to(device=x.device, dtype=x.dtype) for s in state]

    # ----------------------------------------------------------------- forward
    def fused_ok(self, training: bool = False) -> tuple[bool, str]:
        """(True, "") when the fused kernel can run this layer; else (False, why not)."""
        if self.keras_cell:
            return False, "a Keras-style cell runs in the step-by-step loop"
        if self.use_fused is False:
            return False, "use_fused=False"
        if self.step_override is not None:
            return False, "inspection (step_override) needs the explicit loop"
        if self.recurrent_dropout > 0 and training:
            return False, "recurrent_dropout > 0"
        kind, why = fused.fused_kind(self.cell)
        return kind is not None, why

    def forward(self, x: torch.Tensor, mask: Optional[torch.Tensor] = None,
                initial_state=None, training: Optional[bool] = None):
        if x.dim() != 3:
            raise self._rank_error(x.shape)
        mask = get_mask(x, mask)
        x = self._as_param_dtype(x)
        training = self.training if training is None else bool(training)
        B, T, D = x.shape
        if T == 0:
            raise ValueError(f"{self.name}: got a sequence with 0 time steps, shape "
                             f"{tuple(x.shape)}; every batch needs T >= 1.")
        state = self._start_state(B, initial_state, x)
        if mask is not None:
            mask = mask.to(device=x.device, dtype=torch.bool)
            if tuple(mask.shape) != (B, T):
                raise ValueError(f"{self.name}: mask must have shape (B, T) = {(B, T)}, "
                                 f"got {tuple(mask.shape)}.")
        x_in, mask_in = x, mask
        if self.go_backwards:
            x_in = x_in.flip(1)                                        # processing order
            mask_in = mask_in.flip(1) if mask_in is not None else None
        if mask_in is not None and bool(mask_in.all()):
            mask_in = None                                             # nothing is masked
        if training and self.dropout > 0:
            keep = torch.full((B, 1, D), 1 - self.dropout, device=x.device, dtype=x.dtype)
            x_in = x_in * torch.bernoulli(keep, generator=self._generator(x.device)) / (
                1 - self.dropout)                                      # (B, T, D)
        rec_mask = None
        if training and self.recurrent_dropout > 0:
            keep = torch.full((B, self.units), 1 - self.recurrent_dropout,
                              device=x.device, dtype=x.dtype)
            rec_mask = torch.bernoulli(keep, generator=self._generator(x.device)) / (
                1 - self.recurrent_dropout)                            # (B, H)

        need_states = self.return_state or self.stateful
        if self.fused_ok(training)[0]:
            if self.last_path != "fused":  # (a module attribute write costs microseconds)
                self.last_path = "fused"
            outputs, last, final = fused.run_fused(self.cell, x_in, state, mask_in, training,
                                                   need_all_states=need_states,
                                                   keep_outputs=self.return_sequences)
        elif (mask_in is None and rec_mask is None and self.use_fused is not False
              and self.step_override is None and not self.compile_step
              and not self.keras_cell and gru_scan.course_applies(self.cell, x_in)):
            self.last_path = "fused"                  # the course's GRU: one hand-made node
            y, h = gru_scan.run_course_gru(self.cell, x_in, state[0])
            outputs, last, final = (y if self.return_sequences else None), h, [h]
        elif self.keras_cell:
            self.last_path = "explicit"
            outputs, last, final = keras_cell.keras_cell_loop(
                self.cell, x_in, state, mask_in, self.return_sequences, training)
        else:
            self.last_path = "explicit"
            outputs, last, final = self._explicit(x_in, mask_in, state, rec_mask)

        if mask_in is not None and self.zero_output_for_mask:
            if outputs is not None:
                outputs = outputs * mask_in.unsqueeze(-1).to(outputs.dtype)
            last = last * mask_in[:, -1:].to(last.dtype)
        if self.stateful:
            self._states = [s.detach() for s in final]
        out = outputs if self.return_sequences else last
        if self.return_sequences and mask is not None:
            attach_mask(out, self.compute_mask(x, mask))
        if self.return_state:
            return [out] + list(final)
        return out

    def _as_param_dtype(self, x: torch.Tensor) -> torch.Tensor:
        """Check the feature size; cast the input (float or integer) to the weights' dtype,
        as Keras casts inputs to the layer's dtype."""
        if self.keras_cell:
            ref = next(self.cell.parameters(), None) if hasattr(self.cell, "parameters") else None
            dtype = ref.dtype if ref is not None else torch.get_default_dtype()
            return x if x.dtype == dtype else x.to(dtype)
        kernel = getattr(self.cell, "kernel", None)
        if kernel is None:
            return x if x.is_floating_point() else x.to(torch.get_default_dtype())
        if x.shape[-1] != kernel.shape[0]:
            raise ValueError(f"{self.name} ({type(self).__name__}): built for "
                             f"{kernel.shape[0]} input features, got input of shape "
                             f"{tuple(x.shape)}. Feed (B, T, {kernel.shape[0]}) or use a "
                             f"new layer.")
        if x.dtype != kernel.dtype:
            return x.to(kernel.dtype)  # float64 after a float32 build, integer series
        return x

    def _explicit(self, x, mask, state, rec_mask):
        """The cell's equations step by step; input projection hoisted out of the loop."""
        xw = self.cell.project(x)                                      # (B, T, kH): one matmul
        step = self.step_override
        if step is None and self.compile_step:
            if self._compiled is None:
                object.__setattr__(self, "_compiled", loops.CompiledStep(self.cell))
            step = self._compiled
        return loops.python_loop(self.cell, xw, state, mask, rec_mask,
                                 keep_outputs=self.return_sequences, step=step)

    # ----------------------------------------------------------------- one step
    def step(self, x_t: torch.Tensor, state: Optional[Sequence[torch.Tensor]] = None):
        """One time step, for generation at O(1) cost per token.

        ``x_t`` is (B, D) or (B, 1, D); ``state`` a list ``[h]`` / ``[h, c]`` (None: the
        carried state of a stateful layer, else zeros). Returns ``(y_t, new_state)`` with
        ``y_t`` shaped like ``x_t`` ((B, H) or (B, 1, H)). A stateful layer also keeps
        ``new_state`` when ``state`` is None. Dropout is not applied. Runs torch's fused
        cell kernel (``lstm_cell``, ``gru_cell``...) when the fused path is allowed, else
        the cell's equations; ``last_path`` says which.

        >>> from seqlab.layers.recurrent import GRU
        >>> gru = GRU(4)
        >>> y, state = gru.step(torch.zeros(2, 3))
        >>> tuple(y.shape), len(state)
        ((2, 4), 1)
        """
        squeeze = x_t.dim() == 3
        if squeeze:
            if x_t.shape[1] != 1:
                raise ValueError(f"{self.name}.step: expected one step (B, D) or (B, 1, D), "
                                 f"got shape {tuple(x_t.shape)}; call the layer for a sequence.")
            x_t = x_t[:, 0]
        if x_t.dim() != 2:
            raise ValueError(f"{self.name}.step: expected x_t of shape (B, D), got "
                             f"{tuple(x_t.shape)}.")
        if not self.built:
            self._build_from_input(x_t.unsqueeze(1))
        x_t = self._as_param_dtype(x_t)
        carried = state is None and self.stateful
        state = self._start_state(x_t.shape[0], state, x_t)
        if self.fused_ok(training=False)[0]:
            self.last_path = "fused"
            h, new_state = fused.step_fused(self.cell, x_t, state)     # (B, H)
        else:
            self.last_path = "explicit"
            h, new_state = self.cell(x_t, state)                       # the equations
        if carried:
            self._states = [s.detach() for s in new_state]
        return (h.unsqueeze(1) if squeeze else h), new_state

    def extra_repr(self) -> str:
        flags = [k for k in ("return_sequences", "return_state", "go_backwards", "stateful")
                 if getattr(self, k)]
        return f"name={self.name!r}, units={self.units}" + "".join(f", {k}=True" for k in flags)


def _as_list(states) -> list:
    """One state (a tensor or NumPy array) or several, as a list of tensors."""
    if isinstance(states, (torch.Tensor, np.ndarray)):
        states = [states]
    return [torch.as_tensor(s) if isinstance(s, np.ndarray) else s for s in states]
