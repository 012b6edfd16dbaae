"""Metrics: accuracy resolved from the loss or the shapes, as in Keras."""
import torch

from seqlab import metrics


def test_accuracy_resolves_from_loss():
    assert metrics.resolve("accuracy", "binary_crossentropy").fn is metrics.binary_accuracy
    assert metrics.resolve("acc", "categorical_crossentropy").fn is metrics.categorical_accuracy
    assert (metrics.resolve("accuracy", "sparse_categorical_crossentropy").fn
            is metrics.sparse_categorical_accuracy)
    assert metrics.resolve("accuracy", "mse").fn is None  # decided from the shapes


def test_accuracy_from_shapes():
    p1 = torch.tensor([[0.7], [0.2]])
    assert metrics.accuracy_for_shapes(p1, torch.tensor([1.0, 0.0])) is metrics.binary_accuracy
    p3 = torch.tensor([[0.1, 0.8, 0.1]])
    assert metrics.accuracy_for_shapes(p3, torch.tensor([[0.0, 1.0, 0.0]])) is \
        metrics.categorical_accuracy
    assert metrics.accuracy_for_shapes(p3, torch.tensor([1])) is \
        metrics.sparse_categorical_accuracy


def test_accuracy_values():
    assert metrics.binary_accuracy(torch.tensor([[0.7], [0.2], [0.6]]),
                                   torch.tensor([1.0, 1.0, 0.0])).tolist() == [1.0, 0.0, 0.0]
    p = torch.tensor([[0.1, 0.9], [0.8, 0.2]])
    assert metrics.sparse_categorical_accuracy(p, torch.tensor([1, 1])).tolist() == [1.0, 0.0]
    assert metrics.categorical_accuracy(p, torch.tensor([[0.0, 1.0], [1.0, 0.0]])).tolist() \
        == [1.0, 1.0]
    assert metrics.resolve("mae").fn(torch.tensor([[1.0, 3.0]]), torch.tensor([[0.0, 0.0]])) \
        .tolist() == [2.0]


def test_unknown_metric_error():
    import pytest
    with pytest.raises(ValueError, match="unknown metric 'f7'"):
        metrics.resolve("f7")


def test_sparse_accuracy_rejects_targets_that_are_not_class_ids():
    import pytest
    p = torch.tensor([[0.1, 0.9], [0.8, 0.2]])
    assert metrics.sparse_categorical_accuracy(p, torch.tensor([[1], [1]])).tolist() == [1.0, 0.0]
    # one-hot targets would broadcast against the (B,) argmax into a (B, C) grid
    with pytest.raises(ValueError, match=r"class ids of shape \(2,\).*got \(2, 2\)"):
        metrics.sparse_categorical_accuracy(p, torch.tensor([[0.0, 1.0], [0.0, 1.0]]))
