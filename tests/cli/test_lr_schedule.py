"""[training] lr_schedule: the rate of each epoch, a function of the epoch and the history
(the callbacks ``seqlab train`` gives ``Model.fit``)."""
import math

import pytest
import torch

from seqlab.config import Config, ConfigError
from seqlab.models.callbacks import History
from seqlab.tasks import schedule_callbacks


def _cfg(**training):
    return Config.from_dict({"task": "classify", "data": {"dataset": "gunpoint"},
                             "training": training})


class _Model:
    """What a schedule callback touches: an optimizer and fit's History."""

    def __init__(self, rate):
        self.optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=rate)
        self.history = History()


def _rates(cfg, losses, epochs, resume_at=None):
    """The rate at the start of each epoch while ``losses`` are logged one per epoch;
    with ``resume_at``, a fresh model and callbacks take over there (history restored)."""
    def start(first):
        model = _Model(cfg.training.learning_rate)
        for e in range(first):
            model.history.on_epoch_end(e, {"loss": losses[e]})
        cbs = schedule_callbacks(cfg)
        for cb in cbs:
            cb.set_model(model)
            cb.on_train_begin()
        return model, cbs
    model, cbs = start(0)
    rates = []
    for epoch in range(epochs):
        if epoch == resume_at:
            model, cbs = start(epoch)
        for cb in cbs:
            cb.on_epoch_begin(epoch)
        rates.append(model.optimizer.param_groups[0]["lr"])
        if epoch < len(losses):
            model.history.on_epoch_end(epoch, {"loss": losses[epoch]})
    return rates


def test_constant_and_cosine():
    assert _rates(_cfg(learning_rate=0.01), [], 8)[7] == 0.01
    rates = _rates(_cfg(learning_rate=0.01, lr_schedule="cosine", epochs=10), [], 10)
    assert rates[0] == 0.01
    assert rates[5] == pytest.approx(0.005)
    assert rates[9] == pytest.approx(0.005 * (1 + math.cos(math.pi * 0.9)))


def test_plateau_halves_after_patience_epochs_without_a_lower_loss_down_to_the_floor():
    cfg = _cfg(learning_rate=1e-3, lr_schedule="plateau", lr_patience=2,
               min_learning_rate=3e-4)
    losses = [1.0, 0.9, 0.95, 0.92, 0.91, 0.8, 0.85, 0.86, 0.87, 0.88, 0.89]
    rates = _rates(cfg, losses, len(losses) + 1)
    # epochs 3, 4 do not improve on 0.9 -> halved from epoch 4; 0.8 at epoch 6 resets;
    # epochs 7, 8 do not improve -> halved again from epoch 8, then floored at 3e-4.
    assert rates[:4] == [1e-3] * 4
    assert rates[4:8] == [5e-4] * 4
    assert rates[8:10] == [3e-4] * 2 and rates[10:] == [3e-4] * 2
    # It depends only on the epochs before: a resumed run gets the same rates.
    assert _rates(cfg, losses, len(losses) + 1, resume_at=5) == rates


def test_plateau_patience_must_be_positive():
    with pytest.raises(ConfigError, match="lr_patience must be >= 1"):
        _cfg(lr_schedule="plateau", lr_patience=0)
    with pytest.raises(ConfigError, match="lr_schedule"):
        _cfg(lr_schedule="step")
