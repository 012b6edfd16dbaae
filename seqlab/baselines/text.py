"""Text classification baselines on word uni+bigrams (scikit-learn).

``tfidf_logreg``: TF-IDF features, logistic regression. ``nb_logreg``: the NBSVM of Wang &
Manning (2012) with a logistic loss: binarised n-gram features scaled by the Naive Bayes
log-count ratio r = log((p / |p|_1) / (q / |q|_1)), p = alpha + the features summed over one
class, q over the others; one-vs-rest for several classes. Each returns test accuracy.

    >>> texts = ["good fun", "great good", "bad dull", "dull awful"] * 5
    >>> tfidf_logreg(texts, [1, 1, 0, 0] * 5, ["good", "dull"], [1, 0])
    1.0
    >>> nb_logreg(texts, [1, 1, 0, 0] * 5, ["good", "dull"], [1, 0])
    1.0
"""
from __future__ import annotations

import numpy as np


def _vectorizer(level: str, **kw):
    from sklearn.feature_extraction.text import TfidfVectorizer
    if level == "word":
        return TfidfVectorizer(ngram_range=(1, 2), min_df=1, sublinear_tf=True, **kw)
    return TfidfVectorizer(analyzer="char", ngram_range=(1, 6), min_df=2, sublinear_tf=True,
                           **kw)


def tfidf_logreg(train_texts, y_train, test_texts, y_test, level: str = "word") -> float:
    """TF-IDF of uni+bigrams (character 1-6-grams for level="char"), logistic regression."""
    from sklearn.linear_model import LogisticRegression
    vec = _vectorizer(level)
    clf = LogisticRegression(C=10.0, max_iter=2000)
    clf.fit(vec.fit_transform(train_texts), y_train)
    return float(np.mean(clf.predict(vec.transform(test_texts)) == np.asarray(y_test)))


def nb_ratio(x, y, alpha: float = 1.0) -> np.ndarray:
    """The log-count ratio r (F,) of binary features x (N, F) for labels y in {0, 1}."""
    y = np.asarray(y)
    p = alpha + np.asarray(x[y == 1].sum(0)).ravel()
    q = alpha + np.asarray(x[y == 0].sum(0)).ravel()
    return np.log((p / p.sum()) / (q / q.sum()))


def nb_logreg(train_texts, y_train, test_texts, y_test, level: str = "word",
              C: float = 1.0) -> float:
    """NB-weighted logistic regression on binarised uni+bigrams: test accuracy."""
    from sklearn.feature_extraction.text import CountVectorizer
    from sklearn.linear_model import LogisticRegression
    vec = CountVectorizer(ngram_range=(1, 2), binary=True) if level == "word" else \
        CountVectorizer(analyzer="char", ngram_range=(1, 6), min_df=2, binary=True)
    x_tr, x_te = vec.fit_transform(train_texts), vec.transform(test_texts)
    y_tr = np.asarray(y_train)
    classes = np.unique(y_tr)
    scores = np.zeros((x_te.shape[0], len(classes)))                       # (N, C)
    for k, c in enumerate(classes):
        r = nb_ratio(x_tr, (y_tr == c).astype(int))
        clf = LogisticRegression(C=C, max_iter=2000)
        clf.fit(x_tr.multiply(r).tocsr(), (y_tr == c).astype(int))
        scores[:, k] = clf.decision_function(x_te.multiply(r).tocsr())
        if len(classes) == 2:                                              # one model is enough
            scores[:, 1 - k] = -scores[:, k]
            break
    pred = classes[scores.argmax(1)]
    return float(np.mean(pred == np.asarray(y_test)))
