"""seqlab data: text to indices, padding without waste, windows, files and datasets."""
from seqlab.data.batching import BucketBatchSampler, collate_padded, pad_batch
