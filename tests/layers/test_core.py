"""Core layers: golden values, parity with torch, shapes, configs and errors."""
import math

import numpy as np
import pytest
import torch

from seqlab import activations
from seqlab.layers import (Activation, Dense, Dropout, Embedding, Flatten, RepeatVector,
                           Reshape, TimeDistributed)
from seqlab.layers.base import Layer, get_layer_class, get_mask


def test_dense_golden_values_with_constant_initialisers():
    layer = Dense(2, activation="relu", kernel_initializer=0.5, bias_initializer=-1.0)
    x = torch.tensor([[1.0, 2.0, 3.0], [-1.0, 0.0, 0.0]])
    # y = relu(sum(x) * 0.5 - 1) for each unit
    expected = torch.tensor([[2.0, 2.0], [0.0, 0.0]])
    assert torch.allclose(layer(x), expected)


def test_dense_matches_torch_linear_forward_and_gradient():
    torch.manual_seed(0)
    layer = Dense(5)
    x = torch.randn(4, 3, 7, requires_grad=True)
    y = layer(x)
    ref = torch.nn.Linear(7, 5)
    with torch.no_grad():
        ref.weight.copy_(layer.kernel.t())  # Keras (D, U) vs torch (U, D)
        ref.bias.copy_(layer.bias)
    x_ref = x.detach().clone().requires_grad_(True)
    y_ref = ref(x_ref)
    assert (y - y_ref).abs().max() < 1e-6
    y.square().sum().backward()
    y_ref.square().sum().backward()
    assert (x.grad - x_ref.grad).abs().max() < 1e-5
    assert (layer.kernel.grad - ref.weight.grad.t()).abs().max() < 1e-5


def test_dense_parameter_count_and_keras_weight_layout():
    layer = Dense(10)
    layer.build_once((None, 128))
    assert layer.count_params() == 128 * 10 + 10
    kernel, bias = layer.get_weights()
    assert kernel.shape == (128, 10) and bias.shape == (10,)
    new = [np.full((128, 10), 0.1, np.float32), np.arange(10, dtype=np.float32)]
    layer.set_weights(new)
    np.testing.assert_allclose(layer.get_weights()[1], np.arange(10))
    with pytest.raises(ValueError, match=r"shapes \[\(128, 10\), \(10,\)\]"):
        layer.set_weights([np.zeros((3, 3)), np.zeros(3)])


@pytest.mark.parametrize("units", [0, -3, 2.5, "8"])
def test_dense_rejects_bad_units_naming_layer_and_value(units):
    with pytest.raises(ValueError, match=f"units must be a positive integer, got {units!r}"):
        Dense(units, name="head")


def test_dense_wrong_feature_size_after_build_names_the_layer_and_the_sizes():
    dense = Dense(2, input_shape=(3,), name="head")
    dense(torch.zeros(1, 3))
    with pytest.raises(ValueError, match=r"head \(Dense\): built for 3 input features, got "
                                         r"input of shape \(2, 4\)"):
        dense(torch.zeros(2, 4))


def test_dense_casts_integer_inputs():
    dense = Dense(1, kernel_initializer=1.0, bias_initializer=0.5)
    y = dense(torch.tensor([[1, 2, 3]]))  # int64 features, as Conv1D accepts them
    assert y.dtype == torch.float32 and y.tolist() == [[6.5]]


def test_unknown_activation_names_the_choices():
    with pytest.raises(ValueError, match="unknown activation 'relux'.*relu"):
        Dense(3, activation="relux")


def test_dropout_rate_outside_range_fails_at_construction():
    with pytest.raises(ValueError, match=r"rate must be a float in \[0, 1\), got 1.0"):
        Dropout(1.0)


def test_dropout_scales_in_training_and_is_identity_in_eval():
    torch.manual_seed(0)
    layer = Dropout(0.5)
    x = torch.ones(1000)
    y = layer(x)
    assert set(y.unique().tolist()) <= {0.0, 2.0} and 0.4 < (y == 0).float().mean() < 0.6
    layer.eval()
    assert torch.equal(layer(x), x)


