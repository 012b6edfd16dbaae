"""Every examples/*.toml parses and names a registered dataset with valid loader options,
its own data file shipped under examples/data/, or the user's own file with its columns."""
from pathlib import Path

import pytest

from seqlab import datasets
from seqlab.config import Config

EXAMPLES = sorted((Path(__file__).resolve().parents[2] / "examples").glob("*.toml"))


def test_there_is_one_example_per_task():
    assert {Config.load(p).task for p in EXAMPLES} == {"classify", "forecast", "generate",
                                                       "seq2seq", "tag", "transcribe"}


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_example_config_is_valid(path):
    cfg = Config.load(path)
    assert cfg.name == path.stem
    if cfg.data.dataset == "file":
        root = Path(__file__).resolve().parents[2]
        named = [p for p in (cfg.data.path, cfg.data.test_path, cfg.data.val_path) if p]
        if not all((root / p).is_file() for p in named):  # the user's own file, not shipped
            assert cfg.data.path and cfg.data.text_column and cfg.data.label_column
            assert not cfg.data.options
    else:
        assert cfg.data.dataset in datasets.list()
        assert set(cfg.data.options) <= set(datasets.info(cfg.data.dataset).options)
    # the written copy reads back identically (what a run folder keeps)
    tmp = Config.from_dict(__import__("tomllib").loads(cfg.to_toml()))
    assert tmp == cfg
