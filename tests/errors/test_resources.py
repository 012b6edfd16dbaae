"""Bounded resources: special files refused as data, a folder given as a file says so,
long CSV fields read, and an edited model description refused before any allocation."""
from __future__ import annotations

import json
import os
import resource
import socket

import pytest
import torch

GiB = 2 ** 30


def _special(tmp_path, kind):
    if kind in ("/dev/null", "/dev/zero", "/dev/urandom"):
        return kind
    path = tmp_path / "special" / kind
    path.parent.mkdir()
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "socket":
        s = socket.socket(socket.AF_UNIX)
        s.bind(str(path))
        s.close()
    elif kind == "folder":
        path.mkdir()
    return path


KINDS = ["/dev/null", "/dev/zero", "/dev/urandom", "fifo", "socket", "folder"]
WORD = {"/dev/null": "character device", "/dev/zero": "character device",
        "/dev/urandom": "character device", "fifo": "FIFO", "socket": "socket",
        "folder": "folder"}


@pytest.mark.parametrize("kind", KINDS)
def test_special_file_as_dataset(tmp_path, capsys, h, kind):
    path = _special(tmp_path, kind)
    cfg = h.csv_config(tmp_path, path)
    h.refused(capsys, tmp_path, ["train", cfg], str(path), WORD[kind])


@pytest.mark.parametrize("kind", KINDS)
def test_special_file_as_config(tmp_path, capsys, h, kind):
    path = _special(tmp_path, kind)
    h.refused(capsys, tmp_path, ["train", path], str(path), "CONFIG.toml", WORD[kind])


@pytest.mark.parametrize("kind", KINDS)
def test_special_file_as_predict_input(tmp_path, capsys, h, run_copy, kind):
    path = _special(tmp_path, kind)
    h.refused(capsys, tmp_path, ["predict", run_copy, "--input", path], "--input",
              WORD[kind])


@pytest.mark.parametrize("kind", ["fifo", "/dev/zero", "folder"])
def test_special_file_as_generate_text(tmp_path, capsys, h, kind):
    path = _special(tmp_path, kind)
    cfg = h.write_config(tmp_path, f'task = "generate"\nname = "g"\nruns_dir = '
                         f'"{tmp_path}/runs"\n[data]\ndataset = "file"\npath = "{path}"\n')
    h.refused(capsys, tmp_path, ["train", cfg], str(path), WORD[kind])


def test_missing_part_of_path(tmp_path, capsys, h):
    data = h.helpers.sentiment_csv(tmp_path / "reviews.csv", n=20)
    cfg = h.csv_config(tmp_path, data.parent / "reviews.csv" / "x.csv")
    h.refused(capsys, tmp_path, ["train", cfg], "x.csv", "not a folder")


def test_csv_field_longer_than_pythons_default_limit(tmp_path):
    """A 1 MB field (Python's csv stops at 128 KB by default) is read whole."""
    from seqlab.data.files import read_columns
    path = tmp_path / "long.csv"
    long = "a " * 500_000
    path.write_text(f"text,label\n{long},x\nb,y\n", encoding="utf-8")
    values, _ = read_columns(path, ["text", "label"])
    assert values["text"][0] == long and values["label"] == ["x", "y"]


@pytest.mark.parametrize("errno_name,word", [("ENOSPC", "disk is full"),
                                             ("ENAMETOOLONG", "too long"),
                                             ("EROFS", "read-only"),
                                             ("EACCES", "permission"),
                                             ("EDQUOT", "quota")])
def test_output_folder_failures(tmp_path, capsys, h, monkeypatch, errno_name, word):
    """A full disk, a read-only or forbidden runs_dir (simulated: tests may run as root)
    at the first file a run writes: one sentence naming the file, exit 2."""
    import errno
    import seqlab.runs
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    data = h.helpers.sentiment_csv(data_dir / "reviews.csv", n=20)
    cfg = h.csv_config(data_dir, data)

    def fail(path, *a, **k):
        code = getattr(errno, errno_name)
        raise OSError(code, os.strerror(code), str(path))
    monkeypatch.setattr(seqlab.runs, "atomic_write", fail)
    monkeypatch.setattr(seqlab.runs, "atomic_write_bytes", fail, raising=False)
    line = h.refused(capsys, tmp_path / "data", ["train", cfg, "--runs-dir", tmp_path / "out"],
                     word)
    assert str(tmp_path / "out") in line


def test_name_too_long_for_the_file_system(tmp_path, capsys, h):
    data = h.helpers.sentiment_csv(tmp_path / "reviews.csv", n=20)
    cfg = h.csv_config(tmp_path, data)
    h.refused(capsys, tmp_path, ["train", cfg, "--runs-dir", tmp_path / ("d" * 300)],
              "too long")


def _max_rss() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux: KiB


@pytest.mark.parametrize("units", [10 ** 5, 10 ** 9])
def test_load_model_refuses_edited_units_without_allocating(tmp_path, units):
    """A description edited to units = 10**9 (> 10 GB of weights) is refused from the
    header's shapes, the peak memory of this process rising by < 1 GiB."""
    from safetensors import safe_open
    from safetensors.torch import save_file

    import seqlab
    from seqlab import layers
    model = seqlab.Sequential([layers.Input((5,)), layers.Embedding(50, 4),
                               layers.LSTM(3), layers.Dense(2)])
    path = tmp_path / "m.safetensors"
    model.save(path)
    with safe_open(str(path), framework="pt") as f:
        meta, tensors = f.metadata(), {k: f.get_tensor(k) for k in f.keys()}
    text = meta["seqlab"]
    assert '"units": 3' in text
    meta["seqlab"] = text.replace('"units": 3', f'"units": {units}')
    save_file(tensors, str(path), metadata=meta)
    before = _max_rss()
    with pytest.raises(ValueError, match="m.safetensors.*(shape mismatch|cannot exist)") as err:
        seqlab.load_model(path)
    assert "\n" not in str(err.value)
    assert _max_rss() - before < GiB


@pytest.mark.parametrize("units", [10 ** 5, 10 ** 9])
def test_run_refuses_edited_units_without_allocating(tmp_path, capsys, h, run_copy, units):
    """config.toml's [model] units edited to 10**9 in a run without model.json's digest
    (as older runs): the weights' header shapes refuse it before the model is built."""
    from safetensors import safe_open
    from safetensors.torch import save_file
    weights = run_copy / "model.safetensors"
    with safe_open(str(weights), framework="pt") as f:
        tensors = {k: f.get_tensor(k) for k in f.keys()}
    save_file(tensors, str(weights), metadata={"format": "seqlab-run"})
    cfg = run_copy / "config.toml"
    cfg.write_text(cfg.read_text().replace("units = 4", f"units = {units}"))
    before = _max_rss()
    line = h.refused(capsys, tmp_path, ["summary", run_copy], "model.safetensors",
                     "config.toml")
    assert any(w in line for w in ("shape mismatch", "cannot exist", "needs at least"))
    assert _max_rss() - before < GiB
