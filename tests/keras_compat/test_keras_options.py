"""Keras's regularizers, constraints, initialisers and the layer options that take them.

Values from Keras's documented formulas (keras/src/regularizers, constraints, initializers).
"""
import json

import numpy as np
import pytest
import torch

from seqlab.keras import constraints, initializers, layers, regularizers
from seqlab.layers.base import regularization_loss
from seqlab.layers.constraints import apply_constraints


def test_l1_l2_l1l2_penalties_follow_the_formulas():
    w = torch.tensor([[1.0, -2.0], [3.0, -0.5]])
    assert float(regularizers.L1(0.1)(w)) == pytest.approx(0.1 * 6.5)
    assert float(regularizers.L2(0.2)(w)) == pytest.approx(0.2 * (1 + 4 + 9 + 0.25))
    assert float(regularizers.L1L2(0.1, 0.2)(w)) == pytest.approx(0.65 + 0.2 * 14.25)
    assert regularizers.get("l2").l2 == 0.01 and regularizers.get("l1").l1 == 0.01
    assert regularizers.get(None) is None


def test_regularizer_config_round_trips():
    reg = regularizers.L1L2(l1=0.5, l2=0.25)
    spec = regularizers.serialize(reg)
    assert spec == {"class_name": "L1L2", "config": {"l1": 0.5, "l2": 0.25}}
    back = regularizers.get(json.loads(json.dumps(spec)))
    assert (back.l1, back.l2) == (0.5, 0.25)
    with pytest.raises(ValueError, match="l2 must be a number >= 0"):
        regularizers.L2(-1.0)


def test_dense_kernel_and_bias_penalties_reach_losses():
    layer = layers.Dense(3, kernel_regularizer=regularizers.L2(0.1),
                         bias_regularizer=regularizers.L1(0.5), bias_initializer="ones")
    layer(torch.zeros(2, 4))
    kernel = layer.kernel.detach()
    expected = 0.1 * float((kernel ** 2).sum()) + 0.5 * 3.0
    assert len(layer.losses) == 2
    assert sum(layer.losses).item() == pytest.approx(expected, rel=1e-6)
    assert regularization_loss(layer).item() == pytest.approx(expected, rel=1e-6)
    # computed from the current weights, and differentiable
    with torch.no_grad():
        layer.kernel.fill_(2.0)
    assert sum(layer.losses).item() == pytest.approx(0.1 * 4.0 * 12 + 1.5)
    regularization_loss(layer).backward()
    torch.testing.assert_close(layer.kernel.grad, torch.full((4, 3), 0.1 * 2 * 2.0))


def test_activity_regularizer_is_divided_by_the_batch_size_as_keras():
    layer = layers.Dense(2, kernel_initializer="ones", activity_regularizer="l2")
    x = torch.tensor([[1.0, 2.0], [0.0, 1.0], [1.0, 1.0]])
    y = layer(x)                                       # rows (3, 3), (1, 1), (2, 2)
    assert y.square().sum().item() == 9 + 9 + 1 + 1 + 4 + 4
    assert sum(layer.losses).item() == pytest.approx(0.01 * 28 / 3)
    layer(x[:1])                                       # recorded afresh at each call
    assert sum(layer.losses).item() == pytest.approx(0.01 * 18 / 1)


def test_sub_layer_penalties_are_summed_by_a_model():
    from seqlab.keras import models
    model = models.Sequential([layers.Embedding(10, 4, embeddings_regularizer="l1"),
                               layers.LSTM(3, kernel_regularizer=regularizers.L2(0.5),
                                           recurrent_regularizer=regularizers.L2(0.25)),
                               layers.Dense(1, kernel_regularizer="l2")])
    model(torch.zeros(2, 5, dtype=torch.long))
    emb, lstm, dense = model.layers
    with torch.no_grad():
        expected = (0.01 * float(emb.embeddings.abs().sum())
                    + 0.5 * float(lstm.cell.kernel.square().sum())
                    + 0.25 * float(lstm.cell.recurrent_kernel.square().sum())
                    + 0.01 * float(dense.kernel.square().sum()))
    assert len(model.losses) == 4
    assert regularization_loss(model).item() == pytest.approx(expected, rel=1e-5)
    assert float(regularization_loss(torch.nn.Linear(2, 2))) == 0.0


def test_frozen_layer_has_no_weight_penalty():
    layer = layers.Dense(2, kernel_regularizer="l2", trainable=False)
    layer(torch.zeros(1, 2))
    assert layer.losses == []


