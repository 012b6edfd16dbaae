"""The recurrent models of ``seqlab train``'s tasks, each a ``seqlab.Model`` that says its
loss (``compute_loss``) on the batches its task yields, so ``Model.fit`` trains them:

    classifier.py       Classifier      a sequence -> a class (texts or series; rnn/fcn/cnn)
    forecaster.py       Forecaster      a window of a series -> the next h steps
    language_model.py   LanguageModel   next-token logits; ``step`` one token at a time
    encoder_decoder.py  EncoderDecoder  teacher forcing, attention; ``greedy``/``beam_search``
    tagger.py           Tagger          a tag per token (words + their characters)

Each takes the run's ``Config`` and ``recurrent``, the function that builds the recurrent
layer [model] cell names (``seqlab.tasks.common.recurrent``).
"""
from seqlab.models.recurrent.classifier import Classifier
from seqlab.models.recurrent.encoder_decoder import (EncoderDecoder, beam_search, greedy,
                                                     teacher_forcing_loss)
from seqlab.models.recurrent.forecaster import Forecaster
from seqlab.models.recurrent.language_model import LanguageModel
from seqlab.models.recurrent.tagger import Tagger

__all__ = ["Classifier", "Forecaster", "LanguageModel", "EncoderDecoder", "Tagger",
           "greedy", "beam_search", "teacher_forcing_loss"]
