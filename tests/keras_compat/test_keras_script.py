"""A Keras 3 script of the course's kind, imports changed only: Input, regularizers,
constraints, initialisers, seeded dropout, fit/evaluate/predict on NumPy, save/load."""
import numpy as np
import torch

from seqlab.keras import Input, constraints, initializers, layers, models, regularizers
from seqlab.layers.base import regularization_loss
from seqlab.layers.constraints import apply_constraints


def _script():
    model = models.Sequential([
        Input(shape=(12,)),
        layers.Embedding(50, 8, mask_zero=True, embeddings_regularizer=regularizers.L2(1e-4)),
        layers.LSTM(8, dropout=0.1, seed=1, use_cudnn="auto",
                    kernel_regularizer=regularizers.L1L2(l1=1e-5, l2=1e-4),
                    recurrent_initializer=initializers.Orthogonal(seed=2)),
        layers.Dense(1, activation="sigmoid", kernel_constraint=constraints.MaxNorm(2.0),
                     kernel_initializer=initializers.GlorotUniform(seed=3)),
    ])
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    return model


def test_keras_script_runs_saves_and_loads(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.integers(1, 50, size=(64, 12))
    y = (x[:, 0] > 25).astype("float32")
    model = _script()
    assert model.count_params() == 50 * 8 + 4 * (8 * 8 + 8 * 8 + 8) + 9
    model.fit(x, y, epochs=1, batch_size=16, verbose=0)
    loss = regularization_loss(model)
    assert loss.item() > 0 and len(model.losses) == 2
    apply_constraints(model)
    assert model.layers[2].kernel.detach().norm(dim=0).max() <= 2.0 + 1e-6
    model.evaluate(x, y, verbose=0)
    before = model.predict(x, verbose=0)
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = models.load_model(path)
    np.testing.assert_allclose(loaded.predict(x, verbose=0), before, atol=1e-6)
    lstm = loaded.layers[1]
    assert lstm.cell._weight_regularizers["kernel"].get_config() == {"l1": 1e-5, "l2": 1e-4}
    assert loaded.layers[2]._weight_constraints["kernel"].max_value == 2.0
    torch.testing.assert_close(regularization_loss(loaded), loss.detach())
