"""save -> load_model: identical predictions for every exported layer type; clear errors
for missing, truncated and foreign files; atomic writes (an interrupted save keeps the
previous file)."""
import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch

import seqlab
from seqlab import Model, Sequential, io, layers, load_model
from seqlab.layers.base import Layer

L = layers


class TwoInputs(Model):
    """Feeds the input as both arguments (source/target, query/memory) of ``layer``."""

    def __init__(self, layer):
        super().__init__()
        self.layer = layer

    def forward(self, x):
        return self.layer(x, x)


def _merge_graph(merge):
    """Input (5, 4) -> [Dense(4)(x), x] -> merge: a Functional model around ``merge``."""
    x = seqlab.keras.Input((5, 4))
    return Model(x, merge([L.Dense(4)(x), x]))


def f(*shape):
    return torch.randn(*shape)


def ids(*shape):
    return torch.randint(1, 10, shape)


# name -> (model factory, input). Each exported layer class needs an entry; a class
# without one is tried with no arguments on a (2, 5, 4) input.
CASES = {
    "Dense": (lambda: Sequential([L.Dense(3)]), f(2, 4)),
    "Activation": (lambda: Sequential([L.Dense(3), L.Activation("tanh")]), f(2, 4)),
    "Dropout": (lambda: Sequential([L.Dense(3), L.Dropout(0.5)]), f(2, 4)),
    "Flatten": (lambda: Sequential([L.Flatten(), L.Dense(2)]), f(2, 3, 4)),
    "Reshape": (lambda: Sequential([L.Reshape((6, -1)), L.Dense(2)]), f(2, 3, 4)),
    "RepeatVector": (lambda: Sequential([L.RepeatVector(3), L.Dense(2)]), f(2, 4)),
    "TimeDistributed": (lambda: Sequential([L.TimeDistributed(L.Dense(3))]), f(2, 5, 4)),
    "Embedding": (lambda: Sequential([L.Embedding(10, 4, mask_zero=True)]), ids(2, 5)),
    "Conv1D": (lambda: Sequential([L.Conv1D(3, 2, padding="causal")]), f(2, 6, 4)),
    "Conv2D": (lambda: Sequential([L.Conv2D(3, 2)]), f(2, 5, 5, 2)),
    "MaxPooling1D": (lambda: Sequential([L.Dense(3), L.MaxPooling1D()]), f(2, 6, 4)),
    "AveragePooling1D": (lambda: Sequential([L.Dense(3), L.AveragePooling1D()]), f(2, 6, 4)),
    "MaxPooling2D": (lambda: Sequential([L.Dense(3), L.MaxPooling2D()]), f(2, 4, 4, 2)),
    "AveragePooling2D": (lambda: Sequential([L.Dense(3), L.AveragePooling2D()]),
                         f(2, 4, 4, 2)),
    "GlobalMaxPooling1D": (lambda: Sequential([L.Dense(3), L.GlobalMaxPooling1D()]),
                           f(2, 6, 4)),
    "GlobalAveragePooling1D": (lambda: Sequential([L.Dense(3), L.GlobalAveragePooling1D()]),
                               f(2, 6, 4)),
    "GlobalMaxPooling2D": (lambda: Sequential([L.Dense(3), L.GlobalMaxPooling2D()]),
                           f(2, 4, 4, 2)),
    "GlobalAveragePooling2D": (lambda: Sequential([L.Dense(3), L.GlobalAveragePooling2D()]),
                               f(2, 4, 4, 2)),
    "MultiHeadAttention": (lambda: Sequential([L.MultiHeadAttention(num_heads=2, key_dim=3)]),
                           f(2, 5, 4)),
    "ScaledDotProductAttention": (lambda: Sequential([L.Dense(4),
                                                      L.ScaledDotProductAttention()]),
                                  f(2, 5, 4)),
    "PositionalEncoding": (lambda: Sequential([L.PositionalEncoding(max_length=8, learned=True),
                                               L.PositionalEncoding(max_length=8)]),
                           f(2, 5, 4)),
    "InputLayer": (lambda: Sequential([L.InputLayer(shape=(5, 4)), L.Dense(2)]), f(2, 5, 4)),
    "Wrapper": (lambda: Sequential([L.TimeDistributed(L.Dense(2))]), f(2, 5, 4)),
    "BatchNormalization": (lambda: Sequential([L.BatchNormalization()]), f(2, 5, 4)),
    "LayerNormalization": (lambda: Sequential([L.LayerNormalization()]), f(2, 5, 4)),
    "SimpleRNN": (lambda: Sequential([L.Embedding(10, 4), L.SimpleRNN(3)]), ids(2, 5)),
    "LSTM": (lambda: Sequential([L.LSTM(3, return_sequences=True)]), f(2, 5, 4)),
    "GRU": (lambda: Sequential([L.GRU(3), L.Dense(1)]), f(2, 5, 4)),
    "RNN": (lambda: Sequential([L.RNN(L.GRUCell(3, reset_after=True))]), f(2, 5, 4)),
    "SimpleRNNCell": (lambda: Sequential([L.RNN(L.SimpleRNNCell(3))]), f(2, 5, 4)),
    "LSTMCell": (lambda: Sequential([L.RNN(L.LSTMCell(3), go_backwards=True)]), f(2, 5, 4)),
    "GRUCell": (lambda: Sequential([L.RNN(L.GRUCell(3))]), f(2, 5, 4)),
    "Bidirectional": (lambda: Sequential([L.Bidirectional(L.LSTM(3), merge_mode="sum")]),
                      f(2, 5, 4)),
    "TransformerEncoderLayer": (lambda: Sequential([L.TransformerEncoderLayer(2, 8)]),
                                f(2, 5, 4)),
    "TransformerEncoder": (lambda: Sequential([L.TransformerEncoder(2, 2, 8)]), f(2, 5, 4)),
    "TransformerDecoderLayer": (lambda: TwoInputs(L.TransformerDecoderLayer(2, 8)),
                                f(2, 5, 4)),
    "TransformerDecoder": (lambda: TwoInputs(L.TransformerDecoder(1, 2, 8)), f(2, 5, 4)),
    "Transformer": (lambda: TwoInputs(L.Transformer(1, 1, num_heads=2, ff_dim=8)),
                    f(2, 5, 4)),
    # merge and Keras attention layers take a list: a Functional graph around them
    "Add": (lambda: _merge_graph(L.Add()), f(2, 5, 4)),
    "Multiply": (lambda: _merge_graph(L.Multiply()), f(2, 5, 4)),
    "Concatenate": (lambda: _merge_graph(L.Concatenate()), f(2, 5, 4)),
    "Dot": (lambda: _merge_graph(L.Dot(axes=2)), f(2, 5, 4)),
    "Attention": (lambda: _merge_graph(L.Attention(use_scale=True)), f(2, 5, 4)),
    "AdditiveAttention": (lambda: _merge_graph(L.AdditiveAttention()), f(2, 5, 4)),
}

