"""A run stopped after any batch resumes at the next one: ``RunCheckpoint(every_batches=k)``
saves the position in the epoch (epoch, batch, running sums) with the weights, optimizer
and RNG states; the resumed fit takes the same remaining batches (same order: a function
of (seed, epoch)) and ends with the weights and history of the uninterrupted fit."""
import numpy as np
import pytest
import torch

from seqlab.config import Config
from seqlab.models.callbacks import Callback
from seqlab.models.checkpoints import RunCheckpoint
from seqlab.runs import Run


def _data(kind, n=96, seed=0):
    rng = np.random.default_rng(seed)
    if kind == "padded":
        x = rng.normal(size=(n, 6, 2)).astype("float32")
        return x, (x[:, :, 0].sum(1) > 0).astype("float32")
    xs = [rng.normal(size=(int(t), 2)).astype("float32") for t in rng.integers(2, 12, n)]
    return xs, np.array([float(s[:, 0].sum() > 0) for s in xs], dtype="float32")


class _StopAfter(Callback):
    """Ctrl-C after batch ``batch`` (counted from 1) of epoch ``epoch``."""

    def __init__(self, epoch, batch):
        super().__init__()
        self.epoch, self.batch, self.now = epoch, batch, 0

    def on_epoch_begin(self, epoch, logs=None):
        self.now = epoch

    def on_batch_end(self, batch, logs=None):
        if self.now == self.epoch and batch + 1 == self.batch:
            raise KeyboardInterrupt


@pytest.mark.parametrize("kind", ["padded", "lists"])
@pytest.mark.parametrize("epoch, batch", [(0, 2), (1, 4)])
def test_a_run_resumed_mid_epoch_ends_as_the_uninterrupted_one(tmp_path, small_classifier,
                                                               kind, epoch, batch):
    x, y = _data(kind)
    fit = dict(batch_size=16, epochs=3, verbose=0, seed=1, micro_batch=False)  # 6 batches
    torch.manual_seed(0)
    straight = small_classifier()
    history = straight.fit(x, y, **fit).history

    run = Run.create(Config(name="cut", runs_dir=str(tmp_path)))
    torch.manual_seed(0)
    with pytest.raises(KeyboardInterrupt):
        small_classifier().fit(x, y, callbacks=[RunCheckpoint(run, every_batches=2),
                                      _StopAfter(epoch, batch)], **fit)
    meta = run.checkpoint_meta()
    assert (meta["position"]["epoch"], meta["position"]["batch"]) == (epoch, batch)
    assert len(meta["history"]) == epoch
    torch.manual_seed(123)                  # another process: other initial weights
    resumed = small_classifier()
    seen = []

    class Count(Callback):
        def on_batch_end(self, i, logs=None):
            seen.append(i)

    again = resumed.fit(x, y, callbacks=[RunCheckpoint(run, resume=True, every_batches=2),
                                         Count()], **fit)
    assert seen[0] == batch                 # went on at the next batch, not the epoch's first
    assert len(seen) == 6 * fit["epochs"] - (6 * epoch + batch)
    for a, b in zip(straight.state_dict().values(), resumed.state_dict().values()):
        assert torch.equal(a, b)
    assert again.history == history         # the cut epoch's logs are the whole epoch's
    assert "position" not in run.checkpoint_meta()  # the last checkpoint: an epoch's end


def test_every_batches_must_be_a_positive_count(tmp_path):
    run = Run.create(Config(name="r", runs_dir=str(tmp_path)))
    with pytest.raises(ValueError, match="every_batches must be a positive integer"):
        RunCheckpoint(run, every_batches=0)
