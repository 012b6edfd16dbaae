"""The layer API a Keras 3 user types: NumPy calls, build(), weights, reset_state, options."""
import numpy as np
import pytest
import torch

from seqlab.keras import layers
from seqlab.layers.variables import Weight


def test_calling_a_layer_on_numpy_returns_a_float32_tensor():
    y = layers.Dense(2, kernel_initializer="ones")(np.ones((1, 3)))
    assert isinstance(y, torch.Tensor) and y.dtype == torch.float32
    assert y.tolist() == [[3.0, 3.0]]
    ids = layers.Embedding(10, 4)(np.array([[1, 2, 0]]))
    assert ids.shape == (1, 3, 4)


def test_float64_input_after_a_float32_build_is_cast_as_keras_autocasts():
    dense = layers.Dense(2)
    dense(torch.zeros(1, 3))
    y = dense(torch.ones(1, 3, dtype=torch.float64))
    assert y.dtype == torch.float32 and dense.kernel.dtype == torch.float32
    conv = layers.Conv1D(2, 2)
    conv(torch.zeros(1, 4, 3))
    assert conv(torch.ones(1, 4, 3, dtype=torch.float64)).dtype == torch.float32


@pytest.mark.parametrize("cls", [layers.SimpleRNN, layers.LSTM, layers.GRU])
def test_integer_input_to_an_rnn_is_cast_to_float(cls):
    layer = cls(3, kernel_initializer="ones", recurrent_initializer="zeros")
    y_int = layer(torch.ones(2, 4, 1, dtype=torch.int64))
    y_float = layer(torch.ones(2, 4, 1))
    assert y_int.dtype == torch.float32
    torch.testing.assert_close(y_int, y_float)
    layer(np.ones((2, 4, 1), dtype=np.int32))


def test_build_by_hand_marks_the_layer_built_so_set_weights_works():
    dense = layers.Dense(2)
    dense.build((None, 3))
    assert dense.built and dense.build_input_shape == (None, 3)
    dense.set_weights([np.ones((3, 2)), np.zeros(2)])
    assert dense(torch.ones(1, 3)).tolist() == [[3.0, 3.0]]
    lstm = layers.LSTM(4)
    lstm.build((None, 5, 3))
    assert lstm.built and lstm.cell.built
    lstm.set_weights([w * 0 for w in lstm.get_weights()])
    emb = layers.Embedding(5, 2)
    emb.build()
    assert emb.built


def test_weights_are_parameters_with_keras_variable_methods():
    dense = layers.Dense(2)
    dense(torch.zeros(1, 3))
    kernel, bias = dense.weights
    assert isinstance(kernel, torch.nn.Parameter) and isinstance(kernel, Weight)
    assert [id(p) for p in dense.trainable_weights] == [id(p) for p in dense.parameters()]
    kernel.assign(np.full((3, 2), 2.0))
    bias.assign_add([1.0, -1.0])
    np.testing.assert_array_equal(kernel.numpy(), np.full((3, 2), 2.0))
    assert dense(torch.ones(1, 3)).tolist() == [[7.0, 5.0]]
    assert list(dense.state_dict()) == ["kernel", "bias"]
    with pytest.raises(ValueError, match=r"value has shape \(2,\), the weight \(3, 2\)"):
        kernel.assign([1.0, 2.0])
    # optimizers see the same objects, and the weights stay Weights through .to()
    opt = torch.optim.SGD(dense.parameters(), lr=0.1)
    assert opt.param_groups[0]["params"][0] is kernel
    dense.to(torch.float64)
    assert isinstance(dense.kernel, Weight) and dense.kernel.dtype == torch.float64
    dense.trainable = False
    assert dense.trainable_weights == [] and len(dense.non_trainable_weights) == 2


def test_keras_style_custom_layer_with_call_and_add_weight():
    class Scale(layers.Layer):
        def build(self, input_shape):
            self.w = self.add_weight(shape=(input_shape[-1],), initializer="ones",
                                     regularizer="l2", name="scale")

        def call(self, inputs):
            self.add_loss(inputs.abs().mean())
            return inputs * self.w

    layer = Scale()
    y = layer(np.array([[1.0, -2.0]]))
    assert y.tolist() == [[1.0, -2.0]] and layer.built
    assert [n for n, _ in layer.named_parameters()] == ["scale"]
    assert sum(layer.losses).item() == pytest.approx(1.5 + 0.01 * 2)


