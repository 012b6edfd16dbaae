"""Ctrl-C after an epoch leaves a resumable run that ends exactly like an uninterrupted one."""
import json

import pytest

from seqlab import tasks
from seqlab.cli import main
from seqlab.runs import Run
from seqlab.tasks import TrainingInterrupted


def _cfg(tmp_path, helpers, name):
    path = tmp_path / "reviews.csv"
    if not path.exists():
        helpers.sentiment_csv(path, n=200)
    # dropout + shuffling: the resumed run must restore torch's RNG and the epoch order
    return helpers.config(tmp_path, "classify", {"dataset": "file", "path": str(path)},
                          {"cell": "lstm", "units": 8, "embedding_dim": 8, "dropout": 0.3},
                          {"epochs": 4, "batch_size": 16, "seed": 3}, name=name)


def test_interrupt_then_resume_matches_uninterrupted(tmp_path, helpers):
    _, straight = tasks.train(_cfg(tmp_path, helpers, "straight"), verbose=False)

    def ctrl_c(epoch, logs):
        if epoch == 1:
            raise KeyboardInterrupt

    cfg = _cfg(tmp_path, helpers, "interrupted")
    with pytest.raises(TrainingInterrupted, match="after 2 completed epoch"):
        tasks.train(cfg, callbacks=[ctrl_c], verbose=False)
    run_dir = tmp_path / "runs" / "interrupted"
    assert Run.open(run_dir).checkpoint_meta()["epoch"] == 1
    assert not (run_dir / "metrics.json").exists()

    # continue from the command line, as a user would
    assert main(["train", "--resume", str(run_dir), "--quiet"]) == 0
    resumed = json.loads((run_dir / "metrics.json").read_text())
    assert resumed["epochs"] == straight["epochs"] == 4
    assert resumed["accuracy"] == straight["accuracy"]
    assert resumed["macro_f1"] == straight["macro_f1"]
    # the per-epoch losses are bit-identical too
    h1 = (tmp_path / "runs" / "straight" / "history.csv").read_text()
    h2 = (run_dir / "history.csv").read_text()
    assert h1 == h2


def test_rerun_reproduces_and_keep_best_survives_resume(tmp_path, helpers):
    def cfg(name, keep_best=True):
        c = _cfg(tmp_path, helpers, name)
        c.training.keep_best = keep_best
        c.training.epochs = 3
        return c

    _, first = tasks.train(cfg("a"), verbose=False)
    _, again = tasks.train(cfg("b"), verbose=False)
    assert first == again                        # same config and seed: same metrics
    assert "baseline_cpu_seconds" not in first   # stopwatch readings go to timings.json
    assert 1 <= first["best_epoch"] <= 3

    def ctrl_c(epoch, logs):
        if epoch == 0:
            raise KeyboardInterrupt

    with pytest.raises(TrainingInterrupted):
        tasks.train(cfg("c"), callbacks=[ctrl_c], verbose=False)
    _, resumed = tasks.train(resume=tmp_path / "runs" / "c", verbose=False)
    assert resumed == first


def test_keep_best_without_validation_split_keeps_the_lowest_training_loss(tmp_path, helpers,
                                                                          monkeypatch):
    """The best epoch is built, not hoped for: after epoch 3 the weights are blown up, so
    epochs 4-5 have a far higher training loss on any CPU; the kept weights must be those
    of the epoch with the lowest training loss, snapshotted when it ended."""
    import torch
    from safetensors.torch import load_file

    classify = tasks.get("classify")
    built = []
    build = classify.build_model
    monkeypatch.setattr(classify, "build_model", lambda *a: built.append(build(*a)) or built[-1])
    snapshots = {}

    def snapshot_then_spoil(epoch, logs):
        model = built[-1]
        snapshots[epoch + 1] = {k: v.detach().clone() for k, v in model.state_dict().items()}
        if epoch == 2:  # after epoch 3: every weight x 30 with random signs
            gen = torch.Generator().manual_seed(0)
            with torch.no_grad():
                for p in model.parameters():
                    p.mul_(30 * (torch.randint(0, 2, p.shape, generator=gen) * 2 - 1))

    cfg = _cfg(tmp_path, helpers, "no_val")
    cfg.data.val_fraction = 0.0
    cfg.training.keep_best = True
    cfg.training.epochs = 5
    run, metrics = tasks.train(cfg, callbacks=[snapshot_then_spoil], verbose=False)
    losses = [row["loss"] for row in run.checkpoint_meta()["history"]]
    assert min(losses[3:]) > 2 * max(losses[:3])   # the premise, with a wide margin
    best = 1 + losses.index(min(losses))
    assert best <= 3 and metrics["best_epoch"] == best
    saved = load_file(str(run.path / "model.safetensors"))
    assert saved.keys() == snapshots[best].keys()
    for key, value in snapshots[best].items():
        assert torch.equal(saved[key], value), key


def test_ctrl_c_mid_epoch_with_checkpoint_every_resumes_at_the_next_batch(tmp_path, helpers):
    from seqlab.models.callbacks import Callback

    def cfg(name):
        c = _cfg(tmp_path, helpers, name)
        c.training.epochs, c.training.checkpoint_every = 2, 3
        return c
    _, straight = tasks.train(cfg("straight"), verbose=False)

    class CtrlC(Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.epoch = epoch

        def on_batch_end(self, batch, logs=None):
            if (self.epoch, batch) == (1, 5):  # the 6th batch of epoch 2: a checkpoint
                raise KeyboardInterrupt

    with pytest.raises(TrainingInterrupted, match="after 1 completed epoch.* and 6 batch"):
        tasks.train(cfg("cut"), callbacks=[CtrlC()], verbose=False)
    run_dir = tmp_path / "runs" / "cut"
    assert main(["train", "--resume", str(run_dir), "--quiet"]) == 0
    assert json.loads((run_dir / "metrics.json").read_text()) == straight
    assert (run_dir / "history.csv").read_text() == \
        (tmp_path / "runs" / "straight" / "history.csv").read_text()
