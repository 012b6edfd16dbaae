"""Mixed precision in the one loop: ``fit(precision="bf16")`` runs the forward pass under
bfloat16 autocast (a layer's matrix product comes out bfloat16), keeps float32 weights,
and trains to about the loss of float32; fp16 needs CUDA (refused on the CPU with the
fix); the config field is checked."""
import numpy as np
import pytest
import torch

import seqlab
from seqlab import layers
from seqlab.config import Config, ConfigError
from seqlab.models.precision import Precision
from seqlab.optimizers import SGD, Adam


def _data(n=256, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 8, 3)).astype("float32")
    return x, (x[:, :, 0].mean(1) + 0.5 * x[:, -1, 1] > 0).astype("float32")


def _model(learning_rate=0.01):
    torch.manual_seed(0)
    model = seqlab.Sequential([layers.LSTM(16), layers.Dense(8, activation="relu", use_bias=False),
                               layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer=Adam(learning_rate=learning_rate), loss="binary_crossentropy", metrics=["accuracy"])
    return model


def _dense_output_dtypes(model):
    seen = set()  # the first Dense has no bias: its output is its matmul's (relu keeps dtype)
    dense = [m for m in model.modules() if isinstance(m, layers.Dense)][0]
    dense.register_forward_hook(lambda mod, inp, out: seen.add(out.dtype))
    return seen


@pytest.mark.parametrize("precision, dtype", [("bf16", torch.bfloat16), ("32", torch.float32)])
def test_the_forward_pass_runs_in_the_chosen_precision(precision, dtype):
    x, y = _data(64)
    model = _model()
    model.fit(x[:4], y[:4], epochs=1, verbose=0, seed=0)  # built before the hook
    seen = _dense_output_dtypes(model)
    model.fit(x, y, batch_size=32, epochs=1, verbose=0, seed=0, precision=precision,
              validation_data=(x[:8], y[:8]))
    assert seen == {dtype}
    assert all(p.dtype == torch.float32 for p in model.parameters())  # master weights


def test_bf16_trains_to_about_the_float32_loss():
    x, y = _data()
    fit = dict(batch_size=32, epochs=8, verbose=0, seed=1)
    full = _model().fit(x, y, **fit).history["loss"]
    half = _model().fit(x, y, precision="bf16", **fit).history["loss"]
    assert half[-1] < 0.7 * half[0]                       # it learns
    assert abs(half[-1] - full[-1]) < 0.1 * full[0]       # about where float32 ends
    assert half != full                                   # and is not float32 in disguise


def test_fp16_needs_cuda_and_names_the_fix():
    with pytest.raises(ValueError, match='"fp16" needs a CUDA device.*use "bf16" or "32"'):
        Precision("fp16", torch.device("cpu"))
    if not torch.cuda.is_available():
        x, y = _data(16)
        with pytest.raises(ValueError, match="needs a CUDA device"):
            _model().fit(x, y, epochs=1, verbose=0, device="cpu", precision="fp16")


def test_an_unknown_precision_is_refused_before_training():
    x, y = _data(16)
    with pytest.raises(ValueError, match='precision must be "32", "bf16" or "fp16"'):
        _model().fit(x, y, epochs=1, verbose=0, precision="int8")
    with pytest.raises(ConfigError, match=r"\[training\] precision must be one of"):
        Config.from_dict({"training": {"precision": "half"}})
    assert Config.from_dict({"training": {"precision": "bf16"}}).training.precision == "bf16"


def test_the_fp16_steps_scale_unscale_and_skip_overflows(monkeypatch):
    """The loop's fp16 path (loss x scale, gradients unscaled before clipping, a step
    with inf gradients skipped and the scale lowered), run on the CPU with torch's CPU
    GradScaler standing in for the CUDA one."""
    real_init = Precision.__init__
    made = []

    def cpu_fp16(self, precision, device, where="fit(): precision"):
        real_init(self, "32" if precision == "fp16" else precision, device, where)
        if precision == "fp16":
            self.name, self.dtype = "fp16", torch.float16
            self.scaler = torch.amp.GradScaler("cpu", init_scale=2.0 ** 40)  # overflows
            made.append(self.scaler)
    monkeypatch.setattr(Precision, "__init__", cpu_fp16)
    x, y = _data()
    torch.manual_seed(0)  # no LSTM: oneDNN has no float16 LSTM on the CPU
    model = seqlab.Sequential([layers.Flatten(), layers.Dense(16, activation="relu"),
                               layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer=SGD(learning_rate=0.3), loss="binary_crossentropy",
                  global_clipnorm=1.0)  # SGD: clipping still-scaled gradients would stall it
    losses = model.fit(x, y, batch_size=32, epochs=8, verbose=0, seed=1,
                       precision="fp16").history["loss"]
    assert made and made[0].get_scale() < 2.0 ** 20    # overflowing steps lowered it
    assert all(torch.isfinite(p).all() for p in model.parameters())
    assert losses[-1] < 0.7 * losses[0]                 # the steps taken trained it
