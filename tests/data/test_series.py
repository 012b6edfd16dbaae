"""Sliding windows, chronological splits and scalers fitted on train only."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from seqlab.data.series import (MinMaxScaler, StandardScaler, chronological_split,
                                make_windows, split_windows, window_starts)


def test_windows_golden_univariate_and_stride():
    x, y = make_windows(np.arange(10), window=3, horizon=2, stride=2)
    assert x.shape == (3, 3, 1) and y.shape == (3, 2)
    assert x[:, :, 0].tolist() == [[0, 1, 2], [2, 3, 4], [4, 5, 6]]
    assert y.tolist() == [[3, 4], [5, 6], [7, 8]]


def test_windows_multivariate_with_target_and_input_columns():
    data = np.stack([np.arange(8), 10 * np.arange(8), 100 * np.arange(8)], axis=1)  # (8, 3)
    x, y = make_windows(data, window=4, targets=2, inputs=[0, 1])
    assert x.shape == (4, 4, 2) and y.shape == (4, 1)
    assert x[1, :, 1].tolist() == [10, 20, 30, 40] and y[1, 0] == 500
    x, y = make_windows(data, window=4, horizon=2, targets=[0, 2])
    assert y.shape == (3, 2, 2) and y[0].tolist() == [[4, 400], [5, 500]]
    with pytest.raises(ValueError, match=r"targets=\[3\] must name columns of a series with 3"):
        make_windows(data, 2, targets=3)


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 60), st.integers(1, 10), st.integers(0, 5), st.integers(1, 4),
       st.integers(1, 3))
def test_window_shapes_and_no_value_lost_or_invented(t, window, horizon, stride, d):
    data = np.arange(t * d).reshape(t, d)  # every value unique: tracks where it came from
    x, y = make_windows(data, window, horizon, stride, targets=0)
    n = len(window_starts(t, window, horizon, stride))
    assert n == max(0, (t - window - horizon) // stride + 1)
    assert x.shape == (n, window, d) and y.shape == (n, horizon)
    for i in range(n):
        s = i * stride
        assert (x[i] == data[s:s + window]).all()  # contiguous rows of the series
        assert (y[i] == data[s + window:s + window + horizon, 0]).all()


def test_chronological_split_keeps_order():
    tr, va, te = chronological_split(np.arange(100), val=0.1, test=0.2)
    assert (len(tr), len(va), len(te)) == (70, 10, 20)
    assert np.concatenate([tr, va, te]).tolist() == list(range(100))
    tr, va, te = chronological_split(np.arange(50), val=5, test=10)  # counts of steps
    assert (len(tr), len(va), len(te)) == (35, 5, 10)
    with pytest.raises(ValueError, match="leave no training steps"):
        chronological_split(np.arange(10), val=0.5, test=0.5)


@settings(max_examples=50, deadline=None)
@given(st.integers(30, 120), st.integers(1, 8), st.integers(1, 4), st.integers(1, 3),
       st.booleans())
def test_windows_never_cross_the_split_boundaries(t, window, horizon, stride, lookback):
    data = np.arange(t, dtype=float)
    s = split_windows(data, window, horizon, stride, val=0.2, test=0.2, scaler=None,
                      lookback_across=lookback)
    v, te = s.bounds
    # the checks below hold vacuously for empty splits: make sure there is data to check
    assert len(s.x_train) > 0
    if lookback:  # val/test windows only need `horizon` steps of their own split
        assert len(s.x_val) > 0 and len(s.x_test) > 0
    assert s.x_train.size == 0 or s.y_train.max() < v  # training never sees val/test
    assert s.y_val.size == 0 or (s.y_val.min() >= v and s.y_val.max() < te)
    assert s.y_test.size == 0 or s.y_test.min() >= te
    if not lookback:  # strict: inputs stay inside their split as well
        assert s.x_val.size == 0 or s.x_val.min() >= v
        assert s.x_test.size == 0 or s.x_test.min() >= te
    else:  # inputs may look back, but only as far as one window
        assert s.x_test.size == 0 or s.x_test.min() >= te - window


def test_scaler_fitted_on_train_only_and_inverted():
    data = np.concatenate([np.random.default_rng(0).normal(5, 2, 80), np.full(20, 100.0)])
    s = split_windows(data, window=4, val=0.0, test=0.2)
    train = data[:80]
    assert s.scaler.shift_[0] == pytest.approx(train.mean())  # the test spike is not seen
    assert s.scaler.scale_[0] == pytest.approx(train.std())
    back = s.scaler.inverse_transform(s.y_test, columns=s.targets)
    np.testing.assert_allclose(back, 100.0)
    np.testing.assert_allclose(s.scaler.inverse_transform(s.x_train)[0, :, 0], data[:4])


def test_scalers_round_trip_and_config():
    rng = np.random.default_rng(1)
    data = rng.normal(size=(50, 3)) * [1, 10, 100] + [0, 5, -7]
    data[:, 1] = 4.0  # a constant column must not divide by zero
    for sc in (StandardScaler(), MinMaxScaler(feature_range=(-1, 1))):
        z = sc.fit_transform(data)
        np.testing.assert_allclose(sc.inverse_transform(z), data)
        again = type(sc).from_config(sc.get_config())
        np.testing.assert_allclose(again.transform(data), z)
    z = MinMaxScaler().fit_transform(data)
    assert z[:, [0, 2]].min() == 0 and z[:, [0, 2]].max() == pytest.approx(1)
    with pytest.raises(RuntimeError, match="call fit"):
        StandardScaler().transform(data)
    with pytest.raises(ValueError, match="NaN"):
        StandardScaler().fit([[np.nan]])
