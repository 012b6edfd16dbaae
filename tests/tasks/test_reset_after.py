"""[model] reset_after: a TOML run builds the GRU form it names (the course's by default)."""
import pytest
import torch

from seqlab.config import Config
from seqlab.layers.recurrent import GRU
from seqlab.tasks.common import recurrent


def gru_from_toml(tmp_path, line: str):
    path = tmp_path / "gru.toml"
    path.write_text(f'task = "classify"\n[model]\ncell = "gru"\nunits = 128\n{line}\n',
                    encoding="utf-8")
    layer = recurrent(Config.load(path).model)
    layer(torch.zeros(2, 5, 64))                                   # 64 features
    return layer


@pytest.mark.parametrize("line,reset_after,params", [
    ("", False, 74_112),                    # the default is GRU()'s: the course's form
    ("reset_after = false", False, 74_112),  # 3 (D H + H H + H)
    ("reset_after = true", True, 74_496),    # 3 (D H + H H + 2 H): the cuDNN / Keras 3 form
])
def test_toml_reset_after_builds_that_gru(tmp_path, line, reset_after, params):
    layer = gru_from_toml(tmp_path, line)
    assert isinstance(layer, GRU) and layer.reset_after is reset_after
    assert layer.count_params() == params
    assert tuple(layer.cell.bias.shape) == ((2, 384) if reset_after else (384,))


def test_reset_after_must_be_a_boolean(tmp_path):
    from seqlab.errors import ConfigError
    with pytest.raises(ConfigError, match=r"\[model\] reset_after must be true or false"):
        gru_from_toml(tmp_path, 'reset_after = "yes"')
