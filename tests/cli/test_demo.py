"""`seqlab demo --quick` (two stops): the table, the runs and the HTML report with real plots."""
import base64

from seqlab.tasks import demo


def test_quick_demo_writes_table_and_report(tmp_path, capsys):
    rows = demo.main(out=str(tmp_path / "demo"), quick=True, stops=[0, 3])
    printed = capsys.readouterr().out
    assert [r["task"] for r in rows] == ["classify", "forecast"]
    for r in rows:
        assert r["metric"] != "skipped", r
        assert isinstance(r["value"], float) and isinstance(r["baseline"], float)
    assert "task" in printed and "baseline" in printed and "dna_motif" in printed
    html = (tmp_path / "demo" / "report.html").read_text()
    pngs = html.count("data:image/png;base64,")
    assert pngs >= 4  # learning curves + confusion matrix + forecast ...
    first = html.split("data:image/png;base64,")[1].split('"')[0]
    assert base64.b64decode(first)[:8] == b"\x89PNG\r\n\x1a\n"
    assert (tmp_path / "demo" / "4_forecast_airline" / "plots" / "forecast.png").is_file()
