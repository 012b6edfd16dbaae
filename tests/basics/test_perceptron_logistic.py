"""The perceptron converges on separable data within Novikoff's bound and never on XOR;
the logistic neuron's hand-derived gradients equal autograd's and it learns."""
import numpy as np
import pytest
import torch

from seqlab.basics import LogisticNeuron, Perceptron, novikoff_bound


def separable_blobs(seed, n=60, margin=0.3):
    """Points on both sides of a random line, at least ``margin`` away from it."""
    rng = np.random.default_rng(seed)
    w = rng.normal(size=2)
    w /= np.linalg.norm(w)
    b = rng.normal() * 0.5
    X = rng.uniform(-3, 3, size=(4 * n, 2))
    dist = X @ w + b
    keep = np.abs(dist) > margin
    X, dist = X[keep][:n], dist[keep][:n]
    return X, (dist > 0).astype(int), w, b


@pytest.mark.parametrize("seed", range(5))
def test_perceptron_separates_in_finitely_many_updates(seed):
    X, y, w, b = separable_blobs(seed, n=150, margin=0.05)
    model = Perceptron(learning_rate=0.5, max_epochs=2000, shuffle=True, seed=seed)
    fit = model.fit(X, y)
    assert fit.converged and fit.mistakes_per_epoch[-1] == 0
    assert (model.predict(X) == y).all()
    assert 1 <= fit.updates == sum(fit.mistakes_per_epoch)
    assert fit.updates <= novikoff_bound(X, y, w, b)  # (R / γ)² with the true line
    print(f"seed {seed}: {fit.updates} updates in {fit.epochs} epochs "
          f"(Novikoff bound {novikoff_bound(X, y, w, b):.0f})")


def test_perceptron_update_count_does_not_depend_on_learning_rate():
    X, y, _, _ = separable_blobs(11)
    counts = {lr: Perceptron(learning_rate=lr).fit(X, y).updates for lr in (0.01, 1.0, 7.0)}
    assert len(set(counts.values())) == 1, counts


def test_perceptron_rule_one_step_by_hand():
    # x = (1, 2), y = 0, zero weights: z = 0 -> ŷ = 1 (step(0) = 1), error ŷ - y = 1
    model = Perceptron(learning_rate=0.5, max_epochs=1)
    fit = model.fit(np.array([[1.0, 2.0]]), np.array([0]))
    assert model.W.tolist() == [-0.5, -1.0] and model.b == -0.5  # W - α(ŷ - y)x
    assert fit.updates == 1 and not fit.converged


def test_perceptron_never_converges_on_xor():
    X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    fit = Perceptron(max_epochs=50).fit(X, np.array([0, 1, 1, 0]))
    assert not fit.converged and fit.epochs == 50 and min(fit.mistakes_per_epoch) > 0


def test_perceptron_and_bound_errors():
    with pytest.raises(ValueError, match="labels must be 0 or 1"):
        Perceptron().fit(np.zeros((3, 2)), np.array([-1, 1, 1]))
    with pytest.raises(ValueError, match="learning_rate"):
        Perceptron(learning_rate=0)
    with pytest.raises(ValueError, match="does not separate"):
        novikoff_bound(np.array([[1.0], [2.0]]), np.array([1, 0]), np.array([1.0]), 0.0)


@pytest.mark.parametrize("seed", range(4))
def test_logistic_hand_gradients_equal_autograd(seed):
    rng = np.random.default_rng(seed)
    m, n = 17, 3 + seed
    X, y = rng.normal(size=(m, n)), rng.integers(0, 2, m)
    neuron = LogisticNeuron(n, seed=seed)
    neuron.w, neuron.b = rng.normal(size=n), float(rng.normal())
    dw, db = neuron.gradients(X, y)

    w = torch.tensor(neuron.w, requires_grad=True)
    b = torch.tensor(neuron.b, dtype=torch.float64, requires_grad=True)
    a = torch.sigmoid(torch.tensor(X) @ w + b)
    yt = torch.tensor(y, dtype=torch.float64)
    L = -(yt * torch.log(a) + (1 - yt) * torch.log(1 - a)).mean()  # the course's log loss
    L.backward()
    assert abs(neuron.loss(X, y) - L.item()) < 1e-12
    np.testing.assert_allclose(dw, w.grad.numpy(), rtol=1e-10, atol=1e-14)
    assert abs(db - b.grad.item()) < 1e-12


def test_logistic_neuron_learns_and_loss_decreases():
    X, y, _, _ = separable_blobs(3, n=80, margin=0.1)
    neuron = LogisticNeuron(2)
    losses = neuron.fit(X, y, learning_rate=0.5, epochs=300)
    assert losses[0] == pytest.approx(np.log(2))  # zero weights: a = 0.5 everywhere
    assert losses[-1] < 0.15 and all(b <= a + 1e-12 for a, b in zip(losses, losses[1:]))
    assert (neuron.predict(X) == y).mean() >= 0.97


def test_logistic_shape_errors():
    with pytest.raises(ValueError, match="n_features"):
        LogisticNeuron(0)
    with pytest.raises(ValueError, match=r"expected X \(m, 2\)"):
        LogisticNeuron(2).gradients(np.zeros((4, 3)), np.zeros(4))
