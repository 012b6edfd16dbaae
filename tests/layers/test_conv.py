"""Conv1D/Conv2D and pooling: parity with torch.nn.functional given the same weights
(forward and gradients), Keras's kernel layout, padding lengths, golden values,
parameter counts, float64 gradcheck, masks and argument errors."""
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from seqlab.layers.base import attach_mask
from seqlab.layers.conv import Conv1D, Conv2D
from seqlab.layers.pooling import (AveragePooling1D, AveragePooling2D, GlobalAveragePooling1D,
                                   GlobalAveragePooling2D, GlobalMaxPooling1D,
                                   GlobalMaxPooling2D, MaxPooling1D, MaxPooling2D)

ATOL = 1e-5
pytestmark = pytest.mark.filterwarnings("ignore:Using padding=.same. with even kernel")


def _grads(out, *tensors):
    g = torch.randn_like(out, generator=torch.Generator().manual_seed(1))
    return torch.autograd.grad((out * g).sum(), tensors)


def _close(a, b, atol=ATOL):
    assert a.shape == b.shape, (a.shape, b.shape)
    assert torch.allclose(a, b, atol=atol), (a - b).abs().max().item()


# ----------------------------------------------------------------------------- Conv1D
@pytest.mark.parametrize("padding,strides,dilation,k", [
    ("valid", 1, 1, 3), ("valid", 2, 1, 4), ("valid", 1, 3, 2), ("valid", 3, 2, 3),
    ("same", 1, 1, 3), ("same", 1, 1, 4), ("same", 1, 2, 3),
])
def test_conv1d_matches_torch(padding, strides, dilation, k):
    torch.manual_seed(0)
    x = torch.randn(3, 11, 4, requires_grad=True)  # (B, T, C)
    conv = Conv1D(5, k, strides=strides, padding=padding, dilation_rate=dilation)
    y = conv(x)
    # torch reference: channels first, weight (F, C, k); torch's own 'same' (stride 1)
    w = conv.kernel.detach().permute(2, 1, 0).clone().requires_grad_(True)
    b = conv.bias.detach().clone().requires_grad_(True)
    ref = F.conv1d(x.transpose(1, 2), w, b, stride=strides, dilation=dilation,
                   padding=padding).transpose(1, 2)
    _close(y, ref)
    got = _grads(y, x, conv.kernel, conv.bias)
    exp = _grads(ref, x, w, b)
    _close(got[0], exp[0])
    _close(got[1], exp[1].permute(2, 1, 0))
    _close(got[2], exp[2])


@pytest.mark.parametrize("k,dilation,strides", [(2, 1, 1), (3, 1, 1), (3, 2, 1), (3, 1, 2)])
def test_conv1d_causal_is_left_padding_and_sees_no_future(k, dilation, strides):
    torch.manual_seed(0)
    T = 12
    x = torch.randn(2, T, 3)
    conv = Conv1D(4, k, strides=strides, padding="causal", dilation_rate=dilation)
    y = conv(x)
    assert y.shape == (2, math.ceil(T / strides), 4)
    # reference: torch pads d(k-1) on both sides; the first outputs are the causal ones
    w = conv.kernel.detach().permute(2, 1, 0)
    full = F.conv1d(x.transpose(1, 2), w, conv.bias.detach(), dilation=dilation,
                    padding=dilation * (k - 1)).transpose(1, 2)
    _close(y, full[:, :T:strides])
    # changing the future never changes the past
    x2 = x.clone()
    x2[:, 7:] += 5.0
    y2 = conv(x2)
    steps_before = (7 + strides - 1) // strides  # outputs whose last tap is < 7
    _close(y2[:, :steps_before], y[:, :steps_before])
    assert not torch.allclose(y2, y)


@pytest.mark.parametrize("T", [1, 2, 5, 8, 9, 16])
@pytest.mark.parametrize("k,strides,dilation", [(1, 1, 1), (3, 1, 1), (4, 2, 1), (3, 3, 1),
                                                (2, 1, 3), (5, 2, 1)])
def test_same_and_causal_output_lengths(T, k, strides, dilation):
    x = torch.randn(1, T, 2)
    for padding in ("same", "causal"):
        if strides > 1 and dilation > 1:
            continue
        conv = Conv1D(3, k, strides=strides, padding=padding, dilation_rate=dilation)
        assert conv(x).shape == (1, math.ceil(T / strides), 3)
        assert conv.compute_output_shape((None, T, 2)) == (None, math.ceil(T / strides), 3)


