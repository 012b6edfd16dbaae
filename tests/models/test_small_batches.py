"""predict runs batches of a few rows on one CPU thread and gives the threads back."""
import threading

import numpy as np
import pytest
import torch

from seqlab import Sequential
from seqlab.models import small_batches


class Spy(torch.nn.Module):
    """Records the intra-op thread count each forward ran with."""

    def __init__(self):
        super().__init__()
        self.dense = torch.nn.Linear(3, 2)
        self.seen = []

    def forward(self, x):
        self.seen.append(torch.get_num_threads())
        return self.dense(x)


@pytest.fixture
def two_threads():
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    yield
    torch.set_num_threads(before)


def test_small_batches_run_on_one_thread_and_the_count_comes_back(two_threads):
    spy = Spy()
    model = Sequential([spy])
    x = np.random.default_rng(0).normal(size=(20, 3)).astype("float32")
    model.predict(x[:1], batch_size=1)  # built
    spy.seen.clear()
    small = model.predict(x, batch_size=1)
    assert set(spy.seen) == {1} and len(spy.seen) == 20
    assert torch.get_num_threads() == 2
    spy.seen.clear()
    large = model.predict(x, batch_size=small_batches.SMALL + 1)
    assert set(spy.seen) == {2}
    np.testing.assert_allclose(small, large, rtol=1e-6, atol=1e-6)


def test_the_thread_count_comes_back_when_predict_raises(two_threads):
    model = Sequential([Spy()])
    with pytest.raises(Exception):
        model.predict(np.zeros((4, 5), "float32"), batch_size=1)  # 5 features, not 3
    assert torch.get_num_threads() == 2


def test_a_worker_thread_leaves_the_process_thread_count_alone(two_threads):
    spy = Spy()
    model = Sequential([spy])
    model.predict(np.zeros((2, 3), "float32"), batch_size=1)  # built on the main thread
    spy.seen.clear()
    worker = threading.Thread(target=model.predict, args=(np.zeros((3, 3), "float32"),),
                              kwargs={"batch_size": 1})
    worker.start()
    worker.join()
    assert spy.seen == [2, 2, 2]
