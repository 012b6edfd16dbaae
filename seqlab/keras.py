"""Keras-shaped namespace, so the course's listings run with only the import line changed.

    import seqlab as tf                  # was: import tensorflow as tf
    from seqlab.keras import layers      # was: from tensorflow.keras import layers
    model = tf.keras.Sequential()
    model.add(layers.Embedding(input_dim=1000, output_dim=64))

and ``from seqlab.keras.models import Sequential``, ``from seqlab.keras.layers import LSTM``,
``from seqlab.keras.preprocessing import sequence`` (``sequence.pad_sequences``),
``seqlab.keras.initializers`` / ``regularizers`` / ``constraints`` (Keras's classes and
``get``), ``seqlab.keras.Input`` and ``seqlab.keras.datasets`` (``imdb``, ``reuters`` from
Keras's cache files, never downloaded).
"""
import sys as _sys
import types as _types

from seqlab import layers, losses, metrics, optimizers  # noqa: F401
from seqlab.layers import constraints, regularizers  # noqa: F401
from seqlab.layers import initializers as _initializers
from seqlab.layers import keras_initializers as _keras_initializers
from seqlab.data import keras_datasets as datasets
from seqlab.data import padding as _padding
from seqlab.data import text as _text
from seqlab.io import load_model  # noqa: F401
from seqlab.layers.input import Input, InputLayer, KerasTensor  # noqa: F401
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

initializers = _types.ModuleType("seqlab.keras.initializers",
                                 "Keras's initialiser classes, their snake_case names, get().")
for _cls_name, _cls in _keras_initializers.CLASSES.items():
    setattr(initializers, _cls_name, _cls)
    setattr(initializers, _keras_initializers.snake_name(_cls_name), _cls)
initializers.Initializer = _keras_initializers.Initializer
initializers.get = _initializers.get
initializers.serialize = lambda init: {"class_name": type(init).__name__,
                                       "config": init.get_config()}
initializers.deserialize = _initializers.get

for _name, _module in {"datasets": datasets, "datasets.imdb": datasets.imdb,
                       "datasets.reuters": datasets.reuters, "initializers": initializers, "regularizers": regularizers,
                       "constraints": constraints, "models": models, "preprocessing": preprocessing,
                       "preprocessing.sequence": sequence, "preprocessing.text": text,
                       "utils": utils, "layers": layers}.items():
    _sys.modules[f"seqlab.keras.{_name}"] = _module
