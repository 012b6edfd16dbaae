"""`seqlab train` writes only inside runs_dir and never deletes what it did not make.

Each case runs the real command line on a tiny config and compares a snapshot of every
file around the run (path, bytes, modification time; folders and links too) before and
after. The refusals happen before any data is read: the task's ``prepare`` is replaced by
one that fails the test if it is ever called.
"""
import json
import os
import stat
from pathlib import Path

import pytest

from seqlab import tasks
from seqlab.cli import main
from seqlab.config import Config
from seqlab.errors import RunError
from seqlab.runs import MARKER, Run
from seqlab.tasks import classify, demo


# ---------------------------------------------------------------------- helpers
def _snapshot(root: Path, skip=(), runs_dir=None) -> dict:
    """{relative path: what it is} for everything under ``root`` (links not followed),
    leaving out the folders in ``skip`` and what they hold, and the modification time of
    ``runs_dir`` (it changes when a run folder is added there)."""
    skip = [Path(s).relative_to(root) for s in skip]
    runs_dir = Path(runs_dir).relative_to(root) if runs_dir else None
    found = {}
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            path = Path(folder) / name
            rel = path.relative_to(root)
            if any(rel == s or s in rel.parents for s in skip):
                continue
            st = path.lstat()
            if stat.S_ISLNK(st.st_mode):
                found[rel] = ("link", os.readlink(path))
            elif stat.S_ISDIR(st.st_mode):
                found[rel] = ("folder",) if rel == runs_dir else ("folder", st.st_mtime_ns)
            else:
                found[rel] = ("file", path.read_bytes(), st.st_mtime_ns)
    return found


def _config(path: Path, name, runs_dir, data: Path) -> Path:
    """A classify config that trains in about a second (json.dumps quotes TOML strings)."""
    top = f"name = {json.dumps(str(name))}\n" if name is not None else ""
    path.write_text(f'task = "classify"\n{top}runs_dir = {json.dumps(str(runs_dir))}\n'
                    f'[data]\ndataset = "file"\npath = {json.dumps(str(data))}\n'
                    f'[model]\nunits = 4\nembedding_dim = 4\n'
                    f'[training]\nepochs = 1\nbatch_size = 16\nthreads = 1\n',
                    encoding="utf-8")
    return path


@pytest.fixture
def world(tmp_path, helpers):
    """A user's project: data, notes, a runs folder; and a folder elsewhere on the disk."""
    project = tmp_path / "project"
    (project / "src").mkdir(parents=True)
    helpers.sentiment_csv(project / "reviews.csv", n=40)
    (project / "notes.txt").write_text("my notes")
    (project / "src" / "model.py").write_text("print('mine')\n")
    (project / "runs").mkdir()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "config.toml").write_text('task = "classify"\n')  # looks like a run
    (elsewhere / "thesis.tex").write_text("do not delete")
    return project


@pytest.fixture
def no_data_reading(monkeypatch):
    """Fail the test if the command reads any data (it must refuse before that)."""
    def prepare(*args, **kwargs):
        raise AssertionError("the data were read before the run folder was checked")
    monkeypatch.setattr(classify, "prepare", prepare)


def _refused(capsys, argv, *expect) -> str:
    """Run the CLI; it must exit 2 with one line on stderr holding each of ``expect``."""
    code = main(argv)
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert code == 2, captured
    assert len(lines) == 1 and "Traceback" not in captured.err, captured.err
    for words in expect:
        assert words in lines[0], lines[0]
    assert "run saved" not in captured.out
    return lines[0]


def _trained(capsys, argv) -> Path:
    """Run the CLI; it must succeed; returns the folder it says the run was saved in."""
    assert main(argv + ["--quiet"]) == 0
    out = capsys.readouterr().out
    line = [l for l in out.splitlines() if l.startswith("run saved in ")]
    assert len(line) == 1, out
    return Path(line[0][len("run saved in "):].split(" (report:")[0])


# ---------------------------------------------------------------------- bad names
def test_name_dot_with_runs_dir_dot_in_a_project_folder(world, capsys, monkeypatch,
                                                        no_data_reading):
    config = _config(world / "config.toml", ".", ".", world / "reviews.csv")
    monkeypatch.chdir(world)
    before = _snapshot(world.parent)
    _refused(capsys, ["train", "config.toml"], "config.toml", "name = '.'",
             "plain folder name", 'name = "my_run"')
    assert _snapshot(world.parent) == before
    assert config.is_file() and (world / "notes.txt").read_text() == "my notes"


