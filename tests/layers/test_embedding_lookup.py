"""The Embedding's CPU training path (``_Lookup``: gradient by one ``index_add_``) against
torch's own embedding gradient: repeated ids, 1-D to 3-D id arrays, float64, and the
layer takes that path only while training."""
import pytest
import torch

from seqlab.layers import Embedding
from seqlab.layers.embedding import _Lookup


@pytest.mark.parametrize("shape", [(7,), (4, 9), (2, 3, 5)])
def test_lookup_gradient_equals_torch_embedding(shape):
    torch.manual_seed(0)
    W = torch.randn(6, 3, dtype=torch.float64, requires_grad=True)
    ids = torch.randint(0, 6, shape)
    ids.view(-1)[:3] = 2                                   # one id several times
    g = torch.randn(*shape, 3, dtype=torch.float64)
    grads = []
    for lookup in (_Lookup.apply, torch.nn.functional.embedding):
        out = lookup(ids, W)
        grads.append((out.detach(), torch.autograd.grad((out * g).sum(), W)[0]))
    (out_a, dW_a), (out_b, dW_b) = grads
    assert torch.equal(out_a, out_b)
    torch.testing.assert_close(dW_a, dW_b, rtol=1e-12, atol=1e-12)
    assert dW_a[2].abs().sum() > 0                          # the repeated row got its sum


def test_layer_trains_through_lookup_and_infers_without_it():
    layer = Embedding(10, 4)
    ids = torch.tensor([[1, 2, 2, 0]])
    out = layer(ids)
    assert type(out.grad_fn).__name__ == "_LookupBackward"
    out.sum().backward()
    assert layer.embeddings.grad[2].eq(2).all() and layer.embeddings.grad[3].eq(0).all()
    with torch.no_grad():
        assert layer(ids).grad_fn is None


def test_lookup_of_a_time_major_gradient():
    """A gradient that arrives time-major (a (B, T, E) view of a (T, B, E) buffer, as the
    recurrent scans return it) is summed without a copy and equals torch's."""
    torch.manual_seed(1)
    W = torch.randn(5, 3, dtype=torch.float64, requires_grad=True)
    ids = torch.randint(0, 5, (4, 6))
    g = torch.randn(6, 4, 3, dtype=torch.float64).transpose(0, 1)   # (B, T, E) view
    assert not g.is_contiguous()
    got = torch.autograd.grad((_Lookup.apply(ids, W) * g).sum(), W)[0]
    want = torch.autograd.grad((torch.nn.functional.embedding(ids, W) * g).sum(), W)[0]
    torch.testing.assert_close(got, want, rtol=1e-12, atol=1e-12)
