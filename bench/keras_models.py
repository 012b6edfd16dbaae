"""The models bench/keras_compare.py runs, built the same way in Keras 3 and in seqlab.

* RNN classifier (as bench/rnn_fit.py): Embedding(10000, 32) + LSTM | GRU | SimpleRNN
  + Dense(1, sigmoid); ``rmsprop`` / ``binary_crossentropy`` / ``accuracy``.
* Transformer classifier (predict only): ids (B, 256), id 0 padding (masked),
  token + learned position embedding (d_model 64), 2 post-norm encoder blocks (4 heads,
  feed-forward 128, ReLU, dropout 0.1), mean over the real tokens, Dense(1, sigmoid).
  In Keras: the functional model of the Keras example "Text classification with
  Transformer" with its mask carried from ``Embedding(mask_zero=True)`` through
  ``MultiHeadAttention`` and ``GlobalAveragePooling1D``.

Keras is imported inside the functions: this file is imported by the benchmark only after
it chose the Keras backend (``KERAS_BACKEND``).
"""
from __future__ import annotations

VOCAB, EMB, MAXLEN = 10_000, 32, 256
TF_D, TF_HEADS, TF_FF, TF_LAYERS = 64, 4, 128, 2


def keras_rnn(cell: str, units: int, seed: int = 0):
    import keras
    keras.utils.set_random_seed(seed)
    rnn = {"lstm": keras.layers.LSTM, "gru": keras.layers.GRU,
           "rnn": keras.layers.SimpleRNN}[cell]
    model = keras.Sequential([keras.Input((MAXLEN,), dtype="int32"),
                              keras.layers.Embedding(VOCAB, EMB), rnn(units),
                              keras.layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer="rmsprop", loss="binary_crossentropy", metrics=["accuracy"])
    return model


def keras_transformer(seed: int = 0):
    import keras
    from keras import layers, ops
    keras.utils.set_random_seed(seed)

    class TokenAndPosition(layers.Layer):
        """ids (B, T) -> token + position vectors (B, T, D); mask: ids != 0."""

        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.tok = layers.Embedding(VOCAB, TF_D)
            self.pos = layers.Embedding(MAXLEN, TF_D)

        def call(self, ids):
            positions = ops.arange(ops.shape(ids)[-1])
            return self.tok(ids) + self.pos(positions)[None]

        def compute_mask(self, ids, mask=None):
            return ops.not_equal(ids, 0)

    ids = keras.Input((MAXLEN,), dtype="int32")
    x = TokenAndPosition()(ids)
    for _ in range(TF_LAYERS):  # post-norm block
        a = layers.MultiHeadAttention(TF_HEADS, TF_D // TF_HEADS, dropout=0.1)(x, x)
        x = layers.LayerNormalization(epsilon=1e-5)(x + layers.Dropout(0.1)(a))
        f = layers.Dense(TF_D)(layers.Dense(TF_FF, activation="relu")(x))
        x = layers.LayerNormalization(epsilon=1e-5)(x + layers.Dropout(0.1)(f))
    x = layers.GlobalAveragePooling1D()(x)
    out = layers.Dense(1, activation="sigmoid")(layers.Dropout(0.1)(x))
    return keras.Model(ids, out)


def seqlab_transformer(seed: int = 0):
    import torch

    from seqlab.models.transformers.classifier import TransformerClassifier
    torch.manual_seed(seed)
    model = TransformerClassifier(vocab_size=VOCAB, num_classes=1, d_model=TF_D,
                                  num_heads=TF_HEADS, ff_dim=TF_FF, num_layers=TF_LAYERS,
                                  max_length=MAXLEN, dropout=0.1, learned_positions=True)
    model.eval()
    return model
