"""Reuse the task tests' data writers (tests/tasks/conftest.py)."""
import importlib.util
from pathlib import Path

import pytest

_spec = importlib.util.spec_from_file_location(
    "seqlab_task_test_helpers", Path(__file__).resolve().parents[1] / "tasks" / "conftest.py")
_helpers = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_helpers)


@pytest.fixture
def helpers():
    return _helpers
