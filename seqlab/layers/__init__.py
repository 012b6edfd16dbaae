"""seqlab layers: every one a ``torch.nn.Module`` with Keras names and defaults."""
from seqlab.layers.base import Layer
from seqlab.layers.core import (Activation, Dense, Dropout, Flatten, Reshape, RepeatVector,
                                TimeDistributed)
from seqlab.layers.embedding import Embedding
