"""Every config field and CLI flag out of its range is refused before any work, in one
sentence naming the field or flag; impossible data is refused before training."""
from __future__ import annotations

import pytest


BAD_FIELDS = [  # (section, line, words expected in the message)
    ("training", "epochs = 0", "[training] epochs"),
    ("training", "epochs = -3", "[training] epochs"),
    ("training", 'epochs = "ten"', "epochs"),
    ("training", "epochs = 1.5", "epochs"),
    ("training", "batch_size = 0", "[training] batch_size"),
    ("training", "lr_patience = 0", "[training] lr_patience"),
    ("training", "learning_rate = 0", "[training] learning_rate"),
    ("training", "learning_rate = -0.1", "[training] learning_rate"),
    ("training", "learning_rate = inf", "[training] learning_rate"),
    ("training", "learning_rate = nan", "[training] learning_rate"),
    ("training", "min_learning_rate = -1.0", "[training] min_learning_rate"),
    ("training", "min_learning_rate = nan", "[training] min_learning_rate"),
    ("training", "clipnorm = -1.0", "[training] clipnorm"),
    ("training", "clipnorm = inf", "[training] clipnorm"),
    ("training", "clipnorm = nan", "[training] clipnorm"),
    ("training", "global_clipnorm = -1.0", "[training] global_clipnorm"),
    ("training", "global_clipnorm = inf", "[training] global_clipnorm"),
    ("training", "clipnorm = 1.0\nglobal_clipnorm = 1.0", "global_clipnorm"),
    ("training", "weight_decay = -0.1", "[training] weight_decay"),
    ("training", "weight_decay = nan", "[training] weight_decay"),
    ("training", "threads = -1", "[training] threads"),
    ("training", "seed = -1", "[training] seed"),
    ("training", "seed = 1099511627776", "[training] seed"),
    ("training", 'optimizer = "Bogus"', "[training] optimizer"),
    ("training", 'lr_schedule = "linear"', "[training] lr_schedule"),
    ("training", 'device = "tpu"', "[training] device"),
    ("training", 'class_weights = "some"', "[training] class_weights"),
    ("training", "keep_best = 1", "keep_best"),
    ("training", "epoch = 3", "Did you mean 'epochs'"),
    ("model", "units = 0", "[model] units"),
    ("model", "units = -5", "[model] units"),
    ("model", "layers = 0", "[model] layers"),
    ("model", "filters = 0", "[model] filters"),
    ("model", "heads = 0", "[model] heads"),
    ("model", "beam_width = 0", "[model] beam_width"),
    ("model", "kernel_sizes = []", "[model] kernel_sizes"),
    ("model", "kernel_sizes = [0]", "[model] kernel_sizes"),
    ("model", "kernel_sizes = [3, -1]", "[model] kernel_sizes"),
    ("model", "kernel_sizes = [1.5]", "[model] kernel_sizes"),
    ("model", "dropout = 1.0", "[model] dropout"),
    ("model", "dropout = -0.1", "[model] dropout"),
    ("model", "dropout = nan", "[model] dropout"),
    ("model", "word_dropout = -1.0", "[model] word_dropout"),
    ("model", "word_dropout = nan", "[model] word_dropout"),
    ("model", "embedding_dim = -1", "[model] embedding_dim"),
    ("model", "char_embedding_dim = -1", "[model] char_embedding_dim"),
    ("model", "buckets = -1", "[model] buckets"),
    ("model", "nb_buckets = -1", "[model] nb_buckets"),
    ("model", "nb_buckets = 10", "[model] nb_buckets"),
    ("model", 'cell = "xyz"', "[model] cell"),
    ("model", 'arch = "mlp"', "[model] arch"),
    ("model", 'arch = "transformer"', "[model] arch"),
    ("model", 'attention = "x"', "[model] attention"),
    ("data", "max_len = -1", "[data] max_len"),
    ("data", "max_samples = -1", "[data] max_samples"),
    ("data", "seasonality = -1", "[data] seasonality"),
    ("data", "num_words = 0", "[data] num_words"),
    ("data", "window = 0", "[data] window"),
    ("data", "horizon = 0", "[data] horizon"),
    ("data", "seq_len = 0", "[data] seq_len"),
    ("data", "seq_len = -1", "[data] seq_len"),
    ("data", "test_fraction = 1.0", "[data] test_fraction"),
    ("data", "test_fraction = -0.1", "[data] test_fraction"),
    ("data", "test_fraction = nan", "[data] test_fraction"),
    ("data", "val_fraction = 1.5", "[data] val_fraction"),
    ("data", "test_fraction = 0.6\nval_fraction = 0.5", "test_fraction + val_fraction"),
    ("data", "split_seed = -2", "[data] split_seed"),
    ("data", 'level = "byte"', "[data] level"),
]


