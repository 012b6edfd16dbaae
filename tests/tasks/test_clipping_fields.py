"""[training] clipnorm (each parameter's gradient, as Keras) and global_clipnorm (all
gradients together): defaults that keep the global clip every run had, the examples, and
which clip a TOML run applies (clip_grad_norm_ spied on)."""
import tomllib
from pathlib import Path

import pytest
import torch

from seqlab import tasks
from seqlab.config import Config

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def test_defaults_clip_the_global_norm_at_1():
    t = Config().training
    assert (t.clipnorm, t.global_clipnorm) == (0.0, 1.0)
    t = Config.from_dict({"training": {"clipnorm": 2, "global_clipnorm": 0}}).training
    assert (t.clipnorm, t.global_clipnorm) == (2.0, 0.0)


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.toml")), ids=lambda p: p.name)
def test_no_example_asks_for_a_per_parameter_clip(path):
    """Every example trains with the global clip it had (clipnorm used to mean it); an
    LBFGS fit has none on purpose (its line search needs the true gradient)."""
    training = tomllib.loads(path.read_text(encoding="utf-8")).get("training", {})
    assert "clipnorm" not in training
    cfg = Config.load(path)
    assert cfg.training.global_clipnorm > 0 or cfg.training.optimizer == "lbfgs"


@pytest.mark.parametrize("fields,expected", [
    ({}, ["global 1.0"]),
    ({"global_clipnorm": 0.5}, ["global 0.5"]),
    ({"clipnorm": 0.2, "global_clipnorm": 0.0}, ["each 0.2"]),
    ({"global_clipnorm": 0.0}, []),
])
def test_a_toml_run_applies_the_clips_it_names(tmp_path, helpers, monkeypatch, fields,
                                               expected):
    cfg = helpers.config(tmp_path, "forecast",
                         {"dataset": "periodic", "options": {"length": 80, "periods": [6]},
                          "window": 6, "val_fraction": 0.0, "test_fraction": 0.2},
                         {"cell": "rnn", "units": 3},
                         {"epochs": 1, "batch_size": 64, **fields})
    calls = []
    clip = torch.nn.utils.clip_grad_norm_

    def spy(params, max_norm, *args, **kwargs):
        params = list(params)
        calls.append((len(params), float(max_norm)))
        return clip(params, max_norm, *args, **kwargs)

    monkeypatch.setattr(torch.nn.utils, "clip_grad_norm_", spy)
    run, _ = tasks.train(cfg, verbose=False)
    _, _, model, _ = tasks.load(run.path)
    n = len(list(model.parameters()))
    kinds = []
    for size, max_norm in calls:          # one call per parameter, or one for them all
        kind = f"each {max_norm}" if size == 1 and n > 1 else f"global {max_norm}"
        assert size in (1, n)
        if kind not in kinds:
            kinds.append(kind)
    assert kinds == expected


def test_both_clips_at_once_are_refused_as_keras_does():
    from seqlab.errors import ConfigError
    with pytest.raises(ConfigError, match="clipnorm = 0.2.*global_clipnorm = 3.0"):
        Config.from_dict({"training": {"clipnorm": 0.2, "global_clipnorm": 3.0}})
