"""One training engine: every way of training reaches ``seqlab.models.training.backward``,
and a model that says its own loss (``compute_loss``) trains on its own batches."""
from dataclasses import dataclass

import numpy as np
import pytest
import torch

import seqlab
from seqlab import layers
from seqlab.models import training
from seqlab.models.adapters import BatchSource, move_to


@pytest.fixture
def spy(monkeypatch):
    """Counts the calls of the one backward function (and still runs it)."""
    calls = []
    real = training.backward

    def counting(model, batch, acc=None, rows=0, *more):
        calls.append(type(batch).__name__)
        return real(model, batch, acc, rows, *more)
    monkeypatch.setattr(training, "backward", counting)
    return calls


def test_model_fit_reaches_the_one_backward(spy):
    x = np.random.default_rng(0).normal(size=(40, 3)).astype("float32")
    model = seqlab.Sequential([layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    model.fit(x, x.sum(1), batch_size=16, epochs=2, verbose=0, seed=0)
    assert spy == ["Batch"] * 6                       # 3 batches x 2 epochs


@dataclass
class Pair:
    """A batch type of a model family's own."""
    x: torch.Tensor   # (B, D)
    t: torch.Tensor   # (B,)


class PairSource:
    def __init__(self, x, t):
        self.x, self.t = torch.as_tensor(x), torch.as_tensor(t)

    def num_batches(self, batch_size):
        return -(-len(self.x) // batch_size)

    def batches(self, batch_size, shuffle=False, seed=0, epoch=0):
        order = np.random.default_rng([seed, epoch]).permutation(len(self.x)) if shuffle \
            else np.arange(len(self.x))
        for i in range(0, len(order), batch_size):
            idx = torch.as_tensor(order[i:i + batch_size])
            yield Pair(self.x[idx], self.t[idx])


class OwnLoss(seqlab.Model):
    """A linear model whose loss is a sum of squared errors plus a logged extra term."""

    def __init__(self):
        super().__init__()
        self.w = torch.nn.Parameter(torch.tensor([1.0, -1.0]))
        self.seen = []

    def compute_loss(self, batch):
        self.seen.append(type(batch))
        err = batch.x @ self.w - batch.t                                   # (B,)
        return (err ** 2).sum(), len(err), {"abs_error": (err.abs().sum(), len(err))}


def test_a_model_with_its_own_loss_gets_its_own_batches_and_logs(spy):
    rng = np.random.default_rng(1)
    x = rng.normal(size=(30, 2)).astype("float32")
    t = rng.normal(size=30).astype("float32")
    model = OwnLoss()
    model.compile(optimizer=seqlab.optimizers.SGD(learning_rate=0.0))  # no loss needed
    source = PairSource(x, t)
    assert isinstance(source, BatchSource)
    history = model.fit(source, batch_size=8, epochs=1, verbose=0, seed=0)
    assert set(model.seen) == {Pair} and spy == ["Pair"] * 4
    err = x @ np.array([1.0, -1.0], dtype="float32") - t               # weights unchanged
    assert history.history["loss"][0] == pytest.approx(float(np.mean(err ** 2)), rel=1e-5)
    assert history.history["abs_error"][0] == pytest.approx(float(np.mean(np.abs(err))),
                                                            rel=1e-5)
    val = model.fit(source, epochs=1, verbose=0, validation_data=source, seed=0).history
    assert val["val_loss"][0] == pytest.approx(val["loss"][0], rel=1e-5)


def test_compile_without_loss_is_only_for_models_with_their_own():
    with pytest.raises(ValueError, match="loss is required"):
        seqlab.Sequential([layers.Dense(1)]).compile(optimizer="sgd")
    model = OwnLoss()
    model.compile(optimizer="sgd")
    with pytest.raises(ValueError, match="micro_batch=4 slices the compiled per-sample loss"):
        model.fit(PairSource(np.ones((8, 2), "float32"), np.ones(8, "float32")),
                  epochs=1, verbose=0, micro_batch=4)


def test_a_closure_optimizer_runs_the_same_backward_inside_its_closure(spy):
    rng = np.random.default_rng(2)
    x = rng.normal(size=(64, 2)).astype("float32")
    t = (x @ np.array([3.0, 0.5], dtype="float32")).astype("float32")
    model = OwnLoss()
    model.compile(optimizer=torch.optim.LBFGS)
    history = model.fit(PairSource(x, t), batch_size=64, epochs=3, verbose=0, seed=0)
    assert len(spy) > 3                    # several evaluations per step, all through backward
    losses = history.history["loss"]
    assert losses[-1] < 1e-3 * losses[0]   # a quadratic: LBFGS all but solves it
    torch.testing.assert_close(model.w.detach(), torch.tensor([3.0, 0.5]), atol=1e-2, rtol=0)


def test_clipnorm_is_per_parameter_and_global_clipnorm_is_for_all_together():
    def clipped(**clip):
        model = OwnLoss()
        model.b = torch.nn.Parameter(torch.zeros(2))
        model.compile(optimizer="sgd", **clip)
        model.w.grad = torch.tensor([3.0, 4.0])                             # norm 5
        model.b.grad = torch.tensor([0.0, 0.5])                             # norm 0.5
        training.clip_gradients(model)
        return [float(p.grad.norm()) for p in (model.w, model.b)]

    assert clipped(clipnorm=1.0) == pytest.approx([1.0, 0.5])             # each on its own
    w, b = clipped(global_clipnorm=1.0)                                   # all together
    assert (w ** 2 + b ** 2) ** 0.5 == pytest.approx(1.0, rel=1e-4)
    assert b / w == pytest.approx(0.5 / 5.0, rel=1e-4)                    # direction kept
    assert clipped(clipvalue=0.2) == pytest.approx([0.2 * 2 ** 0.5, 0.2])
    with pytest.raises(ValueError, match="choose one"):
        OwnLoss().compile(optimizer="sgd", clipnorm=1.0, global_clipnorm=1.0)


def test_move_to_reaches_tensors_inside_any_batch():
    moved = move_to({"pair": Pair(torch.ones(2), torch.zeros(2)), "ids": (torch.ones(1), 3),
                     "index": np.arange(2)}, torch.device("meta"))
    assert moved["pair"].x.device.type == "meta" and moved["ids"][0].device.type == "meta"
    assert moved["ids"][1] == 3 and isinstance(moved["index"], np.ndarray)


def test_seqlab_train_reaches_the_one_backward(spy, tmp_path):
    """`seqlab train` (tasks.train) trains through Model.fit and the one backward."""
    from seqlab import tasks
    from seqlab.config import Config

    rng = np.random.default_rng(0)
    path = tmp_path / "reviews.csv"
    rows = ["text,label"] + [f"{' '.join(rng.choice(['a', 'b', 'c'], 5))} {w},{w}"
                             for w in rng.choice(["good", "bad"], 40)]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    cfg = Config.from_dict({"task": "classify", "name": "spy", "runs_dir": str(tmp_path),
                            "data": {"dataset": "file", "path": str(path)},
                            "model": {"units": 4, "embedding_dim": 4},
                            "training": {"epochs": 2, "batch_size": 16, "threads": 1}})
    run, _ = tasks.train(cfg, verbose=False)
    assert len(spy) >= 2 and set(spy) == {"tuple"}     # the recipe's own batches
    assert len(run.read_history()) == 2


def test_evaluate_takes_a_source_and_predict_refuses_one():
    rng = np.random.default_rng(3)
    x, t = rng.normal(size=(20, 2)).astype("float32"), rng.normal(size=20).astype("float32")
    model = OwnLoss()
    model.compile(optimizer="sgd")
    logs = model.evaluate(PairSource(x, t), batch_size=8, verbose=0, return_dict=True)
    err = x @ np.array([1.0, -1.0], dtype="float32") - t
    assert logs["loss"] == pytest.approx(float(np.mean(err ** 2)), rel=1e-5)
    with pytest.raises(TypeError, match="predict\\(\\): x is a batch source"):
        model.predict(PairSource(x, t))
