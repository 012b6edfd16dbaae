"""seqlab models: ``Model`` (subclass it PyTorch-style), ``Sequential``, callbacks."""
from seqlab.models.callbacks import Callback, EarlyStopping, History, ModelCheckpoint
from seqlab.models.model import Model
from seqlab.models.sequential import Sequential
from seqlab.models.functional import Functional
