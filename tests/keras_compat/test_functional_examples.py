"""The Functional API examples train to their quality bars on small data.

examples/keras_seq2seq_calculator.py (keras.io's LSTM seq2seq: encoder states into the
decoder, inference models sharing the layers, greedy decoding) and
examples/keras_attention_classifier.py. Bars leave a wide margin below what the runs
reach (seq2seq: about 0.8 exact answers after 30 epochs; attention: 1.0).
"""
import importlib.util
from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.learning
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _load(name):
    spec = importlib.util.spec_from_file_location(f"{name}_example", EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_seq2seq_encoding_is_keras_io_layout():
    ex = _load("keras_seq2seq_calculator")
    enc, dec_in, target, answers, questions, vocab = ex.load_data(digits=2, count=20, seed=1)
    assert enc.shape[1:] == (5, 12) and dec_in.shape[1:] == (5, 14)  # 12 + start, stop
    decode = lambda a: "".join(vocab[i] for i in a.argmax(-1))  # noqa: E731
    assert decode(dec_in[0]) == (ex.START + answers[0] + ex.STOP).ljust(5)
    assert decode(target[0]) == (answers[0] + ex.STOP).ljust(5)
    np.testing.assert_array_equal(dec_in[:, 1:], target[:, :-1])  # teacher forcing: shifted


def test_seq2seq_calculator_answers_held_out_questions():
    ex = _load("keras_seq2seq_calculator")
    model, exact, history, _ = ex.train(digits=2, count=4000, epochs=30, seed=0)
    print(f"seq2seq exact answers: {exact:.3f}")
    assert exact >= 0.5
    assert history.history["val_accuracy"][-1] > 0.85


def test_attention_classifier_finds_the_signal():
    ex = _load("keras_attention_classifier")
    model, accuracy, history = ex.train(count=1500, epochs=4, seed=0)
    print(f"attention classifier accuracy: {accuracy:.3f}")
    assert accuracy >= 0.9
    assert " (Attention) " in model.summary(print_fn=None)
