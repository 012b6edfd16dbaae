"""layers/gemm.py: oneDNN's product equals torch's (float32 rounding) in every layout the
recurrent scans pass it; layouts oneDNN would reorder at great cost, other dtypes and
devices fall back to ``torch.mm``."""
import pytest
import torch

from seqlab.layers import gemm

try:
    gemm._onednn_product(torch.ones(2, 2), torch.ones(2, 2))
    HAVE_ONEDNN = True
except (RuntimeError, AttributeError):
    HAVE_ONEDNN = False


def layouts():
    """(a, b) pairs as the scans build them: row-major, transposed, strided rows."""
    g = torch.Generator().manual_seed(0)
    X, W = torch.randn(300, 8, generator=g), torch.randn(8, 12, generator=g)
    du, hs = torch.randn(12, 300, generator=g), torch.randn(5, 31, 10, generator=g)
    return {"row-major": (X, W), "a transposed": (W.t(), X.t()),
            "b transposed": (X.t(), du.t()), "a strided rows": (hs[:4, :-1].reshape(4, 300),
                                                            du.t())}


@pytest.mark.skipif(not HAVE_ONEDNN, reason="torch.ops.mkldnn._linear_pointwise missing")
@pytest.mark.parametrize("name", list(layouts()))
def test_onednn_product_equals_torch(name):
    a, b = layouts()[name]
    got = gemm._onednn_product(a, b)
    torch.testing.assert_close(got, a @ b, rtol=1e-5, atol=1e-5)
    assert got.shape == (a.shape[0], b.shape[1])


def test_plain_layouts_and_fallbacks(monkeypatch):
    a, b = torch.randn(5000, 6), torch.randn(6, 7)
    assert gemm._plain(a, b.t().contiguous().t())          # b column-major
    assert not gemm._plain(a, b)                            # b row-major: torch.mm
    assert not gemm._plain(a.t().contiguous().t(), b.t().contiguous().t())  # tall, transposed
    monkeypatch.setattr(gemm, "uses_onednn", lambda: True)
    calls = []
    monkeypatch.setattr(gemm, "_onednn_product", lambda x, y: calls.append(1) or x @ y)
    bt = b.t().contiguous().t()
    gemm.mm(a, bt), gemm.mm(a.double(), bt.double()), gemm.mm(a, b)
    assert calls == [1]                                     # only the float32, plain one
    torch.testing.assert_close(gemm.mm(a, b), a @ b)


def test_choosing_the_product_draws_no_random_numbers(monkeypatch):
    """The first product of a run decides (once) between oneDNN and MKL; that must leave
    torch's random stream alone, or a run's dropout masks would depend on it."""
    monkeypatch.setenv("SEQLAB_GEMM", "onednn")
    gemm.uses_onednn.cache_clear()
    try:
        torch.manual_seed(0)
        gemm.uses_onednn()
        after = torch.rand(3)
        torch.manual_seed(0)
        assert torch.equal(after, torch.rand(3))
    finally:
        gemm.uses_onednn.cache_clear()