@pytest.mark.parametrize("bidirectional", [False, True])
def test_reset_state_is_reset_states(bidirectional):
    layer = layers.LSTM(3, stateful=True)
    if bidirectional:
        layer = layers.Bidirectional(layer)
    x = torch.randn(2, 4, 2)
    first = layer(x)
    assert not torch.allclose(layer(x), first)          # carried state
    layer.reset_state()
    torch.testing.assert_close(layer(x), first)


def test_use_cudnn_false_forces_the_explicit_path_and_auto_allows_fused():
    x = torch.randn(2, 5, 3)
    fused = layers.LSTM(4, use_cudnn="auto")
    explicit = layers.LSTM(4, use_cudnn=False)
    y = fused(x)
    explicit(x)
    explicit.set_weights(fused.get_weights())
    torch.testing.assert_close(explicit(x), y, atol=1e-6, rtol=1e-5)
    assert (fused.last_path, explicit.last_path) == ("fused", "explicit")
    with pytest.raises(ValueError, match="use_cudnn must be"):
        layers.GRU(2, use_cudnn="yes")
    layers.SimpleRNN(2, implementation=2)
    with pytest.raises(ValueError, match="implementation must be 1 or 2"):
        layers.SimpleRNN(2, implementation=3)


def test_seed_makes_dropout_masks_repeatable():
    x = torch.ones(3, 6, 4)

    def run(seed):
        layer = layers.GRU(5, dropout=0.5, recurrent_dropout=0.3, seed=seed,
                           kernel_initializer="ones", recurrent_initializer="ones")
        layer.train()
        return layer(x), layer(x)

    a1, a2 = run(11)
    b1, b2 = run(11)
    torch.testing.assert_close(a1, b1)
    torch.testing.assert_close(a2, b2)
    assert not torch.equal(a1, a2)                       # the generator advances per call


def test_keras_3_gru_weights_into_a_default_gru_say_to_pass_reset_after():
    gru = layers.GRU(4)
    gru(torch.zeros(1, 2, 3))
    keras_weights = [np.zeros((3, 12)), np.zeros((4, 12)), np.zeros((2, 12))]
    with pytest.raises(ValueError, match=r"GRU\(4, reset_after=True\)"):
        gru.set_weights(keras_weights)
    ok = layers.GRU(4, reset_after=True)
    ok(torch.zeros(1, 2, 3))
    ok.set_weights(keras_weights)
    assert "reset_after=True" in layers.GRU.__doc__


def test_conv1d_groups_match_torch_grouped_convolution():
    torch.manual_seed(0)
    conv = layers.Conv1D(6, 3, groups=2)
    x = torch.randn(2, 7, 4)
    y = conv(x)
    assert tuple(conv.kernel.shape) == (3, 2, 6) and conv.count_params() == 3 * 2 * 6 + 6
    ref = torch.nn.Conv1d(4, 6, 3, groups=2)
    with torch.no_grad():
        ref.weight.copy_(conv.kernel.permute(2, 1, 0))
        ref.bias.copy_(conv.bias)
    torch.testing.assert_close(y, ref(x.transpose(1, 2)).transpose(1, 2))
    with pytest.raises(ValueError, match="divisible by groups"):
        layers.Conv1D(5, 3, groups=2)
    with pytest.raises(ValueError, match="channels must be divisible by groups=2"):
        layers.Conv1D(4, 3, groups=2)(torch.zeros(1, 5, 3))


def test_rnn_regularizers_reach_the_cell_weights():
    from seqlab.keras import regularizers
    layer = layers.SimpleRNN(2, kernel_regularizer=regularizers.L1(1.0),
                             recurrent_regularizer="l2", bias_regularizer=regularizers.L2(2.0),
                             bias_initializer="ones", activity_regularizer=regularizers.L1(0.5))
    y = layer(torch.ones(3, 4, 2))
    cell = layer.cell
    expected = (cell.kernel.abs().sum() + 0.01 * cell.recurrent_kernel.square().sum()
                + 2.0 * 2 + 0.5 * y.abs().sum() / 3)
    assert sum(layer.losses).item() == pytest.approx(expected.item(), rel=1e-6)


