"""Suite-wide test settings.

Learning tests train a model for real and assert a quality bar. Their bars must hold on any
CPU, thread count and kernel choice, so they carry the ``learning`` marker and
``make test-kernels`` runs them again with torch's portable kernels
(``ATEN_CPU_CAPABILITY=default``) and two threads: a bar that only held on one machine's
rounding fails there too. The marker is given by module below, so a new learning test
module needs one line here.
"""
import importlib.util
from pathlib import Path

import pytest

LEARNING = (
    "tasks/", "examples/", "embeddings/",
    "basics/test_bptt_numpy.py", "basics/test_perceptron_logistic.py",
    "cli/test_resume.py", "cli/test_examples.py", "cli/test_demo.py",
    "data/test_bucketing_model.py", "inspect/test_gradients.py",
    "layers/test_transformer.py", "layers/recurrent/test_recurrent_masks_states.py",
    "models/test_autoencoders.py", "models/test_fit.py", "models/test_transformer_models.py",
    "models/test_truncated_bptt.py",
)
_ROOT = Path(__file__).resolve().parent


def pytest_collection_modifyitems(items):
    for item in items:
        try:
            rel = Path(item.fspath).resolve().relative_to(_ROOT).as_posix()
        except ValueError:  # doctests under seqlab/
            continue
        if rel.startswith(LEARNING):
            item.add_marker(pytest.mark.learning)


# The task tests' data writers and config helper (tests/tasks/conftest.py), for every test.
_spec = importlib.util.spec_from_file_location("seqlab_task_test_helpers",
                                               _ROOT / "tasks" / "conftest.py")
_helpers = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_helpers)


@pytest.fixture
def helpers():
    """tests/tasks/conftest.py as a module: sentiment_csv(), config(), ..."""
    return _helpers