@pytest.mark.parametrize("section,line,word", BAD_FIELDS,
                         ids=[f"{s}:{l.splitlines()[0]}" for s, l, _ in BAD_FIELDS])
def test_config_field_out_of_range(tmp_path, capsys, h, section, line, word):
    data = h.helpers.sentiment_csv(tmp_path / "reviews.csv", n=20)
    cfg = h.csv_config(tmp_path, data, **{section: line})
    h.refused(capsys, tmp_path, ["train", cfg], "bad.toml", word)


BAD_TOP = [
    ('name = "../x"', "name"),
    ('name = "a/b"', "name"),
    ('runs_dir = ""', "runs_dir"),
    ('task = "bogus"', "task"),
    ("colour = 3", "'colour'"),
    ('name = "' + "n" * 300 + '"', "name"),
]


@pytest.mark.parametrize("line,word", BAD_TOP, ids=[w for _, w in BAD_TOP[:-1]] + ["long"])
def test_top_level_value(tmp_path, capsys, h, line, word):
    data = h.helpers.sentiment_csv(tmp_path / "reviews.csv", n=20)
    text = h.csv_config(tmp_path, data).read_text().replace('name = "r"\n', "")
    h.refused(capsys, tmp_path, ["train", h.write_config(tmp_path, line + "\n" + text, "t.toml")],
            "t.toml", word)


def test_file_dataset_without_path(tmp_path, capsys, h):
    cfg = h.write_config(tmp_path, f'runs_dir = "{tmp_path}"\n[data]\ndataset = "file"\n')
    h.refused(capsys, tmp_path, ["train", cfg], "path")


BAD_TRAIN_FLAGS = [(["--epochs", "0"], "--epochs"), (["--epochs", "-2"], "--epochs"),
                   (["--epochs", "abc"], "--epochs"), (["--runs-dir", " "], "--runs-dir")]


@pytest.mark.parametrize("flags,word", BAD_TRAIN_FLAGS, ids=[" ".join(f) for f, _ in BAD_TRAIN_FLAGS])
def test_train_flag_out_of_range(tmp_path, capsys, h, flags, word):
    data = h.helpers.sentiment_csv(tmp_path / "reviews.csv", n=20)
    h.refused(capsys, tmp_path, ["train", h.csv_config(tmp_path, data), *flags], word)


def test_epochs_flag_with_resume_refused(tmp_path, capsys, h, run_copy):
    h.refused(capsys, tmp_path, ["train", "--resume", run_copy, "--epochs", "3"], "--epochs",
            "--resume")


def test_epochs_flag_is_honoured(tmp_path, capsys, h, monkeypatch):
    """--epochs N replaces [training] epochs (it used to be ignored when 0 and is now
    checked like the field)."""
    from seqlab import tasks
    seen = {}

    def fake_train(cfg, **kw):
        seen["epochs"] = cfg.training.epochs
        raise KeyboardInterrupt
    monkeypatch.setattr(tasks, "train", fake_train)
    data = h.helpers.sentiment_csv(tmp_path / "reviews.csv", n=20)
    h.refused(capsys, tmp_path, ["train", h.csv_config(tmp_path, data), "--epochs", "7"],
            "interrupted", code=130)
    assert seen["epochs"] == 7


