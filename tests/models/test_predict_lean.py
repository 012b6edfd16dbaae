"""``predict``'s loop: equal-shaped rows are written in place into one preallocated array,
inputs are checked for NaN once, and derived weight layouts (an LSTM's for torch's kernel,
a self-attention's fused Q/K/V kernel) are made once per call (layers/layout_cache.py).
The outputs must equal the model's own forward on the same rows, at batch 1 and larger,
for padded arrays and variable-length lists, and a later call must see changed weights."""
import numpy as np
import pytest
import torch

import seqlab
from seqlab import layers
from seqlab.layers import layout_cache
from seqlab.layers.recurrent import fused
from seqlab.models.transformers import TransformerClassifier


def rnn_model(kind="lstm", return_sequences=False, mask_zero=False, seed=0):
    torch.manual_seed(seed)
    rnn = {"lstm": layers.LSTM, "gru": layers.GRU}[kind]
    model = seqlab.Sequential([layers.Embedding(50, 8, mask_zero=mask_zero),
                               rnn(16, return_sequences=return_sequences),
                               layers.Dense(3, activation="softmax")])
    model.compile(optimizer="rmsprop", loss="categorical_crossentropy")
    return model


def forward(model, x):
    """The model's forward outside predict (no layout cache), row by row."""
    model.eval()
    with torch.no_grad():
        return [model(torch.as_tensor(np.asarray(r))[None]).numpy()[0] for r in x]


@pytest.mark.parametrize("kind", ["lstm", "gru"])
@pytest.mark.parametrize("batch_size", [1, 4, 64])
def test_predict_arrays_equal_the_forward_row_by_row(kind, batch_size):
    x = np.random.default_rng(0).integers(0, 50, size=(11, 13))
    x[:4, :5] = 0                                                  # pre-padded rows
    model = rnn_model(kind)
    got = model.predict(x, batch_size=batch_size, verbose=0)
    assert got.shape == (11, 3) and got.dtype == np.float32
    np.testing.assert_allclose(got, np.stack(forward(model, x)), rtol=1e-5, atol=1e-6)


def test_predict_batch_one_is_bitwise_the_forward():
    x = np.random.default_rng(1).integers(0, 50, size=(6, 9))
    model = rnn_model("lstm")
    got = model.predict(x, batch_size=1, verbose=0)
    np.testing.assert_array_equal(got, np.stack(forward(model, x)))


@pytest.mark.parametrize("batch_size", [1, 3])
def test_predict_variable_length_lists_keep_order_and_lengths(batch_size):
    rng = np.random.default_rng(2)
    seqs = [rng.integers(1, 50, size=int(n)) for n in rng.integers(2, 15, size=10)]
    model = rnn_model("lstm", return_sequences=True, mask_zero=True)
    got = model.predict(seqs, batch_size=batch_size, verbose=0)
    for g, want, s in zip(got, forward(model, seqs), seqs):
        assert g.shape == (len(s), 3)
        np.testing.assert_allclose(g, want, rtol=1e-5, atol=1e-6)


def test_a_later_predict_sees_changed_weights():
    x = np.random.default_rng(3).integers(1, 50, size=(5, 7))
    model = rnn_model("lstm")
    before = model.predict(x, batch_size=1, verbose=0)
    cell = model.layers[1].cell
    with torch.no_grad():
        cell.kernel.mul_(-2.0)
        cell.recurrent_kernel.add_(0.5)
    after = model.predict(x, batch_size=1, verbose=0)
    assert np.abs(after - before).max() > 1e-3
    np.testing.assert_allclose(after, np.stack(forward(model, x)), rtol=1e-5, atol=1e-6)


def test_layouts_are_cached_only_inside_the_block_and_without_gradient():
    cell = rnn_model("lstm").layers[1].cell
    assert fused.torch_weights(cell)[0] is not fused.torch_weights(cell)[0]
    with torch.no_grad(), layout_cache.layout_cache():
        a, b = fused.torch_weights(cell), fused.torch_weights(cell)
        assert a[0] is b[0] and a[0].is_contiguous()
        with torch.enable_grad():                                  # training: a fresh view
            w = fused.torch_weights(cell)[0]
            assert w is not a[0] and w.requires_grad
            w.sum().backward()
    assert cell.kernel.grad is not None and not layout_cache.active()


def test_transformer_predict_batch_one_equals_the_forward():
    torch.manual_seed(0)
    model = TransformerClassifier(vocab_size=30, num_classes=2, num_layers=2, d_model=16,
                                  num_heads=2, ff_dim=32, max_length=12, dropout=0.1)
    x = np.random.default_rng(4).integers(1, 30, size=(7, 12))
    x[2, 8:] = 0
    want = np.stack(forward(model, x))
    for b in (1, 7):
        np.testing.assert_allclose(model.predict(x, batch_size=b, verbose=0), want,
                                   rtol=1e-5, atol=1e-6)


def test_nan_rows_are_named_and_train_mode_comes_back():
    torch.manual_seed(0)
    model = seqlab.Sequential([layers.Dense(4, activation="relu"), layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    x = np.random.default_rng(5).normal(size=(9, 3)).astype("float32")
    np.testing.assert_allclose(model.predict(x, batch_size=2, verbose=0),
                               np.stack(forward(model, x)), rtol=1e-6, atol=1e-6)
    x[6, 1] = np.nan
    model.train()
    for b in (1, 4):
        with pytest.raises(ValueError, match="input row 6"):
            model.predict(x, batch_size=b, verbose=0)
    assert model.training


def test_a_model_with_two_outputs_is_refused_at_any_batch_size():
    class TwoHeads(seqlab.Model):
        def __init__(self):
            super().__init__()
            self.a, self.b = layers.Dense(2), layers.Dense(3)

        def forward(self, x):
            return self.a(x), self.b(x)
    x = np.ones((40, 4), "float32")
    for b in (1, 40):
        with pytest.raises(TypeError, match="one tensor output"):
            TwoHeads().predict(x, batch_size=b, verbose=0)
