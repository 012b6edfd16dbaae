"""Freed host memory kept for reuse (models/host_memory.py): after ``fit`` a large buffer
freed and allocated again costs no new page faults (glibc), and ``SEQLAB_MALLOC=default``
leaves glibc alone."""
import resource
import subprocess
import sys

import pytest

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc mallopt")

CHILD = r"""
import resource, sys, numpy as np, torch, seqlab
from seqlab import layers
m = seqlab.Sequential([layers.Dense(1)])
m.compile(optimizer="sgd", loss="mse")
m.fit(np.zeros((4, 2), np.float32), np.zeros((4, 1), np.float32), epochs=1, verbose=0)
torch.empty(4 << 20).fill_(1.0)      # 16 MiB touched, then freed
f0 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(5):
    torch.empty(4 << 20).fill_(1.0)  # the same size again
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - f0)
"""


def faults(env_value: str) -> int:
    import os
    env = {**os.environ, "SEQLAB_MALLOC": env_value}
    out = subprocess.run([sys.executable, "-c", CHILD], env=env, capture_output=True,
                         text=True, check=True)
    return int(out.stdout.strip().splitlines()[-1])


def test_fit_keeps_freed_memory_and_default_leaves_glibc():
    from seqlab.models import host_memory
    if not host_memory.keep_freed_memory():
        pytest.skip("not glibc: mallopt unavailable")
    kept, default = faults("keep"), faults("default")
    assert kept < 100, kept          # 16 MiB = 4096 pages: reused, not touched afresh
    assert default > 2000, default   # glibc gave the freed block back: new pages