def test_constraints_match_keras_formulas():
    w = torch.tensor([[3.0, 0.0], [4.0, -1.0]])          # column norms 5 and 1
    eps = 1e-7
    torch.testing.assert_close(constraints.MaxNorm(2.0)(w),
                               w * torch.tensor([2 / (5 + eps), 1 / (1 + eps)]))
    torch.testing.assert_close(constraints.UnitNorm()(w), w / torch.tensor([5 + eps, 1 + eps]))
    torch.testing.assert_close(constraints.NonNeg()(w), torch.tensor([[3.0, 0.0], [4.0, 0.0]]))
    mm = constraints.MinMaxNorm(min_value=2.0, max_value=3.0, rate=0.5)(w)
    desired = torch.tensor([0.5 * 3 + 0.5 * 5, 0.5 * 2 + 0.5 * 1])
    torch.testing.assert_close(mm, w * desired / (torch.tensor([5.0, 1.0]) + eps))
    assert constraints.get("max_norm").get_config() == {"max_value": 2, "axis": 0}


def test_apply_constraints_projects_the_weights_in_place():
    layer = layers.Dense(2, kernel_constraint=constraints.NonNeg(),
                         bias_constraint=constraints.MaxNorm(1.0))
    layer(torch.zeros(1, 3))
    with torch.no_grad():
        layer.kernel.copy_(torch.tensor([[-1.0, 2.0], [3.0, -4.0], [0.5, 0.0]]))
        layer.bias.copy_(torch.tensor([3.0, 4.0]))
    kernel_id = id(layer.kernel)
    apply_constraints(layer)
    assert id(layer.kernel) == kernel_id
    torch.testing.assert_close(layer.kernel.detach(),
                               torch.tensor([[0.0, 2.0], [3.0, 0.0], [0.5, 0.0]]))
    torch.testing.assert_close(layer.bias.detach(), torch.tensor([0.6, 0.8]), atol=1e-6,
                               rtol=0)


@pytest.mark.parametrize("cls, kwargs, mean, std", [
    ("RandomNormal", {"mean": 1.0, "stddev": 0.5}, 1.0, 0.5),
    ("RandomUniform", {"minval": 0.0, "maxval": 2.0}, 1.0, 2 / np.sqrt(12)),
    ("GlorotUniform", {}, 0.0, np.sqrt(6 / (200 + 300)) / np.sqrt(3)),
    ("HeNormal", {}, 0.0, np.sqrt(2 / 200)),
    ("LecunNormal", {}, 0.0, np.sqrt(1 / 200)),
    ("GlorotNormal", {}, 0.0, np.sqrt(2 / 500)),
])
def test_initializer_statistics(cls, kwargs, mean, std):
    w = getattr(initializers, cls)(seed=1, **kwargs)((200, 300))
    assert float(w.mean()) == pytest.approx(mean, abs=0.02 * max(std, 0.1) + 4 * std / 245)
    assert float(w.std()) == pytest.approx(std, rel=0.03)


def test_initializers_seeded_repeatable_and_serialisable():
    init = initializers.HeUniform(seed=7)
    torch.testing.assert_close(init((3, 4)), init((3, 4)))
    assert float(initializers.HeUniform(seed=7)((3, 4)).abs().max()) <= np.sqrt(6 / 3)
    q = initializers.Orthogonal(gain=2.0, seed=0)((6, 4))
    torch.testing.assert_close(q.T @ q, 4 * torch.eye(4), atol=1e-5, rtol=0)
    torch.testing.assert_close(initializers.Identity(3.0)((2, 2)), 3 * torch.eye(2))
    assert initializers.get("Zeros")((2,)).tolist() == [0.0, 0.0]
    assert initializers.Constant(0.5).get_config() == {"value": 0.5}
    truncated = initializers.TruncatedNormal(stddev=1.0, seed=0)((10000,))
    assert float(truncated.abs().max()) <= 2.0


def test_layer_with_initializer_objects_saves_and_copies():
    dense = layers.Dense(3, kernel_initializer=initializers.Constant(0.5),
                         kernel_regularizer=regularizers.L2(0.1))
    config = json.loads(json.dumps(dense.get_config()))
    copy = layers.Dense.from_config({**config, "name": "copy"})
    copy(torch.zeros(1, 2))
    assert copy.kernel.detach().eq(0.5).all()
    assert copy._weight_regularizers["kernel"].l2 == 0.1


def test_seqlab_constant_initializer_no_longer_breaks_bidirectional():
    from seqlab.layers import initializers as seqlab_init
    bi = layers.Bidirectional(layers.LSTM(2, kernel_initializer=seqlab_init.constant(0.1),
                                          recurrent_initializer=seqlab_init.constant(0.2)))
    bi(torch.ones(1, 3, 2))
    assert bi.backward_layer.cell.kernel.detach().eq(0.1).all()
    json.dumps(bi.get_config())


def test_dtype_argument_builds_weights_in_that_dtype_and_casts_inputs():
    layer = layers.Dense(2, dtype="float64")
    y = layer(np.ones((1, 3), dtype=np.float32))
    assert layer.kernel.dtype == torch.float64 and y.dtype == torch.float64
    assert layers.Embedding(5, 2, dtype="float64").embeddings.dtype == torch.float64
    with pytest.raises(ValueError, match="dtype must be one of"):
        layers.Dense(2, dtype="mixed_float16")
