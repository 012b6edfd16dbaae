"""[training] clipnorm (each parameter, as Keras) and global_clipnorm (all together)."""
import pytest

from seqlab.config import Config, ConfigError
from seqlab.models.recurrent import Forecaster
from seqlab.tasks import compile_for
from seqlab.tasks.common import recurrent


def _cfg(**training):
    return Config.from_dict({"task": "forecast", "data": {"dataset": "airline"},
                             "training": training})


def test_one_clip_or_the_other():
    t = _cfg().training
    assert (t.clipnorm, t.global_clipnorm) == (0.0, 1.0)        # the default: global norm 1
    t = _cfg(clipnorm=5.0).training
    assert (t.clipnorm, t.global_clipnorm) == (5.0, 0.0)        # clipnorm alone: per parameter
    t = _cfg(global_clipnorm=5.0).training
    assert (t.clipnorm, t.global_clipnorm) == (0.0, 5.0)
    with pytest.raises(ConfigError, match="set one of them > 0 and the other to 0"):
        _cfg(clipnorm=1.0, global_clipnorm=1.0)
    cfg = _cfg()
    cfg.override("training.clipnorm=2")
    assert (cfg.training.clipnorm, cfg.training.global_clipnorm) == (2.0, 0.0)
    cfg.override("training.global_clipnorm=3")
    assert (cfg.training.clipnorm, cfg.training.global_clipnorm) == (0.0, 3.0)


def test_a_run_folder_config_written_before_global_clipnorm_still_loads(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text(_cfg().to_toml().replace("global_clipnorm = 1.0\n", "")
                    .replace("clipnorm = 0.0", "clipnorm = 1.0"), encoding="utf-8")
    assert "global_clipnorm" not in path.read_text()
    assert Config.load(path).training.clipnorm == 1.0


@pytest.mark.parametrize("training,expected", [({}, (None, 1.0)),
                                               ({"clipnorm": 0.5}, (0.5, None))])
def test_the_run_compiles_the_model_with_its_clip(training, expected):
    cfg = _cfg(**training)
    model = Forecaster(cfg, 1, recurrent=recurrent)
    compile_for(model, cfg)
    assert (model.clipnorm, model.global_clipnorm) == expected