def test_conv1d_same_stride2_places_extra_zero_on_the_right():
    # TensorFlow/Keras rule: T=6, k=4, s=2 -> out 3, 3 zeros in total: 1 left, 2 right
    x = torch.arange(1.0, 7.0).reshape(1, 6, 1)
    conv = Conv1D(1, 4, strides=2, padding="same", kernel_initializer=1.0)
    # windows over [0,1,2,3,4,5,6,0,0]: [0,1,2,3] [2,3,4,5] [4,5,6,0]
    assert conv(x).flatten().tolist() == [6.0, 14.0, 15.0]


def test_conv1d_golden_values_constant_initialisers():
    x = torch.tensor([1.0, 2.0, 3.0, 4.0, 5.0]).reshape(1, 5, 1)  # (B, T, C)
    expected = {"valid": [6, 9, 12], "same": [3, 6, 9, 12, 9], "causal": [1, 3, 6, 9, 12]}
    for padding, sums in expected.items():
        conv = Conv1D(2, 3, padding=padding, kernel_initializer=1.0, bias_initializer=0.5)
        y = conv(x)
        assert y.shape == (1, len(sums), 2)
        assert y[0, :, 0].tolist() == [s + 0.5 for s in sums]
        assert torch.equal(y[..., 0], y[..., 1])
    relu = Conv1D(1, 2, kernel_initializer=-1.0, activation="relu", bias_initializer=4.0)
    assert relu(x).flatten().tolist() == [1.0, 0.0, 0.0, 0.0]  # relu(4 - (x_t + x_t+1))


def test_conv_casts_integer_inputs():
    x = torch.arange(6).reshape(1, 6, 1)  # int64 samples
    conv = Conv1D(1, 2, kernel_initializer=1.0)
    assert conv(x).flatten().tolist() == [1.0, 3.0, 5.0, 7.0, 9.0]
    assert conv(x).dtype == torch.float32


def test_conv1d_keras_kernel_layout_via_set_weights():
    # Keras computes y[t, f] = b[f] + sum_{i, c} x[t + i, c] * kernel[i, c, f]
    rng = np.random.default_rng(0)
    kernel, bias = rng.normal(size=(3, 2, 4)), rng.normal(size=(4,))
    x = rng.normal(size=(2, 7, 2))
    conv = Conv1D(4, 3)
    conv(torch.zeros(1, 7, 2))
    conv.set_weights([kernel, bias])
    got = conv(torch.as_tensor(x, dtype=torch.float32)).detach().numpy()
    exp = np.stack([np.einsum("bic,icf->bf", x[:, t:t + 3], kernel) for t in range(5)], 1) + bias
    np.testing.assert_allclose(got, exp, atol=1e-5)
    assert [w.shape for w in conv.get_weights()] == [(3, 2, 4), (4,)]


# ----------------------------------------------------------------------------- Conv2D
@pytest.mark.parametrize("padding,strides,k,dilation", [
    ("valid", (1, 1), (3, 3), (1, 1)), ("valid", (2, 1), (2, 3), (1, 1)),
    ("same", (1, 1), (3, 3), (1, 1)), ("same", (1, 1), (2, 4), (1, 1)),
    ("valid", (1, 1), (2, 2), (2, 3)), ("same", (1, 1), (3, 2), (2, 1)),
])
def test_conv2d_matches_torch(padding, strides, k, dilation):
    torch.manual_seed(0)
    x = torch.randn(2, 7, 8, 3, requires_grad=True)  # (B, H, W, C)
    conv = Conv2D(4, k, strides=strides, padding=padding, dilation_rate=dilation,
                  activation="tanh")
    y = conv(x)
    w = conv.kernel.detach().permute(3, 2, 0, 1).clone().requires_grad_(True)  # (F, C, kh, kw)
    b = conv.bias.detach().clone().requires_grad_(True)
    ref = torch.tanh(F.conv2d(x.permute(0, 3, 1, 2), w, b, stride=strides, padding=padding,
                              dilation=dilation)).permute(0, 2, 3, 1)
    _close(y, ref)
    got = _grads(y, x, conv.kernel, conv.bias)
    exp = _grads(ref, x, w, b)
    _close(got[0], exp[0])
    _close(got[1], exp[1].permute(2, 3, 1, 0))
    _close(got[2], exp[2])


