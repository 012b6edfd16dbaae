"""seqlab data: text to indices, padding without waste, windows, files and datasets."""
from seqlab.data.batching import BucketBatchSampler, collate_padded, pad_batch
from seqlab.data.padding import pad_sequences, to_categorical
from seqlab.data.text import Tokenizer, text_to_word_sequence, tokenizer_from_json
from seqlab.data.series import (MinMaxScaler, StandardScaler, chronological_split, make_windows,
                                split_windows)
from seqlab.data.files import (DataFileError, load_pairs, load_series, load_text,
                               load_text_labels)
