"""CTCRecognizer: shapes, padding that changes nothing, and its loss against torch's CTC."""
import torch
import torch.nn.functional as F

from seqlab.config import Config
from seqlab.models.recurrent.ctc import CTCRecognizer, stacked_lengths
from seqlab.tasks.common import build_with, recurrent


def model(cell="gru"):
    cfg = Config.from_dict({"task": "transcribe",
                            "model": {"cell": cell, "units": 8, "layers": 2, "filters": 6,
                                      "bidirectional": True}})
    torch.manual_seed(0)
    return build_with(CTCRecognizer(cfg, 5, recurrent=recurrent), torch.zeros(2, 8, 3),
                      torch.tensor([8, 6])).eval()


def test_shapes_and_padding_changes_nothing():
    for cell in ("gru", "lstm"):
        m = model(cell)
        short, long = torch.randn(1, 7, 3), torch.randn(1, 12, 3)
        batch = torch.cat([F.pad(short, (0, 0, 0, 5)), long])                # (2, 12, 3)
        with torch.no_grad():
            both = m(batch, torch.tensor([7, 12]))                           # (2, 6, 5)
            alone = m(short, torch.tensor([7]))                              # (1, 4, 5)
        assert both.shape == (2, 6, 5) and alone.shape == (1, 4, 5)
        torch.testing.assert_close(both[0, :4], alone[0], atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(both.exp().sum(-1), torch.ones(2, 6))     # distributions
    assert stacked_lengths(torch.tensor([7, 8, 1])).tolist() == [4, 4, 1]


def test_loss_is_torch_ctc_summed_per_utterance():
    m = model()
    x, lengths = torch.randn(3, 10, 3), torch.tensor([10, 9, 6])
    targets, target_lengths = torch.tensor([[1, 2, 2], [3, 0, 0], [4, 1, 0]]), \
        torch.tensor([3, 1, 2])
    total, count, _ = m.compute_loss((x, lengths, targets, target_lengths))
    lp = m(x, lengths)
    each = [F.ctc_loss(lp[i, :(int(lengths[i]) + 1) // 2].unsqueeze(1),
                       targets[i:i + 1, :int(target_lengths[i])],
                       torch.tensor([(int(lengths[i]) + 1) // 2]), target_lengths[i:i + 1],
                       reduction="sum") for i in range(3)]
    assert count == 3
    torch.testing.assert_close(total, torch.stack(each).sum(), atol=1e-4, rtol=1e-5)
