"""Sequential and Model: shape propagation, lazy build, masks, weights, subclassing."""
import numpy as np
import pytest
import torch
from torch import nn

from seqlab import Model, Sequential, layers

from seqlab.layers.recurrent import GRU, LSTM, SimpleRNN


def test_shapes_propagate_before_any_data():
    model = Sequential()
    model.add(layers.Embedding(input_dim=50, output_dim=8))
    assert model.built and model.output_shape == (None, None, 8)
    model.add(layers.Dense(3, activation="softmax"))
    assert model.layers[1].built and model.layers[1].kernel.shape == (8, 3)
    assert model.output_shape == (None, None, 3)
    assert model.count_params() == 50 * 8 + 8 * 3 + 3


def test_lazy_build_on_first_call_without_input_shape():
    model = Sequential([layers.Dense(4, activation="relu"), layers.Dense(2)])
    assert not model.built and model.count_params() == 0
    out = model(torch.zeros(5, 3))
    assert out.shape == (5, 2) and model.built
    assert model.output_shape == (None, 2) and model.count_params() == 3 * 4 + 4 + 4 * 2 + 2


def test_input_shape_on_first_layer_builds_at_once():
    model = Sequential([layers.Dense(4, input_shape=(3,)), layers.Dense(1)])
    assert model.built and model.output_shape == (None, 1)


def test_plain_torch_module_in_a_stack():
    model = Sequential([layers.Dense(4, input_shape=(3,)), nn.Linear(4, 2)])
    assert "?" in model.summary(print_fn=None)  # unknown until the first call
    assert model(torch.zeros(2, 3)).shape == (2, 2)
    assert "(None, 2)" in model.summary(print_fn=None)


def test_clear_errors():
    with pytest.raises(TypeError, match="expected a layer"):
        Sequential().add("dense")
    with pytest.raises(ValueError, match="has no layers"):
        Sequential()(torch.zeros(1, 2))


def test_get_set_weights_copy_a_model():
    torch.manual_seed(0)
    a = Sequential([layers.Embedding(20, 4), layers.Dense(3)])
    b = Sequential([layers.Embedding(20, 4), layers.Dense(3)])
    x = torch.randint(0, 20, (2, 5))
    assert not torch.allclose(a(x), b(x))
    b.set_weights(a.get_weights())
    torch.testing.assert_close(a(x), b(x))
    assert [w.shape for w in a.get_weights()] == [(20, 4), (4, 3), (3,)]
    with pytest.raises(ValueError, match="expected 3 arrays"):
        b.set_weights(a.get_weights()[:2])


def test_frozen_layer_stays_frozen_and_is_counted():
    model = Sequential([layers.Embedding(10, 4, trainable=False), layers.Dense(2)])
    assert not model.layers[0].embeddings.requires_grad
    text = model.summary(print_fn=None)
    assert "Non-trainable params: 40" in text and "Trainable params: 10" in text
    model.trainable = False
    assert all(not p.requires_grad for p in model.parameters())
    assert not model.trainable and not any(layer.trainable for layer in model.layers)
    model.trainable = True  # Keras: unfreezing the model unfreezes every layer
    assert all(p.requires_grad for p in model.parameters())
    assert model.trainable and all(layer.trainable for layer in model.layers)


def test_logits_for_the_loss_probabilities_for_the_user():
    torch.manual_seed(0)
    model = Sequential([layers.Dense(3, activation="softmax", input_shape=(2,))])
    x = torch.randn(4, 2)
    logits, is_logits = model.outputs_for_loss(x, None, "softmax")
    assert is_logits
    torch.testing.assert_close(logits.softmax(-1), model(x))
    # A loss that cannot undo softmax (mse) gets the probabilities.
    probs, is_logits = model.outputs_for_loss(x, None, None)
    assert not is_logits
    torch.testing.assert_close(probs, model(x))


