"""A run of the distributed tests that stops mid-epoch and resumes (bucketed
variable-length lists through ``DistributedBucketSampler``).

    python mid_epoch.py OUT_DIR straight|cut|resume
``cut``: checkpoints after every batch (rank 0) and stops after batch 2 of epoch 2 on
every rank; ``resume``: continues the run in OUT_DIR/runs; each writes the final weights
(``straight`` and ``resume``) as JSON.
"""
import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from worker import B, data, model  # noqa: E402

from seqlab import distributed  # noqa: E402
from seqlab.config import Config  # noqa: E402
from seqlab.models.callbacks import Callback  # noqa: E402
from seqlab.models.checkpoints import RunCheckpoint  # noqa: E402
from seqlab.runs import Run  # noqa: E402

EPOCHS, STOP = 2, (1, 2)  # stop after batch 2 of epoch 2 (5 batches per epoch)


class Stop(Exception):
    pass


class StopAt(Callback):
    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_batch_end(self, batch, logs=None):
        if (self.epoch, batch + 1) == STOP:
            raise Stop


def main():
    out, phase = Path(sys.argv[1]), sys.argv[2]
    x, y = data("lists", 37, 0)
    m = model("lstm")
    callbacks = []
    if phase != "straight" and os.environ.get("RANK", "0") == "0":  # the writer's callback
        cfg = Config(name="cut", runs_dir=str(out / "runs"))
        run = Run.create(cfg) if phase == "cut" else Run.open(out / "runs" / "cut")
        callbacks = [RunCheckpoint(run, resume=phase == "resume", every_batches=1)]
    if phase == "cut":
        callbacks.append(StopAt())
    seen = []

    class Seen(Callback):
        def on_batch_end(self, batch, logs=None):
            seen.append(batch)
    try:
        m.fit(x, y, batch_size=B, epochs=EPOCHS, verbose=0, seed=3, micro_batch=False,
              callbacks=callbacks + [Seen()])
    except Stop:
        return
    if distributed.is_writer():
        group = distributed.current()
        weights = {k: v.detach().double().flatten().tolist() for k, v in m.state_dict().items()}
        (out / f"{phase}.json").write_text(json.dumps(
            {"weights": weights, "batches": seen, "world": 1 if group is None else group.world}))


if __name__ == "__main__":
    main()
