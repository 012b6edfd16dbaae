"""summary(): the course's listings print the course's totals (seed 001 and 003)."""
import pytest

from seqlab import Sequential, layers
from seqlab.layers.base import reset_name_counts
from seqlab.models.summary import format_shape

from seqlab.layers.recurrent import GRU, LSTM, SimpleRNN


def _course_listing(rnn):
    # 001 "RNN avec Keras": only the import line differs from the course.
    model = Sequential()
    model.add(layers.Embedding(input_dim=1000, output_dim=64))
    model.add(rnn)
    model.add(layers.Dense(10, activation="softmax"))
    return model


def _totals(text):
    return [line for line in text.splitlines() if "params:" in line]


@pytest.mark.parametrize("make, rnn_params, total", [
    (lambda: SimpleRNN(128), 24704, "89,994"),
    (lambda: LSTM(128), 98816, "164,106"),
    (lambda: GRU(128), 74112, "139,402"),
])
def test_001_listings_print_the_course_totals(make, rnn_params, total):
    model = _course_listing(make())
    text = model.summary(print_fn=None)
    assert _totals(text) == [f"Total params: {total}", f"Trainable params: {total}",
                             "Non-trainable params: 0"]
    rows = text.splitlines()[4:9:2]
    assert rows[0].split()[-2:] == ["64)", "64000"]          # (None, None, 64) 64000
    assert rows[1].split()[-3:] == ["(None,", "128)", str(rnn_params)]
    assert rows[2].split()[-3:] == ["(None,", "10)", "1290"]


def test_001_deep_encoder():
    model = Sequential()
    model.add(layers.Embedding(input_dim=1000, output_dim=64))
    model.add(GRU(256, return_sequences=True))
    model.add(SimpleRNN(128))
    model.add(layers.Dense(10, activation="softmax"))
    text = model.summary(print_fn=None)
    # GRU(256) on 64 inputs, reset_after=False: 3 * (64*256 + 256*256 + 256) = 246,528;
    # SimpleRNN(128) on 256 inputs: 256*128 + 128*128 + 128 = 49,280.
    assert "(None, None, 256)         246528" in text
    assert "(None, 128)               49280" in text
    assert _totals(text)[0] == "Total params: 361,098"


def test_003_imdb_listing_exact_table():
    reset_name_counts()
    model = Sequential()
    model.add(layers.Embedding(input_dim=10000, output_dim=32, input_length=256))
    model.add(SimpleRNN(units=8, return_sequences=True))
    model.add(SimpleRNN(units=8, return_sequences=False))
    model.add(layers.Dense(units=1, activation="sigmoid"))
    expected = """\
Model: "sequential"
_________________________________________________________________
Layer (type)                 Output Shape              Param #
=================================================================
embedding (Embedding)        (None, 256, 32)           320000
_________________________________________________________________
simple_rnn (SimpleRNN)       (None, 256, 8)            328
_________________________________________________________________
simple_rnn_1 (SimpleRNN)     (None, 8)                 136
_________________________________________________________________
dense (Dense)                (None, 1)                 9
=================================================================
Total params: 320,473
Trainable params: 320,473
Non-trainable params: 0
_________________________________________________________________"""
    printed = []
    assert model.summary(print_fn=printed.append) is None  # printed once, as Keras does
    assert printed == [expected]
    assert model.summary(print_fn=None) == expected


def test_summary_of_dense_model_and_unbuilt_model():
    model = Sequential([layers.Dense(1000, input_shape=(1000,)), layers.Dense(2)])
    assert "Total params: 1,003,002" in model.summary(print_fn=None)
    lazy = Sequential([layers.Dense(3)])
    text = lazy.summary(print_fn=None)
    assert "?" in text and "Total params: 0" in text


def test_long_names_widen_the_column():
    model = Sequential([layers.Dense(2, input_shape=(3,), name="a_very_long_layer_name_indeed")])
    line = [l for l in model.summary(print_fn=None).splitlines() if "indeed" in l][0]
    assert "a_very_long_layer_name_indeed (Dense) (None, 2)" in line


def test_format_shape():
    assert format_shape((None, None, 64)) == "(None, None, 64)"
    assert format_shape([(None, 8), (None, 8)]) == "[(None, 8), (None, 8)]"
    assert format_shape(None) == "?"


