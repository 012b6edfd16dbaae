"""``predict`` runs a big CPU batch through a fused LSTM as row slices (micro_batches.
predict_rows): the outputs must equal the whole batch's, rows in order, for padded arrays
and for variable-length lists; and fit / predict flush denormals only while they run."""
import numpy as np
import torch

import seqlab
from seqlab import layers
from seqlab.models import denormals, micro_batches


def lstm_model(return_sequences=False, mask_zero=False):
    torch.manual_seed(0)
    model = seqlab.Sequential([layers.Embedding(50, 8, mask_zero=mask_zero),
                               layers.LSTM(64, return_sequences=return_sequences),
                               layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer="rmsprop", loss="binary_crossentropy")
    return model


def test_predict_in_slices_equals_whole_batch():
    x = np.random.default_rng(0).integers(1, 50, size=(100, 130))
    model = lstm_model()
    got = model.predict(x, batch_size=100, verbose=0)       # sliced: 100 x 130 tokens
    assert 0 < micro_batches.predict_rows(model, torch.as_tensor(x)) < 100
    with torch.inference_mode():
        want = model(torch.as_tensor(x)).numpy()
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_predict_slices_of_predict_rows_for_keep_rows_in_order():
    # 150 rows through LSTM(64): slices of predict_rows_for(64) rows, the last one shorter
    x = np.random.default_rng(3).integers(0, 50, size=(150, 60))
    x[:, :20] = 0                                               # pre-padded, no mask
    model = lstm_model()
    rows = micro_batches.predict_rows(model, torch.as_tensor(x))
    assert rows == micro_batches.predict_rows_for(64) and 150 % rows
    got = model.predict(x, batch_size=150, verbose=0)
    with torch.inference_mode():
        want = model(torch.as_tensor(x)).numpy()
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_predict_batch_one_equals_the_model_call_row_by_row(capsys):
    x = np.random.default_rng(4).integers(0, 50, size=(9, 12))
    model = lstm_model()
    with torch.inference_mode():
        want = model(torch.as_tensor(x)).numpy()
    for b in (1, 4):
        np.testing.assert_allclose(model.predict(x, batch_size=b, verbose=0), want,
                                   rtol=1e-5, atol=1e-6)
    assert capsys.readouterr().err == ""                       # quiet: no progress bar
    model.predict(x, batch_size=4, verbose=1)
    assert "Predict" in capsys.readouterr().err


def test_predict_in_slices_on_lists_keeps_order_and_lengths():
    rng = np.random.default_rng(1)
    seqs = [rng.integers(1, 50, size=int(n)) for n in rng.integers(60, 200, size=90)]
    model = lstm_model(return_sequences=True, mask_zero=True)
    got = model.predict(seqs, batch_size=90, verbose=0)
    for i in (0, 17, 89):
        with torch.inference_mode():
            want = model(torch.as_tensor(seqs[i])[None]).numpy()[0]
        assert got[i].shape == want.shape
        np.testing.assert_allclose(got[i], want, rtol=1e-5, atol=1e-5)


def test_denormals_flushed_only_during_fit():
    seen = []

    class Probe(seqlab.models.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            seen.append(denormals.is_flushed())
    x = np.random.default_rng(2).integers(1, 50, size=(8, 5))
    model = lstm_model()
    model.fit(x, np.ones(8, "float32"), epochs=1, verbose=0, callbacks=[Probe()])
    assert seen == [True] and not denormals.is_flushed()
