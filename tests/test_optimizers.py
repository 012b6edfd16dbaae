"""Optimizers: Keras names and defaults, built as Keras-arithmetic torch optimizers."""
import pytest
import torch

from seqlab import optimizers


def _param():
    return [torch.nn.Parameter(torch.zeros(3))]


@pytest.mark.parametrize("name, cls, expected", [
    ("sgd", optimizers.KerasSGD, {"lr": 0.01, "momentum": 0.0, "nesterov": False}),
    ("adam", optimizers.KerasAdam, {"lr": 0.001, "beta_1": 0.9, "beta_2": 0.999,
                                    "epsilon": 1e-7, "amsgrad": False}),
    ("adamw", optimizers.KerasAdam, {"lr": 0.001, "weight_decay": 0.004}),
    ("adagrad", optimizers.KerasAdagrad, {"lr": 0.001, "initial_accumulator_value": 0.1,
                                          "epsilon": 1e-7}),
    ("rmsprop", optimizers.KerasRMSprop, {"lr": 0.001, "rho": 0.9, "epsilon": 1e-7,
                                          "momentum": 0.0, "centered": False}),
])
def test_keras_defaults(name, cls, expected):
    opt = optimizers.get(name.upper() if name == "adam" else name).create(_param())
    assert type(opt) is cls and isinstance(opt, torch.optim.Optimizer)
    for key, value in expected.items():
        assert opt.defaults[key] == value, key


def test_spec_with_arguments_and_round_trip():
    spec = optimizers.RMSprop(learning_rate=0.01, rho=0.8)
    again = optimizers.from_config(spec.get_config())
    opt = again.create(_param())
    assert opt.defaults["lr"] == 0.01 and opt.defaults["rho"] == 0.8


def test_torch_class_and_instance():
    spec = optimizers.get(torch.optim.AdamW)
    assert type(spec.create(_param())) is torch.optim.AdamW
    inst = torch.optim.SGD(_param(), lr=0.5)
    assert optimizers.get(inst) is inst
    rebuilt = optimizers.from_config(optimizers.get_config(inst)).create(_param())
    assert type(rebuilt) is torch.optim.SGD and rebuilt.defaults["lr"] == 0.5


def test_unknown_optimizer():
    with pytest.raises(ValueError, match="unknown optimizer 'adamax2'"):
        optimizers.get("adamax2")
