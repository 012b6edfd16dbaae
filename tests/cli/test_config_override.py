"""Config.override: the "section.key=value" strings of the bench scripts' --set."""
import pytest

from seqlab.config import Config, ConfigError


def test_override_converts_to_the_field_type():
    cfg = Config()
    for item in ("training.batch_size=32", "training.clipnorm=5", "training.keep_best=true",
                 "model.kernel_sizes=[3, 5]", "training.lr_schedule=cosine"):
        cfg.override(item)
    t = cfg.training
    assert (t.batch_size, t.clipnorm, t.keep_best, t.lr_schedule) == (32, 5.0, True, "cosine")
    assert cfg.model.kernel_sizes == [3, 5]


@pytest.mark.parametrize("item", ["training.batch_size", "traning.epochs=3",
                                  "training.epoch=3", "epochs=3"])
def test_override_names_what_is_wrong(item):
    with pytest.raises(ConfigError, match="SECTION.KEY=VALUE"):
        Config().override(item)
