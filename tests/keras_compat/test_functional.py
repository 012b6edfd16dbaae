"""The Functional API: graphs of layer calls on keras.Input, as a Keras 3 user writes them."""
import numpy as np
import pytest
import torch

import seqlab
from seqlab import keras
from seqlab.keras import layers
from seqlab.models.functional import Functional


def _graph():
    a = keras.Input((None,), dtype="int64", name="tokens")
    b = keras.Input((2,), name="extra")
    e = layers.Embedding(20, 8, mask_zero=True, name="emb")(a)
    seq, h, c = layers.LSTM(6, return_sequences=True, return_state=True, name="enc")(e)
    dec = layers.LSTM(6, return_sequences=True, name="dec")(seq, initial_state=[h, c])
    att = layers.Attention(name="att")([dec, seq])
    pooled = layers.GlobalAveragePooling1D(name="pool")(att)
    merged = layers.Concatenate(name="cat")([pooled, layers.Dense(3, name="side")(b)])
    out1 = layers.Dense(1, activation="sigmoid", name="bin")(merged)
    out2 = layers.Dense(4, activation="softmax", name="cls")(merged)
    return keras.Model(inputs=[a, b], outputs=[out1, out2])


def _data(n=64):
    rng = np.random.default_rng(0)
    x = rng.integers(1, 20, size=(n, 7))
    x[: n // 2, 5:] = 0
    extra = rng.random((n, 2)).astype("float32")
    return x, extra, (x[:, 0] > 10).astype("float32")[:, None], x[:, 1] % 4


def test_model_with_inputs_and_outputs_is_a_functional_model_with_symbolic_shapes():
    torch.manual_seed(0)
    model = _graph()
    assert isinstance(model, Functional) and isinstance(model, seqlab.Model)
    assert [t.shape for t in model.outputs] == [(None, 1), (None, 4)]
    assert model.input_names == ["tokens", "extra"] and model.output_names == ["bin", "cls"]
    seq, h, c = layers.LSTM(5, return_sequences=True, return_state=True)(keras.Input((4, 3)))
    assert (seq.shape, h.shape, c.shape) == ((None, 4, 5), (None, 5), (None, 5))


def test_graph_runs_like_the_same_layers_called_by_hand_with_the_mask():
    torch.manual_seed(0)
    model = _graph()
    x, extra, _, _ = _data(8)
    got = model([torch.as_tensor(x), torch.as_tensor(extra)])
    emb, enc, dec = model.get_layer("emb"), model.get_layer("enc"), model.get_layer("dec")
    xt = torch.as_tensor(x)
    mask = xt != 0
    seq, h, c = enc(emb(xt), mask=mask)
    d = dec(seq, initial_state=[h, c], mask=mask)
    att = model.get_layer("att")([d, seq], mask=[mask, mask])
    pooled = model.get_layer("pool")(att, mask=mask)
    merged = torch.cat([pooled, model.get_layer("side")(torch.as_tensor(extra))], dim=-1)
    torch.testing.assert_close(got[0], model.get_layer("bin")(merged))
    torch.testing.assert_close(got[1], model.get_layer("cls")(merged))
    # the mask matters: padding changed the result
    x2 = x.copy()
    x2[: 4, 5:] = 3
    other = model([torch.as_tensor(x2), torch.as_tensor(extra)])[0]
    assert not torch.allclose(other[:4], got[0][:4])


def test_shared_layer_called_twice_has_one_set_of_weights():
    a, b = keras.Input((3,)), keras.Input((3,))
    shared = layers.Dense(2, name="shared")
    out = layers.Add()([shared(a), shared(b)])
    model = keras.Model([a, b], out)
    assert model.count_params() == 3 * 2 + 2
    x1, x2 = torch.randn(4, 3), torch.randn(4, 3)
    torch.testing.assert_close(model([x1, x2]), shared(x1) + shared(x2))
    assert "shared[1][0]" in model.summary(print_fn=None)


def test_fit_evaluate_predict_with_several_inputs_and_outputs_and_loss_weights(tmp_path):
    torch.manual_seed(0)
    model = _graph()
    x, extra, y1, y2 = _data()
    model.compile("adam", loss={"bin": "binary_crossentropy",
                                "cls": "sparse_categorical_crossentropy"},
                  loss_weights=[1.0, 0.5], metrics=["accuracy"])
    hist = model.fit({"tokens": x, "extra": extra}, [y1, y2], epochs=2, batch_size=16,
                     verbose=0, seed=0, validation_split=0.25)
    assert {"loss", "bin_loss", "cls_loss", "bin_accuracy", "val_cls_loss"} <= set(hist.history)
    logs = model.evaluate([x, extra], [y1, y2], verbose=0, return_dict=True)
    assert logs["loss"] == pytest.approx(logs["bin_loss"] + 0.5 * logs["cls_loss"], rel=1e-5)
    p1, p2 = model.predict([x, extra])
    assert p1.shape == (64, 1) and p2.shape == (64, 4)
    path = tmp_path / "graph.safetensors"
    model.save(path)
    again = seqlab.load_model(path)
    assert isinstance(again, Functional)
    q1, q2 = again.predict([x, extra])
    np.testing.assert_allclose(q1, p1, atol=1e-6)
    np.testing.assert_allclose(q2, p2, atol=1e-6)
    assert again.evaluate([x, extra], [y1, y2], verbose=0, return_dict=True)["loss"] == \
        pytest.approx(logs["loss"], rel=1e-5)  # loss weights restored


def test_summary_has_connected_to_column():
    text = _graph().summary(print_fn=None)
    assert "Connected to" in text
    assert "dec (LSTM)" in text and "enc[0][0], enc[0][1], enc[0][2]" in text
    assert "[(None, None, 6), (None, 6), (None, 6)]" in text


def test_output_not_reached_from_the_inputs_is_refused_with_a_fix():
    a, b = keras.Input((3,), name="first"), keras.Input((3,), name="second")
    out = layers.Add()([a, b])
    with pytest.raises(ValueError, match="not among the inputs"):
        keras.Model(a, out)


def test_merge_layers_and_keras_attention_values():
    a, b = torch.randn(2, 3), torch.randn(2, 3)
    torch.testing.assert_close(layers.Multiply()([a, b]), a * b)
    torch.testing.assert_close(layers.Dot(axes=1)([a, b]), (a * b).sum(1, keepdim=True))
    torch.testing.assert_close(layers.Dot(axes=1, normalize=True)([a, a]), torch.ones(2, 1))
    q, v = torch.randn(2, 4, 3), torch.randn(2, 5, 3)
    mask = torch.tensor([[True] * 5, [True] * 2 + [False] * 3])
    out, w = layers.Attention()([q, v], mask=[None, mask], return_attention_scores=True)
    s = q @ v.transpose(1, 2)
    s[1, :, 2:] = float("-inf")
    torch.testing.assert_close(w, torch.softmax(s, -1))
    torch.testing.assert_close(out, torch.softmax(s, -1) @ v)
    add = layers.AdditiveAttention()
    out2 = add([q, v])
    scores = (torch.tanh(q[:, :, None, :] + v[:, None, :, :]) * add.scale).sum(-1)
    torch.testing.assert_close(out2, torch.softmax(scores, -1) @ v)
