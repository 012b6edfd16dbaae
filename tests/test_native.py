"""seqlab.native: C kernels built once into seqlab's cache, atomically; None (and the
torch path) when they cannot be built or are turned off."""
import subprocess

import pytest
import torch

from seqlab import native
from seqlab.layers.recurrent import lstm_scan
from seqlab.layers.recurrent.layers import LSTM


@pytest.fixture
def fresh(monkeypatch, tmp_path):
    """An empty cache directory and no kernel loaded in this process."""
    monkeypatch.setenv("SEQLAB_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(native, "_loaded", {})
    monkeypatch.setattr(native, "_why", {})
    return tmp_path


needs_cc = pytest.mark.skipif(native.compiler() is None, reason="no C compiler here")


@needs_cc
def test_built_once_into_the_cache_then_reused(fresh, monkeypatch):
    assert native.load(lstm_scan.SOURCE) is not None
    built = sorted(p.name for p in (fresh / "native").iterdir())
    assert len(built) == 1 and built[0].startswith("lstm_scan-") and built[0].endswith(".so")
    monkeypatch.setattr(native, "_loaded", {})  # a new process: the file is found, not rebuilt
    monkeypatch.setattr(subprocess, "run", lambda *a, **k: pytest.fail("compiled again"))
    assert native.load(lstm_scan.SOURCE) is not None
    assert sorted(p.name for p in (fresh / "native").iterdir()) == built


@needs_cc
def test_a_changed_source_gets_its_own_library(fresh, tmp_path_factory):
    src = tmp_path_factory.mktemp("src") / "lstm_scan.c"
    src.write_text(lstm_scan.SOURCE.read_text())
    assert native.load(src) is not None
    src.write_text(lstm_scan.SOURCE.read_text() + "\n/* changed */\n")
    native._loaded.clear()
    assert native.load(src) is not None
    assert len(list((fresh / "native").glob("lstm_scan-*.so"))) == 2


def test_no_compiler_means_the_torch_path_with_a_reason(fresh, monkeypatch):
    monkeypatch.setenv("CC", "/bin/false")             # a "compiler" that always fails
    x = torch.randn(1, 6, 3)
    layer = LSTM(4, return_sequences=True).eval()
    with torch.inference_mode():
        y = layer(x)
        layer.use_fused = False
        y_loop = layer(x)
    assert lstm_scan.kernel() is None
    assert "could not compile lstm_scan.c" in native.why_not(lstm_scan.SOURCE)
    assert list((fresh / "native").iterdir()) == []    # no half-written library left
    torch.testing.assert_close(y, y_loop, rtol=0, atol=1e-6)


def test_turned_off_by_the_environment(fresh, monkeypatch):
    monkeypatch.setenv("SEQLAB_NATIVE", "0")
    assert native.load(lstm_scan.SOURCE) is None
    assert native.why_not(lstm_scan.SOURCE) == "SEQLAB_NATIVE=0"
    assert not (fresh / "native").exists()
