"""fit / evaluate / predict: learning, reproducibility, inputs, verbosity, errors."""
import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from seqlab import Model, Sequential, layers
from seqlab.models.adapters import SequenceData

from seqlab.layers.recurrent import LSTM, SimpleRNN


def sentiment_data(n, rng, k=4):
    """Reviews of 10-50 tokens: Zipf-distributed neutral words (ids >= 100) and k
    sentiment words planted anywhere: ids 1-20 positive (label 1), 21-40 negative."""
    xs, ys = [], rng.integers(0, 2, n)
    for label in ys:
        t = int(rng.integers(10, 51))
        s = 100 + np.minimum(rng.zipf(1.3, t), 9899)
        s[rng.choice(t, k, replace=False)] = rng.integers(1, 21, k) + 20 * (1 - label)
        xs.append(s)
    return xs, ys.astype("float32")


def test_003_listing_learns_a_sentiment_task():
    rng = np.random.default_rng(0)
    x_train, y_train = sentiment_data(800, rng)
    x_test, y_test = sentiment_data(400, rng)
    torch.manual_seed(0)
    model = Sequential()  # Listing 2 of seed 003, unchanged but for the import
    model.add(layers.Embedding(input_dim=10000, output_dim=32, input_length=256))
    model.add(SimpleRNN(units=8, return_sequences=True))
    model.add(SimpleRNN(units=8, return_sequences=False))
    model.add(layers.Dense(units=1, activation="sigmoid"))
    model.compile(optimizer="rmsprop", loss="binary_crossentropy", metrics=["accuracy"])
    history = model.fit(x_train, y_train, epochs=3, batch_size=32, verbose=0, seed=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    loss, accuracy = model.evaluate(x_test, y_test, verbose=0)
    assert accuracy >= 0.9, f"test accuracy {accuracy:.3f}"


def _mlp(dropout=0.0):
    # no input_shape: the weights are created inside fit, after fit(seed=...) seeds torch
    return Sequential([layers.Dense(8, activation="relu"), layers.Dropout(dropout),
                       layers.Dense(1, activation="sigmoid")])


def _xor_like(n=128, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 2)).astype("float32")
    return x, (x[:, 0] * x[:, 1] > 0).astype("float32")


def test_same_seed_same_weights_and_history():
    x, y = _xor_like()
    runs = []
    for seed in (3, 3, 4):
        model = _mlp(dropout=0.2)
        model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
        h = model.fit(x, y, epochs=3, batch_size=16, verbose=0, seed=seed, validation_split=0.25)
        runs.append((h.history, model.get_weights()))
    assert runs[0][0] == runs[1][0]
    for a, b in zip(runs[0][1], runs[1][1]):
        np.testing.assert_array_equal(a, b)
    assert runs[0][0]["loss"] != runs[2][0]["loss"]
    assert set(runs[0][0]) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert len(runs[0][0]["val_loss"]) == 3


def test_validation_split_holds_out_the_last_samples():
    # Keras: the last fraction of the samples, taken before shuffling, never trained on.
    x, y = _xor_like(40)
    model = _mlp()
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    h = model.fit(x, y, epochs=2, batch_size=8, verbose=0, seed=0, validation_split=0.25)
    val_loss, val_acc = model.evaluate(x[30:], y[30:], verbose=0)
    assert h.history["val_loss"][-1] == pytest.approx(val_loss, rel=1e-6)
    assert h.history["val_accuracy"][-1] == pytest.approx(val_acc)
    first = model.evaluate(x[:10], y[:10], verbose=0)[0]
    assert abs(first - val_loss) > 1e-4  # the check above can tell the two ends apart
    # the same rule for variable-length sequences (bucketed, padded per batch)
    rng = np.random.default_rng(1)
    seqs = [rng.integers(1, 9, int(n)).tolist() for n in rng.integers(2, 9, 40)]
    labels = np.array([float(3 in s) for s in seqs], "float32")
    rnn = Sequential([layers.Embedding(10, 4), LSTM(4), layers.Dense(1, activation="sigmoid")])
    rnn.compile(optimizer="adam", loss="binary_crossentropy")
    h = rnn.fit(seqs, labels, epochs=1, batch_size=8, verbose=0, seed=0, validation_split=0.25)
    assert h.history["val_loss"][-1] == pytest.approx(
        rnn.evaluate(seqs[30:], labels[30:], verbose=0), rel=1e-5)


