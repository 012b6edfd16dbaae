"""NumPy activations equal seqlab.activations (torch) and their hand-written derivatives
equal autograd's."""
import numpy as np
import pytest
import torch

from seqlab import activations as torch_acts
from seqlab.basics import activations_numpy as act

# away from 0, where step/relu/leaky_relu/elu have a kink
X = np.concatenate([np.linspace(-6, -0.01, 40), np.linspace(0.01, 6, 40), [-30.0, 30.0]])


@pytest.mark.parametrize("name", sorted(act.ACTIVATIONS))
def test_values_match_torch_and_derivatives_match_autograd(name):
    g, dg = act.get(name)
    x = torch.tensor(X, requires_grad=True)
    y = torch_acts.get(name)(x)
    np.testing.assert_allclose(g(X), y.detach().numpy(), rtol=1e-12, atol=1e-12)
    if name == "step":  # autograd cannot differentiate a comparison
        assert not y.requires_grad
        np.testing.assert_array_equal(dg(X), 0.0)
        return
    (grad,) = torch.autograd.grad(y.sum(), x)
    np.testing.assert_allclose(dg(X), grad.numpy(), rtol=1e-10, atol=1e-12)


def test_derivatives_are_not_trivial():
    assert act.d_sigmoid(np.array([0.0]))[0] == 0.25
    assert act.d_tanh(np.array([0.0]))[0] == 1.0
    assert act.d_relu(np.array([-1.0, 2.0])).tolist() == [0.0, 1.0]
    assert act.d_leaky_relu(np.array([-1.0, 2.0])).tolist() == [0.2, 1.0]


def test_softmax_and_its_jacobian():
    rng = np.random.default_rng(0)
    z = rng.normal(size=(3, 5)) * 3
    np.testing.assert_allclose(act.softmax(z), torch.softmax(torch.tensor(z), -1).numpy(),
                               rtol=1e-12)
    J = act.softmax_jacobian(z)  # (3, 5, 5)
    for i in range(3):
        ref = torch.autograd.functional.jacobian(lambda t: torch.softmax(t, -1), torch.tensor(z[i]))
        np.testing.assert_allclose(J[i], ref.numpy(), rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(J.sum(axis=1), 0.0, atol=1e-12)  # rows of softmax sum to 1


def test_sigmoid_is_stable_for_large_inputs():
    with np.errstate(over="raise"):
        s = act.sigmoid(np.array([-1000.0, 1000.0]))
    assert s.tolist() == [0.0, 1.0]


def test_unknown_name():
    with pytest.raises(ValueError, match="unknown activation 'nope'"):
        act.get("nope")
