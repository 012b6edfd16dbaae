"""User mistakes give one line on stderr and a non-zero exit, never a traceback."""
import pytest

from seqlab import tasks
from seqlab.cli import main


def _check(capsys, argv, *expect):
    code = main(argv)
    err = capsys.readouterr().err
    assert code != 0
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    for word in expect:
        assert word in lines[0], lines[0]
    return lines[0]


def test_missing_config_file(tmp_path, capsys):
    _check(capsys, ["train", str(tmp_path / "nope.toml")], "nope.toml", "no such file")


def test_malformed_toml(tmp_path, capsys):
    bad = tmp_path / "bad.toml"
    bad.write_text('task = "classify"\n[data\ndataset = "x"\n')
    _check(capsys, ["train", str(bad)], "bad.toml", "malformed TOML", "line 2")


def test_unknown_key_names_valid_ones(tmp_path, capsys):
    bad = tmp_path / "typo.toml"
    bad.write_text('task = "classify"\n[training]\nepoch = 3\n')
    _check(capsys, ["train", str(bad)], "'epoch'", "[training]", "Did you mean 'epochs'",
           "batch_size")


def test_wrong_value_type(tmp_path, capsys):
    bad = tmp_path / "type.toml"
    bad.write_text('[training]\nepochs = "ten"\n')
    _check(capsys, ["train", str(bad)], "epochs", "an integer", "'ten'")


def test_unknown_dataset(tmp_path, capsys):
    cfg = tmp_path / "ds.toml"
    cfg.write_text(f'task = "classify"\nruns_dir = "{tmp_path}"\n[data]\ndataset = "imdbb"\n')
    _check(capsys, ["train", str(cfg)], "imdbb")


def test_missing_data_file(tmp_path, capsys):
    cfg = tmp_path / "f.toml"
    cfg.write_text(f'task = "classify"\nruns_dir = "{tmp_path}"\n[data]\n'
                   f'dataset = "file"\npath = "{tmp_path}/absent.csv"\n')
    _check(capsys, ["train", str(cfg)], "absent.csv")


def test_wrong_column_name(tmp_path, capsys, helpers):
    data = helpers.sentiment_csv(tmp_path / "reviews.csv", n=20)
    cfg = tmp_path / "col.toml"
    cfg.write_text(f'task = "classify"\nruns_dir = "{tmp_path}"\n[data]\ndataset = "file"\n'
                   f'path = "{data}"\ntext_column = "review"\n')
    _check(capsys, ["train", str(cfg)], "review")


def test_incompatible_checkpoint(tmp_path, capsys, helpers):
    data = helpers.sentiment_csv(tmp_path / "reviews.csv", n=60)
    cfg = helpers.config(tmp_path, "classify", {"dataset": "file", "path": str(data)},
                         {"units": 8, "embedding_dim": 8}, {"epochs": 1})
    run, _ = tasks.train(cfg, verbose=False)
    # the config now asks for a bigger model than the saved weights hold
    text = (run.path / "config.toml").read_text().replace("units = 8", "units = 12")
    (run.path / "config.toml").write_text(text)
    line = _check(capsys, ["evaluate", str(run.path)], "do not fit", "shape mismatch")
    assert "retrain" in line
    _check(capsys, ["train", "--resume", str(run.path)], "do not fit")


def test_not_a_run_folder(tmp_path, capsys):
    _check(capsys, ["summary", str(tmp_path)], "not a seqlab run folder")


def test_generate_needs_language_model(tmp_path, capsys, helpers):
    data = helpers.sentiment_csv(tmp_path / "reviews.csv", n=40)
    cfg = helpers.config(tmp_path, "classify", {"dataset": "file", "path": str(data)},
                         {"units": 4, "embedding_dim": 4}, {"epochs": 1})
    run, _ = tasks.train(cfg, verbose=False)
    _check(capsys, ["generate", str(run.path), "--prompt", "a"], "language model")
    _check(capsys, ["predict", str(run.path), "--input", str(tmp_path / "none.txt")],
           "none.txt")

