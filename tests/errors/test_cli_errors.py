"""The CLI's exit codes: 2 and one sentence for a user error, 70 and one line naming a log
file with the traceback for a bug, 130 and one line for Ctrl-C (start-up included)."""
from __future__ import annotations

import errno
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from seqlab import cli


def _crash_logs():
    return set(Path(tempfile.gettempdir()).glob("seqlab-crash-*.log"))


def test_bug_without_run_folder_goes_to_a_temp_log(tmp_path, capsys, h, monkeypatch):
    def boom(args):
        raise ZeroDivisionError("division by zero in a formula")
    monkeypatch.setattr(cli, "cmd_datasets", boom)
    before = _crash_logs()
    capsys.readouterr()
    code = cli.main(["datasets"])
    err = capsys.readouterr().err.strip().splitlines()
    new = _crash_logs() - before
    try:
        assert code == 70 and len(err) == 1, err
        assert "internal error (a bug in seqlab, please report it): ZeroDivisionError: " \
               "division by zero in a formula; traceback written to " in err[0]
        assert len(new) == 1 and str(next(iter(new))) in err[0]
        text = next(iter(new)).read_text()
        assert "Traceback" in text and "boom" in text
    finally:
        for path in new:
            path.unlink()


def test_bug_with_a_run_folder_logs_inside_it(tmp_path, capsys, run_copy, monkeypatch):
    from seqlab import tasks
    monkeypatch.setattr(tasks, "evaluate", lambda path: {}["no such metric"])
    before = _crash_logs()
    code = cli.main(["evaluate", str(run_copy)])
    err = capsys.readouterr().err.strip().splitlines()
    logs = list(run_copy.glob("crash-*.log"))
    assert code == 70 and len(err) == 1, err
    assert "KeyError" in err[0] and len(logs) == 1 and str(logs[0]) in err[0]
    assert "Traceback" in logs[0].read_text()
    assert _crash_logs() == before


