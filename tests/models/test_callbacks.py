"""Callbacks: hooks, History, EarlyStopping (patience, restore_best_weights), ModelCheckpoint."""
import numpy as np
import pytest

from seqlab import Sequential, layers, load_model
from seqlab.models.callbacks import Callback, EarlyStopping, ModelCheckpoint


def _model():
    model = Sequential([layers.Dense(4, activation="tanh", input_shape=(3,)), layers.Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    return model


def _data(n=32):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, 3)).astype("float32")
    return x, x.sum(1, keepdims=True)


class Inject(Callback):
    """Puts a scripted "score" into the epoch logs (EarlyStopping / checkpoints read it)."""

    def __init__(self, scores):
        super().__init__()
        self.scores = scores

    def on_epoch_end(self, epoch, logs=None):
        logs["score"] = self.scores[epoch]


class Snapshots(Callback):
    def __init__(self):
        super().__init__()
        self.weights = []

    def on_epoch_end(self, epoch, logs=None):
        self.weights.append(self.model.get_weights())


def test_hooks_are_called_in_order():
    events = []

    class Spy(Callback):
        def on_train_begin(self, logs=None): events.append("train_begin")
        def on_epoch_begin(self, epoch, logs=None): events.append(f"epoch_begin {epoch}")
        def on_batch_end(self, batch, logs=None): events.append(f"batch {batch} {'loss' in logs}")
        def on_epoch_end(self, epoch, logs=None): events.append(f"epoch_end {epoch}")
        def on_train_end(self, logs=None): events.append("train_end")

    x, y = _data(20)
    _model().fit(x, y, batch_size=10, epochs=2, verbose=0, callbacks=[Spy()])
    assert events == ["train_begin", "epoch_begin 0", "batch 0 True", "batch 1 True",
                      "epoch_end 0", "epoch_begin 1", "batch 0 True", "batch 1 True",
                      "epoch_end 1", "train_end"]


def test_stop_training_from_a_callback():
    class StopAtOne(Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == 1:
                self.model.stop_training = True

    x, y = _data()
    h = _model().fit(x, y, epochs=10, verbose=0, callbacks=[StopAtOne()])
    assert h.epoch == [0, 1]


def test_early_stopping_patience_and_restore_best_weights():
    x, y = _data()
    snaps = Snapshots()
    stop = EarlyStopping(monitor="score", patience=2, restore_best_weights=True)
    model = _model()
    h = model.fit(x, y, epochs=10, verbose=0,
                  callbacks=[Inject([3.0, 1.0, 2.0, 1.5, 0.5, 0.1]), snaps, stop])
    # best at epoch 1; epochs 2 and 3 do not improve -> stop after epoch 3
    assert h.epoch == [0, 1, 2, 3] and stop.stopped_epoch == 3 and stop.best == 1.0
    for got, want in zip(model.get_weights(), snaps.weights[1]):
        np.testing.assert_array_equal(got, want)
    assert h.history["score"] == [3.0, 1.0, 2.0, 1.5]


def test_early_stopping_baseline_follows_keras():
    # Keras 3: improvements are tracked (and their weights kept) even while the baseline
    # is not beaten; only beating the baseline resets the patience; never stops at epoch 0.
    x, y = _data()
    snaps = Snapshots()
    stop = EarlyStopping(monitor="score", patience=1, baseline=2.0, restore_best_weights=True)
    model = _model()
    h = model.fit(x, y, epochs=4, verbose=0,
                  callbacks=[Inject([3.0, 2.5, 2.6, 2.4]), snaps, stop])
    # epoch 0 improves (no stop at 0), 1 improves, 2 does not and patience is used up
    assert h.epoch == [0, 1, 2] and stop.stopped_epoch == 2
    assert stop.best == 2.5 and stop.best_epoch == 1
    for got, want in zip(model.get_weights(), snaps.weights[1]):
        np.testing.assert_array_equal(got, want)
    # beating the baseline resets the patience
    stop = EarlyStopping(monitor="score", patience=1, baseline=2.0)
    h = _model().fit(x, y, epochs=4, verbose=0, callbacks=[Inject([1.5, 1.4, 1.3, 1.6]), stop])
    assert h.epoch == [0, 1, 2, 3] and stop.stopped_epoch == 3


def test_early_stopping_mode_and_errors():
    assert EarlyStopping(monitor="val_accuracy").mode == "max"
    assert EarlyStopping(monitor="val_loss").mode == "min"
    x, y = _data()
    with pytest.raises(ValueError, match=r"monitor='val_loss' is not in the logs \['loss'\]"):
        _model().fit(x, y, epochs=2, verbose=0, callbacks=[EarlyStopping()])
    with pytest.raises(ValueError, match="patience must be an int"):
        EarlyStopping(patience=-1)


def test_model_checkpoint_save_best_only(tmp_path):
    x, y = _data()
    snaps = Snapshots()
    ckpt = ModelCheckpoint(tmp_path / "m-{epoch:02d}.safetensors", monitor="score",
                           save_best_only=True)
    model = _model()
    model.fit(x, y, epochs=4, verbose=0, callbacks=[Inject([2.0, 3.0, 1.0, 1.5]), snaps, ckpt])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m-01.safetensors", "m-03.safetensors"]
    best = load_model(tmp_path / "m-03.safetensors")
    for got, want in zip(best.get_weights(), snaps.weights[2]):
        np.testing.assert_array_equal(got, want)


def test_model_checkpoint_every_epoch_weights_only(tmp_path):
    x, y = _data()
    path = tmp_path / "w.safetensors"
    model = _model()
    model.fit(x, y, epochs=2, verbose=0, callbacks=[ModelCheckpoint(path, save_weights_only=True)])
    other = _model()
    other.load_weights(path)
    for got, want in zip(other.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(got, want)
    with pytest.raises(ValueError, match="without a seqlab model description"):
        load_model(path)


def test_model_checkpoint_unknown_placeholder(tmp_path):
    x, y = _data()
    ckpt = ModelCheckpoint(tmp_path / "m-{val_loss:.2f}.safetensors")
    with pytest.raises(ValueError, match=r"names \{val_loss\}, which is not in the logs"):
        _model().fit(x, y, epochs=1, verbose=0, callbacks=[ckpt])
