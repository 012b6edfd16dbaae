"""An attention classifier in Keras's Functional API: does the sequence contain the signal?

Data (generated here, seeded): sequences of 5 to 20 token ids from 2..29, padded on the
right with 0 (``Embedding(mask_zero=True)`` masks the padding). Half of them carry the
signal token 1 at a random position; the label says whether it is there. A recurrent
state must carry the signal to the end; attention can look straight at it::

    tokens   [7, 12, 1, 25, 3, 0, 0]   -> label 1   (signal at step 2)
    tokens   [9, 4, 18, 0, 0, 0, 0]    -> label 0

Model (one graph, the mask reaching every layer that reads it):

    tokens -> Embedding(mask_zero) -> LSTM(return_sequences) = states (B, T, H)
    Attention()([states, states])  (dot-product self-attention over the real steps)
    -> Concatenate with the states -> GlobalMaxPooling1D -> Dense(1, sigmoid)

Run: ``python examples/keras_attention_classifier.py``.
"""
from __future__ import annotations

import numpy as np

import seqlab
from seqlab import keras
from seqlab.keras import layers

VOCAB, SIGNAL, MAX_LEN = 30, 1, 20


def make_data(count: int = 2000, seed: int = 0):
    """(x (N, MAX_LEN) int64 padded with 0, y (N,) float32 in {0, 1})."""
    rng = np.random.default_rng(seed)
    x = np.zeros((count, MAX_LEN), dtype=np.int64)
    y = (rng.random(count) < 0.5).astype("float32")
    for n in range(count):
        length = rng.integers(5, MAX_LEN + 1)
        x[n, :length] = rng.integers(2, VOCAB, size=length)
        if y[n]:
            x[n, rng.integers(0, length)] = SIGNAL
    return x, y


def build(units: int = 16):
    tokens = keras.Input(shape=(None,), dtype="int64", name="tokens")
    embedded = layers.Embedding(VOCAB, 16, mask_zero=True)(tokens)
    states = layers.LSTM(units, return_sequences=True)(embedded)
    attended = layers.Attention(use_scale=True)([states, states])
    merged = layers.Concatenate()([states, attended])
    pooled = layers.GlobalMaxPooling1D()(merged)
    output = layers.Dense(1, activation="sigmoid", name="contains_signal")(pooled)
    return keras.Model(tokens, output, name="attention_classifier")


def train(count: int = 2000, epochs: int = 10, seed: int = 0, verbose: int = 0):
    """Train on the first 80%; accuracy on the held-out 20%."""
    x, y = make_data(count, seed)
    cut = int(0.8 * count)
    model = build()
    model.compile(optimizer=seqlab.optimizers.Adam(learning_rate=1e-2),
                  loss="binary_crossentropy", metrics=["accuracy"])
    history = model.fit(x[:cut], y[:cut], batch_size=32, epochs=epochs, verbose=verbose,
                        seed=seed, validation_split=0.1)
    loss, accuracy = model.evaluate(x[cut:], y[cut:], verbose=0)
    return model, accuracy, history


def main() -> None:
    model, accuracy, _ = train(verbose=2)
    model.summary()
    print(f"held-out accuracy: {accuracy:.1%}")


if __name__ == "__main__":
    main()
