"""LayerNormalization and BatchNormalization: golden values, parity with torch,
gradcheck, Keras weight layout and parameter counts, moving statistics, masks."""
import numpy as np
import pytest
import torch
from torch import nn

from seqlab.layers.normalization import BatchNormalization, LayerNormalization


def maxerr(a, b):
    return (torch.as_tensor(a) - torch.as_tensor(b)).abs().max().item()


# ---------------------------------------------------------------- LayerNormalization
def test_layer_norm_golden_values():
    y = LayerNormalization(epsilon=1e-3)(torch.tensor([[1.0, 2.0, 3.0]]))
    expected = (np.array([1, 2, 3]) - 2) / np.sqrt(2 / 3 + 1e-3)
    np.testing.assert_allclose(y[0].detach().numpy(), expected, atol=1e-6)


def test_layer_norm_parity_with_torch_forward_and_gradients():
    torch.manual_seed(0)
    ref = nn.LayerNorm(6, eps=1e-5)
    with torch.no_grad():
        ref.weight.normal_()
        ref.bias.normal_()
    ours = LayerNormalization(epsilon=1e-5)
    x = torch.randn(3, 4, 6)
    ours(x)
    ours.set_weights([ref.weight.detach().numpy(), ref.bias.detach().numpy()])
    xr, xo = x.clone().requires_grad_(True), x.clone().requires_grad_(True)
    probe = torch.randn(3, 4, 6)
    yr, yo = ref(xr), ours(xo)
    assert maxerr(yr, yo) <= 1e-5
    (yr * probe).sum().backward()
    (yo * probe).sum().backward()
    assert maxerr(xr.grad, xo.grad) <= 1e-5
    assert maxerr(ref.weight.grad, ours.gamma.grad) <= 1e-5