def _phi(v):  # standard normal CDF
    return 0.5 * (1 + math.erf(v / math.sqrt(2)))


_SELU_A, _SELU_L = 1.6732632423543772, 1.0507009873554805
FORMULAS = {  # each activation's textbook formula, element by element
    "linear": lambda v: v, "step": lambda v: float(v >= 0), "heaviside": lambda v: float(v >= 0),
    "relu": lambda v: max(v, 0.0), "leaky_relu": lambda v: v if v > 0 else 0.2 * v,
    "sigmoid": lambda v: 1 / (1 + math.exp(-v)), "tanh": math.tanh,
    "elu": lambda v: v if v > 0 else math.exp(v) - 1, "gelu": lambda v: v * _phi(v),
    "hard_sigmoid": lambda v: min(max(v + 3, 0.0), 6.0) / 6,  # Keras 3: relu6(x + 3) / 6
    "softplus": lambda v: math.log1p(math.exp(v)), "softsign": lambda v: v / (1 + abs(v)),
    "swish": lambda v: v / (1 + math.exp(-v)), "silu": lambda v: v / (1 + math.exp(-v)),
    "selu": lambda v: _SELU_L * (v if v > 0 else _SELU_A * (math.exp(v) - 1)),
}


@pytest.mark.parametrize("name", sorted(activations.ACTIVATIONS))
def test_every_named_activation_follows_its_formula(name):
    x = torch.linspace(-4, 4, 12, dtype=torch.float64).reshape(3, 4)
    y = activations.get(name)(x)
    assert y.shape == x.shape
    if name == "softmax":
        expected = np.exp(x.numpy()) / np.exp(x.numpy()).sum(-1, keepdims=True)
    else:
        expected = np.vectorize(FORMULAS[name])(x.numpy())
    np.testing.assert_allclose(y.numpy(), expected, rtol=1e-7, atol=1e-12)


def test_activation_golden_values():
    x = torch.tensor([-2.0, 0.0, 3.0])
    assert torch.equal(activations.step(x), torch.tensor([0.0, 1.0, 1.0]))
    assert torch.allclose(activations.leaky_relu(x), torch.tensor([-0.4, 0.0, 3.0]))
    assert torch.allclose(activations.softmax(torch.zeros(4)), torch.full((4,), 0.25))
    assert torch.allclose(Activation("sigmoid")(torch.zeros(2)), torch.full((2,), 0.5))


def test_shape_layers_forward_and_compute_output_shape_agree():
    x = torch.randn(2, 3, 4)
    assert Flatten()(x).shape == (2, 12)
    assert Flatten().compute_output_shape((None, 3, 4)) == (None, 12)
    assert Flatten().compute_output_shape((None, None, 4)) == (None, None)
    assert Reshape((4, 3))(x).shape == (2, 4, 3)
    assert Reshape((-1, 2)).compute_output_shape((None, 3, 4)) == (None, 6, 2)
    assert RepeatVector(5)(torch.randn(2, 7)).shape == (2, 5, 7)
    assert RepeatVector(5).compute_output_shape((None, 7)) == (None, 5, 7)


def test_reshape_to_an_incompatible_shape_names_the_layer_and_the_sizes():
    msg = r"rs \(Reshape\): cannot reshape samples of shape \(3, 4\) \(12 values\)"
    with pytest.raises(ValueError, match=msg):
        Reshape((4, 4), name="rs")(torch.zeros(2, 3, 4))
    with pytest.raises(ValueError, match=msg):  # before any data, e.g. in a Sequential
        Reshape((5, -1), name="rs").compute_output_shape((None, 3, 4))
    with pytest.raises(ValueError, match=r"target_shape entries must be positive or -1"):
        Reshape((0, 3))
    assert Reshape((-1, 2)).compute_output_shape((None, None, 4)) == (None, None, 2)


