"""`seqlab init FILE` infers the task and columns and writes a config that trains on FILE
as it is (here 1 epoch), for each format of examples/data/; it never replaces a file."""
import json
import tomllib
from pathlib import Path

import numpy as np
import pytest

from seqlab.cli import main

DATA = Path(__file__).resolve().parents[2] / "examples" / "data"
# file -> (task, [data] fields the guess must hold)
CASES = {
    "reviews.csv": ("classify", {"text_column": "text", "label_column": "label",
                                 "format": "text"}),
    "reviews_train.csv": ("classify", {"test_path": str(DATA / "reviews_test.csv")}),
    "shapes_wide.csv": ("classify", {"format": "wide", "label_column": "label"}),
    "shapes_long.csv": ("classify", {"format": "long", "id_column": "id",
                                     "time_column": "time", "value_columns": ["value"]}),
    "motion_long.csv": ("classify", {"format": "long", "value_columns": ["ax", "ay"]}),
    "shapes_TRAIN.ts": ("classify", {"test_path": str(DATA / "shapes_TEST.ts")}),
    "demand.csv": ("forecast", {"target_column": "demand"}),
}


def _train(cfg: Path, runs: Path) -> dict:
    assert main(["train", str(cfg), "--runs-dir", str(runs), "--epochs", "1", "--quiet"]) == 0
    (run,) = [p for p in runs.iterdir() if (p / "metrics.json").is_file()]
    return json.loads((run / "metrics.json").read_text())


@pytest.mark.parametrize("name", sorted(CASES))
def test_init_writes_a_config_that_trains(name, tmp_path, capsys):
    out = tmp_path / "cfg.toml"
    assert main(["init", str(DATA / name), "--output", str(out)]) == 0
    task, fields = CASES[name]
    raw = tomllib.loads(out.read_text())
    assert raw["task"] == task, out.read_text()
    assert {k: raw["data"][k] for k in fields} == fields
    assert "# " in out.read_text().split("[data]")[1].splitlines()[1]  # fields are commented
    metrics = _train(out, tmp_path / "runs")
    assert ("accuracy" if task == "classify" else "mase") in metrics


def _write(tmp_path, name, text):
    p = tmp_path / name
    p.write_text(text)
    return p


def test_init_tells_tag_seq2seq_and_generate(tmp_path):
    rng = np.random.default_rng(0)
    words = ["the", "cat", "dog", "runs"]
    tag_rows = []
    for _ in range(40):
        s = list(rng.choice(words, size=4))
        tag_rows.append(" ".join(s) + "\t" + " ".join("N" if w in ("cat", "dog") else "O"
                                                      for w in s))
    tags = _write(tmp_path, "tags.tsv", "tokens\ttags\n" + "\n".join(tag_rows) + "\n")
    sums = _write(tmp_path, "sums.csv", "source,target\n" + "".join(
        f"{a}+{b},{a + b}\n" for a, b in rng.integers(0, 99, size=(60, 2))))
    novel = _write(tmp_path, "novel.txt", "It was a dark and stormy night. " * 40)
    for path, task in ((tags, "tag"), (sums, "seq2seq"), (novel, "generate")):
        out = tmp_path / f"{path.stem}.toml"
        assert main(["init", str(path), "--output", str(out)]) == 0
        assert tomllib.loads(out.read_text())["task"] == task, out.read_text()
        metrics = _train(out, tmp_path / f"runs_{task}")
        assert metrics, task


def test_init_never_replaces_a_file(tmp_path, capsys):
    out = _write(tmp_path, "mine.toml", "# my own config\n")
    code = main(["init", str(DATA / "reviews.csv"), "--output", str(out)])
    assert code == 2 and out.read_text() == "# my own config\n"
    assert "never replaces" in capsys.readouterr().err


def test_init_forced_task_and_unknown_layout(tmp_path, capsys):
    out = tmp_path / "f.toml"
    assert main(["init", str(DATA / "reviews.csv"), "--task", "seq2seq", "--output",
                 str(out)]) == 0
    assert tomllib.loads(out.read_text())["task"] == "seq2seq"
    one = _write(tmp_path, "one.csv", "x\n1\n2\n")
    assert main(["init", str(one), "--output", str(tmp_path / "g.toml")]) == 2
    assert "--task" in capsys.readouterr().err
    assert not (tmp_path / "g.toml").exists()
