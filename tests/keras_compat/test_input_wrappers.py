"""keras.Input at the head of a Sequential, layers.Wrapper, TimeDistributed masks."""
import json

import numpy as np
import pytest
import torch

import seqlab
from seqlab.keras import Input, layers, models


def test_input_heads_a_sequential_and_fixes_its_shape():
    model = models.Sequential([Input((7, 3)), layers.LSTM(8), layers.Dense(1)])
    assert len(model.layers) == 2
    assert model.output_shape == (None, 1)
    assert model.count_params() == 4 * (3 * 8 + 8 * 8 + 8) + 9
    text = model.summary(print_fn=None)
    assert "(None, 8)" in text and "Total params: 393" in text
    assert tuple(model(np.zeros((2, 7, 3))).shape) == (2, 1)


def test_input_properties_and_round_trip_of_the_config(tmp_path):
    x = Input(shape=(5,), batch_size=4, dtype="int64", name="ids")
    assert (x.shape, x.dtype, x.name, x.ndim) == ((4, 5), "int64", "ids", 2)
    model = models.Sequential([Input((5, 2)), layers.SimpleRNN(3)])
    config = json.loads(json.dumps(model.get_config()))
    assert config["input_shape"] == [None, 5, 2]
    again = models.Sequential.from_config(config)
    assert again.output_shape == (None, 3) and again.count_params() == 2 * 3 + 9 + 3
    path = tmp_path / "m.keras"
    model.save(path)
    loaded = seqlab.keras.load_model(path)
    x = torch.randn(2, 5, 2)
    torch.testing.assert_close(loaded(x), model(x))


def test_input_must_come_first():
    model = models.Sequential([layers.Dense(2, input_shape=(3,))])
    with pytest.raises(ValueError, match="Input fixes the shape .* must come first"):
        model.add(Input((3,)))
    with pytest.raises(ValueError, match="give shape="):
        layers.InputLayer()


def test_wrapper_is_the_base_of_time_distributed_and_bidirectional():
    td = layers.TimeDistributed(layers.Dense(2))
    bi = layers.Bidirectional(layers.GRU(3))
    assert isinstance(td, layers.Wrapper) and isinstance(bi, layers.Wrapper)
    assert bi.layer is bi.forward_layer and isinstance(td.layer, layers.Dense)
    bi(torch.zeros(1, 4, 2))
    names = list(bi.state_dict())
    assert not any(n.startswith("layer.") for n in names) and len(names) == 6
    with pytest.raises(TypeError, match="expected a layer"):
        layers.TimeDistributed("dense")


def test_time_distributed_checks_and_forwards_its_mask():
    td = layers.TimeDistributed(layers.Dense(2))
    x = torch.ones(2, 3, 4)
    mask = torch.tensor([[True, True, False], [True, False, False]])
    y = td(x, mask=mask)
    assert torch.equal(seqlab.layers.base.get_mask(y), mask)
    assert torch.equal(td.compute_mask(x, mask), mask)
    with pytest.raises(ValueError, match=r"the mask must have shape \(B, T, \.\.\.\) = \(2, 3"):
        td(x, mask=torch.ones(2, 4, dtype=torch.bool))
    with pytest.raises(ValueError, match="the mask must have shape"):
        td(x, mask=torch.ones(2, dtype=torch.bool))


def test_time_distributed_passes_an_inner_time_mask_to_an_rnn():
    inner = layers.SimpleRNN(2, kernel_initializer="ones", recurrent_initializer="ones")
    td = layers.TimeDistributed(inner)
    x = torch.ones(2, 3, 4, 1)                         # (B, T, T_inner, D)
    mask = torch.ones(2, 3, 4, dtype=torch.bool)
    mask[0, 1, 2:] = False                             # last two inner steps are padding
    y = td(x, mask=mask)                               # (B, T, 2)
    ref = inner(x[0, 1:2, :2])                         # the same row, cut to its real steps
    torch.testing.assert_close(y[0, 1:2], ref)
    full = td(x)
    torch.testing.assert_close(full[0, 0], y[0, 0])
    assert not torch.allclose(full[0, 1], y[0, 1])     # 4 steps against 2


def test_a_sequential_with_masking_through_time_distributed():
    model = models.Sequential([layers.Embedding(10, 4, mask_zero=True),
                               layers.TimeDistributed(layers.Dense(3)),
                               layers.LSTM(2)])
    x = torch.tensor([[3, 4, 0, 0], [5, 0, 0, 0]])
    y = model(x)
    y_cut = model(x[:, :2])
    torch.testing.assert_close(y[0], y_cut[0])          # padded steps are skipped by the LSTM
