"""Three steps of compile(optimizer=name) leave the weights Keras 3's update rules leave.

The reference is written out in NumPy (float64): the forward pass and the gradient of a
Dense layer under each loss, then Keras 3's update formulas (keras/src/optimizers/
sgd.py, adam.py, rmsprop.py, adagrad.py). seqlab trains the same layer with ``fit`` (one
full batch per step, no shuffling) in float32.
"""
import numpy as np
import pytest
import torch

import seqlab
from seqlab import optimizers
from seqlab.keras import layers

TOL = 2e-5
N, D, U, C = 16, 4, 3, 3


def _data(loss, rng):
    x = rng.normal(size=(N, D))
    if loss == "mse":
        y = rng.normal(size=(N, U))
    elif loss == "binary_crossentropy":
        y = (rng.random(size=(N, U)) > 0.5).astype(float)
    else:
        y = rng.integers(0, C, size=N)
    return x, y


def _grads(loss, w, b, x, y):
    """dL/dW, dL/db of the mean loss, for Dense + the activation the loss goes with."""
    z = x @ w + b  # (N, U)
    if loss == "mse":
        dz = 2 * (z - y) / z.size
    elif loss == "binary_crossentropy":
        dz = (1 / (1 + np.exp(-z)) - y) / z.size
    else:
        p = np.exp(z - z.max(1, keepdims=True))
        p /= p.sum(1, keepdims=True)
        dz = (p - np.eye(C)[y]) / len(y)
    return x.T @ dz, dz.sum(0)


def _keras_rule(name, config):
    """An update function (w, g, state, t) -> w written from Keras 3's formulas."""
    lr = config.get("learning_rate", {"sgd": 0.01}.get(name, 0.001))

    def sgd(w, g, s, t):
        m = config.get("momentum", 0.0)
        if m == 0:
            return w - lr * g
        s["v"] = m * s.get("v", 0.0) - lr * g
        return w + (m * s["v"] - lr * g if config.get("nesterov") else s["v"])

    def adam(w, g, s, t):
        b1, b2, eps = 0.9, 0.999, config.get("epsilon", 1e-7)
        s["m"] = s.get("m", 0.0) + (g - s.get("m", 0.0)) * (1 - b1)
        s["v"] = s.get("v", 0.0) + (g * g - s.get("v", 0.0)) * (1 - b2)
        alpha = lr * np.sqrt(1 - b2 ** t) / (1 - b1 ** t)
        return w - alpha * s["m"] / (np.sqrt(s["v"]) + eps)

    def rmsprop(w, g, s, t):
        rho, eps = 0.9, config.get("epsilon", 1e-7)
        s["v"] = rho * s.get("v", 0.0) + (1 - rho) * g * g
        if config.get("centered"):
            s["a"] = rho * s.get("a", 0.0) + (1 - rho) * g
            inc = lr * g / np.sqrt(s["v"] - s["a"] ** 2 + eps)
        else:
            inc = lr * g / np.sqrt(s["v"] + eps)
        mom = config.get("momentum", 0.0)
        if mom > 0:
            s["mo"] = mom * s.get("mo", 0.0) + inc
            return w - s["mo"]
        return w - inc

    def adagrad(w, g, s, t):
        s["acc"] = s.get("acc", 0.1) + g * g
        return w - lr * g / np.sqrt(s["acc"] + config.get("epsilon", 1e-7))

    return {"sgd": sgd, "adam": adam, "rmsprop": rmsprop, "adagrad": adagrad}[name]


CASES = [("sgd", {}), ("sgd", {"momentum": 0.9}), ("sgd", {"momentum": 0.9, "nesterov": True}),
         ("adam", {}), ("adam", {"epsilon": 1e-2}), ("rmsprop", {}),
         ("rmsprop", {"centered": True, "momentum": 0.5}), ("rmsprop", {"epsilon": 1e-2}),
         ("adagrad", {}), ("adagrad", {"epsilon": 1e-2})]
