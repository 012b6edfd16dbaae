"""User files: correct parsing, and one clear error line naming file, line and problem."""
import numpy as np
import pytest

from seqlab.data.files import (DataFileError, load_pairs, load_series, load_text,
                               load_text_labels, read_columns)


def write(tmp_path, name, content):
    p = tmp_path / name
    p.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    return p


def one_line_error(excinfo, path, line, *words):
    msg = str(excinfo.value)
    assert "\n" not in msg
    assert msg.startswith(f"{path}, line {line}: " if line else f"{path}: "), msg
    for w in words:
        assert w in msg, msg
    return msg


def test_csv_tsv_jsonl_text_labels(tmp_path):
    csv = write(tmp_path, "a.csv", '\ufefftext,label\n"great, really",pos\n\nawful,neg\n'
                '"multi\nline",pos\n')
    texts, y, classes = load_text_labels(csv)
    assert texts == ["great, really", "awful", "multi\nline"]
    assert y.tolist() == [1, 0, 1] and classes == ["neg", "pos"]
    tsv = write(tmp_path, "b.tsv", "review\tstars\nok\t3\nbad\t1\n")
    texts, y, classes = load_text_labels(tsv, text="review", label="stars")
    assert y.tolist() == [1, 0] and classes == [1, 3]
    jl = write(tmp_path, "c.jsonl", '{"text": "hi", "label": 0}\n\n{"text": "yo", "label": 1}\n')
    assert load_text_labels(jl)[1].tolist() == [0, 1]


def test_pairs_series_and_plain_text(tmp_path):
    p = write(tmp_path, "p.tsv", "source\ttarget\n535+61\t596\n1+1\t2\n")
    assert load_pairs(p) == (["535+61", "1+1"], ["596", "2"])
    s = write(tmp_path, "s.csv", "date,temp,rain\n2020-01,1.5,0\n2020-02,2.5,3\n")
    data, names, tgt = load_series(s, columns=["temp", "rain"], target="temp")
    assert data.shape == (2, 2) and names == ["temp", "rain"] and tgt == [0]
    assert data[:, 1].tolist() == [0.0, 3.0]
    assert load_text(write(tmp_path, "t.txt", "To be,\nor not")) == "To be,\nor not"


def test_ragged_row(tmp_path):
    p = write(tmp_path, "r.csv", "text,label\ngood,pos\ngood, fun,pos\n")
    with pytest.raises(DataFileError) as e:
        load_text_labels(p)
    one_line_error(e, p, 3, "3 fields", "header has 2 (text, label)", "quote")


def test_missing_column(tmp_path):
    p = write(tmp_path, "m.csv", "review,sentiment\ngood,pos\n")
    with pytest.raises(DataFileError) as e:
        load_text_labels(p)
    one_line_error(e, p, 1, "no column 'text'", "review, sentiment")
    j = write(tmp_path, "m.jsonl", '{"text": "a", "label": 1}\n{"text": "b"}\n')
    with pytest.raises(DataFileError) as e:
        load_text_labels(j)
    one_line_error(e, j, 2, "no key 'label'")


def test_empty_files(tmp_path):
    p = write(tmp_path, "e.csv", "\n  \n")
    with pytest.raises(DataFileError) as e:
        load_text_labels(p)
    one_line_error(e, p, None, "the file is empty")
    h = write(tmp_path, "h.csv", "text,label\n")
    with pytest.raises(DataFileError) as e:
        load_text_labels(h)
    one_line_error(e, h, 1, "no data rows")
    with pytest.raises(DataFileError) as e:
        load_text(tmp_path / "absent.txt")
    one_line_error(e, tmp_path / "absent.txt", None, "no such file")


def test_non_utf8_bytes(tmp_path):
    p = write(tmp_path, "l.csv", b"text,label\ngood,pos\ncaf\xe9,pos\n")
    with pytest.raises(DataFileError) as e:
        load_text_labels(p)
    one_line_error(e, p, 3, "byte 0xe9 at column 4 is not UTF-8", "UTF-8")


def test_nan_and_non_numeric_in_series(tmp_path):
    p = write(tmp_path, "n.csv", "a,b\n1,2\n3,\n")
    with pytest.raises(DataFileError) as e:
        load_series(p)
    one_line_error(e, p, 3, "column 'b' is missing", "allow_nan=True")
    data, _, _ = load_series(p, allow_nan=True)
    assert np.isnan(data[1, 1]) and data[1, 0] == 3
    q = write(tmp_path, "q.csv", "a,b\n1,2\n3,NaN\n")
    with pytest.raises(DataFileError) as e:
        load_series(q)
    one_line_error(e, q, 3, "column 'b'")
    with pytest.raises(DataFileError) as e:
        load_series(write(tmp_path, "x.csv", "v\n1\nabc\n"))
    one_line_error(e, tmp_path / "x.csv", 3, "column 'v' is not a number: 'abc'")


