"""Losses: values against hand computation, stability from logits, shape errors."""
import math

import numpy as np
import pytest
import torch

from seqlab import Sequential, layers, losses


def test_mse_mae_reduce_last_axis():
    p = torch.tensor([[1.0, 2.0], [0.0, 0.0]])
    t = torch.tensor([[0.0, 0.0], [1.0, 3.0]])
    assert losses.get("mse")(p, t).tolist() == [2.5, 5.0]
    assert losses.get("mae")(p, t).tolist() == [1.5, 2.0]


def test_binary_crossentropy_probabilities_and_logits_agree():
    logits = torch.tensor([[-2.0], [0.5], [3.0]])
    y = torch.tensor([0.0, 1.0, 1.0])  # (B,) targets accepted for (B, 1) outputs
    from_p = losses.binary_crossentropy(torch.sigmoid(logits), y)
    from_z = losses.binary_crossentropy(logits, y, from_logits=True)
    expected = [math.log1p(math.exp(-2.0)), math.log1p(math.exp(-0.5)), math.log1p(math.exp(-3.0))]
    np.testing.assert_allclose(from_z.numpy(), expected, rtol=1e-6)
    np.testing.assert_allclose(from_p.numpy(), expected, rtol=1e-5)


def test_crossentropies_from_logits_are_exact_for_extreme_scores():
    # sigmoid(60) == 1.0 in float32: from probabilities the loss is clipped at -log(1e-7);
    # from logits it is exact (60).
    z = torch.tensor([[60.0]])
    assert losses.binary_crossentropy(z, torch.tensor([0.0]), from_logits=True).item() == \
        pytest.approx(60.0, rel=1e-6)
    clipped = losses.binary_crossentropy(torch.sigmoid(z), torch.tensor([0.0])).item()
    assert 15.0 < clipped < 17.0  # about -log(1e-7), far from the true 60
    scores = torch.tensor([[100.0, 0.0, -100.0]])
    sparse = losses.sparse_categorical_crossentropy(scores, torch.tensor([2]), from_logits=True)
    onehot = losses.categorical_crossentropy(scores, torch.tensor([[0.0, 0.0, 1.0]]),
                                             from_logits=True)
    assert sparse.item() == pytest.approx(200.0, rel=1e-5)
    assert onehot.item() == pytest.approx(200.0, rel=1e-5)


def test_sparse_and_categorical_match_torch_cross_entropy():
    torch.manual_seed(0)
    z = torch.randn(6, 4)
    y = torch.tensor([0, 3, 1, 2, 2, 0])
    ref = torch.nn.functional.cross_entropy(z, y, reduction="none")
    torch.testing.assert_close(losses.sparse_categorical_crossentropy(z, y, True), ref)
    torch.testing.assert_close(losses.sparse_categorical_crossentropy(z.softmax(-1), y), ref,
                               rtol=1e-5, atol=1e-6)
    onehot = torch.nn.functional.one_hot(y, 4).float()
    torch.testing.assert_close(losses.categorical_crossentropy(z, onehot, True), ref)
    # sequences: (B, T, C) with (B, T) ids
    zt = torch.randn(2, 3, 4)
    yt = torch.randint(0, 4, (2, 3))
    assert losses.sparse_categorical_crossentropy(zt, yt, True).shape == (2, 3)


def test_wrong_target_shapes_give_one_clear_sentence():
    with pytest.raises(ValueError, match=r"targets of shape \(4, 3\) do not match .* \(4, 1\)"):
        losses.binary_crossentropy(torch.zeros(4, 1), torch.zeros(4, 3))
    with pytest.raises(ValueError, match="sparse_categorical_crossentropy"):
        losses.categorical_crossentropy(torch.zeros(4, 3), torch.zeros(4))
    with pytest.raises(ValueError, match=r"class ids must lie in \[0, 3\)"):
        losses.sparse_categorical_crossentropy(torch.zeros(2, 3), torch.tensor([0, 3]))
    with pytest.raises(ValueError, match="categorical_crossentropy"):
        losses.sparse_categorical_crossentropy(torch.zeros(2, 3), torch.zeros(2, 3))
    with pytest.raises(ValueError, match="unknown loss 'hinge_x'"):
        losses.get("hinge_x")


def test_targets_are_reshaped_only_across_a_trailing_axis_of_one():
    # (B,) for (B, 1) and (B, T) for (B, T, 1) are the same targets ...
    assert losses.mean_squared_error(torch.zeros(4, 1), torch.ones(4)).tolist() == [1.0] * 4
    per = losses.mean_absolute_error(torch.zeros(2, 3, 1), torch.full((2, 3), 2.0))
    assert per.tolist() == [[2.0] * 3] * 2
    # ... but targets with the same number of values in another layout are a mistake,
    # never silently reshaped: (2, 3, 4) laid out as (2, 4, 3) would scramble the steps.
    with pytest.raises(ValueError, match=r"targets of shape \(2, 3, 4\) do not match .* \(2, 4, 3\)"):
        losses.mean_squared_error(torch.zeros(2, 4, 3), torch.zeros(2, 3, 4))
    with pytest.raises(ValueError, match=r"targets of shape \(5, 3, 2\)"):
        losses.binary_crossentropy(torch.full((5, 6), 0.5), torch.zeros(5, 3, 2))


def test_model_with_sigmoid_output_trains_on_logits():
    # A saturated sigmoid: the loss the model reports is the exact logit loss, not the
    # clipped probability loss.
    model = Sequential([layers.Dense(1, activation="sigmoid", input_shape=(1,))])
    model.set_weights([np.array([[100.0]], "float32"), np.zeros(1, "float32")])
    model.compile(optimizer="sgd", loss="binary_crossentropy")
    loss = model.evaluate(np.ones((2, 1), "float32"), np.zeros(2, "float32"), verbose=0)
    assert loss == pytest.approx(100.0, rel=1e-5)
    # predictions are still probabilities
    assert model.predict(np.ones((1, 1), "float32"))[0, 0] == pytest.approx(1.0)


def test_scalar_loss_means_per_sample_losses_and_defaults_to_mse():
    out, y = torch.tensor([[1.0, 3.0], [0.0, 0.0]]), torch.tensor([[0.0, 1.0], [0.0, 2.0]])
    assert losses.scalar_loss(None)(out, y).item() == pytest.approx((1 + 4 + 0 + 4) / 4)
    mae = losses.scalar_loss(losses.get("mae"))(out, y)  # per sample [1.5, 1.0] -> 1.25
    assert mae.dim() == 0 and mae.item() == pytest.approx(1.25)
    total = losses.scalar_loss(lambda o, t: (o - t).abs().sum())(out, y)  # already a scalar
    assert total.item() == pytest.approx(5.0)