def test_absolute_name(world, capsys, no_data_reading):
    victim = world.parent / "elsewhere"
    config = _config(world / "abs.toml", victim, world / "runs", world / "reviews.csv")
    before = _snapshot(world.parent)
    _refused(capsys, ["train", str(config)], f"name = '{victim}'", 'contains "/"',
             'name = "my_run"')
    assert _snapshot(world.parent) == before


def test_parent_name(world, capsys, no_data_reading):
    config = _config(world / "up.toml", "../elsewhere", world / "runs", world / "reviews.csv")
    before = _snapshot(world.parent)
    _refused(capsys, ["train", str(config)], "name = '../elsewhere'", 'name = "my_run"')
    assert _snapshot(world.parent) == before


def test_too_long_name(world, capsys, no_data_reading):
    config = _config(world / "long.toml", "r" * 101, world / "runs", world / "reviews.csv")
    before = _snapshot(world.parent)
    _refused(capsys, ["train", str(config)], "name = 'rrr", "101 characters", "at most 100",
             'name = "my_run"')
    assert _snapshot(world.parent) == before


def test_a_bad_name_from_the_file_name(world, capsys, no_data_reading):
    config = _config(world / "...toml", None, world / "runs", world / "reviews.csv")
    before = _snapshot(world.parent)
    _refused(capsys, ["train", str(config)], "name = '..'", "taken from the file name")
    assert _snapshot(world.parent) == before


def test_run_create_checks_the_name_itself(tmp_path):
    # a Config built in Python skips the file's validation; Run.create checks again
    for name in ["../x", "/abs", ".", "", "a\\b", "a\nb", "x" * 101]:
        with pytest.raises(RunError, match="plain folder name"):
            Run.create(Config(name=name, runs_dir=str(tmp_path / "runs")))
    assert list((tmp_path).iterdir()) == []


# ---------------------------------------------------------------------- links
def test_symlinked_run_folder(world, capsys, no_data_reading, monkeypatch):
    elsewhere = world.parent / "elsewhere"
    (elsewhere / MARKER).write_text('{"made_by": "seqlab", "format": 1}')  # even a marked one
    (world / "runs" / "linked").symlink_to(elsewhere, target_is_directory=True)
    runs = world / "runs"
    config = _config(world / "linked.toml", "linked", runs, world / "reviews.csv")
    before = _snapshot(world.parent)
    _refused(capsys, ["train", str(config), "--overwrite"], str(runs / "linked"),
             "symbolic link", "drop --overwrite")
    assert _snapshot(world.parent) == before

    monkeypatch.undo()  # now let it train: the new run goes next to the link, not into it
    before = _snapshot(world.parent, runs_dir=runs)
    saved = _trained(capsys, ["train", str(config)])
    assert saved == runs / "linked-2"
    assert not saved.is_symlink() and (saved / MARKER).is_file()
    assert _snapshot(world.parent, skip=[saved], runs_dir=runs) == before


def test_runs_dir_may_be_a_link(world, capsys):
    disk = world.parent / "big_disk"
    disk.mkdir()
    (world / "runs").rmdir()
    (world / "runs").symlink_to(disk, target_is_directory=True)
    config = _config(world / "c.toml", "here", world / "runs", world / "reviews.csv")
    saved = _trained(capsys, ["train", str(config)])
    assert saved == world / "runs" / "here"
    assert (disk / "here" / "metrics.json").is_file()


# ---------------------------------------------------------------------- existing runs
def test_training_twice_keeps_the_earlier_run(world, capsys):
    config = _config(world / "twice.toml", "twice", world / "runs", world / "reviews.csv")
    first = _trained(capsys, ["train", str(config)])
    assert first == world / "runs" / "twice"
    (first / "my_analysis.txt").write_text("keep me")
    before = _snapshot(world.parent, runs_dir=world / "runs")
    second = _trained(capsys, ["train", str(config)])
    assert second == world / "runs" / "twice-2"
    assert (second / MARKER).is_file() and (second / "metrics.json").is_file()
    assert 'name = "twice-2"' in (second / "config.toml").read_text()
    assert _snapshot(world.parent, skip=[second], runs_dir=world / "runs") == before
    assert (first / "my_analysis.txt").read_text() == "keep me"


def test_a_folder_of_yours_at_the_run_path_is_kept(world, capsys):
    precious = world / "runs" / "precious"
    precious.mkdir()
    (precious / "thesis.tex").write_text("do not delete")
    config = _config(world / "precious.toml", None, world / "runs", world / "reviews.csv")
    before = _snapshot(world.parent, runs_dir=world / "runs")
    saved = _trained(capsys, ["train", str(config)])
    assert saved == world / "runs" / "precious-2"
    assert _snapshot(world.parent, skip=[saved], runs_dir=world / "runs") == before


