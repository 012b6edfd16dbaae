"""What several model tests build."""
import pytest

import seqlab
from seqlab import layers


@pytest.fixture
def small_classifier():
    """A factory of fresh compiled LSTM(6) + Dropout(0.3) + Dense(1, sigmoid) binary
    classifiers (adam, binary cross-entropy, accuracy)."""
    def make():
        model = seqlab.Sequential([layers.LSTM(6), layers.Dropout(0.3),
                                   layers.Dense(1, activation="sigmoid")])
        model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
        return model
    return make
