"""The course's basics in NumPy, as small teaching modules checked against autograd.

* ``perceptron``: Rosenblatt's perceptron and its update rule W <- W - α(ŷ - y)x.
* ``logistic``: a logistic neuron trained with hand-derived gradients.
* ``activations_numpy``: activation functions and their derivatives.
* ``bptt_numpy``: backpropagation through time for a simple RNN, and truncated BPTT.
"""
from seqlab.basics import activations_numpy, bptt_numpy
from seqlab.basics.logistic import LogisticNeuron
from seqlab.basics.perceptron import Perceptron, PerceptronFit, novikoff_bound

__all__ = ["Perceptron", "PerceptronFit", "novikoff_bound", "LogisticNeuron",
           "activations_numpy", "bptt_numpy"]
