"""examples/cnn_digits.py: the small CNN reaches the 97% bar on held-out digits, fast, and
draws its kernels and feature maps. (Full run: python examples/cnn_digits.py.)"""
import importlib.util
from pathlib import Path

import numpy as np
import pytest

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "cnn_digits.py"


@pytest.fixture(scope="module")
def cnn():
    pytest.importorskip("sklearn")
    spec = importlib.util.spec_from_file_location("cnn_digits_example", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_split_is_stratified_20_percent(cnn):
    x_tr, y_tr, x_te, y_te = cnn.load_data(seed=0)
    assert x_tr.shape[1:] == (8, 8, 1) and len(x_te) == 360 and len(x_tr) == 1437
    assert 0.0 <= x_tr.min() and x_tr.max() <= 1.0
    assert set(np.bincount(y_te)) <= {35, 36, 37}  # every digit ~10% of the test set


def test_cnn_reaches_97_percent_on_held_out_digits(cnn, tmp_path):
    model, accuracy, history, (_, _, x_te, y_te) = cnn.train(epochs=15, seed=0)
    print(f"test accuracy {accuracy:.4f}")
    assert accuracy >= 0.97
    assert history.history["loss"][-1] < 0.5 * history.history["loss"][0]
    assert model.count_params() == 13_706  # 160 + 4,640 + 8,256 + 650
    cnn.plot_kernels(model, tmp_path / "kernels.png")
    cnn.plot_feature_maps(model, x_te[:2], y_te[:2], tmp_path / "maps.png")
    for name in ("kernels.png", "maps.png"):
        assert (tmp_path / name).read_bytes()[:4] == b"\x89PNG"