def _table_rows(text):
    """(name (Type), output shape, count) of each layer row of a summary table."""
    lines = text.splitlines()
    body = lines[lines.index(next(l for l in lines if l.startswith("="))) + 1:]
    rows = []
    for line in body:
        if line.startswith(("_", "=", "Total", "Trainable", "Non-trainable")) or not line:
            continue
        head, count = line.rsplit(None, 1)
        name, shape = head.split(") ", 1)
        rows.append((name + ")", shape.strip(), int(count)))
    return rows


@pytest.mark.parametrize("make", ["dense", "stacked", "vae", "conv", "recurrent"])
def test_autoencoder_summaries_list_the_layers_of_their_module_lists(make):
    from seqlab.models.autoencoders import (VAE, Autoencoder, ConvAutoencoder,
                                            RecurrentAutoencoder)
    reset_name_counts()
    model = {"dense": lambda: Autoencoder(64, 8),
             "stacked": lambda: Autoencoder(64, 8, hidden=(32, 16)),
             "vae": lambda: VAE(64, latent_dim=2, hidden=(32,)),
             "conv": lambda: ConvAutoencoder(20, 1, filters=(16, 8), kernel_size=7),
             "recurrent": lambda: RecurrentAutoencoder(20, 1, units=8)}[make]()
    text = model.summary(print_fn=None)
    total = sum(p.numel() for p in model.parameters())
    assert "?" not in text and "ModuleList" not in text
    assert _totals(text)[0] == f"Total params: {total:,}"
    rows = _table_rows(text)
    assert sum(count for _, _, count in rows) == total
    if make == "stacked":  # 64 -> 32 -> 16 -> 8 -> 16 -> 32 -> 64, Dense (D+1) * U each
        assert rows == [("dense (Dense)", "(None, 32)", 65 * 32),
                        ("dense_1 (Dense)", "(None, 16)", 33 * 16),
                        ("dense_2 (Dense)", "(None, 8)", 17 * 8),
                        ("dense_3 (Dense)", "(None, 16)", 9 * 16),
                        ("dense_4 (Dense)", "(None, 32)", 17 * 32),
                        ("dense_5 (Dense)", "(None, 64)", 33 * 64)]
    if make == "conv":  # time halves twice, then doubles twice; Conv1D: (k * C_in + 1) * F
        assert [shape for _, shape, _ in rows] == ["(None, 10, 16)", "(None, 5, 8)",
                                                    "(None, 10, 8)", "(None, 20, 16)",
                                                    "(None, 20, 1)"]
        assert [count for _, _, count in rows] == [(7 * 1 + 1) * 16, (7 * 16 + 1) * 8,
                                                   (7 * 8 + 1) * 8, (7 * 8 + 1) * 16,
                                                   (7 * 16 + 1) * 1]


def test_a_plain_module_lists_its_children_with_keras_counts():
    """A task model is a plain nn.Module: a row per child (those of a ModuleList one by
    one), '?' for a torch module's unknown shape, the example's time axis unknown, and
    totals that are the rows' sum (BatchNormalization's moving statistics non-trainable)."""
    from torch import nn
    import torch

    from seqlab.models.summary import summary
    from seqlab.tasks.common import build_with

    class Tagger(nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = layers.Embedding(50, 8)
            self.stack = nn.ModuleList([LSTM(16, return_sequences=True),
                                        GRU(4, return_sequences=True)])
            self.norm = layers.BatchNormalization()
            self.head = nn.Linear(4, 3)

        def forward(self, ids):
            x = self.embed(ids)                                # (B, T, 8)
            for layer in self.stack:
                x = layer(x)                                   # (B, T, 16) then (B, T, 4)
            return self.head(self.norm(x))                     # (B, T, 3)

    reset_name_counts()
    model = build_with(Tagger(), torch.ones(2, 5, dtype=torch.long))
    text = summary(model)
    lstm, gru = 4 * 16 * (8 + 16 + 1), 3 * 4 * (16 + 4 + 1)  # textbook formulas
    assert _table_rows(text) == [("embedding (Embedding)", "(None, None, 8)", 50 * 8),
                                 ("lstm (LSTM)", "(None, None, 16)", lstm),
                                 ("gru (GRU)", "(None, None, 4)", gru),
                                 ("batch_normalization (BatchNormalization)",
                                  "(None, None, 4)", 4 * 4),
                                 ("linear (Linear)", "?", 4 * 3 + 3)]
    total = 50 * 8 + lstm + gru + 16 + 15
    assert _totals(text) == [f"Total params: {total:,}",
                             f"Trainable params: {total - 8:,}",   # minus mean, variance
                             "Non-trainable params: 8"]
    assert sum(p.numel() for p in model.parameters()) == total - 8
