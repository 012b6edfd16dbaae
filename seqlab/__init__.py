"""seqlab: deep learning for sequences, the course made real, on PyTorch.

    >>> import seqlab
    >>> from seqlab import layers
    >>> model = seqlab.Sequential([layers.Embedding(1000, 64), layers.Dense(10)])
"""
import os as _os

# torch's OpenMP threads busy-wait by default; on a shared 2-core machine that makes
# 2 threads 3-100x slower than 1 (see bench/threads.py). Passive waiting avoids it.
# Only effective if seqlab is imported before torch initialises OpenMP.
_os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from seqlab._version import __version__  # noqa: E402

from seqlab import activations, layers  # noqa: E402
from seqlab import losses, metrics, optimizers  # noqa: E402
from seqlab.models import Model, Sequential  # noqa: E402
from seqlab.io import load_model  # noqa: E402
# seqlab's model families: importing them registers their classes, so load_model finds
# an Autoencoder, a MaskedLanguageModel or a TransformerLM in a fresh interpreter.
import seqlab.models.autoencoders  # noqa: E402,F401
import seqlab.models.pretraining  # noqa: E402,F401
import seqlab.models.transformers  # noqa: E402,F401
from seqlab.data import datasets  # noqa: E402  (seqlab.datasets.list()/load())
from seqlab import keras  # noqa: E402  (import seqlab as tf; tf.keras.Sequential())
from seqlab import embeddings  # noqa: E402  (seqlab.embeddings.Word2Vec)
