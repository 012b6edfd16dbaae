import pytest
import torch


@pytest.fixture
def float64_cell():
    """A built float64 cell with weights drawn N(0, 0.6), and inputs for it: x (B, T, D)
    and h0 (B, H), both requiring gradients."""
    def make(cell, B: int, T: int, D: int):
        cell.build_once((None, D))
        with torch.no_grad():
            for p in cell.parameters():
                p.normal_(0, 0.6)
        x = torch.randn(B, T, D, dtype=torch.float64, requires_grad=True)
        h0 = torch.randn(B, cell.units, dtype=torch.float64, requires_grad=True)
        return cell, x, h0
    return make
