"""A model fed bucketed, per-batch-padded, masked batches computes for every sequence
the outputs that sequence gets when run alone (no padding at all)."""
import numpy as np
import torch
from torch.utils.data import DataLoader

import seqlab
from seqlab import layers
from seqlab.data import BucketBatchSampler, collate_padded



def test_trained_with_bucketing_outputs_match_each_sequence_alone():
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    seqs = [rng.integers(1, 20, size=n).tolist() for n in rng.integers(1, 25, size=40)]
    y = np.array([float(7 in s) for s in seqs])
    model = seqlab.Sequential([layers.Embedding(20, 8, mask_zero=True), layers.LSTM(12),
                               layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer="adam", loss="binary_crossentropy")
    model.fit(seqs, y, batch_size=8, epochs=1, verbose=0)  # lists -> bucketed batches
    bucketed = model.predict(seqs, batch_size=8)  # (N, 1), back in input order
    model.eval()
    with torch.no_grad():
        alone = np.stack([model(torch.tensor([s])).numpy()[0] for s in seqs])  # (N, 1)
    assert bucketed.shape == (40, 1)
    np.testing.assert_allclose(bucketed, alone, atol=1e-5)
    assert alone.std() > 1e-3  # the outputs differ between sequences: a real check


def test_collate_padded_mask_makes_float_sequences_match_alone():
    torch.manual_seed(1)
    rng = np.random.default_rng(1)
    seqs = [torch.randn(int(n), 3) for n in rng.integers(1, 25, size=40)]
    model = seqlab.Sequential([layers.LSTM(8, input_shape=(None, 3)), layers.Dense(2)])
    model.eval()
    sampler = BucketBatchSampler([len(s) for s in seqs], 8, shuffle=False)
    loader = DataLoader(list(zip(seqs, torch.zeros(40))), batch_sampler=sampler,
                        collate_fn=collate_padded)
    errors, unmasked = [], []
    with torch.no_grad():
        for idx, (x, _) in zip(sampler.batches(), loader):
            out = model(x)  # the LSTM reads the mask attached by collate_padded
            plain = model(x.clone())  # the same padded batch without its mask
            for row, row_plain, i in zip(out, plain, idx):
                single = model(seqs[i][None])[0]
                errors.append((row - single).abs().max().item())
                unmasked.append((row_plain - single).abs().max().item())
    assert max(errors) < 1e-5
    assert max(unmasked) > 1e-3  # without the mask, padding changes the outputs