def test_subclassed_model_is_an_nn_module():
    class Net(Model):
        def __init__(self, hidden=6):
            super().__init__()
            self.emb = layers.Embedding(30, 4)
            self.out = layers.Dense(hidden)

        def forward(self, x):
            return self.out(self.emb(x)).mean(dim=1)

    net = Net()
    assert isinstance(net, nn.Module)
    y = net(torch.randint(0, 30, (2, 7)))
    assert y.shape == (2, 6)
    assert len(net.get_weights()) == 3 and net.count_params() == 30 * 4 + 4 * 6 + 6
    text = net.summary(print_fn=None)
    rows = [line for line in text.splitlines() if "(Embedding)" in line or "(Dense)" in line]
    assert rows[0].startswith(net.emb.name) and rows[0].split()[-1] == "120"
    assert rows[1].startswith(net.out.name) and rows[1].split()[-1] == "30"
    assert "Total params: 150" in text


@pytest.mark.parametrize("rnn", ["LSTM", "GRU"])
def test_mask_from_embedding_reaches_the_recurrent_layer(rnn):
    torch.manual_seed(0)
    cls = {"LSTM": LSTM, "GRU": GRU}[rnn]
    model = Sequential([layers.Embedding(20, 4, mask_zero=True), cls(5), layers.Dense(2)])
    seqs = [[3, 4, 5], [7, 1], [2, 9, 9, 8]]
    padded = torch.zeros(3, 4, dtype=torch.long)
    for i, s in enumerate(seqs):
        padded[i, :len(s)] = torch.tensor(s)
    batch = model(padded)
    for i, s in enumerate(seqs):
        alone = model(torch.tensor([s]))
        torch.testing.assert_close(batch[i:i + 1], alone, atol=1e-5, rtol=1e-5)


def test_explicit_padding_mask_passes_through_embedding():
    # No mask_zero: the mask given to the model (what fit builds for variable-length
    # data) must still reach the LSTM.
    torch.manual_seed(0)
    model = Sequential([layers.Embedding(20, 4), LSTM(5, return_sequences=True)])
    x = torch.tensor([[3, 4, 5], [7, 0, 0]])
    mask = torch.tensor([[True, True, True], [True, False, False]])
    out = model(x, mask=mask)
    alone = model(torch.tensor([[7]]))
    torch.testing.assert_close(out[1, :1], alone[0], atol=1e-5, rtol=1e-5)


def test_pop_and_get_layer():
    model = Sequential([layers.Dense(4, input_shape=(3,), name="hidden"), layers.Dense(2)])
    assert model.get_layer("hidden") is model.layers[0] and model.get_layer(index=1) is \
        model.layers[1]
    with pytest.raises(ValueError, match="no layer named 'nope'"):
        model.get_layer("nope")
    last = model.pop()
    assert isinstance(last, layers.Dense) and model.output_shape == (None, 4)
    model.add(layers.Dense(5))
    assert model(torch.zeros(1, 3)).shape == (1, 5)


def test_nested_models_in_a_stack():
    inner = Sequential([layers.Dense(4, activation="relu"), layers.Dense(3)])
    outer = Sequential([layers.Dense(5, input_shape=(2,)), inner, layers.Dense(1)])
    assert outer.output_shape == (None, 1) and outer.count_params() == 15 + 24 + 15 + 4
    assert "(None, 3)" in outer.summary(print_fn=None)

    class Net(Model):
        def __init__(self):
            super().__init__()
            self.dense = layers.Dense(6)

        def forward(self, x):
            return self.dense(x) * 2

    wrapped = Sequential([layers.Dense(5, input_shape=(2,)), Net(), layers.Dense(1)])
    assert "?" in wrapped.summary(print_fn=None)  # a subclass's shape: after the first call
    assert wrapped(torch.zeros(3, 2)).shape == (3, 1)
    assert "(None, 6)" in wrapped.summary(print_fn=None)


def test_add_of_a_layer_that_does_not_fit_leaves_the_model_unchanged():
    model = Sequential([layers.Dense(6, input_shape=(4,))])
    with pytest.raises(ValueError):
        model.add(layers.Reshape((4, 4)))     # 6 values cannot become 4 x 4
    assert len(model.layers) == 1 and model.output_shape == (None, 6)
    model.add(layers.Reshape((2, 3)))
    assert model.output_shape == (None, 2, 3)