def test_conv2d_same_strided_shapes_and_golden_values():
    x = torch.ones(1, 5, 5, 1)
    conv = Conv2D(1, 3, strides=2, padding="same", kernel_initializer=1.0, use_bias=False)
    y = conv(x)[0, :, :, 0]
    # out 3x3; 2 zeros per axis: 1 top/left, 1 bottom/right -> corners see 2x2 ones
    assert y.tolist() == [[4, 6, 4], [6, 9, 6], [4, 6, 4]]
    assert conv.compute_output_shape((None, 5, None, 1)) == (None, 3, None, 1)


def test_parameter_counts_match_formula():
    c1 = Conv1D(32, 5)
    c1(torch.zeros(1, 10, 7))
    assert c1.count_params() == 5 * 7 * 32 + 32
    c2 = Conv2D(16, (3, 2), use_bias=False)
    c2(torch.zeros(1, 6, 6, 3))
    assert c2.count_params() == 3 * 2 * 3 * 16
    # Keras's MNIST example: Conv2D(32, (3, 3)) on (28, 28, 1) has 320 parameters
    c3 = Conv2D(32, (3, 3))
    c3(torch.zeros(1, 28, 28, 1))
    assert c3.count_params() == 320
    assert sum(p.numel() for p in MaxPooling2D().parameters()) == 0


# ----------------------------------------------------------------------------- pooling
@pytest.mark.parametrize("cls,ref", [(MaxPooling1D, F.max_pool1d),
                                     (AveragePooling1D, F.avg_pool1d)])
@pytest.mark.parametrize("pool,strides", [(2, None), (3, 1), (3, 2)])
def test_pooling1d_valid_matches_torch(cls, ref, pool, strides):
    torch.manual_seed(0)
    x = torch.randn(2, 11, 3, requires_grad=True)
    y = cls(pool, strides)(x)
    expected = ref(x.transpose(1, 2), pool, strides or pool).transpose(1, 2)
    _close(y, expected)
    _close(_grads(y, x)[0], _grads(expected, x)[0])


@pytest.mark.parametrize("cls,ref", [(MaxPooling2D, F.max_pool2d),
                                     (AveragePooling2D, F.avg_pool2d)])
def test_pooling2d_valid_matches_torch(cls, ref):
    torch.manual_seed(0)
    x = torch.randn(2, 7, 9, 3, requires_grad=True)
    for pool, strides in [((2, 2), None), ((3, 2), (1, 2))]:
        y = cls(pool, strides)(x)
        expected = ref(x.permute(0, 3, 1, 2), pool, strides or pool).permute(0, 2, 3, 1)
        _close(y, expected)
        _close(_grads(y, x)[0], _grads(expected, x)[0])


def test_pooling_same_golden_values():
    x = torch.tensor([1.0, 2.0, 3.0, 4.0, 5.0]).reshape(1, 5, 1)
    # T=5, pool 2, stride 2 -> 3 windows [1,2] [3,4] [5] (one zero on the right, not counted)
    assert MaxPooling1D(2, padding="same")(x).flatten().tolist() == [2.0, 4.0, 5.0]
    assert AveragePooling1D(2, padding="same")(x).flatten().tolist() == [1.5, 3.5, 5.0]
    neg = -x
    assert MaxPooling1D(2, padding="same")(neg).flatten().tolist() == [-1.0, -3.0, -5.0]
    # stride 1, pool 3: windows [0,1,2] [1,2,3] ... [4,5,0] with 1 zero each side
    assert AveragePooling1D(3, 1, "same")(x).flatten().tolist() == [1.5, 2.0, 3.0, 4.0, 4.5]
    img = torch.arange(1.0, 10.0).reshape(1, 3, 3, 1)
    assert MaxPooling2D(2, padding="same")(img)[0, :, :, 0].tolist() == [[5, 6], [8, 9]]
    assert AveragePooling2D(2, padding="same")(img)[0, :, :, 0].tolist() == [[3, 4.5], [7.5, 9]]


