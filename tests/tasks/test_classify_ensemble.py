"""classify with [model] ensemble = N: N FCNs, each its own initialisation and each trained,
whose class probabilities are averaged."""
import numpy as np
import torch
import torch.nn.functional as F

from seqlab import tasks
from seqlab.models.recurrent.classifier_ensemble import ClassifierEnsemble
from seqlab.tasks import classify


def _frequencies(rng, n):
    """Noisy sines of 2 (class a) or 5 (class b) cycles, random phase: (N, 32, 1), (N,)."""
    y = rng.integers(0, 2, n)
    t = np.linspace(0, 1, 32)
    x = np.stack([np.sin(2 * np.pi * (2 + 3 * c) * t + rng.uniform(0, 6)) for c in y])
    return (x[..., None] + 0.3 * rng.normal(size=(n, 32, 1))).astype(np.float32), y


def test_ensemble_averages_the_probabilities_of_trained_members(tmp_path, monkeypatch,
                                                                helpers):
    rng = np.random.default_rng(0)
    (xtr, ytr), (xte, yte) = _frequencies(rng, 120), _frequencies(rng, 100)
    raw = {"x_train": xtr, "y_train": ytr, "x_test": xte, "y_test": yte, "classes": ["a", "b"]}
    monkeypatch.setattr(classify, "load_dataset", lambda cfg: raw)
    cfg = helpers.config(tmp_path, "classify", {"dataset": "fake", "val_fraction": 0.0},
                         {"arch": "fcn", "filters": 8, "kernel_sizes": [5, 3, 3],
                          "ensemble": 3},
                         {"epochs": 8, "batch_size": 16, "learning_rate": 0.01})
    run, metrics = tasks.train(cfg, verbose=False)
    assert metrics["accuracy"] >= 0.95, metrics
    _, _, model, _ = tasks.load(run.path)
    assert isinstance(model, ClassifierEnsemble) and len(model.members) == 3
    x = torch.as_tensor(xte)
    with torch.no_grad():
        probs = [F.softmax(m(x), -1) for m in model.members]               # 3 x (B, C)
        out = model(x)                                                     # (B, C)
    # each member starts from its own weights and learns on its own loss
    first = [next(m.convs[0].parameters()).detach() for m in model.members]
    assert not torch.allclose(first[0], first[1]) and not torch.allclose(first[1], first[2])
    for p in probs:
        assert (p.argmax(-1).numpy() == yte).mean() >= 0.9
    # the ensemble's output is the log of the members' mean probability
    torch.testing.assert_close(out.exp(), torch.stack(probs).mean(0), atol=1e-5, rtol=1e-5)
    assert tasks.evaluate(run.path)["accuracy"] == metrics["accuracy"]
    # predict_probabilities: the (N, C) probabilities several runs' predictions average
    vocab = run.read_json("vocab.json")
    p = classify.predict_probabilities(model, vocab, list(xte))
    np.testing.assert_allclose(p, torch.stack(probs).mean(0).numpy(), atol=1e-5)
    assert (p.argmax(-1) == classify.predict_classes(model, vocab, list(xte))).all()
