"""seqlab.native: C kernels built once into seqlab's cache, atomically; None (and the
torch path) when they cannot be built or are turned off."""
import ctypes
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


@pytest.fixture
def small_source(tmp_path_factory):
    """A one-function C file: the build mechanics without the kernels' compile time."""
    src = tmp_path_factory.mktemp("src") / "answer.c"
    src.write_text("int seqlab_answer(void) { return 42; }\n")
    return src


@needs_cc
def test_built_once_into_the_cache_then_reused(fresh, monkeypatch, small_source):
    assert native.load(small_source).seqlab_answer() == 42
    built = sorted(p.name for p in (fresh / "native").iterdir())
    assert len(built) == 1 and built[0].startswith("answer-") and built[0].endswith(".so")
    monkeypatch.setattr(native, "_loaded", {})  # a new process: the file is found, not rebuilt
    monkeypatch.setattr(subprocess, "run", lambda *a, **k: pytest.fail("compiled again"))
    assert native.load(small_source) is not None
    assert sorted(p.name for p in (fresh / "native").iterdir()) == built


@needs_cc
def test_a_changed_source_gets_its_own_library(fresh, small_source):
    assert native.load(small_source) is not None
    small_source.write_text(small_source.read_text() + "/* changed */\n")
    native._loaded.clear()
    assert native.load(small_source) is not None
    assert len(list((fresh / "native").glob("answer-*.so"))) == 2


@needs_cc
def test_the_shared_headers_are_included_and_part_of_the_hash(fresh, monkeypatch,
                                                              tmp_path_factory):
    """A kernel may include seqlab's headers (vector16.h); a changed header rebuilds it."""
    include, src_dir = tmp_path_factory.mktemp("include"), tmp_path_factory.mktemp("src")
    monkeypatch.setattr(native, "_INCLUDE", include)
    (include / "shared.h").write_text("#define ANSWER 42\n")
    src = src_dir / "uses_header.c"
    src.write_text('#include "shared.h"\nint seqlab_answer(void) { return ANSWER; }\n')
    assert native.load(src).seqlab_answer() == 42
    (include / "shared.h").write_text("#define ANSWER 43\n")
    native._loaded.clear()
    assert native.load(src).seqlab_answer() == 43
    assert len(list((fresh / "native").glob("uses_header-*.so"))) == 2


@needs_cc
def test_signatures_are_set_at_the_first_load(fresh, tmp_path_factory):
    src = tmp_path_factory.mktemp("src") / "half.c"
    src.write_text("float seqlab_half(float x) { return x / 2; }\n")
    lib = native.load(src, {"seqlab_half": ([ctypes.c_float], ctypes.c_float)})
    assert lib.seqlab_half(3.0) == 1.5                 # float in, float out (not int)
    assert native.load(src) is lib                     # cached, types kept


def test_no_compiler_means_the_torch_path_with_a_reason(fresh, monkeypatch):
    monkeypatch.setenv("CC", "/bin/false")             # a "compiler" that always fails
    x = torch.randn(1, 6, 3)
    layer = LSTM(4, return_sequences=True).eval()
    with torch.inference_mode():
        y = layer(x)
        layer.use_fused = False
        y_loop = layer(x)
    assert lstm_scan.kernel() is None
    assert "could not compile scans.c" in native.why_not(lstm_scan.SOURCE)
    assert list((fresh / "native").iterdir()) == []    # no half-written library left
    torch.testing.assert_close(y, y_loop, rtol=0, atol=1e-6)


def test_turned_off_by_the_environment(fresh, monkeypatch):
    monkeypatch.setenv("SEQLAB_NATIVE", "0")
    assert native.load(lstm_scan.SOURCE) is None
    assert native.why_not(lstm_scan.SOURCE) == "SEQLAB_NATIVE=0"
    assert not (fresh / "native").exists()
