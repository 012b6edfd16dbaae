"""seqlab layers: every one a ``torch.nn.Module`` with Keras names and defaults."""
from seqlab.layers.base import Layer
from seqlab.layers.core import (Activation, Dense, Dropout, Flatten, Reshape, RepeatVector,
                                TimeDistributed, Wrapper)
from seqlab.layers.input import Input, InputLayer, KerasTensor
from seqlab.layers.embedding import Embedding
from seqlab.layers.conv import Conv1D, Conv2D
from seqlab.layers.pooling import (AveragePooling1D, AveragePooling2D, GlobalAveragePooling1D,
                                   GlobalAveragePooling2D, GlobalMaxPooling1D,
                                   GlobalMaxPooling2D, MaxPooling1D, MaxPooling2D)
from seqlab.layers.attention import (MultiHeadAttention, PositionalEncoding,
                                     ScaledDotProductAttention)
from seqlab.layers.attention.keras_attention import AdditiveAttention, Attention
from seqlab.layers.merge import Add, Concatenate, Dot, Multiply
from seqlab.layers.normalization import (BatchNormalization, LayerNormalization,
                                       update_batch_statistics)
from seqlab.layers.recurrent import (GRU, LSTM, RNN, Bidirectional, GRUCell, LSTMCell,
                                     SimpleRNN, SimpleRNNCell)
from seqlab.layers.transformer import (Transformer, TransformerDecoder, TransformerDecoderLayer,
                                       TransformerEncoder, TransformerEncoderLayer)
