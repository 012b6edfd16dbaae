"""The subcommands on a tiny word language model trained through `seqlab train`."""
import json

from seqlab.cli import main


def _train_lm(tmp_path, capsys):
    text = tmp_path / "phrases.txt"
    text.write_text("\n".join(["le chat dort .", "le chien court .", "la voiture roule ."]
                              * 100), encoding="utf-8")
    cfg = tmp_path / "lm.toml"
    cfg.write_text(f'task = "generate"\nruns_dir = "{tmp_path}/runs"\n'
                   f'[data]\ndataset = "file"\npath = "{text}"\nlevel = "word"\nseq_len = 12\n'
                   f'[model]\ncell = "lstm"\nunits = 16\nembedding_dim = 8\n'
                   f'[training]\nepochs = 3\nbatch_size = 8\nlearning_rate = 0.02\n')
    assert main(["train", str(cfg), "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "bits_per_token" in out and "report.html" in out
    return tmp_path / "runs" / "lm"


def test_subcommands(tmp_path, capsys):
    run = _train_lm(tmp_path, capsys)
    saved = json.loads((run / "metrics.json").read_text())

    assert main(["evaluate", str(run)]) == 0
    out = capsys.readouterr().out
    assert f"{saved['bits_per_token']:.4f}" in out          # same number as after training

    assert main(["summary", str(run)]) == 0
    out = capsys.readouterr().out
    assert "Total params" in out and "lstm" in out.lower()
    assert "Layer (type)" in out and "Output Shape" in out  # models/summary.py's table
    assert "(LSTM)" in out and "(None, None, 16)" in out    # the time axis is any length

    assert main(["score", str(run), "le chat dort .", "le chat roule ."]) == 0
    good, bad = (float(l.split("\t")[0]) for l in capsys.readouterr().out.splitlines())
    assert good > bad

    assert main(["generate", str(run), "--prompt", "le", "--length", "5",
                 "--temperature", "0.5", "--top-k", "2"]) == 0
    words = capsys.readouterr().out.split()
    assert words[0] == "le" and len(words) == 6

    lines = tmp_path / "in.txt"
    lines.write_text("le chien court .\n", encoding="utf-8")
    assert main(["predict", str(run), "--input", str(lines)]) == 0
    assert capsys.readouterr().out.startswith("le chien court .\t-")

    assert main(["inspect", str(run)]) == 0
    assert "dL/dh" in capsys.readouterr().out
    assert (run / "plots" / "inspect_gradient_flow.png").is_file()
    assert (run / "plots" / "inspect_gates.png").is_file()


def test_datasets_table(capsys):
    assert main(["datasets"]) == 0
    out = capsys.readouterr().out
    assert "addition" in out and "rotten_tomatoes" in out
