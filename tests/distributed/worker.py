"""A tiny training run for the distributed tests: run alone (one process) or under
``torch.distributed.run``; writes the final weights (rank 0) and the logs as JSON.

    python worker.py OUT_DIR MODEL DATA[,DATA] [EPOCHS]
MODEL: lstm | transformer; DATA: padded | lists (each a run in OUT_DIR/DATA).
"""
import json
import os
import sys
from pathlib import Path

import numpy as np
import torch

from seqlab import Sequential, distributed, layers
from seqlab.layers.recurrent import LSTM
from seqlab.layers.transformer import TransformerEncoder
from seqlab.models.callbacks import Callback
from seqlab.optimizers import SGD

B = 8  # the global batch


def data(kind: str, n: int, seed: int):
    rng = np.random.default_rng(seed)
    lengths = rng.integers(3, 13, n)
    xs = [rng.integers(1, 30, t) for t in lengths]
    y = np.array([float(s[0] % 2) for s in xs], dtype="float32")
    if kind == "padded":
        x = np.zeros((n, 12), dtype="int64")
        for i, s in enumerate(xs):
            x[i, :len(s)] = s
        return x, y
    return xs, y


def model(kind: str):
    torch.manual_seed(1)
    m = Sequential()
    m.add(layers.Embedding(30, 8, mask_zero=True))
    if kind == "lstm":
        m.add(LSTM(6))
    else:
        m.add(TransformerEncoder(1, 2, 16, dropout=0.0))
        m.add(layers.GlobalAveragePooling1D())
    m.add(layers.Dense(1, activation="sigmoid"))
    m.compile(optimizer=SGD(learning_rate=0.5), loss="binary_crossentropy", metrics=["accuracy"])
    return m


class WriteFile(Callback):
    """Writes a file per epoch: only rank 0 may run it."""
    writes_files = True

    def __init__(self, folder):
        super().__init__()
        self.folder = folder

    def on_epoch_end(self, epoch, logs=None):
        rank = os.environ.get("RANK", "0")
        (self.folder / f"epoch{epoch}-rank{rank}.json").write_text(json.dumps(logs))


def main():
    out, kind = Path(sys.argv[1]), sys.argv[2]
    sources = sys.argv[3].split(",")
    epochs = int(sys.argv[4]) if len(sys.argv) > 4 else 2
    for source in sources:
        folder = out / source
        folder.mkdir(parents=True, exist_ok=True)
        x, y = data(source, 37, 0)  # 37 rows: the last global batch has 5 (uneven shares)
        xv, yv = data(source, 21, 1)
        m = model(kind)
        start = {k: v.detach().double().flatten().tolist() for k, v in m.state_dict().items()}
        history = m.fit(x, y, batch_size=B, epochs=epochs, verbose=0, seed=3,
                        validation_data=(xv, yv), callbacks=[WriteFile(folder)],
                        micro_batch=False)
        group = distributed.current()
        rank = 0 if group is None else group.rank
        weights = {k: v.detach().double().flatten().tolist() for k, v in m.state_dict().items()}
        (folder / f"result-rank{rank}.json").write_text(json.dumps(
            {"weights": weights, "start": start, "history": history.history,
             "world": 1 if group is None else group.world}))


if __name__ == "__main__":
    main()
