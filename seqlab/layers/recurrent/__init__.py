"""Recurrent layers: the course's cells (cells.py), one generic time loop (rnn.py), the thin
Keras layers (layers.py), torch's fused kernels (fused.py) and Bidirectional (wrappers.py)."""
from seqlab.layers.recurrent.cells import GRUCell, LSTMCell, SimpleRNNCell
from seqlab.layers.recurrent.rnn import RNN
from seqlab.layers.recurrent.layers import GRU, LSTM, SimpleRNN
from seqlab.layers.recurrent.wrappers import Bidirectional

__all__ = ["SimpleRNNCell", "LSTMCell", "GRUCell", "RNN", "SimpleRNN", "LSTM", "GRU",
           "Bidirectional"]
