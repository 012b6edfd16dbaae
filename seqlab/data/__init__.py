"""seqlab data: text to indices, padding without waste, windows, files and datasets.

* ``text``: ``Tokenizer`` (words or characters, Keras-like, JSON save/load);
* ``padding``: ``pad_sequences`` and ``to_categorical`` (Keras's semantics);
* ``batching``: ``BucketBatchSampler``, ``pad_batch``, ``collate_padded`` (no padding waste);
* ``series``: sliding windows, chronological splits, scalers fitted on train only;
* ``files``: your CSV/TSV/JSON-lines/text files, with one-line errors;
* ``datasets``: the registry of offline datasets (also ``seqlab.datasets``).
"""
from seqlab.data.batching import BucketBatchSampler, collate_padded, lengths_to_mask, pad_batch
from seqlab.data.padding import pad_sequences, to_categorical
from seqlab.data.text import Tokenizer, text_to_word_sequence, tokenizer_from_json
from seqlab.data.series import (MinMaxScaler, StandardScaler, chronological_split, make_windows,
                                split_windows)
from seqlab.data.files import (DataFileError, load_pairs, load_series, load_text,
                               load_text_labels)