def test_pooling_output_shapes_none_aware():
    assert MaxPooling1D(2).compute_output_shape((None, 9, 4)) == (None, 4, 4)
    assert MaxPooling1D(2, padding="same").compute_output_shape((None, 9, 4)) == (None, 5, 4)
    assert MaxPooling1D(3, 2).compute_output_shape((None, None, 4)) == (None, None, 4)
    assert AveragePooling2D((2, 3)).compute_output_shape((8, 7, None, 2)) == (8, 3, None, 2)
    assert Conv1D(8, 3).compute_output_shape((None, None, 5)) == (None, None, 8)
    assert GlobalMaxPooling1D().compute_output_shape((None, None, 5)) == (None, 5)
    assert GlobalAveragePooling2D(keepdims=True).compute_output_shape((2, 4, 4, 3)) == (2, 1, 1, 3)
    for layer, shape in [(MaxPooling2D(2), (2, 7, 9, 3)), (Conv2D(4, 2, strides=2), (2, 7, 9, 3)),
                         (AveragePooling1D(3, padding="same"), (2, 10, 3))]:
        assert tuple(layer(torch.zeros(shape)).shape) == layer.compute_output_shape(shape)


def test_global_pooling_values():
    torch.manual_seed(0)
    x = torch.randn(3, 5, 4)
    _close(GlobalMaxPooling1D()(x), x.amax(1))
    _close(GlobalAveragePooling1D()(x), x.mean(1))
    assert GlobalAveragePooling1D(keepdims=True)(x).shape == (3, 1, 4)
    img = torch.randn(2, 3, 4, 5)
    _close(GlobalMaxPooling2D()(img), img.amax((1, 2)))
    _close(GlobalAveragePooling2D()(img), img.mean((1, 2)))


def test_global_average_pooling1d_honours_mask():
    torch.manual_seed(0)
    lengths = [5, 2, 3]
    x = torch.randn(3, 5, 4)
    mask = torch.arange(5)[None, :] < torch.tensor(lengths)[:, None]  # (B, T)
    expected = torch.stack([x[i, :n].mean(0) for i, n in enumerate(lengths)])
    layer = GlobalAveragePooling1D()
    _close(layer(x, mask=mask), expected)
    _close(layer(attach_mask(x.clone(), mask)), expected)  # mask attached by Embedding
    assert not torch.allclose(layer(x), expected)
    with pytest.raises(ValueError, match="mask shape"):
        layer(x, mask=mask[:, :4])


# ----------------------------------------------------------------------------- gradcheck
@pytest.mark.parametrize("make,shape", [
    (lambda: Conv1D(2, 3, padding="same", activation="tanh"), (2, 6, 3)),
    (lambda: Conv1D(2, 2, padding="causal", dilation_rate=2), (2, 6, 3)),
    (lambda: Conv1D(2, 3, strides=2, padding="same"), (1, 7, 2)),
    (lambda: Conv2D(2, (2, 3), strides=(2, 1), padding="same", activation="sigmoid"), (1, 5, 4, 2)),
    (lambda: AveragePooling1D(2, padding="same"), (2, 5, 2)),
    (lambda: AveragePooling2D(2, padding="same"), (1, 3, 5, 2)),
    (lambda: MaxPooling2D(2), (1, 4, 4, 2)),
])
def test_gradcheck_float64(make, shape):
    torch.manual_seed(0)
    layer = make()
    x = torch.randn(*shape, dtype=torch.float64, requires_grad=True)
    layer(x)  # builds in float64
    params = tuple(layer.parameters())
    assert all(p.dtype == torch.float64 for p in params)
    fn = lambda inp, *ps: layer(inp)  # noqa: E731  (params are read from the layer)
    assert torch.autograd.gradcheck(fn, (x,) + params, eps=1e-6, atol=1e-5)


def test_gradcheck_global_average_masked():
    x = torch.randn(2, 4, 3, dtype=torch.float64, requires_grad=True)
    mask = torch.tensor([[True, True, False, False], [True, True, True, True]])
    layer = GlobalAveragePooling1D()
    assert torch.autograd.gradcheck(lambda t: layer(t, mask=mask), (x,))


