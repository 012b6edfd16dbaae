"""The spoken datasets say they need espeak-ng, and how to install it, when it is missing."""
import shutil

import pytest

from seqlab import datasets
from seqlab.errors import SeqlabError


def test_entries_need_espeak_and_say_how_to_install_it(monkeypatch, tmp_path):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    for name in ("spoken_digits", "spoken_digit_strings"):
        assert datasets.info(name).available is False
        row = next(l for l in datasets.format_table().splitlines() if l.startswith(name))
        assert row.rstrip().endswith("apt-get install espeak-ng")
        with pytest.raises(SeqlabError, match="install it with apt-get install espeak-ng"):
            datasets.load(name, cache_dir=str(tmp_path / "cache"), speakers=2,
                          test_speakers=1)
    assert not (tmp_path / "cache").exists()           # nothing made before the check
    assert datasets.info("addition").available
