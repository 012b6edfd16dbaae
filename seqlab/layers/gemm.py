"""Large float32 matrix products on the CPU by oneDNN where MKL takes its slow path.

torch's CPU ``mm`` calls MKL. On AMD processors MKL runs its AVX2 code even where the CPU
has AVX-512, while oneDNN (also inside torch, behind ``torch.ops.mkldnn``) uses AVX-512
on any vendor's CPU. Measured on an AMD EPYC (Zen 5, one thread): a 1024^3 product at
101 GFLOP/s with MKL and 213 GFLOP/s with oneDNN. Not every shape gains: for a small
product (a (128, 64) x (64, 64) step) oneDNN's per-call cost outweighs it, and products
whose output is small but whose shared dimension is long (a weight gradient summed over
T*B = 32,768 rows) run as fast in either. The recurrent scans call ``mm`` for the products
over all steps that measured faster (bench/gemm_paths.py; e.g. the GRU's recurrent-weight
gradient 10.1 -> 5.0 ms, SimpleRNN's input gradient 2.4 -> 0.95 ms, B=128, T=256, H=64,
one thread).

``mm(a, b)`` equals ``a @ b`` up to float32 rounding (another summation order: a relative
difference of ~1e-6 on products of length 32,768). Where the products go:

* ``SEQLAB_GEMM=onednn`` or ``mkl`` forces one; the default ``auto`` takes oneDNN on an
  AMD CPU with AVX-512, MKL elsewhere (on Intel CPUs MKL uses AVX-512 itself);
* only for float32 CPU tensors; anything else is ``torch.mm``.

    >>> a, b = torch.randn(300, 40), torch.randn(40, 50)
    >>> torch.allclose(mm(a, b), a @ b, rtol=1e-5, atol=1e-5)
    True
"""
from __future__ import annotations

import functools
import os

import torch


def _cpu_vendor() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("vendor_id"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return ""


def _onednn_product(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return torch.ops.mkldnn._linear_pointwise(a, b.t(), None, "none", [None], "")


@functools.lru_cache(maxsize=None)
def uses_onednn() -> bool:
    """True when large float32 CPU products go through oneDNN (see the module docstring)."""
    choice = os.environ.get("SEQLAB_GEMM", "auto")
    if choice == "mkl":
        return False
    if choice != "onednn" and not (_cpu_vendor() == "AuthenticAMD"
                                   and torch.backends.cpu.get_cpu_capability() == "AVX512"):
        return False
    try:  # the op exists in this torch build and computes the product (fixed operands:
        # drawing them would move torch's random stream, and a resumed run would differ)
        a = torch.arange(40, dtype=torch.float32).view(8, 5) / 7
        b = torch.arange(15, dtype=torch.float32).view(5, 3).cos()
        return bool(torch.allclose(_onednn_product(a, b), a @ b, rtol=1e-5, atol=1e-6))
    except (RuntimeError, AttributeError):
        return False


def _plain(a: torch.Tensor, b: torch.Tensor) -> bool:
    """Layouts oneDNN takes without a costly reordering: ``a`` row-major (any row stride)
    or a transposed matrix of at most 4,096 rows; ``b`` column-major (``b.t()`` row-major,
    oneDNN's weight layout). Measured: a transposed (32768, 128) ``a`` took 4.5 s."""
    a_ok = a.stride(1) == 1 or (a.stride(0) == 1 and a.shape[0] <= 4096)
    return a_ok and b.stride(0) == 1


def mm(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """``a @ b`` for 2-D ``a`` (M, K) and ``b`` (K, N): a new (M, N) tensor; oneDNN for
    float32 CPU operands in the layouts ``_plain`` accepts, ``torch.mm`` otherwise."""
    if (a.dtype == torch.float32 and b.dtype == torch.float32 and a.device.type == "cpu"
            and b.device.type == "cpu" and _plain(a, b) and uses_onednn()):
        return _onednn_product(a, b)
    return torch.mm(a, b)
