"""Keras 3's golden values (keras/src/layers/rnn/*_test.py, time_distributed_test.py) with
the layers spelled the Keras way: initializers.Constant objects, implementation=, a Wrapper
subclass with call(..., mask=)."""
import numpy as np
import pytest
import torch

from seqlab.keras import initializers, layers

SEQ = np.arange(72).reshape((3, 6, 4)).astype("float32")


def _constants():
    return dict(kernel_initializer=initializers.Constant(0.01),
                recurrent_initializer=initializers.Constant(0.02),
                bias_initializer=initializers.Constant(0.03))


@pytest.mark.parametrize("implementation", [1, 2])
@pytest.mark.parametrize("go_backwards, expected", [
    (False, [0.6288687, 0.86899155, 0.9460773]),
    (True, [0.35622165, 0.74789524, 0.8872726]),
])
def test_lstm_correctness(implementation, go_backwards, expected):
    layer = layers.LSTM(3, go_backwards=go_backwards, implementation=implementation,
                        **_constants())
    np.testing.assert_allclose(layer(SEQ).detach().numpy(),
                               np.repeat(np.array(expected)[:, None], 3, axis=1),
                               atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("use_cudnn", ["auto", False])
@pytest.mark.parametrize("go_backwards, expected", [
    (False, [0.5217289, 0.6371659, 0.39384964]),
    (True, [0.24406259, 0.611516, 0.3928808]),
])
def test_gru_correctness_with_keras_3_default_reset_after(use_cudnn, go_backwards, expected):
    layer = layers.GRU(3, go_backwards=go_backwards, reset_after=True, use_cudnn=use_cudnn,
                       **_constants())
    np.testing.assert_allclose(layer(SEQ).detach().numpy(),
                               np.repeat(np.array(expected)[:, None], 3, axis=1),
                               atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("unroll", [False, True])
def test_simple_rnn_correctness(unroll):
    seq = np.arange(24).reshape((2, 3, 4)).astype("float32")
    layer = layers.SimpleRNN(4, unroll=unroll, **_constants())
    np.testing.assert_allclose(layer(seq).detach().numpy(),
                               np.repeat(np.array([[0.405432], [0.73605347]]), 4, axis=1),
                               atol=1e-5, rtol=1e-5)


def test_time_distributed_gives_each_step_its_mask_as_keras():
    class MaskedDense(layers.Wrapper):
        def __init__(self, units, **kwargs):
            inner = layers.Dense(units, kernel_initializer=initializers.Constant(0.01),
                                 use_bias=False)
            super().__init__(inner, **kwargs)
            self.supports_masking = True

        def call(self, inputs, training=False, mask=None):
            unmasked = self.layer.call(inputs)
            if mask is None:
                return unmasked
            return (unmasked.T * mask.to(inputs.dtype)).T

    sequence = np.arange(24).reshape((3, 2, 4)).astype("float32")
    layer = layers.TimeDistributed(layer=MaskedDense(1))
    mask = np.array([[False, True], [True, False], [True, True]])
    output = layer(sequence, mask=torch.as_tensor(mask))
    np.testing.assert_allclose(output.detach().numpy(),
                               [[[0], [0.22]], [[0.38], [0]], [[0.7], [0.86]]], atol=1e-6)