@pytest.mark.parametrize("n,split,train", [(10, 0.35, 6), (10, 0.25, 7), (7, 0.5, 3)])
def test_validation_split_point_is_keras(n, split, train):
    # Keras 3: the first floor(n * (1 - split)) samples train, the rest validate
    x, y = _xor_like(n)
    model = _mlp()
    model.compile(optimizer="sgd", loss="binary_crossentropy")
    h = model.fit(x, y, epochs=1, batch_size=n, verbose=0, seed=0, validation_split=split)
    assert h.history["val_loss"][-1] == pytest.approx(
        model.evaluate(x[train:], y[train:], verbose=0), rel=1e-6)


@pytest.mark.parametrize("n,split", [(3, 0.7), (1, 0.5)])
def test_validation_split_that_leaves_a_part_empty_is_an_error(n, split):
    x, y = _xor_like(n)
    model = _mlp()
    model.compile(optimizer="sgd", loss="binary_crossentropy")
    with pytest.raises(ValueError, match=rf"validation_split={split} of {n} samples leaves"):
        model.fit(x, y, epochs=1, verbose=0, validation_split=split)


def test_verbosity(capsys):
    x, y = _xor_like(32)
    model = _mlp()
    model.compile(optimizer="sgd", loss="mse", metrics=["mae"])
    model.fit(x, y, epochs=2, verbose=0)
    out = capsys.readouterr()
    assert out.out == "" and out.err == ""
    model.fit(x, y, epochs=2, verbose=2)
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 2 and lines[1].startswith("Epoch 2/2 - ") and "mae: " in lines[1]
    model.fit(x, y, epochs=1, verbose=1)
    err = capsys.readouterr().err
    assert "Epoch 1/1" in err and "loss: " in err


def test_evaluate_and_predict_return_like_keras():
    x, y = _xor_like(40)
    model = _mlp()
    model.compile(optimizer="sgd", loss="binary_crossentropy")
    model.fit(x, y, epochs=1, verbose=0, seed=0)
    assert isinstance(model.evaluate(x, y, verbose=0), float)
    model.compile(optimizer="sgd", loss="binary_crossentropy", metrics=["accuracy", "mse"])
    values = model.evaluate(x, y, verbose=0)
    assert isinstance(values, list) and len(values) == 3 and 0 <= values[1] <= 1
    pred = model.predict(x, batch_size=7)
    assert isinstance(pred, np.ndarray) and pred.shape == (40, 1)
    expected = model(torch.from_numpy(x)).detach().numpy()
    np.testing.assert_allclose(pred, expected, rtol=1e-6)
    assert not model.training  # after fit a direct call is inference


def test_accuracy_resolution_sparse_and_categorical():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(60, 4)).astype("float32")
    ids = x[:, :3].argmax(1)
    for loss, y in (("sparse_categorical_crossentropy", ids),
                    ("categorical_crossentropy", np.eye(3, dtype="float32")[ids])):
        model = Sequential([layers.Dense(3, activation="softmax", input_shape=(4,))])
        model.compile(optimizer="adam", loss=loss, metrics=["accuracy"])
        h = model.fit(x, y, epochs=1, verbose=0, seed=0)
        assert 0.0 <= h.history["accuracy"][0] <= 1.0
        # the metric agrees with a hand computation
        acc = (model.predict(x).argmax(1) == ids).mean()
        assert model.evaluate(x, y, verbose=0)[1] == pytest.approx(acc)


def test_variable_length_batches_are_bucketed_and_padded_per_batch():
    rng = np.random.default_rng(0)
    seqs = [rng.integers(1, 9, int(n)) for n in rng.integers(1, 60, 200)]
    data = SequenceData(seqs, np.zeros(200), torch.float32)
    waste, seen = 0, []
    for batch in data.batches(16, shuffle=True, seed=0, epoch=0):
        lengths = [len(seqs[i]) for i in batch.index]
        assert batch.x.shape[1] == max(lengths)  # padded to its own longest member
        assert batch.mask.sum(1).tolist() == lengths
        waste += batch.x.numel() - sum(lengths)
        seen += batch.index.tolist()
    assert sorted(seen) == list(range(200))
    full = 200 * max(len(s) for s in seqs) - sum(len(s) for s in seqs)
    assert waste < 0.25 * full


