"""Numeric series classification baselines: 1-NN Euclidean and MiniRocket (aeon).

Series are arrays (T, D) of equal length T (the UCR archive's case); unequal lengths
return None. ``minirocket`` needs aeon (and its numba): without it it raises ImportError,
which the run reports as "skipped, not installed".

    >>> import numpy as np
    >>> train = [np.sin(np.arange(20.0) * f)[:, None] for f in (0.3, 0.31, 1.0, 1.01)]
    >>> nearest_neighbour(train, [0, 0, 1, 1], [np.sin(np.arange(20.0) * 0.99)[:, None]], [1])
    1.0
"""
from __future__ import annotations

from typing import Optional

import numpy as np


def _stack(seqs) -> Optional[np.ndarray]:
    if len({np.asarray(s).shape for s in seqs}) != 1:
        return None
    return np.stack([np.asarray(s, dtype=np.float64).reshape(len(s), -1) for s in seqs])  # (N, T, D)


def nearest_neighbour(train_seqs, y_train, test_seqs, y_test) -> Optional[float]:
    """1-NN with the Euclidean distance on the raw series: test accuracy."""
    from sklearn.neighbors import KNeighborsClassifier
    x_tr, x_te = _stack(train_seqs), _stack(test_seqs)
    if x_tr is None or x_te is None or x_tr.shape[1:] != x_te.shape[1:]:
        return None
    clf = KNeighborsClassifier(n_neighbors=1).fit(x_tr.reshape(len(x_tr), -1), y_train)
    return float(np.mean(clf.predict(x_te.reshape(len(x_te), -1)) == np.asarray(y_test)))


def minirocket(train_seqs, y_train, test_seqs, y_test, seed: int = 0) -> Optional[float]:
    """MiniRocket features (Dempster et al. 2021) + ridge classifier, through aeon."""
    from aeon.classification.convolution_based import MiniRocketClassifier
    x_tr, x_te = _stack(train_seqs), _stack(test_seqs)
    if x_tr is None or x_te is None or x_tr.shape[1:] != x_te.shape[1:] or x_tr.shape[1] < 9:
        return None
    clf = MiniRocketClassifier(random_state=seed)
    clf.fit(x_tr.transpose(0, 2, 1), np.asarray(y_train))                  # (N, D, T)
    return float(np.mean(clf.predict(x_te.transpose(0, 2, 1)) == np.asarray(y_test)))