@pytest.mark.parametrize("cls, kwargs", [
    (layers.MaxPooling1D, {"pool_size": 2}), (layers.AveragePooling1D, {"pool_size": 3,
                                                                        "padding": "same"}),
    (layers.GlobalMaxPooling1D, {}), (layers.GlobalAveragePooling1D, {"keepdims": True}),
    (layers.MaxPooling2D, {"pool_size": 2}), (layers.GlobalAveragePooling2D, {"keepdims": True}),
])
def test_pooling_channels_first_is_channels_last_transposed(cls, kwargs):
    rank = 2 if "2D" in cls.__name__ else 1
    x = torch.randn((2, 3) + (5,) * rank)                 # (B, C, T) or (B, C, H, W)
    first = cls(data_format="channels_first", **kwargs)
    last = cls(**kwargs)
    y = first(x)
    ref = last(x.movedim(1, -1))
    ref = ref.movedim(-1, 1) if ref.dim() > 2 else ref
    torch.testing.assert_close(y, ref)
    assert tuple(y.shape) == first.compute_output_shape(tuple(x.shape))
    with pytest.raises(ValueError, match="data_format must be 'channels_last'"):
        cls(data_format="NCW")


def test_channels_first_max_pooling_values():
    x = torch.tensor([[[1.0, 3.0, 2.0, 0.0], [4.0, -1.0, 5.0, 6.0]]])   # (B=1, C=2, T=4)
    y = layers.MaxPooling1D(2, data_format="channels_first")(x)
    assert y.tolist() == [[[3.0, 2.0], [4.0, 6.0]]]


def test_dropout_seed_repeats_its_masks():
    x = torch.ones(4, 10)

    def run():
        layer = layers.Dropout(0.5, seed=3)
        layer.train()
        return layer(x), layer(x)

    a, b = run(), run()
    torch.testing.assert_close(a[0], b[0])
    assert not torch.equal(a[0], a[1])
    assert set(a[0].unique().tolist()) <= {0.0, 2.0}


def test_rnn_dtype_argument():
    layer = layers.LSTM(3, dtype="float64")
    y = layer(np.ones((2, 4, 2), dtype=np.float32))
    assert layer.cell.kernel.dtype == torch.float64 and y.dtype == torch.float64


def test_add_weight_takes_keras_arguments_in_keras_order():
    layer = layers.Layer()
    w = layer.add_weight((3, 4), "ones", "float64", False, True, "l2", None, "none", False,
                         "w")
    assert w.dtype == torch.float64 and not w.requires_grad and w.numpy().sum() == 12
    default = layer.add_weight((200, 300), name="w")           # a second "w": renamed
    assert [n for n, _ in layer.named_parameters()] == ["w", "w_1"]
    limit = np.sqrt(6 / 500)
    assert 0.9 * limit < default.numpy().__abs__().max() <= limit    # glorot_uniform by default


def test_keras_style_call_gets_the_mask_in_a_sequential_and_super_call_works():
    from seqlab.keras import models

    class ZeroPadded(layers.Layer):
        supports_masking = True

        def call(self, inputs, mask=None):
            return inputs if mask is None else inputs * mask.unsqueeze(-1).to(inputs.dtype)

    class Double(layers.Dense):
        def call(self, inputs):
            return 2 * super().call(inputs)

    model = models.Sequential([layers.Embedding(5, 2, mask_zero=True,
                                                embeddings_initializer="ones"),
                               ZeroPadded()])
    y = model(torch.tensor([[1, 0, 2]]))
    assert y.tolist() == [[[1.0, 1.0], [0.0, 0.0], [1.0, 1.0]]]
    double = Double(1, kernel_initializer="ones")
    assert double(np.ones((1, 3))).tolist() == [[6.0]]