def test_time_distributed_applies_the_same_dense_at_every_step():
    torch.manual_seed(0)
    td = TimeDistributed(Dense(3))
    x = torch.randn(2, 5, 4)
    y = td(x)
    assert y.shape == (2, 5, 3)
    assert torch.allclose(y[:, 2], td.layer(x[:, 2]), atol=1e-6)
    assert td.compute_output_shape((None, None, 4)) == (None, None, 3)
    assert td.count_params() == 4 * 3 + 3


def test_embedding_out_of_range_ids_get_a_clear_error():
    emb = Embedding(5, 3, name="emb")
    for bad, seen in ((torch.tensor([[1, 7]]), r"\[1, 7\]"), (torch.tensor([[-1, 2]]), r"\[-1, 2\]")):
        with pytest.raises(ValueError, match=r"emb \(Embedding\): token ids must lie in "
                                             r"\[0, 5\), got ids in " + seen + ".*input_dim"):
            emb(bad)


def test_pretrained_embedding_saves_and_loads(tmp_path):
    from seqlab import Sequential, load_model
    vectors = np.random.default_rng(0).normal(size=(6, 3)).astype("float32")
    model = Sequential([Embedding.from_pretrained(vectors), Dense(2)])
    x = np.array([[1, 2, 5]])
    path = tmp_path / "m.safetensors"
    model.save(path)  # the matrix travels with the weights, not in the JSON config
    again = load_model(path)
    np.testing.assert_array_equal(again.predict(x), model.predict(x))
    np.testing.assert_array_equal(again.layers[0].get_weights()[0], vectors)
    assert not again.layers[0].embeddings.requires_grad  # still frozen
    assert "weights" not in again.layers[0].get_config()


def test_embedding_lookup_mask_and_course_parameter_count():
    emb = Embedding(input_dim=1000, output_dim=64, mask_zero=True)
    assert emb.count_params() == 64000
    ids = torch.tensor([[5, 7, 0, 0], [1, 0, 0, 0]])
    out = emb(ids)
    assert out.shape == (2, 4, 64)
    assert torch.equal(out[0, 0], emb.embeddings[5])
    assert torch.equal(get_mask(out), ids != 0)
    assert emb.compute_output_shape((None, None)) == (None, None, 64)


def test_embedding_input_length_fixes_summary_shape_and_pretrained_vectors_freeze():
    emb = Embedding(input_dim=10000, output_dim=32, input_length=256)
    assert emb.batch_input_shape == (None, 256)
    vectors = np.random.default_rng(0).normal(size=(6, 3)).astype(np.float32)
    frozen = Embedding.from_pretrained(vectors)
    assert not frozen.embeddings.requires_grad
    np.testing.assert_allclose(frozen.get_weights()[0], vectors)
    with pytest.raises(ValueError, match=r"weights must have shape \(6, 4\)"):
        Embedding(6, 4, weights=vectors)


def test_lazy_build_follows_input_dtype_for_gradcheck():
    layer = Dense(2, activation="tanh")
    x = torch.randn(3, 4, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(layer, (x,))
    assert layer.kernel.dtype == torch.float64


def test_config_round_trip_rebuilds_equivalent_layers():
    for layer in [Dense(3, activation="relu", use_bias=False, name="d"), Dropout(0.25),
                  TimeDistributed(Dense(2)), Embedding(10, 4, mask_zero=True)]:
        config = layer.get_config()
        clone = get_layer_class(type(layer).__name__).from_config(config)
        assert clone.get_config() == config


def test_config_refuses_unsavable_callables_with_a_fix():
    layer = Dense(3, activation=lambda x: x)
    with pytest.raises(TypeError, match="Pass activations.*by name"):
        layer.get_config()


def test_non_tensor_input_gets_a_clear_error():
    with pytest.raises(TypeError, match=r"expected a torch.Tensor input, got list"):
        Dense(2)([[1.0, 2.0]])


def test_seqlab_layers_are_plain_torch_modules():
    model = torch.nn.Sequential(Dense(8, activation="relu"), Dense(1))
    y = model(torch.randn(5, 3))
    assert y.shape == (5, 1) and isinstance(model[0], Layer)
    assert len(list(model.parameters())) == 4
