"""Fixed-length symbol sequences (DNA, codes): logistic regression on one-hot positions.

Each sequence of length L over an alphabet of A symbols becomes L * A indicators "symbol s
at position i" (scikit-learn's OneHotEncoder), so the model can learn position-specific
motifs a bag of n-grams cannot see. Returns test accuracy; None when the lengths differ.

    >>> train = ["AC", "AG", "TC", "TG"] * 10
    >>> onehot_logreg(train, [1, 1, 0, 0] * 10, ["AG", "TT"], [1, 0])
    1.0
"""
from __future__ import annotations

from typing import Optional

import numpy as np


def fixed_length(seqs) -> bool:
    """Whether every sequence has the same length (the case this baseline fits)."""
    return len({len(s) for s in seqs}) == 1


def onehot_logreg(train_seqs, y_train, test_seqs, y_test, C: float = 1.0) -> Optional[float]:
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import OneHotEncoder
    if not (fixed_length(list(train_seqs) + list(test_seqs))):
        return None
    grid = lambda seqs: np.array([list(s) for s in seqs], dtype=object)  # (N, L)
    enc = OneHotEncoder(handle_unknown="ignore")
    x_tr = enc.fit_transform(grid(train_seqs))                              # (N, L * A)
    clf = LogisticRegression(C=C, max_iter=3000).fit(x_tr, y_train)
    return float(np.mean(clf.predict(enc.transform(grid(test_seqs))) == np.asarray(y_test)))
