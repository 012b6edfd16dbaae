"""Freed host memory kept for reuse (models/host_memory.py): after ``fit`` a 24 MiB buffer
that is freed stays in the process, ready for the next batch (glibc gives it back to the
operating system by default, so the next batch touches fresh pages); ``SEQLAB_MALLOC=default``
leaves glibc as it is."""
import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc mallopt")

CHILD = r"""
import os, numpy as np, torch, seqlab
from seqlab import layers
m = seqlab.Sequential([layers.Dense(1)])
m.compile(optimizer="sgd", loss="mse")
m.fit(np.zeros((4, 2), np.float32), np.zeros((4, 1), np.float32), epochs=1, verbose=0)
def rss():
    return int(open("/proc/self/statm").read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
r0 = rss()
a = torch.empty(6 << 20).fill_(1.0)   # 24 MiB, every page touched
del a
print((rss() - r0) / 2**20)           # MiB still resident after the free
"""


def resident_after_free(mode: str) -> float:
    env = {**os.environ, "SEQLAB_MALLOC": mode}
    out = subprocess.run([sys.executable, "-c", CHILD], env=env, capture_output=True,
                         text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def test_fit_keeps_freed_memory_and_default_leaves_glibc():
    from seqlab.models import host_memory
    if not host_memory.keep_freed_memory():
        pytest.skip("not glibc: mallopt unavailable")
    assert resident_after_free("keep") > 20       # kept for the next batch
    assert resident_after_free("default") < 4     # handed back: fresh pages next time


def test_a_users_own_glibc_setting_is_left_alone(monkeypatch):
    from seqlab.models import host_memory
    monkeypatch.setattr(host_memory, "_state", {"done": False, "kept": False})
    monkeypatch.setenv("MALLOC_MMAP_THRESHOLD_", "1000000000")
    assert host_memory.keep_freed_memory() is False