def test_invalid_json_line_and_empty_text(tmp_path):
    j = write(tmp_path, "bad.jsonl", '{"text": "a", "label": 1}\n{"text": "b", label: 2}\n')
    with pytest.raises(DataFileError) as e:
        read_columns(j, ["text"])
    one_line_error(e, j, 2, "invalid JSON")
    p = write(tmp_path, "blank.csv", "text,label\n,pos\n")
    with pytest.raises(DataFileError) as e:
        load_text_labels(p)
    one_line_error(e, p, 2, "column 'text' is empty")


def test_json_array_files_with_line_numbers(tmp_path):
    p = write(tmp_path, "a.json", '[\n {"source": "1+1", "target": "2"},\n'
              ' {"source": "2+2", "target": "4"}\n]\n')
    assert load_pairs(p) == (["1+1", "2+2"], ["2", "4"])
    q = write(tmp_path, "b.json", '[\n {"source": "1+1", "target": "2"},\n {"source": "x"}\n]')
    with pytest.raises(DataFileError) as e:
        load_pairs(q)
    one_line_error(e, q, 3, "no key 'target'")
    r = write(tmp_path, "c.json", '[\n {"v": 1},\n {"v": 2,,}\n]')
    with pytest.raises(DataFileError) as e:
        load_series(r)
    one_line_error(e, r, 3, "invalid JSON")
    data, names, _ = load_series(write(tmp_path, "d.json", '[{"v": 1.5}, {"v": 2}]'))
    assert data[:, 0].tolist() == [1.5, 2.0] and names == ["v"]


def test_series_default_columns_leave_out_dates_and_text(tmp_path):
    p = write(tmp_path, "w.csv", "date,temp,weather,rain\n2020-01-01,1.5,sun,0\n"
              "2020-01-02,,rain,3\n")
    data, names, tgt = load_series(p, target="rain", allow_nan=True)
    assert names == ["temp", "rain"] and tgt == [1] and np.isnan(data[1, 0])
    with pytest.raises(DataFileError) as e:
        load_series(p, target="weather", allow_nan=True)  # a named target: numeric
    one_line_error(e, p, 2, "column 'weather' is not a number: 'sun'")
    q = write(tmp_path, "t.csv", "a,b\nx,y\n")
    with pytest.raises(DataFileError) as e:
        load_series(q)
    one_line_error(e, q, 2, "no numeric column")


def test_bare_carriage_return_inside_a_field_as_pandas_writes_it(tmp_path):
    pd = pytest.importorskip("pandas")
    p = tmp_path / "cr.csv"
    pd.DataFrame({"text": ["a\rb", "c\r\nd", "e"], "label": ["x", "y", "x"]}).to_csv(
        p, index=False)
    assert b"a\rb" in p.read_bytes()  # pandas leaves the bare \r unquoted
    texts, y, _ = load_text_labels(p)
    assert texts == ["a\rb", "c\r\nd", "e"] and y.tolist() == [0, 1, 0]
    crlf = write(tmp_path, "w.csv", "text,label\r\nok,pos\r\nno,neg\r\n")  # Windows lines
    assert load_text_labels(crlf)[0] == ["ok", "no"]


def test_encoding_field(tmp_path):
    p = write(tmp_path, "l.csv", "text,label\ncaf\xe9,pos\n".encode("latin-1"))
    assert load_text_labels(p, encoding="latin-1")[0] == ["caf\xe9"]
    with pytest.raises(DataFileError) as e:
        load_text_labels(p)
    one_line_error(e, p, 2, 'set [data] encoding = "latin-1"')
    with pytest.raises(DataFileError, match="unknown encoding 'klingon'"):
        load_text_labels(p, encoding="klingon")


def test_missing_column_hint_speaks_toml(tmp_path):
    p = write(tmp_path, "m.csv", "Review,Class\ngood,pos\n")
    with pytest.raises(DataFileError) as e:
        load_text_labels(p)
    msg = one_line_error(e, p, 1, "no column 'text'")
    assert 'Set [data] text_column = "' in msg and "Pass" not in msg
    with pytest.raises(DataFileError) as e:
        load_text_labels(p, text="Review")
    one_line_error(e, p, 1, 'Set [data] label_column = "Class"')
