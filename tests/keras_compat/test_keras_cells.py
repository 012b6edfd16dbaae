"""``RNN(cell)`` with cells written the Keras way (``state_size``, ``call(inputs, states)``).

Golden values: Keras 3's rnn_test.py (cells whose kernels are all ones)."""
import json

import numpy as np
import pytest
import torch

from seqlab.keras import layers
from seqlab.layers.base import Layer


class SumCell(Layer):
    """h_t = x_t K + h_{t-1} R, K and R all ones; one state."""

    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.units, self.state_size = units, units

    def build(self, input_shape):
        self.kernel = self.add_weight((input_shape[-1], self.units), initializer="ones")
        self.recurrent_kernel = self.add_weight((self.units, self.units), initializer="ones")

    def call(self, inputs, states):
        out = inputs @ self.kernel + states[0] @ self.recurrent_kernel
        return out, [out]


class PairCell(Layer):
    """Two states a, b (both updated from the first); output a + b."""

    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.units, self.state_size, self.output_size = units, [units, units], units

    def build(self, input_shape):
        self.kernel = self.add_weight((input_shape[-1], self.units), initializer="ones")
        self.r1 = self.add_weight((self.units, self.units), initializer="ones")
        self.r2 = self.add_weight((self.units, self.units), initializer="ones")

    def call(self, inputs, states, training=None):
        h = inputs @ self.kernel
        a, b = h + states[0] @ self.r1, h + states[0] @ self.r2
        return a + b, (a, b)


def test_one_state_forward_return_sequences_and_state():
    x = np.ones((1, 2, 3))
    assert layers.RNN(SumCell(2))(x).tolist() == [[9.0, 9.0]]
    assert layers.RNN(SumCell(2), return_sequences=True)(x).tolist() == [[[3.0, 3.0],
                                                                          [9.0, 9.0]]]
    out, state = layers.RNN(SumCell(2), return_state=True)(x)
    assert out.tolist() == state.tolist() == [[9.0, 9.0]]


def test_two_states_forward_and_states():
    x = np.ones((1, 2, 3))
    out, s1, s2 = layers.RNN(PairCell(2), return_sequences=True, return_state=True)(x)
    assert out.tolist() == [[[6.0, 6.0], [18.0, 18.0]]]
    assert s1.tolist() == s2.tolist() == [[9.0, 9.0]]
    layer = layers.RNN(PairCell(2))
    assert layer.compute_output_shape((None, 5, 3)) == (None, 2)
    assert layers.RNN(PairCell(2), return_state=True).compute_output_shape((4, 5, 3)) == [
        (4, 2), (4, 2), (4, 2)]


def test_initial_state_and_stateful():
    x = np.ones((2, 3, 2))
    out = layers.RNN(SumCell(2))(x, initial_state=np.ones((2, 2)))
    assert out.tolist() == [[22.0, 22.0]] * 2
    out = layers.RNN(PairCell(2))(x, initial_state=[np.ones((2, 2)), np.ones((2, 2))])
    assert out.tolist() == [[44.0, 44.0]] * 2
    layer = layers.RNN(PairCell(2), stateful=True, return_state=True)
    layer(np.ones((1, 2, 3)))
    out, s1, s2 = layer(np.ones((1, 2, 3)))
    assert out.tolist() == [[90.0, 90.0]] and s1.tolist() == [[45.0, 45.0]]
    layer.reset_state()
    assert layer(np.ones((1, 2, 3)))[0].tolist() == [[18.0, 18.0]]


def test_go_backwards_and_stateful_values():
    x = np.arange(24).reshape((2, 3, 4)).astype("float32")
    assert layers.RNN(SumCell(2), go_backwards=True)(x).tolist() == [[202.0, 202.0],
                                                                      [538.0, 538.0]]
    layer = layers.RNN(SumCell(2), stateful=True, return_state=True)
    layer(x)
    out, state = layer(x)
    assert out.tolist() == state.tolist() == [[954.0, 954.0], [3978.0, 3978.0]]


def test_masked_steps_keep_state_and_repeat_output():
    x = torch.arange(24.0).reshape(2, 4, 3)
    mask = torch.tensor([[True, True, True, False], [True, True, False, False]])
    assert layers.RNN(SumCell(2))(x, mask=mask).tolist() == [[57.0, 57.0], [126.0, 126.0]]
    seq = layers.RNN(SumCell(2), return_sequences=True)(x, mask=mask)
    assert seq[:, :, 0].tolist() == [[3.0, 18.0, 57.0, 57.0], [39.0, 126.0, 126.0, 126.0]]


def test_keras_cell_in_a_model_trains_and_saves_its_config():
    layer = layers.RNN(PairCell(3), return_sequences=True)
    y = layer(torch.randn(2, 4, 5))
    y.sum().backward()
    assert layer.cell.kernel.grad is not None and layer.count_params() == 5 * 3 + 2 * 9
    config = json.loads(json.dumps(layer.get_config()))
    copy = layers.RNN.from_config({**config, "name": "copy"})
    assert isinstance(copy.cell, PairCell) and copy.cell.state_size == [3, 3]


def test_malformed_cells_are_refused_with_a_sentence():
    class BadSize(SumCell):
        def __init__(self):
            super().__init__(2)
            self.state_size = "two"

    with pytest.raises(ValueError, match="state_size='two'"):
        layers.RNN(BadSize())

    class WrongCount(SumCell):
        def call(self, inputs, states):
            out = inputs @ self.kernel
            return out, [out, out]

    with pytest.raises(ValueError, match="returned 2 states for a state_size of 1"):
        layers.RNN(WrongCount(2))(torch.ones(1, 2, 3))
    with pytest.raises(TypeError, match="state_size and call"):
        layers.RNN(torch.nn.Linear(2, 2))


def test_cell_initial_state_and_bidirectional_copy():
    class StartAtOne(SumCell):
        def get_initial_state(self, batch_size=None):
            return torch.ones(batch_size, self.units)

    x = np.ones((1, 2, 3))
    assert layers.RNN(StartAtOne(2))(x).tolist() == [[13.0, 13.0]]   # (3 + 2) * 2 + 3
    bi = layers.Bidirectional(layers.RNN(SumCell(2), return_sequences=True))
    y = bi(torch.ones(1, 2, 3))
    assert isinstance(bi.backward_layer.cell, SumCell)
    assert y.tolist() == [[[3.0, 3.0, 9.0, 9.0], [9.0, 9.0, 3.0, 3.0]]]