def test_bug_during_training_logs_in_the_new_run_folder(tmp_path, capsys, h, monkeypatch):
    from seqlab.tasks import classify
    data = h.helpers.sentiment_csv(tmp_path / "reviews.csv", n=30)
    monkeypatch.setattr(classify, "build_model", lambda cfg, vocab: None.oops)
    code = cli.main(["train", str(h.csv_config(tmp_path, data)), "--quiet"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 70 and len(err) == 1 and "AttributeError" in err[0], err
    logs = list((tmp_path / "runs").glob("*/crash-*.log"))
    assert len(logs) == 1 and str(logs[0]) in err[0]


def test_debug_variable_shows_the_traceback(tmp_path, monkeypatch):
    monkeypatch.setenv("SEQLAB_DEBUG", "1")
    monkeypatch.setattr(cli, "cmd_datasets", lambda args: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        cli.main(["datasets"])


def test_ctrl_c_in_a_command(tmp_path, capsys, h, monkeypatch):
    def interrupted(args):
        raise KeyboardInterrupt
    monkeypatch.setattr(cli, "cmd_datasets", interrupted)
    h.refused(capsys, tmp_path, ["datasets"], "interrupted", code=130)


HOOK = """
import sys
class Stop:
    def find_spec(self, name, path=None, target=None):
        if name == "torch":
            raise KeyboardInterrupt
sys.meta_path.insert(0, Stop())
sys.argv = ["seqlab", "datasets"]
import {module}
sys.exit({module}.{function}())
"""


@pytest.mark.parametrize("module,function", [("seqlab_entry", "main")])
def test_ctrl_c_while_importing_torch(tmp_path, module, function):
    """The `seqlab` console script enters through seqlab_entry, which imports nothing heavy:
    a Ctrl-C while torch is imported is one line and exit 130."""
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": str(root)}
    done = subprocess.run([sys.executable, "-c", HOOK.format(module=module, function=function)],
                          capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120)
    assert done.returncode == 130, done.stderr
    assert done.stderr.strip() == "seqlab: interrupted.", done.stderr


ERRNOS = [("ENOSPC", "disk is full"), ("ENAMETOOLONG", "too long"), ("EACCES", "permission"),
          ("EPERM", "not permitted"), ("EROFS", "read-only"), ("EDQUOT", "quota"),
          ("ENOTDIR", "not a folder"), ("EISDIR", "folder"), ("ELOOP", "symbolic links"),
          ("EMFILE", "ulimit"), ("EIO", "input/output")]


@pytest.mark.parametrize("name,word", ERRNOS, ids=[n for n, _ in ERRNOS])
def test_os_errors_are_user_errors(tmp_path, capsys, h, monkeypatch, name, word):
    code = getattr(errno, name)

    def fail(args):
        raise OSError(code, os.strerror(code), str(tmp_path / "runs" / "x.json"))
    monkeypatch.setattr(cli, "cmd_datasets", fail)
    h.refused(capsys, tmp_path, ["datasets"], "x.json", word)


def test_unlisted_os_error_is_a_bug(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(cli, "cmd_datasets",
                        lambda args: (_ for _ in ()).throw(OSError(errno.EBADF, "Bad fd")))
    before = _crash_logs()
    assert cli.main(["datasets"]) == 70
    for path in _crash_logs() - before:
        path.unlink()


USAGE = [(["bogus"], "invalid choice"), ([], "required"), (["predict", "r"], "--input"),
         (["train", "--epochs", "x"], "--epochs"), (["generate", "r", "--top-k", "1.5"], "--top-k"),
         (["train", "--colour"], "unrecognized")]


@pytest.mark.parametrize("argv,word", USAGE, ids=[" ".join(a) or "nothing" for a, _ in USAGE])
def test_usage_errors_on_one_line(tmp_path, capsys, h, argv, word):
    h.refused(capsys, tmp_path, argv, word)


def test_help_exits_0(capsys):
    assert cli.main(["--help"]) == 0


def _files(tmp_path):
    (tmp_path / "folder").mkdir()
    (tmp_path / "latin1.txt").write_bytes("caf\xe9\n".encode("latin-1"))
    (tmp_path / "empty.txt").write_text("\n\n")
    return tmp_path


INPUTS = [("absent.txt", "no such file"), ("folder", "folder"), ("latin1.txt", "UTF-8"),
          ("empty.txt", "empty")]


@pytest.mark.parametrize("name,word", INPUTS, ids=[n for n, _ in INPUTS])
def test_predict_input_problems(tmp_path, capsys, h, run_copy, name, word):
    _files(tmp_path)
    h.refused(capsys, tmp_path, ["predict", run_copy, "--input", tmp_path / name], name, word)


RUN_ARGS = [["evaluate"], ["summary"], ["inspect"], ["predict", "--input", "x"],
            ["generate"], ["score", "a b"]]


@pytest.mark.parametrize("argv", RUN_ARGS, ids=[a[0] for a in RUN_ARGS])
def test_missing_run_folder(tmp_path, capsys, h, argv):
    (tmp_path / "x").write_text("one\n")
    cmd, *rest = argv
    rest = [str(tmp_path / "x") if r == "x" else r for r in rest]
    h.refused(capsys, tmp_path, [cmd, tmp_path / "nope", *rest], "nope")


def test_generate_on_a_classifier(tmp_path, capsys, h, run_copy):
    h.refused(capsys, tmp_path, ["generate", run_copy], "'classify' run", "language model")


def test_config_and_resume_together(tmp_path, capsys, h, run_copy):
    cfg = h.write_config(tmp_path, "")
    h.refused(capsys, tmp_path, ["train", cfg, "--resume", run_copy], "not both")


def test_overwrite_with_resume(tmp_path, capsys, h, run_copy):
    h.refused(capsys, tmp_path, ["train", "--resume", run_copy, "--overwrite"], "--overwrite")


def test_config_is_not_utf8(tmp_path, capsys, h):
    path = tmp_path / "c.toml"
    path.write_bytes("name = \"caf\xe9\"\n".encode("latin-1"))
    h.refused(capsys, tmp_path, ["train", path], "c.toml", "UTF-8")
