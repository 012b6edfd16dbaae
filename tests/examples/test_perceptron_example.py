"""examples/perceptron_decision_boundary.py runs and writes a PNG."""
import importlib.util
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "perceptron_decision_boundary.py"


def test_example_writes_png(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    spec = importlib.util.spec_from_file_location("perceptron_example", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    out = tmp_path / "sub" / "boundary.png"
    module.main(out)
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and out.stat().st_size > 10_000
    printed = capsys.readouterr().out
    assert "converged=True" in printed and "training accuracy 1.000" in printed
    assert list(out.parent.iterdir()) == [out]  # no temporary file left behind
