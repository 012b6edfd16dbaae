"""The NaN guard: the first non-finite loss or gradient stops training with a sentence;
weights on disk are never NaN/inf and the last good checkpoint stays resumable."""
import math
import warnings

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from seqlab import Sequential, layers, optimizers, tasks
from seqlab.cli import main
from seqlab.models.nan_guard import TrainingDiverged


def _model(optimizer="adam"):
    model = Sequential([layers.Dense(4, activation="tanh", input_shape=(3,)), layers.Dense(1)])
    model.compile(optimizer=optimizer, loss="mse")
    return model


def _data(n=64):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, 3)).astype("float32")
    return x, x.sum(axis=1, keepdims=True)


def test_sgd_at_lr_1e10_stops_with_the_sentence():
    x, y = _data()
    model = _model(optimizer=optimizers.SGD(learning_rate=1e10))
    with pytest.raises(TrainingDiverged) as info:
        model.fit(x, y, epochs=5, batch_size=8, verbose=0, seed=0)
    text = str(info.value)
    assert "training diverged at epoch 1, batch " in text
    assert "SGD learning rate 1e+10 too high" in text and "NaN/inf in the inputs" in text
    assert len(text.splitlines()) == 1
    for p in model.parameters():                 # the step that broke was not taken...
        assert torch.isfinite(p).all()           # ...so the weights stay finite


class _InfAt(Sequential):
    """A model whose loss becomes inf at one known (epoch, batch)."""

    when = (1, 2)

    def compute_loss(self, batch):
        total, count, logs = super().compute_loss(batch)
        if (self._epoch, self._batch) == self.when:
            total = total * float("inf")
        self._batch += 1
        return total, count, logs


def _inf_model():
    from seqlab.models.callbacks import Callback

    model = _InfAt([layers.Dense(1, input_shape=(3,))])
    model.compile(optimizer="adam", loss="mse")
    model._epoch = model._batch = 0

    class Count(Callback):
        def on_epoch_begin(self, epoch, logs=None):
            model._epoch, model._batch = epoch, 0
    return model, Count()


def test_inf_loss_at_a_known_batch_names_epoch_and_batch():
    x, y = _data()
    model, count = _inf_model()
    seen = []
    from seqlab.models.callbacks import Callback

    class Epochs(Callback):
        def on_epoch_end(self, epoch, logs=None):
            seen.append(epoch)
    with pytest.raises(TrainingDiverged, match=r"epoch 2, batch 3: the loss is inf"):
        model.fit(x, y, epochs=4, batch_size=8, verbose=0, seed=0, callbacks=[count, Epochs()])
    assert seen == [0]                           # the broken epoch is not ended, not logged


def test_stop_policy_warns_and_returns_the_good_epochs():
    x, y = _data()
    model, count = _inf_model()
    with pytest.warns(RuntimeWarning, match="epoch 2, batch 3"):
        history = model.fit(x, y, epochs=4, batch_size=8, verbose=0, seed=0,
                            callbacks=[count], nan_policy="stop")
    assert history.epoch == [0] and len(history.history["loss"]) == 1
    assert all(torch.isfinite(p).all() for p in model.parameters())


def test_ignore_policy_trains_on_and_bad_policy_is_refused():
    x, y = _data()
    model, count = _inf_model()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        history = model.fit(x, y, epochs=2, batch_size=8, verbose=0, seed=0,
                            callbacks=[count], nan_policy="ignore")
    assert math.isinf(history.history["loss"][1]) or math.isnan(history.history["loss"][1])
    with pytest.raises(ValueError, match="nan_policy must be one of"):
        model.fit(x, y, epochs=1, nan_policy="skip")


def test_predict_refuses_nan_inputs_naming_the_row():
    x, y = _data(20)
    model = _model()
    model.fit(x, y, epochs=1, verbose=0, seed=0)
    x[13, 1] = np.nan
    with pytest.raises(ValueError, match=r"NaN or inf \(input row 13\)"):
        model.predict(x, batch_size=8)
    x[13, 1] = 0.0
    assert np.isfinite(model.predict(x, batch_size=8)).all()


def test_seqlab_train_stops_keeps_the_last_good_checkpoint_and_resumes(
        tmp_path, small, monkeypatch, capsys):
    """The loss of the 3rd epoch's 2nd batch is made inf: exit 2 with one sentence, the
    checkpoint of epoch 2 intact and finite, no model.safetensors with NaN; once the
    cause is gone, --resume continues from epoch 2 and ends as an uninterrupted run."""
    _, straight = tasks.train(small(tmp_path, "straight"), verbose=False)
    classify = tasks.get("classify")
    build = classify.build_model
    calls = {"n": 0}

    def spoiled(*args):
        model = build(*args)
        plain = model.compute_loss

        def compute_loss(batch):
            total, count, logs = plain(batch)
            calls["n"] += 1
            if model.training and calls["n"] == steps_per_epoch * 2 + 2:
                total = total + float("nan")
            return total, count, logs
        model.compute_loss = compute_loss
        return model

    run_dir = tmp_path / "runs" / "bad"
    steps_per_epoch = _steps(tmp_path, small)
    monkeypatch.setattr(classify, "build_model", spoiled)
    cfg = small(tmp_path, "bad")
    cfg_path = tmp_path / "bad.toml"
    cfg_path.write_text(cfg.to_toml())
    assert main(["train", str(cfg_path), "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "training diverged at epoch 3, batch 2" in err
    assert "keeps its checkpoint of epoch 2" in err
    assert not (run_dir / "model.safetensors").exists()
    ckpt = load_file(str(run_dir / "checkpoint.safetensors"))
    assert all(torch.isfinite(v).all() for k, v in ckpt.items() if v.is_floating_point())
    monkeypatch.setattr(classify, "build_model", build)
    _, resumed = tasks.train(resume=run_dir, verbose=False)
    assert resumed == straight
    assert (run_dir / "history.csv").read_text() == \
        (tmp_path / "runs" / "straight" / "history.csv").read_text()
    weights = load_file(str(run_dir / "model.safetensors"))
    assert all(torch.isfinite(v).all() for v in weights.values() if v.is_floating_point())


def _steps(tmp_path, small):
    """Training batches per epoch of the small run (counted, not assumed)."""
    from seqlab.models.callbacks import Callback
    seen = []

    class Count(Callback):
        def on_batch_end(self, batch, logs=None):
            seen.append(batch)

        def on_epoch_end(self, epoch, logs=None):
            self.model.stop_training = True
    tasks.train(small(tmp_path, "count", epochs=1), callbacks=[Count()], verbose=False)
    return len(seen)


def test_run_refuses_to_write_non_finite_weights(tmp_path, small):
    from seqlab.errors import RunError
    run, _ = tasks.train(small(tmp_path, "done", epochs=1), verbose=False)
    model = torch.nn.Linear(2, 2)
    with torch.no_grad():
        model.weight[0, 0] = float("inf")
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    before = (run.path / "checkpoint.safetensors").read_bytes()
    with pytest.raises(RunError, match="NaN or inf .*weight"):
        run.save_checkpoint(model, opt, 1, [{"epoch": 1}, {"epoch": 2}])
    with pytest.raises(RunError, match="NaN or inf"):
        run.save_model(model)
    assert (run.path / "checkpoint.safetensors").read_bytes() == before
