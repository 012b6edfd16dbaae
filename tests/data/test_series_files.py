"""Labelled series from files: wide, long (uni- and multivariate), .ts and .arff layouts."""
import numpy as np
import pytest

from seqlab.data.files import DataFileError
from seqlab.data.series_files import infer_format, load_labelled_series


def write(tmp_path, name, text):
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def test_wide_rows_are_series_in_column_order(tmp_path):
    p = write(tmp_path, "w.csv", "t0,label,t1,t2\n1,up,2,3\n3,down,2,\n")
    cases, labels = load_labelled_series(p, "label", "wide")
    assert labels == ["up", "down"]
    assert cases[0][:, 0].tolist() == [1, 2, 3] and cases[0].shape == (3, 1)
    assert cases[1][:, 0].tolist() == [3, 2]  # a trailing empty cell: a shorter series
    assert infer_format(p, "label") == "wide"


def test_long_sorts_steps_by_time_and_keeps_channels(tmp_path):
    p = write(tmp_path, "l.csv", "id,time,x,y,label\nb,2,5,50,B\na,1,1,10,A\nb,1,4,40,B\n"
              "a,0,0,0,A\n")
    cases, labels = load_labelled_series(p, "label", "long", id_column="id",
                                         time_column="time")
    assert labels == ["B", "A"]
    assert cases[0].tolist() == [[4, 40], [5, 50]]                         # (T, D) = (2, 2)
    assert cases[1].tolist() == [[0, 0], [1, 10]]
    only_x, _ = load_labelled_series(p, "label", "long", id_column="id", time_column="time",
                                     value_columns=["x"])
    assert only_x[0].shape == (2, 1)


def test_long_refuses_a_series_with_two_labels(tmp_path):
    p = write(tmp_path, "l.csv", "id,v,label\na,1,A\na,2,B\n")
    with pytest.raises(DataFileError, match="series 'a' has several labels"):
        load_labelled_series(p, "label", "long", id_column="id")


def test_non_number_names_line_and_field(tmp_path):
    p = write(tmp_path, "w.csv", "label,t0,t1,t2\nup,1,2,3\nup,1,x,3\n")
    with pytest.raises(DataFileError, match=r"line 3: column 't1' is not a number.*value_columns"):
        load_labelled_series(p, "label", "wide")


def test_ts_and_arff(tmp_path):
    ts = write(tmp_path, "a.ts", "@problemName a\n@univariate false\n@classLabel true x y\n"
               "@data\n1,2,3:4,5,6:x\n3,2,1:6,5,4:y\n")
    cases, labels = load_labelled_series(ts, "label", "auto")
    assert labels == ["x", "y"] and cases[0].shape == (3, 2)
    assert cases[0][:, 1].tolist() == [4, 5, 6]
    arff = write(tmp_path, "a.arff", "@relation r\n@attribute t0 numeric\n@attribute t1 numeric\n"
                 "@attribute target {x,y}\n@data\n1,2,x\n2,1,y\n")
    cases, labels = load_labelled_series(arff, "label", "auto")
    assert labels == ["x", "y"] and cases[1][:, 0].tolist() == [2, 1]
    assert infer_format(ts, "label") == "ts" and infer_format(arff, "label") == "arff"


def test_text_file_is_not_taken_for_a_series(tmp_path):
    p = write(tmp_path, "t.csv", "text,label\ngood fun,pos\nbad,neg\n")
    assert infer_format(p, "label") == "text"
    numbers = write(tmp_path, "n.csv", "label,a,b\nx,1,2\n")  # two numbers: too few steps
    assert infer_format(numbers, "label") == "text"