def test_overwrite_replaces_a_folder_seqlab_made(world, capsys):
    config = _config(world / "again.toml", "again", world / "runs", world / "reviews.csv")
    run = _trained(capsys, ["train", str(config)])
    (run / "my_analysis.txt").write_text("replaced with the run")
    before = _snapshot(world.parent, skip=[run], runs_dir=world / "runs")
    assert _trained(capsys, ["train", str(config), "--overwrite"]) == run
    assert sorted(p.name for p in (world / "runs").iterdir()) == ["again"]
    assert not (run / "my_analysis.txt").exists()
    assert (run / MARKER).is_file() and (run / "metrics.json").is_file()
    assert _snapshot(world.parent, skip=[run], runs_dir=world / "runs") == before


@pytest.mark.parametrize("what", ["an older run", "a file"])
def test_overwrite_refuses_what_seqlab_did_not_mark(world, capsys, no_data_reading, what):
    target = world / "runs" / "old"
    if what == "a file":
        target.write_text("my table")
        expect = ("is a file", "drop --overwrite")
    else:  # a run folder from before seqlab wrote markers
        target.mkdir()
        (target / "config.toml").write_text('task = "classify"\n')
        (target / "model.safetensors").write_bytes(b"weights")
        expect = (f"no {MARKER} marker", "before markers", "drop --overwrite")
    config = _config(world / "old.toml", "old", world / "runs", world / "reviews.csv")
    before = _snapshot(world.parent)
    _refused(capsys, ["train", str(config), "--overwrite"], str(target), *expect)
    assert _snapshot(world.parent) == before


def test_overwrite_with_resume_is_refused(world, capsys):
    before = _snapshot(world.parent)
    _refused(capsys, ["train", "--resume", str(world / "runs" / "x"), "--overwrite"],
             "--overwrite", "--resume", "drop --overwrite")
    assert _snapshot(world.parent) == before


# ---------------------------------------------------------------------- failures, the tour
def test_unreadable_data_leaves_no_run_folder(world, capsys):
    config = _config(world / "nodata.toml", "nodata", world / "runs", world / "absent.csv")
    runs = world / "runs"
    before = _snapshot(world.parent, runs_dir=runs)
    _refused(capsys, ["train", str(config)], "absent.csv")
    assert _snapshot(world.parent, runs_dir=runs) == before
    assert list(runs.iterdir()) == []  # the folder made for the run is gone again


def test_unreadable_data_keeps_a_folder_that_holds_more(world, monkeypatch):
    def prepare(cfg, vocab=None):
        (run_dir / "plots" / "started.png").write_bytes(b"png")  # the run wrote something
        raise RunError("no data")
    monkeypatch.setattr(classify, "prepare", prepare)
    run_dir = world / "runs" / "half"
    cfg = Config.load(_config(world / "half.toml", "half", world / "runs", world / "x.csv"))
    with pytest.raises(RunError, match="no data"):
        tasks.train(cfg, verbose=False)
    assert (run_dir / "plots" / "started.png").is_file() and (run_dir / MARKER).is_file()


def test_the_tour_replaces_its_own_runs_only(world, monkeypatch, capsys):
    tiny = ("classify", {"dataset": "file", "path": str(world / "reviews.csv")},
            {"units": 4, "embedding_dim": 4}, {"epochs": 1, "batch_size": 16, "threads": 1},
            "tiny")
    monkeypatch.setattr(demo, "TOUR", [tiny])
    out = world / "runs" / "demo"
    for _ in range(2):
        rows = demo.main(out=str(out), stops=[0], verbose=False)
        assert rows[0]["metric"] == "accuracy", rows
        assert sorted(p.name for p in out.iterdir()) == ["1_classify_file", "report.html"]
    # a folder of that name that seqlab did not make stays, and the stop goes next to it
    mine = world / "runs" / "demo2" / "1_classify_file"
    mine.mkdir(parents=True)
    (mine / "notes.txt").write_text("mine")
    for _ in range(2):
        demo.main(out=str(mine.parent), stops=[0], verbose=False)
        assert (mine / "notes.txt").read_text() == "mine"
        assert sorted(p.name for p in mine.parent.iterdir()) == [
            "1_classify_file", "1_classify_file-2", "report.html"]
    assert (mine.parent / "1_classify_file-2" / "metrics.json").is_file()
