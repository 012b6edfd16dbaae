"""bench/results_store.save(seed=...): one seed per process joins the method's other
seeds; a run with other settings is refused rather than mixed into the row."""
import importlib.util
import json
from pathlib import Path

import pytest

STORE = Path(__file__).resolve().parents[2] / "bench" / "results_store.py"


@pytest.fixture
def store(tmp_path, monkeypatch):
    spec = importlib.util.spec_from_file_location("results_store", STORE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    monkeypatch.setattr(module, "DOCS", tmp_path)
    return module


def save(store, value, cpu, seed, settings="2x256"):
    return store.save("lm", "LM", "bits", "lower", "lstm", [(value, cpu)], settings,
                      seed=seed)


def test_seeds_join_one_row_in_seed_order(store, tmp_path):
    save(store, 2.30, 400.0, seed=2)
    save(store, 2.20, 380.0, seed=0)
    md = save(store, 2.25, 390.0, seed=1)
    row = json.loads((tmp_path / "lm.json").read_text())["rows"]["lstm"]
    assert row["seeds"] == [0, 1, 2]
    assert row["runs"] == [[2.2, 380.0], [2.25, 390.0], [2.3, 400.0]]
    text = md.read_text()
    assert "2.2500 +- 0.0408" in text and "(seeds 0, 1, 2)" in text


def test_same_seed_replaces_its_run(store, tmp_path):
    save(store, 2.20, 380.0, seed=0)
    save(store, 2.10, 370.0, seed=0)
    row = json.loads((tmp_path / "lm.json").read_text())["rows"]["lstm"]
    assert row["seeds"] == [0] and row["runs"] == [[2.1, 370.0]]


def test_row_without_seeds_holds_seeds_from_zero(store, tmp_path):
    store.save("lm", "LM", "bits", "lower", "lstm", [(2.2, 380.0)], "2x256")
    save(store, 2.3, 400.0, seed=1)
    row = json.loads((tmp_path / "lm.json").read_text())["rows"]["lstm"]
    assert row["seeds"] == [0, 1] and row["runs"] == [[2.2, 380.0], [2.3, 400.0]]


def test_other_settings_are_refused(store, tmp_path):
    save(store, 2.20, 380.0, seed=0)
    with pytest.raises(ValueError, match="settings"):
        save(store, 2.25, 390.0, seed=1, settings="2x512")
    row = json.loads((tmp_path / "lm.json").read_text())["rows"]["lstm"]
    assert row["runs"] == [[2.2, 380.0]]
