"""Keras-shaped namespace, so the course's listings run with only the import line changed.

    import seqlab as tf                  # was: import tensorflow as tf
    from seqlab.keras import layers      # was: from tensorflow.keras import layers
    model = tf.keras.Sequential()
    model.add(layers.Embedding(input_dim=1000, output_dim=64))

and ``from seqlab.keras.models import Sequential``, ``from seqlab.keras.layers import LSTM``,
``from seqlab.keras.preprocessing import sequence`` (``sequence.pad_sequences``).
"""
import sys as _sys
import types as _types

from seqlab import layers, losses, metrics, optimizers  # noqa: F401
from seqlab.data import padding as _padding
from seqlab.data import text as _text
from seqlab.io import load_model  # noqa: F401
from seqlab.models import Model, Sequential, callbacks  # noqa: F401

models = _types.ModuleType("seqlab.keras.models", "Keras-style models namespace.")
models.Sequential, models.Model, models.load_model = Sequential, Model, load_model

preprocessing = _types.ModuleType("seqlab.keras.preprocessing", "Keras-2 preprocessing.")
sequence = _types.ModuleType("seqlab.keras.preprocessing.sequence", "pad_sequences.")
sequence.pad_sequences = _padding.pad_sequences
text = _types.ModuleType("seqlab.keras.preprocessing.text", "Tokenizer.")
text.Tokenizer = _text.Tokenizer
preprocessing.sequence, preprocessing.text = sequence, text

utils = _types.ModuleType("seqlab.keras.utils", "to_categorical, pad_sequences.")
utils.to_categorical = _padding.to_categorical
utils.pad_sequences = _padding.pad_sequences

for _name, _module in {"models": models, "preprocessing": preprocessing,
                       "preprocessing.sequence": sequence, "preprocessing.text": text,
                       "utils": utils, "layers": layers}.items():
    _sys.modules[f"seqlab.keras.{_name}"] = _module
