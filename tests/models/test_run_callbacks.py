"""The run-folder callbacks with the Python API: RunCheckpoint (resume is exact),
KeepBest, EpochMetrics and PopulationStatistics."""
import numpy as np
import pytest
import torch

import seqlab
from seqlab import layers
from seqlab.config import Config
from seqlab.models.adapters import ArrayData
from seqlab.models.callbacks import Callback, EpochMetrics, PopulationStatistics
from seqlab.models.checkpoints import KeepBest, RunCheckpoint
from seqlab.runs import Run


def _data(n=96, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 6, 2)).astype("float32")
    return x, (x[:, :, 0].sum(1) > 0).astype("float32")


class _StopAt(Callback):
    def __init__(self, epoch):
        super().__init__()
        self.epoch = epoch

    def on_epoch_end(self, epoch, logs=None):
        if epoch == self.epoch:
            raise KeyboardInterrupt


def test_resume_after_an_interruption_ends_exactly_as_an_uninterrupted_fit(tmp_path,
                                                                          small_classifier):
    x, y = _data()
    fit = dict(batch_size=16, epochs=4, verbose=0, seed=1)
    torch.manual_seed(0)
    straight = small_classifier()
    history = straight.fit(x, y, callbacks=[RunCheckpoint(Run.create(
        Config(name="straight", runs_dir=str(tmp_path))))], **fit).history

    run = Run.create(Config(name="cut", runs_dir=str(tmp_path)))
    torch.manual_seed(0)
    with pytest.raises(KeyboardInterrupt):
        small_classifier().fit(x, y, callbacks=[RunCheckpoint(run), _StopAt(1)], **fit)
    assert [row["epoch"] for row in run.read_history()] == [1, 2]
    torch.manual_seed(123)                  # another process: other initial weights
    resumed = small_classifier()
    checkpoint = RunCheckpoint(run, resume=True)
    again = resumed.fit(x, y, callbacks=[checkpoint], **fit)
    assert again.epoch == [0, 1, 2, 3] and again.history == history
    for a, b in zip(straight.state_dict().values(), resumed.state_dict().values()):
        assert torch.equal(a, b)
    assert [row["loss"] for row in checkpoint.rows] == history["loss"]


def test_keep_best_puts_back_the_best_epoch_and_falls_back_to_the_training_loss(small_classifier):
    x, y = _data()
    scores = iter([0.2, 0.9, 0.5])
    weights = []

    class Record(Callback):
        def on_epoch_end(self, epoch, logs=None):
            weights.append([w.copy() for w in self.model.get_weights()])

    model = small_classifier()
    keep = KeepBest("val_score", mode="max")
    model.fit(x, y, epochs=3, verbose=0, seed=0,
              callbacks=[EpochMetrics(lambda m: {"score": next(scores)}), keep, Record()])
    assert keep.best[1] == 2
    for a, b in zip(model.get_weights(), weights[1]):
        np.testing.assert_array_equal(a, b)
    fallback = KeepBest("val_score")
    assert fallback.score({"loss": 0.25}) == -0.25           # no validation: lowest loss wins
    with pytest.raises(ValueError, match="neither monitor='val_score' nor fallback='loss'"):
        fallback.score({"accuracy": 1.0})


def test_population_statistics_are_the_exact_statistics_of_the_final_weights():
    rng = np.random.default_rng(0)
    x = (rng.normal(size=(64, 3)) * 3 + 5).astype("float32")
    model = seqlab.Sequential([layers.Dense(4), layers.BatchNormalization(), layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    source = ArrayData(torch.as_tensor(x), torch.as_tensor(x[:, :1]))
    model.fit(x, x[:, :1], epochs=2, batch_size=16, verbose=0, seed=0,
              callbacks=[PopulationStatistics(source, batch_size=16)])
    dense, norm = model.layers[0], model.layers[1]
    with torch.no_grad():
        h = dense(torch.as_tensor(x))                                    # (N, 4)
    torch.testing.assert_close(norm.moving_mean, h.mean(0), atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(norm.moving_variance, h.var(0, unbiased=False),
                               atol=1e-3, rtol=1e-3)


def test_learning_rate_callbacks_set_the_rate_of_each_epoch_in_fit(small_classifier):
    from seqlab.models.callbacks import LearningRateScheduler, ReduceLROnPlateau, cosine_decay
    x, y = _data(32)
    rates = []

    class Rate(Callback):
        def on_epoch_begin(self, epoch, logs=None):
            rates.append(self.model.optimizer.param_groups[0]["lr"])

    model = small_classifier()
    model.compile(optimizer=seqlab.optimizers.SGD(learning_rate=0.1), loss="mse")
    val = iter([1.0, 0.5, 0.6, 0.7, 0.8, 0.9, 0.4])     # no improvement at epochs 3-6
    model.fit(x, y, epochs=7, verbose=0, seed=0,
              callbacks=[EpochMetrics(lambda m: {"loss": next(val)}),
                         ReduceLROnPlateau(factor=0.5, patience=2, min_lr=0.03), Rate()])
    assert rates == pytest.approx([0.1, 0.1, 0.1, 0.1, 0.05, 0.05, 0.03])
    rates.clear()
    model.fit(x, y, epochs=4, verbose=0, seed=0,
              callbacks=[LearningRateScheduler(cosine_decay(0.1, 4)), Rate()])
    assert rates == pytest.approx([0.1, 0.1 * 0.5 * (1 + 2 ** -0.5), 0.05,
                                   0.1 * 0.5 * (1 - 2 ** -0.5)])
