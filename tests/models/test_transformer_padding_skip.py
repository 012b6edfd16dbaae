"""At inference a TransformerClassifier skips the steps that are padding in every row (a
pre-padded batch of one, a batch padded beyond its longest row): the probabilities must
equal those of the full padded computation, and the skipped steps must really be gone."""
import torch

from seqlab.models.transformers.classifier import TransformerClassifier
from seqlab.models.transformers.embedding import masked_max, masked_mean


def full_padded(model, ids):
    """The classifier's equations on every step (no step skipped)."""
    h = model.body(ids)  # (B, T, D), padded steps included
    pad = ids != 0
    pooled = masked_mean(h, pad) if model.pooling == "mean" else masked_max(h, pad)
    return torch.sigmoid(model.head(pooled))


def test_skipping_all_padding_steps_keeps_the_outputs():
    torch.manual_seed(0)
    for pooling in ("mean", "max"):
        model = TransformerClassifier(vocab_size=30, num_classes=1, d_model=16, num_heads=2,
                                      ff_dim=32, num_layers=2, pooling=pooling,
                                      learned_positions=True).eval()
        ids = torch.randint(1, 30, (3, 12))
        ids[:, :5] = 0          # pre-padding common to every row: skipped
        ids[1, 5:7] = 0         # one row's own padding: kept, masked
        with torch.inference_mode():
            got = model(ids)
            want = full_padded(model, ids)
            kept = model.body(ids, drop_padding=True)
        assert kept.shape[1] == 7
        torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-6)
