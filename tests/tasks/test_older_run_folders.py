"""A run folder written before [model] reset_after and [training] global_clipnorm existed
opens with the values it trained with: the cuDNN-form GRU, clipnorm as the global norm."""
import json

import pytest

from seqlab import tasks
from seqlab.runs import Run


def test_an_older_gru_run_loads_and_evaluates_as_it_trained(tmp_path, helpers):
    cfg = helpers.config(tmp_path, "forecast",
                         {"dataset": "periodic", "options": {"length": 80, "periods": [6]},
                          "window": 6, "val_fraction": 0.0, "test_fraction": 0.2},
                         {"cell": "gru", "units": 4, "reset_after": True},
                         {"epochs": 1, "global_clipnorm": 5.0})
    run, _ = tasks.train(cfg, verbose=False)
    saved = json.loads((run.path / "metrics.json").read_text())
    # the config.toml an older seqlab wrote: no reset_after, clipnorm meant the global norm
    toml = run.path / "config.toml"
    lines = [l for l in toml.read_text().splitlines()
             if not l.startswith(("reset_after", "global_clipnorm", "clipnorm"))]
    lines.insert(lines.index("[training]") + 1, "clipnorm = 5.0")
    toml.write_text("\n".join(lines) + "\n")

    older = Run.open(run.path).config
    assert older.model.reset_after is True
    assert (older.training.clipnorm, older.training.global_clipnorm) == (0.0, 5.0)
    assert tasks.evaluate(run.path)["mae"] == pytest.approx(saved["mae"])


def test_a_current_run_keeps_its_fields(tmp_path, helpers):
    cfg = helpers.config(tmp_path, "forecast", {"dataset": "periodic", "window": 6},
                         {"cell": "gru", "units": 4}, {"epochs": 1, "clipnorm": 0.5})
    run = Run.create(cfg)
    again = Run.open(run.path).config
    assert again.model.reset_after is False
    # clipnorm alone means the per-parameter clip only (Keras refuses both at once)
    assert (again.training.clipnorm, again.training.global_clipnorm) == (0.5, 0.0)
