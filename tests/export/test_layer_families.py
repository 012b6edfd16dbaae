"""``Model.export`` of every layer family: onnxruntime (and, for a few, the pt2 program)
equals seqlab to 1e-5 on inputs of another batch size and length than the example; a
layer an exporter cannot express fails with an error naming it and the way out."""
from __future__ import annotations

import io
import json
import zipfile

import numpy as np
import pytest
import torch

from seqlab.export import ExportError
from seqlab.layers import (GRU, LSTM, Bidirectional, Conv1D, Dense, Embedding,
                           GlobalAveragePooling1D, MultiHeadAttention, SimpleRNN,
                           TransformerEncoder)
from seqlab.models.autoencoders import ConvAutoencoder, RecurrentAutoencoder
from seqlab.models.model import Model
from seqlab.models.sequential import Sequential

ort = pytest.importorskip("onnxruntime", reason="onnxruntime is not installed (pip install "
                                                "'seqlab[export]')")


def _run_onnx(folder, *inputs):
    sess = ort.InferenceSession(str(folder / "model.onnx"), providers=["CPUExecutionProvider"])
    names = [i.name for i in sess.get_inputs()]
    return sess.run(None, {n: x.numpy() for n, x in zip(names, inputs)})


def _check(model, example, *inputs, tmp_path, dynamic_time=True, pt2=False):
    torch.manual_seed(0)
    model.eval()
    with torch.no_grad():
        model(*example)                                       # builds lazily built layers
        want = model(*inputs)
    folder = model.export(tmp_path / "onnx", "onnx", example=example, dynamic_time=dynamic_time)
    got = _run_onnx(folder, *inputs)[0]
    np.testing.assert_allclose(got, want.numpy(), rtol=1e-5, atol=1e-5)
    if pt2:
        folder = model.export(tmp_path / "pt2", "pt2", example=example,
                              dynamic_time=dynamic_time)
        program = torch.export.load(str(folder / "model.pt2")).module()
        with torch.no_grad():
            torch.testing.assert_close(program(*inputs), want, rtol=1e-5, atol=1e-5)


class Masked(Model):
    """Embedding(mask_zero) -> recurrent layer(s) -> Dense: the mask reaches every layer."""

    def __init__(self, *layers):
        super().__init__()
        self.embed = Embedding(30, 5, mask_zero=True)
        self.layers_ = torch.nn.ModuleList(layers)
        self.out = Dense(3)

    def forward(self, ids):
        x = self.embed(ids)
        for layer in self.layers_:
            x = layer(x)
        return self.out(x)


IDS = torch.tensor([[3, 4, 5, 6, 7, 8, 9], [1, 2, 0, 0, 0, 0, 0], [5, 6, 7, 8, 0, 0, 0]])
EXAMPLE = (torch.tensor([[3, 4, 5, 6], [2, 3, 0, 0]]),)


@pytest.mark.parametrize("make", [
    lambda: [SimpleRNN(6, return_sequences=True), SimpleRNN(6)],
    lambda: [SimpleRNN(6, activation="relu")],
    lambda: [LSTM(6, return_sequences=True), LSTM(6)],
    lambda: [GRU(6, reset_after=False, return_sequences=True), GRU(6, reset_after=False)],
    lambda: [GRU(6, reset_after=True)],
    lambda: [Bidirectional(LSTM(6, return_sequences=True)), Bidirectional(GRU(4))],
    lambda: [Bidirectional(SimpleRNN(4), merge_mode="sum")],
    lambda: [LSTM(6, return_sequences=True), Dense(4)],     # masked steps repeat the output
    lambda: [LSTM(6, go_backwards=True)],
], ids=["rnn", "rnn_relu", "lstm", "gru_reset_before", "gru_reset_after", "bidirectional",
        "bi_sum", "lstm_sequences", "go_backwards"])
def test_recurrent_families_with_masks(make, tmp_path):
    _check(Masked(*make()), EXAMPLE, IDS, tmp_path=tmp_path)


@pytest.mark.parametrize("make", [
    lambda: [LSTM(6, return_sequences=True), LSTM(6)],
    lambda: [GRU(6, reset_after=False)],
    lambda: [Bidirectional(GRU(6, return_sequences=True)), SimpleRNN(4)]])