EXPORTED = sorted(name for name in dir(layers)
                  if isinstance(getattr(layers, name), type)
                  and issubclass(getattr(layers, name), Layer) and name != "Layer")


def _perturb(model):
    """Move every weight and buffer away from its initial value, so that a load that
    silently re-initialised something cannot pass."""
    with torch.no_grad():
        for t in model.state_dict().values():
            if t.is_floating_point():
                t.add_(0.1 * torch.randn_like(t))


@pytest.mark.parametrize("name", EXPORTED)
def test_round_trip_gives_identical_predictions(name, tmp_path):
    torch.manual_seed(0)
    if name in CASES:
        make, x = CASES[name]
    else:
        make, x = (lambda: Sequential([getattr(layers, name)()])), f(2, 5, 4)
    # No try/except: a layer that fails to build or run here is a failure to see, never a
    # skip. A new layer that needs constructor arguments or another input gets a CASES entry.
    model = make()
    model.predict(x)
    _perturb(model)
    model.compile(optimizer="adam", loss="mse")
    path = tmp_path / f"{name}.safetensors"
    model.save(path)
    again = load_model(path)
    assert type(again) is type(model)
    np.testing.assert_array_equal(again.predict(x), model.predict(x))
    for a, b in zip(again.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert again.count_params() == model.count_params()


def test_every_case_is_still_exported():
    # keeps CASES honest: an entry for a class that is no longer exported is a mistake
    assert not set(CASES) - set(EXPORTED)


def test_compile_settings_frozen_layers_and_summary_survive(tmp_path):
    model = Sequential([L.Embedding(20, 4, trainable=False), L.Flatten(),
                        L.Dense(1, activation="sigmoid")])
    model(torch.zeros(2, 3, dtype=torch.long))
    model.compile(optimizer=seqlab.optimizers.RMSprop(learning_rate=0.01), clipnorm=1.0,
                  loss="binary_crossentropy", metrics=["accuracy"])
    model.save(tmp_path / "m.safetensors")
    again = load_model(tmp_path / "m.safetensors")
    assert again.summary(print_fn=None).split("\n", 1)[1] == \
        model.summary(print_fn=None).split("\n", 1)[1]
    assert not again.layers[0].embeddings.requires_grad
    assert again.clipnorm == 1.0 and [m.name for m in again.compiled_metrics] == ["accuracy"]
    x = np.random.default_rng(0).integers(0, 20, (16, 3))
    y = (x[:, 0] > 10).astype("float32")
    h = again.fit(x, y, epochs=1, verbose=0)  # compiled: trains at once
    assert again.optimizer.defaults["lr"] == 0.01 and "accuracy" in h.history


def test_missing_truncated_and_foreign_files(tmp_path):
    model = Sequential([L.Dense(3, input_shape=(4,))])
    good = tmp_path / "good.safetensors"
    model.save(good)
    with pytest.raises(FileNotFoundError, match="nope.safetensors: no such file"):
        load_model(tmp_path / "nope.safetensors")
    data = good.read_bytes()
    for cut in (4, len(data) // 2, len(data) - 3):
        bad = tmp_path / f"cut{cut}.safetensors"
        bad.write_bytes(data[:cut])
        with pytest.raises(ValueError, match=rf"cut{cut}\.safetensors: not a readable seqlab"):
            load_model(bad)
    foreign = tmp_path / "notes.txt"
    foreign.write_text("hello, I am not a model\n" * 10)
    with pytest.raises(ValueError, match=r"notes\.txt: not a readable seqlab file"):
        load_model(foreign)
    from safetensors.torch import save_file
    other = tmp_path / "other.safetensors"
    save_file({"w": torch.zeros(2)}, str(other))
    with pytest.raises(ValueError, match="other.safetensors: a safetensors file without a "
                                         "seqlab model description"):
        load_model(other)


def test_tampered_description_errors_name_the_file(tmp_path):
    from safetensors.torch import save as st_save
    model = Sequential([L.Dense(3, input_shape=(4,))])
    meta = io.describe(model)
    tensors = {k: v.clone() for k, v in model.state_dict().items()}
    cases = {
        "unknown": ({**meta, "class_name": "FancyNet"}, tensors, "Unknown layer class 'FancyNet'"),
        "shapes": (meta, {k: torch.zeros(5) for k in tensors}, "weights do not fit the model"),
        "version": ({**meta, "version": 99}, tensors, "newer seqlab"),
    }
    for name, (m, t, message) in cases.items():
        path = tmp_path / f"{name}.safetensors"
        path.write_bytes(st_save(t, metadata={"seqlab": json.dumps(m)}))
        with pytest.raises(ValueError, match=message) as err:
            load_model(path)
        assert str(path) in str(err.value)


def test_failed_save_keeps_the_previous_file(tmp_path, monkeypatch):
    path = tmp_path / "model.safetensors"
    old = Sequential([L.Dense(3, input_shape=(4,))])
    old.save(path)
    before = path.read_bytes()

    def write_half_then_die(f, data, chunk=1 << 20):
        f.write(data[: len(data) // 2])
        raise KeyboardInterrupt("killed mid-save")

    monkeypatch.setattr(io, "_write_all", write_half_then_die)
    new = Sequential([L.Dense(3, input_shape=(4,))])
    with pytest.raises(KeyboardInterrupt):
        new.save(path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["model.safetensors"]  # no temp left
    x = np.ones((1, 4), "float32")
    np.testing.assert_array_equal(load_model(path).predict(x), old.predict(x))


@pytest.mark.slow  # a child process imports torch: a few seconds
def test_killed_process_never_leaves_a_broken_file(tmp_path):
    """A child process saves a large model in a loop and is killed with SIGKILL at a
    random moment: the file on disk always loads."""
    path = tmp_path / "big.safetensors"
    Sequential([L.Dense(512, input_shape=(512,))]).save(path)
    script = textwrap.dedent(f"""
        import sys, torch
        from seqlab import Sequential, layers
        model = Sequential([layers.Dense(512, input_shape=(512,)) for _ in range(1)])
        print("ready", flush=True)
        while True:
            model.save({str(path)!r})
    """)
    env = dict(os.environ, PYTHONPATH=str(Path(seqlab.__file__).parents[1]),
               OMP_NUM_THREADS="1")
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, env=env)
    try:
        assert proc.stdout.readline().strip() == b"ready"
        import time
        time.sleep(0.2)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    model = load_model(path)
    assert model.count_params() == 512 * 512 + 512


@pytest.mark.parametrize("optimizer", ["adam", "rmsprop"])
def test_resume_from_a_saved_model_equals_training_straight_through(tmp_path, optimizer):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 3)).astype("float32")
    y = (x.sum(1) > 0).astype("float32")

    def make():
        torch.manual_seed(0)
        model = Sequential([L.Dense(8, activation="tanh", input_shape=(3,)),
                            L.Dense(1, activation="sigmoid")])
        model.compile(optimizer=optimizer, loss="binary_crossentropy")
        return model

    straight = make()
    straight.fit(x, y, epochs=2, batch_size=16, seed=5, verbose=0)
    first = make()
    first.fit(x, y, epochs=1, batch_size=16, seed=5, verbose=0)
    first.save(tmp_path / "ckpt.safetensors")
    resumed = load_model(tmp_path / "ckpt.safetensors")
    resumed.fit(x, y, epochs=2, initial_epoch=1, batch_size=16, seed=5, verbose=0)
    for a, b in zip(resumed.get_weights(), straight.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
    # without the optimizer state the second epoch would differ
    fresh = make()
    fresh.fit(x, y, epochs=1, batch_size=16, seed=5, verbose=0)
    fresh.compile(optimizer=optimizer, loss="binary_crossentropy")  # new optimizer
    fresh.fit(x, y, epochs=2, initial_epoch=1, batch_size=16, seed=5, verbose=0)
    assert not np.allclose(fresh.get_weights()[0], straight.get_weights()[0], atol=1e-7)


def test_nested_sequential_round_trip(tmp_path):
    torch.manual_seed(0)
    inner = Sequential([L.Dense(4, activation="relu"), L.Dense(3)], name="inner")
    model = Sequential([L.Embedding(12, 5), L.LSTM(4), inner, L.Dense(1)])
    x = ids(3, 6)
    model.save(tmp_path / "nested.safetensors")
    again = load_model(tmp_path / "nested.safetensors")
    np.testing.assert_array_equal(again.predict(x), model.predict(x))
    assert again.layers[2].name == "inner" and isinstance(again.layers[2], Sequential)


def test_a_fresh_interpreter_loads_every_seqlab_model_family(tmp_path):
    """``import seqlab; seqlab.load_model(path)`` knows the autoencoders, the masked LM
    and the Transformer models without importing their modules first."""
    from seqlab.models.autoencoders import VAE, Autoencoder
    from seqlab.models.pretraining import MaskedLanguageModel

    torch.manual_seed(0)
    models = {"ae": Autoencoder(input_dim=6, code_dim=2),
              "vae": VAE(input_dim=6, latent_dim=2, hidden=(4,)),
              "mlm": MaskedLanguageModel(vocab_size=11, d_model=8, num_heads=2, ff_dim=16,
                                         num_layers=1)}
    for name, model in models.items():
        model.save(tmp_path / f"{name}.safetensors")
    code = textwrap.dedent(f"""
        import seqlab
        for name in ("ae", "vae", "mlm"):
            m = seqlab.load_model({str(tmp_path)!r} + "/" + name + ".safetensors",
                                  compile=False)
            print(name, type(m).__name__)
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split() == ["ae", "Autoencoder", "vae", "VAE", "mlm",
                                  "MaskedLanguageModel"]
