"""The training loop adds Keras's penalties to the loss and applies constraints after a step."""
import numpy as np
import pytest
import torch

import seqlab
from seqlab.keras import constraints, layers, regularizers
from seqlab.models import training


def _model(**dense_kwargs):
    torch.manual_seed(0)
    model = seqlab.Sequential([layers.Input((3,)), layers.Dense(2, **dense_kwargs)])
    model.compile(optimizer="sgd", loss="mse")
    return model


def _batch(rows=8):
    rng = np.random.default_rng(1)
    x = torch.as_tensor(rng.normal(size=(rows, 3)), dtype=torch.float32)
    y = torch.as_tensor(rng.normal(size=(rows, 2)), dtype=torch.float32)
    from seqlab.models.adapters import Batch
    return Batch(x, y, None, None)


@pytest.mark.parametrize("rows", [0, 3])  # whole batch, micro-batches of 3 rows
def test_l2_kernel_regularizer_adds_exactly_2_l2_w_to_the_gradient(rows):
    l2 = 0.3
    plain, penalised = _model(), _model(kernel_regularizer=regularizers.L2(l2))
    batch = _batch()
    for model in (plain, penalised):
        model.build_once((None, 3))
    penalised.set_weights(plain.get_weights())
    acc_plain, acc_pen = training.Accumulator(), training.Accumulator()
    training.backward(plain, batch, acc_plain, rows)
    training.backward(penalised, batch, acc_pen, rows)
    w = plain.layers[-1].kernel.detach()
    diff = penalised.layers[-1].kernel.grad - plain.layers[-1].kernel.grad
    torch.testing.assert_close(diff, 2 * l2 * w, rtol=0, atol=1e-6)
    torch.testing.assert_close(penalised.layers[-1].bias.grad, plain.layers[-1].bias.grad)
    # the logged loss includes the penalty, as Keras logs it
    logged = acc_pen.result()["loss"] - acc_plain.result()["loss"]
    assert logged == pytest.approx(l2 * float(w.square().sum()), rel=1e-5)


def test_max_norm_constraint_holds_after_fit():
    model = _model(kernel_constraint=constraints.MaxNorm(0.5),
                   kernel_initializer=lambda shape: 3 * torch.ones(shape))
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 3)).astype("float32")
    y = (5 * x[:, :2]).astype("float32")  # pulls the weights far above norm 0.5
    model.compile(optimizer=seqlab.optimizers.SGD(learning_rate=0.1), loss="mse")
    model.fit(x, y, epochs=3, batch_size=16, verbose=0, seed=0)
    norms = model.layers[-1].kernel.detach().square().sum(dim=0).sqrt()
    assert norms.max().item() <= 0.5 + 1e-5
    assert norms.min().item() > 0.4  # the constraint is active, not trivially satisfied