def test_pt2_recurrent_families(make, tmp_path):
    _check(Masked(*make()), EXAMPLE, IDS, tmp_path=tmp_path, pt2=True)


def test_pt2_is_a_zip_without_pickles(tmp_path):
    model = Masked(GRU(4))
    model(*EXAMPLE)
    folder = model.export(tmp_path, "pt2", example=EXAMPLE)
    archive = zipfile.ZipFile(folder / "model.pt2")
    for name in archive.namelist():
        data = archive.read(name)
        assert not data.startswith(b"\x80"), name                 # a pickle's first byte
        assert not name.endswith(".pkl"), name
        assert not data.startswith(b"PK"), name                   # no torch.save inside
    assert json.loads(archive.read(next(n for n in archive.namelist()
                                        if n.endswith("models/model.json"))))


def test_conv_attention_and_transformer(tmp_path):
    x = torch.randn(3, 9, 4)
    conv = Sequential([Conv1D(5, 3, padding="same", activation="relu"), Conv1D(4, 2),
                       GlobalAveragePooling1D(), Dense(2)])
    _check(conv, (torch.randn(2, 6, 4),), x, tmp_path=tmp_path / "conv", pt2=True)

    class Attend(Model):
        def __init__(self):
            super().__init__()
            self.mha = MultiHeadAttention(2, 4)
            self.enc = TransformerEncoder(num_layers=2, num_heads=2, ff_dim=8, dropout=0.0)

        def forward(self, x):
            return self.enc(self.mha(x, x))

    _check(Attend(), (torch.randn(2, 6, 4),), x, tmp_path=tmp_path / "attention")


def test_autoencoders(tmp_path):
    x = torch.randn(3, 16, 2)
    for i, ae in enumerate([RecurrentAutoencoder(16, 2, units=6, cell="lstm"),
                            RecurrentAutoencoder(16, 2, units=6, cell="gru"),
                            ConvAutoencoder(16, 2, filters=(4, 3), kernel_size=3)]):
        _check(ae, (torch.randn(2, 16, 2),), x, tmp_path=tmp_path / str(i), dynamic_time=False)


def test_what_cannot_be_exported_says_why(tmp_path):
    model = Masked(LSTM(4, activation="relu"))
    model(*EXAMPLE)
    with pytest.raises(ExportError, match=r"LSTM .*activation='relu'.*retrain"):
        model.export(tmp_path, "onnx", example=EXAMPLE)
    model = Masked(GRU(4, stateful=True))
    model(*EXAMPLE)
    with pytest.raises(ExportError, match=r"GRU .*stateful=False"):
        model.export(tmp_path, "onnx", example=EXAMPLE)
    conv = Sequential([Conv1D(3, 3, strides=2, padding="same")])
    conv(torch.zeros(2, 8, 1))
    with pytest.raises(ExportError, match=r"Conv1D .*dynamic_time=False"):
        conv.export(tmp_path, "onnx", example=(torch.zeros(2, 8, 1),))
    with pytest.raises(ExportError, match="format must be one of onnx, pt2"):
        conv.export(tmp_path, "tflite", example=(torch.zeros(2, 8, 1),))
    with pytest.raises(ExportError, match="example is required"):
        conv.export(tmp_path, "onnx")


def test_an_op_onnx_lacks_names_the_layer(tmp_path):
    from seqlab.layers.base import Layer

    class Bessel(Layer):
        def forward(self, x):
            return torch.special.i0(x)

    model = Sequential([Dense(3), Bessel(name="bessel")])
    example = (torch.zeros(2, 4),)
    model(*example)
    with pytest.raises(ExportError, match=r"layer bessel \(Bessel\).*i0.*--format pt2"):
        model.export(tmp_path / "onnx", "onnx", example=example)
    folder = model.export(tmp_path / "pt2", "pt2", example=example)   # the way out works
    x = torch.randn(3, 4)
    with torch.no_grad():
        torch.testing.assert_close(torch.export.load(str(folder / "model.pt2")).module()(x),
                                   model(x))
