"""forecast, arch = "mlp" with linear members (layers = 0, relative = false) fitted by LBFGS
through Model.fit; the split-conformal calibration of the quantile band."""
import numpy as np
import pytest
import torch

from seqlab import tasks
from seqlab.checkpoint_files import load, save
from seqlab.config import Config, ConfigError
from seqlab.tasks import forecast_conformal as conformal
from seqlab.tasks.forecast import recursive_forecast

LINEAR = {"arch": "mlp", "ensemble": 1, "layers": 0, "relative": False}
LBFGS = {"optimizer": "lbfgs", "epochs": 15, "batch_size": 4096, "learning_rate": 1.0,
         "global_clipnorm": 0.0}


def _ar_file(tmp_path, phi=(1.2, -0.5), n=300, seed=0):
    """y_t = 10 + phi_1 (y_{t-1} - 10) + phi_2 (y_{t-2} - 10) + e_t."""
    rng = np.random.default_rng(seed)
    y = np.full(n + 50, 10.0)
    for t in range(2, len(y)):
        y[t] = 10 + phi[0] * (y[t - 1] - 10) + phi[1] * (y[t - 2] - 10) + rng.standard_normal()
    path = tmp_path / "ar.csv"
    path.write_text("y\n" + "\n".join(f"{v:.5f}" for v in y[50:]) + "\n")
    return path, y[50:]


def test_linear_member_fitted_by_lbfgs_is_the_least_squares_ar(tmp_path, helpers):
    """The member's weights after Model.fit equal numpy's least-squares AR(3) on the same
    standardised windows (an MLP, a window read relative to its last value, or an LBFGS
    that stops early would all give other weights)."""
    path, y = _ar_file(tmp_path)
    cfg = helpers.config(tmp_path, "forecast",
                         {"dataset": "file", "path": str(path), "difference": False,
                          "windows": [3], "horizon": 1, "test_fraction": 0.2,
                          "val_fraction": 0.0}, LINEAR, LBFGS)
    run, m = tasks.train(cfg, verbose=False)
    _, _, model, vocab = tasks.load(run.path)
    s = (y[:240] - vocab["mean"][0]) / vocab["std"][0]                     # training part
    X = np.stack([s[i:i + 3] for i in range(len(s) - 3)])                  # (N, 3)
    coef, *_ = np.linalg.lstsq(np.c_[X, np.ones(len(X))], s[3:], rcond=None)
    lin = model.linear[0]
    got = np.r_[lin.weight.detach().numpy()[0], lin.bias.detach().numpy()]
    assert np.allclose(got, coef, atol=2e-3), (got, coef)
    assert m["mase"] < m["baseline_naive_mase"], m


def test_conformal_band_covers_about_its_nominal_share_where_the_raw_band_does_not(
        tmp_path, helpers):
    """A persistent AR(2): over a 60-step recursive span the model's own 10%-90% band (one
    step's noise around the fed-back path) holds far less than 80% of the truth; widened
    by the per-step backtest margins it holds about 80% (the mean over three series)."""
    raw, cal = [], []
    for seed in range(3):
        path, _ = _ar_file(tmp_path, phi=(0.9, 0.05), seed=seed)
        cfg = helpers.config(tmp_path, "forecast",
                             {"dataset": "file", "path": str(path), "difference": False,
                              "windows": [4], "horizon": 1, "test_fraction": 0.2,
                              "val_fraction": 0.0},
                             {**LINEAR, "quantiles": [0.1, 0.9]}, LBFGS, name=f"r{seed}")
        _, m = tasks.train(cfg, verbose=False)
        raw.append(m["interval_coverage_raw"]), cal.append(m["interval_coverage"])
    assert np.mean(raw) < 0.6, raw
    assert 0.65 <= np.mean(cal) <= 0.98, cal


class _Band(torch.nn.Module):
    """A persistence forecast whose band is the point itself (zero width)."""
    quantiles = [0.1, 0.9]

    def __init__(self):
        super().__init__()
        self.unused = torch.nn.Parameter(torch.zeros(1))   # the device is read from it

    def forward(self, x):                                  # (B, W, D) -> (B, 1, D)
        return x[:, -1:]

    def bands(self, x):                                    # (B, 1, D, 2)
        return x[:, -1:, :, None].repeat(1, 1, 1, 2)


def test_margins_are_the_conformal_quantile_of_each_steps_errors():
    """Persistence on a random walk: step k's error is the sum of k increments; the margin
    of step k is the ceil((n + 1) 0.8)-th smallest |error| of the backtest, non-decreasing."""
    rng = np.random.default_rng(0)
    y = np.cumsum(rng.standard_normal(400))[:, None]                       # (T, 1)
    vocab = {"window": 1, "period": 1, "difference": False, "transform": "none",
             "mean": [0.0], "std": [1.0]}
    def backtest(past, n):
        return recursive_forecast(_Band(), vocab, past, n, bands=True)
    q = conformal.margins(backtest, 0.8, vocab, y, steps=3, origins=1000)[:, 0]  # (3,)
    for k in range(3):
        e = np.sort(np.abs(np.array([y[o + k, 0] - y[o - 1, 0]
                                     for o in range(1, len(y) - k)])))
        assert q[k] == pytest.approx(e[int(np.ceil((len(e) + 1) * 0.8)) - 1])
    assert q[0] < q[1] < q[2]
    lo, hi = conformal.calibrated(np.zeros((3, 1, 2)), q[:, None], vocab)
    assert np.allclose(hi[:, 0], q) and np.allclose(lo[:, 0], -q)


def test_lbfgs_history_survives_a_checkpoint(tmp_path):
    net = torch.nn.Linear(3, 1)
    opt = torch.optim.LBFGS(net.parameters(), line_search_fn="strong_wolfe", history_size=5)
    x, t = torch.randn(20, 3), torch.randn(20, 1)

    def closure():
        opt.zero_grad()
        loss = ((net(x) - t) ** 2).mean()
        loss.backward()
        return loss
    opt.step(closure)                                      # the history holds None slots
    save(tmp_path / "c.safetensors", net, opt, 0, [{"epoch": 1, "loss": 1.0}])
    net2 = torch.nn.Linear(3, 1)
    opt2 = torch.optim.LBFGS(net2.parameters(), line_search_fn="strong_wolfe", history_size=5)
    load(tmp_path / "c.safetensors", net2, opt2)
    a, b = opt.state_dict()["state"][0], opt2.state_dict()["state"][0]
    assert len(a["old_dirs"]) == len(b["old_dirs"]) > 0
    assert all(torch.equal(u, v) for u, v in zip(a["old_dirs"], b["old_dirs"]))
    assert [v is None for v in a["al"]] == [v is None for v in b["al"]]


def test_linear_recipe_fields_are_checked():
    Config.from_dict({"task": "forecast", "model": {"arch": "mlp", "layers": 0}})
    with pytest.raises(ConfigError, match=r"\[model\] layers must be >= 1"):
        Config.from_dict({"task": "forecast", "model": {"arch": "rnn", "layers": 0}})
    with pytest.raises(ConfigError, match=r"\[training\] optimizer"):
        Config.from_dict({"task": "forecast", "training": {"optimizer": "newton"}})
    from seqlab.optimizers import for_training
    with pytest.raises(ValueError, match="lbfgs' takes no weight_decay"):
        for_training(Config.from_dict({"task": "forecast", "training": {
            "optimizer": "lbfgs", "weight_decay": 0.01}}).training)
