"""Run-folder safety tests: one small classify run the tests train, crash and resume."""
import importlib.util
from pathlib import Path

import pytest

_spec = importlib.util.spec_from_file_location(
    "seqlab_task_test_helpers", Path(__file__).resolve().parents[1] / "tasks" / "conftest.py")
_helpers = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_helpers)


def small_config(tmp_path, name, epochs=3, **training):
    """A classify run of a few seconds with dropout and shuffling (a resume must restore
    torch's RNG and the epoch order to match)."""
    path = tmp_path / "reviews.csv"
    if not path.exists():
        _helpers.sentiment_csv(path, n=120)
    return _helpers.config(tmp_path, "classify", {"dataset": "file", "path": str(path)},
                           {"cell": "gru", "units": 6, "embedding_dim": 6, "dropout": 0.3},
                           {"epochs": epochs, "batch_size": 16, "seed": 5, **training},
                           name=name)


@pytest.fixture(scope="session")
def small():
    return small_config