BAD_GENERATE_FLAGS = [
    (["--temperature", "0"], "--temperature"), (["--temperature", "-1"], "--temperature"),
    (["--temperature", "nan"], "--temperature"), (["--temperature", "inf"], "--temperature"),
    (["--length", "0"], "--length"), (["--length", "-5"], "--length"),
    (["--top-k", "-1"], "--top-k"), (["--seed", "-1"], "--seed"),
    (["--seed", str(2 ** 40)], "--seed"), (["--length", "x"], "--length"),
]


@pytest.mark.parametrize("flags,word", BAD_GENERATE_FLAGS,
                         ids=[" ".join(f) for f, _ in BAD_GENERATE_FLAGS])
def test_generate_flag_out_of_range(tmp_path, capsys, h, run_copy, flags, word):
    h.refused(capsys, tmp_path, ["generate", run_copy, *flags], word)


def test_score_empty_sentence(tmp_path, capsys, h, run_copy):
    h.refused(capsys, tmp_path, ["score", run_copy, "  "], "sentence")


def test_demo_empty_out(tmp_path, capsys, h):
    h.refused(capsys, tmp_path, ["demo", "--out", ""], "--out")


# ------------------------------------------------------------ impossible data
def _rows(path, rows):
    path.write_text("text,label\n" + "".join(f"{t},{l}\n" for t, l in rows), encoding="utf-8")
    return path


def test_one_class_refused_before_training(tmp_path, capsys, h):
    data = _rows(tmp_path / "one.csv", [(f"good film {i}", "pos") for i in range(30)])
    h.refused(capsys, tmp_path, ["train", h.csv_config(tmp_path, data)], "one.csv", "two classes")
    assert not (tmp_path / "runs" / "r").exists()


def test_empty_test_split_refused(tmp_path, capsys, h):
    data = h.helpers.sentiment_csv(tmp_path / "reviews.csv", n=30)
    cfg = h.csv_config(tmp_path, data, data="test_fraction = 0.0")
    h.refused(capsys, tmp_path, ["train", cfg], "reviews.csv", "test_fraction > 0")


def test_too_few_samples_refused(tmp_path, capsys, h):
    data = _rows(tmp_path / "tiny.csv", [("good", "pos"), ("bad", "neg"), ("good", "pos")])
    h.refused(capsys, tmp_path, ["train", h.csv_config(tmp_path, data)], "tiny.csv", "split")


def test_text_shorter_than_seq_len_refused(tmp_path, capsys, h):
    text = tmp_path / "tiny.txt"
    text.write_text("to be or not to be " * 5, encoding="utf-8")
    cfg = h.write_config(tmp_path, f'task = "generate"\nname = "g"\nruns_dir = "{tmp_path}/runs"\n'
                       f'[data]\ndataset = "file"\npath = "{text}"\nlevel = "char"\n'
                       f'seq_len = 500\n[model]\nunits = 4\nembedding_dim = 4\n'
                       f'[training]\nepochs = 1\nthreads = 1\n')
    h.refused(capsys, tmp_path, ["train", cfg], "tiny.txt", "seq_len")


def test_series_shorter_than_window_refused(tmp_path, capsys, h):
    series = tmp_path / "s.csv"
    series.write_text("y\n" + "".join(f"{i % 7}\n" for i in range(30)), encoding="utf-8")
    cfg = h.write_config(tmp_path, f'task = "forecast"\nname = "f"\nruns_dir = "{tmp_path}/runs"\n'
                       f'[data]\ndataset = "file"\npath = "{series}"\nwindow = 50\n'
                       f'[model]\nunits = 4\n[training]\nepochs = 1\nthreads = 1\n')
    h.refused(capsys, tmp_path, ["train", cfg], "window")