# ----------------------------------------------------------------------------- config, errors
def test_keras_arguments_accepted():
    assert Conv1D(2, 3, data_format="channels_last").data_format == "channels_last"
    assert MaxPooling2D((2, 2), (1, 1), "same", "channels_last").strides == (1, 1)
    assert GlobalAveragePooling1D("channels_last", keepdims=True).keepdims


def test_config_round_trip():
    conv = Conv2D(4, (3, 2), strides=2, padding="same", activation="relu", name="c")
    clone = Conv2D.from_config(conv.get_config())
    assert (clone.kernel_size, clone.strides, clone.padding) == ((3, 2), (2, 2), "same")
    pool = MaxPooling1D(3, padding="same")
    assert MaxPooling1D.from_config(pool.get_config()).strides == (3,)


@pytest.mark.parametrize("make,words", [
    (lambda: Conv1D(0, 3), ["filters", "0"]),
    (lambda: Conv1D(4, 0), ["kernel_size", "0"]),
    (lambda: Conv1D(4, (3, 3)), ["kernel_size", "(3, 3)", "kernel_size=3"]),
    (lambda: Conv1D(4, 3, padding="full"), ["padding", "'full'", "same"]),
    (lambda: Conv2D(4, 3, padding="causal"), ["Conv2D", "padding", "'causal'"]),
    (lambda: Conv2D(4, (3, 3, 3)), ["kernel_size", "(3, 3)"]),
    (lambda: Conv1D(4, 3, activation="nope"), ["activation", "'nope'"]),
    (lambda: MaxPooling1D(0), ["pool_size", "0"]),
    (lambda: MaxPooling2D(2, strides=-1), ["strides", "-1"]),
    (lambda: Conv2D(4, 3, data_format="channels_first"), ["data_format", "x.permute(0, 2, 3, 1)"]),
    (lambda: GlobalAveragePooling1D("NCW"), ["data_format", "channels_first"]),
])
def test_bad_arguments_fail_at_construction(make, words):
    with pytest.raises(ValueError) as err:
        make()
    for word in words:
        assert word in str(err.value), str(err.value)


def test_bad_inputs_fail_at_first_call():
    with pytest.raises(ValueError, match=r"Conv1D.*3-D input.*\(B, T, C\).*\(None, 5\)"):
        Conv1D(4, 3)(torch.zeros(2, 5))
    with pytest.raises(ValueError, match=r"Conv2D.*\(B, H, W, C\).*unsqueeze"):
        Conv2D(4, 3)(torch.zeros(2, 8, 8))
    conv = Conv1D(4, 3)
    conv(torch.zeros(1, 5, 2))
    with pytest.raises(ValueError, match="built for 2 input channels, got an input with 3"):
        conv(torch.zeros(1, 5, 3))
    with pytest.raises(ValueError, match=r"too small.*padding='same'"):
        Conv1D(4, 5)(torch.zeros(1, 3, 2))
    with pytest.raises(ValueError, match=r"MaxPooling2D.*too small"):
        MaxPooling2D(3)(torch.zeros(1, 2, 8, 1))


def test_conv_model_save_load_round_trip_and_masked_pooling_in_sequential(tmp_path):
    import seqlab
    from seqlab import layers

    torch.manual_seed(0)
    model = seqlab.Sequential([
        layers.Embedding(30, 6, mask_zero=True),
        layers.Conv1D(5, 3, padding="causal", activation="relu"),
        layers.MaxPooling1D(2, padding="same"),
        layers.Conv1D(4, 2, dilation_rate=2, padding="same"),
        layers.GlobalAveragePooling1D(),
        layers.Dense(3),
    ])
    x = torch.randint(1, 30, (4, 9))
    before = model.predict(x)
    model.save(tmp_path / "model")
    again = seqlab.load_model(tmp_path / "model")
    np.testing.assert_array_equal(again.predict(x), before)
    assert [type(l).__name__ for l in again.layers][1:3] == ["Conv1D", "MaxPooling1D"]
    # Embedding(mask_zero) -> GlobalAveragePooling1D: padding does not change the mean
    pooled = seqlab.Sequential([layers.Embedding(30, 6, mask_zero=True),
                                layers.GlobalAveragePooling1D()])
    padded = pooled.predict(torch.tensor([[3, 4, 5, 0, 0]]))
    np.testing.assert_allclose(padded, pooled.predict(torch.tensor([[3, 4, 5]])), atol=1e-6)
