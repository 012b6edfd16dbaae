"""The espeak-ng datasets and both speech tasks trained for real on a small slice: word
classification against 1-NN DTW, and digit strings by CTC against pauses + DTW."""
import shutil
import wave

import numpy as np
import pytest

pytestmark = pytest.mark.skipif(shutil.which("espeak-ng") is None,
                                reason="espeak-ng is not installed (apt-get install espeak-ng)")

from seqlab import datasets, tasks  # noqa: E402
from seqlab.config import Config  # noqa: E402
from seqlab.data import audio, speech  # noqa: E402
from seqlab.errors import SeqlabError  # noqa: E402
from seqlab.tasks.transcribe import transcribe  # noqa: E402


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return str(tmp_path_factory.mktemp("espeak"))


def test_dataset_splits_speakers_and_caches_wavs(cache):
    d = datasets.load("spoken_digits", cache_dir=cache, speakers=4, test_speakers=1, takes=1)
    assert d.classes == list(speech.DIGITS) and len(d.x_train) == 30 and len(d.x_test) == 10
    assert not set(d.speakers_train) & set(d.speakers_test)
    assert all(x.shape[1] == 13 and 15 < len(x) < 200 for x in d.x_train)
    again = datasets.load("spoken_digits", cache_dir=cache, speakers=4, test_speakers=1,
                          takes=1)
    np.testing.assert_array_equal(again.x_test[3], d.x_test[3])           # seeded, cached
    s = datasets.load("spoken_digit_strings", cache_dir=cache, speakers=3, test_speakers=1,
                      strings=2, min_digits=2, max_digits=3)
    assert all(2 <= len(y.split()) <= 3 for y in s.y_train + s.y_test)
    assert len(s.words_x) == 20 and s.words_y[:2] == ["zero", "one"]


def test_missing_espeak_is_one_sentence(monkeypatch, cache):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(SeqlabError, match="install it with apt-get install espeak-ng"):
        speech.speak("one", "en-us+m1", 150, 50, cache + "/empty")


def _train(cfg_dict, tmp_path):
    cfg = Config.from_dict(cfg_dict)
    cfg.runs_dir, cfg.name = str(tmp_path / "runs"), "speech"
    return tasks.train(cfg, verbose=False)


@pytest.mark.learning
def test_word_classifier_learns_unseen_speakers(cache, tmp_path):
    run, m = _train({
        "task": "classify",
        "data": {"dataset": "spoken_digits", "val_fraction": 0.1,
                 "options": {"cache_dir": cache, "speakers": 12, "test_speakers": 4,
                             "takes": 2}},
        "model": {"arch": "fcn", "filters": 32, "kernel_sizes": [5, 5, 3]},
        "training": {"epochs": 12, "batch_size": 16, "learning_rate": 0.005}}, tmp_path)
    assert m["accuracy"] > 0.6                         # chance 0.1; measured ~0.9
    assert m["baselines"]["dtw_1nn"] > 0.6             # the template matcher works too


@pytest.mark.learning
def test_ctc_transcribes_digit_strings(cache, tmp_path):
    run, m = _train({
        "task": "transcribe",
        "data": {"dataset": "spoken_digit_strings", "val_fraction": 0.1,
                 "options": {"cache_dir": cache, "speakers": 16, "test_speakers": 4,
                             "strings": 12}},
        "model": {"cell": "gru", "units": 64, "bidirectional": True, "filters": 64,
                  "beam_width": 4},
        "training": {"epochs": 20, "batch_size": 16, "learning_rate": 0.005}}, tmp_path)
    # a model that emits nothing has WER = CER = 1; measured ~0.2
    assert m["cer"] < 0.6 and m["wer"] < 0.6
    assert m["cer_beam"] < 0.6
    assert m["baseline_dtw_wer"] < 0.6
    assert (run.path / "transcripts.json").is_file()
    # `seqlab predict` reads WAV files: the same transcript as the features of its samples
    run_, task, model, vocab = tasks.load(run.path)
    x = speech.utterance(["four", "two"], "en-gb-x-rp+m2", cache, np.random.default_rng(1))
    path = tmp_path / "said.wav"
    write_wav(path, x, speech.SAMPLE_RATE)
    heard = task.predict(model, vocab, run_.config, [str(path)])
    again = transcribe(model, vocab, [audio.mfcc(speech.read_wav(path)[0])], beam_width=4)
    assert heard == again and set(heard[0].split()) <= set(speech.DIGITS)
    write_wav(tmp_path / "slow.wav", x[::2], speech.SAMPLE_RATE // 2)
    with pytest.raises(SeqlabError, match="sampled at 11025 Hz"):
        task.predict(model, vocab, run_.config, [str(tmp_path / "slow.wav")])


def write_wav(path, x, rate):
    with wave.open(str(path), "wb") as f:
        f.setnchannels(1)
        f.setsampwidth(2)
        f.setframerate(rate)
        f.writeframes((np.clip(x, -1, 1) * 32767).astype("<i2").tobytes())
