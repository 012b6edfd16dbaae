"""The course's listings run with only the import line changed (seeds 001 and 003)."""
import numpy as np

import seqlab as tf
from seqlab.keras import layers
from seqlab.keras.layers import Dense, Embedding, SimpleRNN
from seqlab.keras.models import Sequential
from seqlab.keras.preprocessing import sequence


def test_001_listing_through_tf_keras_names():
    model = tf.keras.Sequential()
    model.add(layers.Embedding(input_dim=1000, output_dim=64))
    model.add(layers.LSTM(128))
    model.add(layers.Dense(10, activation='softmax'))
    text = model.summary(print_fn=None)
    assert "Total params: 164,106" in text


def test_003_listing_preprocessing_and_model():
    X = sequence.pad_sequences([[5, 6, 7], [8]], value=0, padding='post', maxlen=4)
    np.testing.assert_array_equal(X, [[5, 6, 7, 0], [8, 0, 0, 0]])
    model = Sequential()
    model.add(Embedding(input_dim=10000, output_dim=32, input_length=256))
    model.add(SimpleRNN(units=8, return_sequences=True))
    model.add(SimpleRNN(units=8, return_sequences=False))
    model.add(Dense(units=1, activation='sigmoid'))
    text = model.summary(print_fn=None)
    assert "(None, 256, 8)" in text and "Total params: 320,473" in text
    assert tf.keras.utils.to_categorical([0, 2]).shape == (2, 3)