def test_layer_norm_several_axes_and_gradcheck():
    x = torch.randn(2, 3, 4, dtype=torch.float64, requires_grad=True)
    ln = LayerNormalization(axis=[1, 2], epsilon=1e-3)
    y = ln(x)
    assert [w.shape for w in ln.get_weights()] == [(3, 4), (3, 4)]
    assert ln.count_params() == 2 * 12
    flat = x.detach().reshape(2, -1).numpy()
    ref = (flat - flat.mean(1, keepdims=True)) / np.sqrt(flat.var(1, keepdims=True) + 1e-3)
    np.testing.assert_allclose(y.detach().reshape(2, -1).numpy(), ref, atol=1e-10)
    assert torch.autograd.gradcheck(ln, (x,))
    ln_mid = LayerNormalization(axis=1)  # a non-trailing axis: the explicit path
    z = torch.randn(2, 3, 4, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(ln_mid, (z,))
    with pytest.raises(ValueError, match="axis 0 is invalid"):
        LayerNormalization(axis=0)(torch.randn(2, 3))


# ---------------------------------------------------------------- BatchNormalization
def test_batch_norm_training_statistics_and_moving_average_golden():
    bn = BatchNormalization(momentum=0.99, epsilon=1e-3)
    x = torch.tensor([[0.0, 10.0], [2.0, 14.0]])  # mean (1, 12), biased var (1, 4)
    y = bn(x)
    np.testing.assert_allclose(y.detach().numpy(),
                               [[-1 / np.sqrt(1.001), -2 / np.sqrt(4.001)],
                                [1 / np.sqrt(1.001), 2 / np.sqrt(4.001)]], atol=1e-6)
    np.testing.assert_allclose(bn.moving_mean.numpy(), [0.01 * 1, 0.01 * 12], atol=1e-7)
    np.testing.assert_allclose(bn.moving_variance.numpy(), [0.99 + 0.01 * 1, 0.99 + 0.01 * 4],
                               atol=1e-7)
    bn.eval()  # inference: moving statistics
    y_inf = bn(x)
    expected = (x - bn.moving_mean) / torch.sqrt(bn.moving_variance + 1e-3)
    assert maxerr(y_inf, expected) <= 1e-6


def test_batch_norm_keras_layout_counts_moving_stats():
    bn = BatchNormalization()
    bn(torch.randn(4, 5, 3))
    weights = bn.get_weights()
    assert [w.shape for w in weights] == [(3,)] * 4  # gamma, beta, moving_mean, moving_var
    assert bn.count_params() == 4 * 3  # Keras: 2C trainable + 2C non-trainable
    assert sum(p.numel() for p in bn.parameters()) == 2 * 3
    assert len(bn.non_trainable_weights) == 2
    new = [np.full(3, v, dtype=np.float32) for v in (2.0, 1.0, 0.5, 4.0)]
    bn.set_weights(new)
    bn.eval()
    x = torch.ones(1, 1, 3)
    assert maxerr(bn(x), 2.0 * (1 - 0.5) / np.sqrt(4.001) + 1.0) <= 1e-6
    assert bn.moving_mean.requires_grad is False


def test_batch_norm_parity_with_torch_on_time_series_and_gradients():
    torch.manual_seed(0)
    x = torch.randn(4, 7, 3)  # (B, T, C): normalised over B and T per channel
    ref = nn.BatchNorm1d(3, eps=1e-3, momentum=0.01)  # torch momentum = 1 - Keras momentum
    ours = BatchNormalization()
    xr, xo = x.clone().requires_grad_(True), x.clone().requires_grad_(True)
    yr = ref(xr.transpose(1, 2)).transpose(1, 2)
    yo = ours(xo)
    assert maxerr(yr, yo) <= 1e-5
    assert maxerr(ref.running_mean, ours.moving_mean) <= 1e-6
    probe = torch.randn_like(x)
    (yr * probe).sum().backward()
    (yo * probe).sum().backward()
    assert maxerr(xr.grad, xo.grad) <= 1e-5
    xd = torch.randn(5, 2, dtype=torch.float64, requires_grad=True)
    bn64 = BatchNormalization()
    assert torch.autograd.gradcheck(bn64, (xd,))


def test_batch_norm_mask_excludes_padding_and_frozen_uses_moving_stats():
    x = torch.tensor([[[1.0], [3.0], [100.0]]])  # the 100 is padding
    mask = torch.tensor([[True, True, False]])
    bn = BatchNormalization(momentum=0.0)  # moving = last batch
    bn(x, mask=mask)
    assert bn.moving_mean.item() == pytest.approx(2.0)
    assert bn.moving_variance.item() == pytest.approx(1.0)
    frozen = BatchNormalization(trainable=False)
    y = frozen(x)  # Keras: a frozen BatchNormalization runs in inference mode
    assert maxerr(y, x / np.sqrt(1.001)) <= 1e-5
    assert frozen.moving_mean.abs().sum() == 0


def test_batch_norm_channels_first_axis_and_errors():
    x = torch.randn(6, 3, 5)
    bn = BatchNormalization(axis=1)
    y = bn(x)
    assert bn.moving_mean.shape == (3,)
    assert torch.allclose(y.mean(dim=(0, 2)), torch.zeros(3), atol=1e-5)
    with pytest.raises(ValueError, match="momentum must lie in"):
        BatchNormalization(momentum=5)


def test_update_batch_statistics_sets_the_exact_population_statistics_even_with_masks():
    from seqlab.layers import update_batch_statistics
    torch.manual_seed(0)
    bn = BatchNormalization(momentum=0.9)
    xs = [torch.randn(4, 5, 3) * 3 + 2 for _ in range(3)]  # (B, T, C) batches
    masks = [torch.rand(4, 5) > 0.3 for _ in range(3)]
    bn(xs[0], mask=masks[0])  # moving averages now hold something else
    assert update_batch_statistics(bn, lambda: [bn(x, mask=m) for x, m in zip(xs, masks)])
    real = torch.cat([x[m] for x, m in zip(xs, masks)])  # (N, C) real steps only
    torch.testing.assert_close(bn.moving_mean, real.mean(0), atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(bn.moving_variance, real.var(0, unbiased=False), atol=1e-4,
                               rtol=1e-4)
    assert bn._population is None and bn.training  # state restored
    assert not update_batch_statistics(torch.nn.Linear(2, 2), lambda: [])
