"""[training] lr_schedule: the rate of each epoch, a function of the epoch and the history."""
import math

import pytest

from seqlab.config import Config, ConfigError
from seqlab.runs import learning_rate


def _cfg(**training):
    return Config.from_dict({"task": "classify", "data": {"dataset": "gunpoint"},
                             "training": training})


def test_constant_and_cosine():
    assert learning_rate(_cfg(learning_rate=0.01), 7) == 0.01
    cfg = _cfg(learning_rate=0.01, lr_schedule="cosine", epochs=10)
    assert learning_rate(cfg, 0) == 0.01
    assert learning_rate(cfg, 5) == pytest.approx(0.005)
    assert learning_rate(cfg, 9) == pytest.approx(0.005 * (1 + math.cos(math.pi * 0.9)))


def test_plateau_halves_after_patience_epochs_without_a_lower_loss_down_to_the_floor():
    cfg = _cfg(learning_rate=1e-3, lr_schedule="plateau", lr_patience=2,
               min_learning_rate=3e-4)
    losses = [1.0, 0.9, 0.95, 0.92, 0.91, 0.8, 0.85, 0.86, 0.87, 0.88, 0.89]
    history = [{"epoch": i + 1, "loss": v} for i, v in enumerate(losses)]
    rates = [learning_rate(cfg, e, history) for e in range(len(losses) + 1)]
    # epochs 3, 4 do not improve on 0.9 -> halved from epoch 4; 0.8 at epoch 6 resets;
    # epochs 7, 8 do not improve -> halved again from epoch 8, then floored at 3e-4.
    assert rates[:4] == [1e-3] * 4
    assert rates[4:8] == [5e-4] * 4
    assert rates[8:10] == [3e-4] * 2 and rates[10:] == [3e-4] * 2
    # It depends only on the epochs before: a resumed run gets the same rates.
    assert learning_rate(cfg, 5, history[:5]) == rates[5]


def test_plateau_patience_must_be_positive():
    with pytest.raises(ConfigError, match="lr_patience must be >= 1"):
        _cfg(lr_schedule="plateau", lr_patience=0)
    with pytest.raises(ConfigError, match="lr_schedule"):
        _cfg(lr_schedule="step")
