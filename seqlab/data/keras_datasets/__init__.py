"""Keras's text data sets read from the user's Keras cache: ``imdb`` and ``reuters``.

``from seqlab.keras import datasets`` then ``datasets.imdb.load_data(num_words=10000)``
returns what Keras 3 returns, from Keras's own cache file ``~/.keras/datasets/imdb.npz``
(``$KERAS_HOME/datasets/`` when ``KERAS_HOME`` is set, as Keras). seqlab never downloads:
without the file, the error says where to put it and which offline data set works instead.

The cache files store ragged sequences as NumPy object arrays, which NumPy can only save as
a pickle. Unpickling can run code, so seqlab reads them with a restricted unpickler
(npz.py) that rebuilds NumPy arrays, lists and ints and refuses everything else.
"""
from seqlab.data.keras_datasets import imdb, reuters  # noqa: F401
from seqlab.data.keras_datasets.npz import (KerasCacheMissing, UnsafeCacheFile,  # noqa: F401
                                            cache_dir)

__all__ = ["imdb", "reuters", "cache_dir", "KerasCacheMissing", "UnsafeCacheFile"]
