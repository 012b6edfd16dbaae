"""Bad input, tried as a careless user would: each case runs `seqlab` in this process and
checks the exit code, the one line on stderr (naming the field or file), the absence of a
traceback and that no file under the test's folder appeared, vanished or changed."""
from __future__ import annotations

import importlib.util
import os
import shutil
import sys
from pathlib import Path

import pytest

from seqlab.cli import main

_spec = importlib.util.spec_from_file_location(
    "seqlab_error_test_helpers", Path(__file__).resolve().parents[1] / "tasks" / "conftest.py")
helpers = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(helpers)


def snapshot(root: Path) -> dict:
    """{relative path: (kind, size, mtime_ns)} of everything under root."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            p = Path(dirpath, name)
            st = p.lstat()
            out[str(p.relative_to(root))] = (st.st_mode >> 12, st.st_size, st.st_mtime_ns)
    return out


def refused(capsys, root: Path, argv: list, *words: str, code: int = 2,
            inside: Path = None) -> str:
    """Run ``seqlab argv``; assert exit ``code``, one line on stderr holding ``words``, no
    traceback and nothing changed under ``root`` (outside the run folder ``inside``, when
    given: a resume may rewrite its own files). Returns the line."""
    before = snapshot(root)
    capsys.readouterr()
    got = main([str(a) for a in argv])
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert got == code, (got, err)
    assert len(lines) == 1, err
    assert "Traceback" not in err and "internal error" not in err, err
    for word in words:
        assert word in lines[0], (word, lines[0])
    after = snapshot(root)
    # runs_dir itself may have been created on the way, empty (the run folder was not)
    after = {k: v for k, v in after.items()
             if k in before or not (Path(root, k).is_dir() and not any(Path(root, k).iterdir()))}
    if inside is not None:
        skip = str(Path(inside).relative_to(root))
        after, before = ({k: v for k, v in d.items() if k != skip and not
                          k.startswith(skip + os.sep)} for d in (after, before))
    assert after == before, "files changed"
    return lines[0]


def write_config(folder: Path, text: str, name: str = "bad.toml") -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def _section(base: str, extra: str) -> str:
    """TOML lines of ``base`` with the keys of ``extra`` replacing or added."""
    lines = {}
    for line in (base + "\n" + extra).splitlines():
        if line.strip():
            lines[line.split("=", 1)[0].strip()] = line
    return "\n".join(lines.values()) + "\n"


def csv_config(tmp_path: Path, data_csv: Path, extra: str = "", training: str = "",
               model: str = "", data: str = "") -> Path:
    """A classify config on a user CSV with tiny settings (+ lines for each section)."""
    return write_config(
        tmp_path, f'task = "classify"\nname = "r"\nruns_dir = "{tmp_path}/runs"\n{extra}\n'
        f'[data]\n' + _section(f'dataset = "file"\npath = "{data_csv}"', data)
        + "[model]\n" + _section("units = 4\nembedding_dim = 4", model)
        + "[training]\n" + _section("epochs = 1\nthreads = 1\nbatch_size = 8", training))


@pytest.fixture(scope="session")
def trained_run(tmp_path_factory) -> Path:
    """A tiny trained classify run (one epoch), shared; tests copy it before editing."""
    root = tmp_path_factory.mktemp("trained")
    data = helpers.sentiment_csv(root / "reviews.csv", n=60)
    cfg = csv_config(root, data)
    assert main(["train", str(cfg), "--quiet"]) == 0
    return root / "runs" / "r"


@pytest.fixture
def run_copy(trained_run, tmp_path) -> Path:
    """A private copy of the trained run, inside tmp_path."""
    dest = tmp_path / "runs" / "r"
    shutil.copytree(trained_run, dest)
    shutil.copy(trained_run.parents[1] / "reviews.csv", tmp_path / "reviews.csv")
    cfg = dest / "config.toml"
    cfg.write_text(cfg.read_text().replace(str(trained_run.parents[1] / "reviews.csv"),
                                           str(tmp_path / "reviews.csv")))
    return dest


@pytest.fixture
def h():
    """This module's helpers (refused, snapshot, csv_config...)."""
    return sys.modules[__name__]