LOSSES = {"mse": None, "binary_crossentropy": "sigmoid",
          "sparse_categorical_crossentropy": "softmax"}


@pytest.mark.parametrize("loss", list(LOSSES))
@pytest.mark.parametrize("name, config", CASES)
def test_three_steps_match_keras_formulas(name, config, loss):
    rng = np.random.default_rng(7)
    x, y = _data(loss, rng)
    w0, b0 = rng.normal(scale=0.5, size=(D, U)), rng.normal(scale=0.1, size=U)
    model = seqlab.Sequential([layers.Input((D,)), layers.Dense(U, activation=LOSSES[loss])])
    model.set_weights([w0.astype("float32"), b0.astype("float32")])
    if config:
        spec = {"sgd": optimizers.SGD, "adam": optimizers.Adam, "rmsprop": optimizers.RMSprop,
                "adagrad": optimizers.Adagrad}[name](**config)
    else:
        spec = name  # the name compile accepts, with Keras's defaults
    model.compile(optimizer=spec, loss=loss)
    model.fit(x.astype("float32"), y.astype("float32" if loss != "sparse_categorical_crossentropy"
                                             else "int64"),
              batch_size=N, epochs=3, shuffle=False, verbose=0)

    rule = _keras_rule(name, config)
    w, b, sw, sb = w0.copy(), b0.copy(), {}, {}
    for t in (1, 2, 3):
        gw, gb = _grads(loss, w, b, x, y)
        w, b = rule(w, gw, sw, t), rule(b, gb, sb, t)
    got_w, got_b = model.get_weights()
    assert np.abs(w - w0).max() > 10 * TOL  # the steps moved the weights measurably
    np.testing.assert_allclose(got_w, w, rtol=0, atol=TOL)
    np.testing.assert_allclose(got_b, b, rtol=0, atol=TOL)


def test_epsilon_placement_is_keras_not_torch():
    """Tiny gradients: torch's RMSprop (epsilon outside the root) steps differently."""
    g = 1e-4
    keras_step = 0.001 * g / np.sqrt(0.1 * g * g + 1e-7)
    torch_step = 0.001 * g / (np.sqrt(0.1 * g * g) + 1e-7)
    w = torch.nn.Parameter(torch.zeros(1, dtype=torch.float64))
    opt = optimizers.get("rmsprop").create([w])
    w.grad = torch.full((1,), g, dtype=torch.float64)
    opt.step()
    assert -w.item() == pytest.approx(keras_step, rel=1e-9)
    assert abs(keras_step - torch_step) > 1e-2 * keras_step  # the placement matters here


def test_adamw_weight_decay_is_decoupled_and_applied_first():
    w = torch.nn.Parameter(torch.full((1,), 2.0, dtype=torch.float64))
    opt = optimizers.get("adamw").create([w])
    w.grad = torch.full((1,), 0.5, dtype=torch.float64)
    opt.step()
    decayed = 2.0 - 2.0 * 0.004 * 0.001
    expected = decayed - 0.001 * np.sqrt(1 - 0.999) / (1 - 0.9) * 0.05 / (
        np.sqrt(0.001 * 0.25) + 1e-7)
    assert w.item() == pytest.approx(expected, abs=1e-12)


def test_torch_optimizers_still_work_as_given():
    model = seqlab.Sequential([layers.Input((2,)), layers.Dense(1)])
    model.compile(optimizer=torch.optim.Adam, loss="mse")
    model.fit(np.ones((4, 2), "float32"), np.ones((4, 1), "float32"), epochs=1, verbose=0)
    assert type(model.optimizer) is torch.optim.Adam


def test_bad_settings_name_the_argument():
    with pytest.raises(ValueError, match="momentum"):
        optimizers.SGD(momentum=1.5).create([torch.nn.Parameter(torch.zeros(1))])
    with pytest.raises(ValueError, match="initial_accumulator_value"):
        optimizers.Adagrad(initial_accumulator_value=-1).create(
            [torch.nn.Parameter(torch.zeros(1))])