def test_variable_length_predictions_equal_each_sequence_alone():
    torch.manual_seed(0)
    model = Sequential([layers.Embedding(30, 6), LSTM(5), layers.Dense(2)])
    rng = np.random.default_rng(0)
    seqs = [rng.integers(1, 30, int(n)).tolist() for n in rng.integers(1, 12, 23)]
    pred = model.predict(seqs, batch_size=4)
    alone = np.concatenate([model.predict(np.array([s])) for s in seqs])
    np.testing.assert_allclose(pred, alone, atol=1e-5)
    # per-step outputs are cut back to each sequence's own length
    tagger = Sequential([layers.Embedding(30, 6), LSTM(5, return_sequences=True)])
    out = tagger.predict(seqs, batch_size=4)
    assert [o.shape for o in out] == [(len(s), 5) for s in seqs]


def test_tagging_loss_ignores_padding():
    torch.manual_seed(0)
    model = Sequential([layers.Embedding(10, 4), layers.Dense(3, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    seqs = [[1, 2, 3], [4, 5], [6, 7, 8, 9, 1]]
    tags = [[0, 1, 2], [1, 1], [2, 0, 1, 2, 0]]
    pooled = model.evaluate(seqs, tags, batch_size=3, verbose=0)
    per_step = [-np.log(model.predict(np.array([s]))[0, np.arange(len(s)), t])
                for s, t in zip(seqs, tags)]
    assert pooled == pytest.approx(np.concatenate(per_step).mean(), rel=1e-5)


def test_dataloader_input():
    from seqlab.data.batching import collate_padded
    x, y = _xor_like(48)
    loader = DataLoader(list(zip(torch.from_numpy(x), torch.from_numpy(y))), batch_size=16)
    model = _mlp()
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    h = model.fit(loader, epochs=2, verbose=0, validation_data=loader, seed=0)
    assert len(h.history["val_accuracy"]) == 2
    assert model.predict(loader).shape == (48, 1)
    with pytest.raises(ValueError, match="validation_split cannot split a DataLoader"):
        model.fit(loader, validation_split=0.2, verbose=0)
    seq_loader = DataLoader([([1, 2, 3], 1.0), ([4], 0.0)], batch_size=2,
                            collate_fn=collate_padded)
    seq_model = Sequential([layers.Embedding(10, 3), layers.Flatten(), layers.Dense(1)])
    seq_model.compile(optimizer="sgd", loss="mse")
    assert len(seq_model.fit(seq_loader, verbose=0).history["loss"]) == 1


def test_predict_on_a_padded_dataloader_cuts_each_row_to_its_length():
    from seqlab.data.batching import collate_padded
    torch.manual_seed(0)
    model = Sequential([layers.Embedding(10, 3), LSTM(2, return_sequences=True)])
    items = [([1, 2, 3], 0.0), ([4], 0.0), ([5, 6], 0.0)]
    out = model.predict(DataLoader(items, batch_size=2, collate_fn=collate_padded))
    assert [o.shape for o in out] == [(3, 2), (1, 2), (2, 2)]
    np.testing.assert_allclose(out[1], model.predict(np.array([[4]]))[0], atol=1e-6)


def test_clipnorm_bounds_each_step():
    x, y = _xor_like(16)
    model = Sequential([layers.Dense(1, input_shape=(2,))])
    model.compile(optimizer="sgd", loss="mse", clipnorm=0.1)
    before = model.get_weights()
    model.fit(x * 100, y * 100, batch_size=16, epochs=1, verbose=0)
    steps = [np.linalg.norm(w1 - w0) for w0, w1 in zip(before, model.get_weights())]
    assert max(steps) <= 0.01 * 0.1 * 1.001  # lr * clipnorm, for each weight
    assert max(steps) > 0.01 * 0.1 * 0.9  # the raw gradient is far larger: it was clipped
    model.compile(optimizer="sgd", loss="mse", clipvalue=0.01)
    before = model.get_weights()
    model.fit(x * 100, y * 100, batch_size=16, epochs=1, verbose=0)
    assert np.abs(model.get_weights()[0] - before[0]).max() <= 0.01 * 0.01 * 1.001


def test_subclassed_model_trains():
    class Net(Model):
        def __init__(self):
            super().__init__()
            self.hidden = layers.Dense(8, activation="tanh")
            self.out = layers.Dense(1)

        def forward(self, x):
            return self.out(self.hidden(x))

    x, y = _xor_like(64)
    net = Net()
    net.compile(optimizer="adam", loss="binary_crossentropy", from_logits=True,
                metrics=["accuracy"])
    h = net.fit(x, y, epochs=3, verbose=0, seed=0, initial_epoch=1)
    assert len(h.history["loss"]) == 2 and h.epoch == [1, 2]


def test_errors_are_one_clear_sentence():
    x, y = _xor_like(8)
    model = _mlp()
    with pytest.raises(RuntimeError, match=r"not compiled\. Call model\.compile"):
        model.fit(x, y, verbose=0)
    model.compile(optimizer="sgd", loss="binary_crossentropy")
    with pytest.raises(ValueError, match=r"targets of shape \(8, 3\) do not match"):
        model.fit(x, np.zeros((8, 3)), verbose=0)
    with pytest.raises(ValueError, match="x has 8 samples but y has 7"):
        model.fit(x, y[:7], verbose=0)
    with pytest.raises(ValueError, match="y is missing"):
        model.fit(x, verbose=0)
    with pytest.raises(ValueError, match="batch_size must be a positive integer"):
        model.fit(x, y, batch_size=0, verbose=0)
    with pytest.raises(ValueError, match="loss is required"):
        model.compile(optimizer="sgd")
    with pytest.raises(RuntimeError, match="not compiled"):
        _mlp().evaluate(x, y)
    with pytest.raises(TypeError, match="got text, expected numbers"):
        model.predict(["a good film", "a bad film"])


@pytest.mark.parametrize("arg,value", [("clipnorm", True), ("clipnorm", 0), ("clipvalue", -1.0),
                                       ("clipvalue", "1")])
def test_compile_refuses_clip_settings_that_are_not_positive_numbers(arg, value):
    with pytest.raises(ValueError, match=rf"{arg} must be a positive number, got {value!r}"):
        _mlp().compile(optimizer="sgd", loss="mse", **{arg: value})


def test_lstm_batches_run_as_row_slices_on_cpu_with_the_full_batch_gradient():
    """fit() runs a big LSTM batch as row slices (faster on the CPU); the loss and the
    gradient are those of the whole batch; GRU models run in one piece."""
    from seqlab.models import micro_batches, training
    from seqlab.models.adapters import Batch

    def make(layer):
        torch.manual_seed(0)
        m = Sequential([layers.Embedding(50, 8, mask_zero=True), layer,
                               layers.Dense(1, activation="sigmoid")])
        m.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
        return m

    x = torch.randint(1, 50, (70, 128))
    x[:10, :40] = 0                                              # some padded rows
    y = torch.randint(0, 2, (70, 1)).float()
    batch = Batch(x, y, None, None)
    model = make(layers.LSTM(16))
    model(x[:2])
    assert micro_batches.micro_batch_rows(model, batch) == 64    # LSTM(16): 70 -> 64, 6
    assert micro_batches.planner(model, "auto")(batch) == 64
    assert micro_batches.planner(model, 32)(batch) == 32
    assert micro_batches.planner(model, False)(batch) == 0
    assert [micro_batches.micro_rows_for(u) for u in (16, 64, 128, 512)] == [64, 32, 16, 16]
    grads = []
    for rows in (32, 0):
        model.zero_grad(set_to_none=True)
        acc = training.Accumulator()
        training.backward(model, batch, acc, rows)
        grads.append([p.grad.clone() for p in model.parameters()] + [acc.result()["loss"]])
    for a, b in zip(*grads):
        torch.testing.assert_close(a, b, atol=1e-6, rtol=1e-5)
    whole = training.Accumulator()
    training.batch_loss(model, batch, whole)                     # evaluate's path
    assert abs(whole.result()["loss"] - grads[0][-1]) < 1e-6
    gru = make(layers.GRU(16, reset_after=True))
    gru(x[:2])
    assert micro_batches.micro_batch_rows(gru, batch) == 70
    assert micro_batches.planner(gru, "auto")(batch) == 0
    for whole in (make(layers.LSTM(16, stateful=True)),          # layers that need the batch
                  Sequential([layers.Embedding(50, 8), layers.LSTM(16, return_sequences=True),
                              layers.BatchNormalization(), layers.GlobalAveragePooling1D(),
                              layers.Dense(1, activation="sigmoid")])):
        whole.compile(optimizer="adam", loss="binary_crossentropy")
        whole(x[:70])
        assert micro_batches.planner(whole, "auto")(batch) == 0
