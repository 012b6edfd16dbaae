"""seqlab against Keras 3 on its JAX, TensorFlow and torch backends: same models, same data.

Keras is never a dependency of seqlab: it lives in the benchmark's own environment,
``bench/.venv-keras`` (git-ignored), made once with

    python3 -m venv bench/.venv-keras
    bench/.venv-keras/bin/pip install torch==2.13.0 keras jax jaxlib tensorflow-cpu numpy
    bench/.venv-keras/bin/pip install --no-deps -e .
    bench/.venv-keras/bin/pip install safetensors tqdm matplotlib

Run with any python: each measurement runs in a child process with
``bench/.venv-keras/bin/python`` (made with the commands above if it does not exist: this
needs the package index once). A Keras backend is chosen once per process
(``KERAS_BACKEND``) and XLA sizes its thread pool when it starts, so every
(backend, threads) pair is its own child:

* ``1 thread pinned``: the child pins itself to one core (``sched_setaffinity``, as
  ``taskset -c``) before importing anything; torch, XLA (``intra_op_parallelism_threads=1``)
  and TensorFlow use one thread;
* ``2 threads``: no pinning, two intra-op threads in each library, all spinning while they
  wait (XLA's and TensorFlow's pools do; torch's OpenMP threads with
  ``OMP_WAIT_POLICY=ACTIVE``, set for this child).

Work (data and RNN models as bench/rnn_fit.py: IMDB-shaped, pre-padded to 256, batch 128;
see bench/keras_models.py):

* ``fit``: Embedding(10000, 32) + LSTM(64) | LSTM(128) | GRU(64) | SimpleRNN(64) + Dense(1);
  one round = ``--batches`` training batches in each library (Keras on torch steps the
  cell in Python and gets ``--torch-batches``); samples/s compared, rounds interleaved.
* ``predict``: LSTM(64) and a 2-block Transformer classifier, ``predict(x, batch_size=b)``
  for b = 1 (``--predict-n1`` rows) and b = 512 (``--predict-n512`` rows).
* ``bucketed`` (JAX): variable length, LSTM(64): seqlab ``fit`` on the lists of
  sequences (bucketed by length) vs Keras ``fit`` on them pre-padded to 256, one epoch of
  ``--bucket-n`` sequences per round, equal epochs; then both test accuracies (2,000
  sequences), averaged over ``--bucket-seeds`` model seeds (the others trained the same
  number of epochs, untimed). Goal >= 1.8x at accuracy within 0.5 point.

``--malloc-tuned`` starts the children with glibc's mmap and trim thresholds raised
(``MALLOC_TUNED``): Keras on JAX's CPU runtime then stops faulting in fresh pages at every
step, its fastest configuration here; its figures are labelled "glibc malloc tuned".

Keras-JAX and Keras-TF compile a function per model (and per batch shape) on first use:
the first call of each candidate is timed apart and its excess over a measured round is
reported as the compile time (it is not in the ratios).

Goals (against Keras on JAX, the fastest Keras on a CPU): training >= 1.5x with one
thread, >= 1.2x with two; predict >= 1.5x.

    python bench/keras_compare.py --quick                        # every backend
    python bench/keras_compare.py --backend jax --threads 1 --only fit:rnn64
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
KERAS_PY = ROOT / "bench" / ".venv-keras" / "bin" / "python"
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # as seqlab; must precede torch import
sys.path.insert(0, str(ROOT))

BACKENDS = ("jax", "tensorflow", "torch")
FIT_MODELS = ("lstm64", "lstm128", "gru64", "rnn64")
PREDICT_MODELS = ("lstm64", "transformer")
GOALS = {("jax", 1, "fit"): 1.5, ("jax", 2, "fit"): 1.2,
         ("jax", 1, "predict"): 1.5, ("jax", 2, "predict"): 1.5}


def make_keras_venv(venv: Path) -> None:
    """Create the benchmark's own Keras environment (never seqlab's)."""
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "-q"]
    steps = [[sys.executable, "-m", "venv", str(venv)],
             pip + ["torch==2.13.0", "keras", "jax", "jaxlib", "tensorflow-cpu", "numpy"],
             pip + ["--no-deps", "-e", str(ROOT)],
             pip + ["safetensors", "tqdm", "matplotlib"]]
    for cmd in steps:
        print("keras_compare: " + " ".join(cmd), flush=True)
        subprocess.run(cmd, check=True)


def _reexec_in_keras_venv(script: str = __file__) -> None:
    """Keras missing here: run ``script`` (the bench being run) again with the Keras venv's
    python."""
    try:
        import keras  # noqa: F401
        return
    except ImportError:
        pass
    venv = KERAS_PY.parents[1]
    if not KERAS_PY.exists():
        make_keras_venv(venv)
    if KERAS_PY.exists() and Path(sys.prefix).resolve() != venv.resolve():
        os.execv(str(KERAS_PY), [str(KERAS_PY), script, *sys.argv[1:]])
    sys.exit(f"{Path(script).stem}: Keras is not importable here ({sys.executable}) nor in "
             f"{venv}. Create that venv with the commands in this file's docstring.")


# --------------------------------------------------------------------------- one child
def configure_threads(backend: str, threads: int, cpu: int) -> str:
    """Before any import of torch / jax / tensorflow: pin and size the thread pools."""
    os.environ["KERAS_BACKEND"] = backend
    os.environ["OMP_NUM_THREADS"] = os.environ["MKL_NUM_THREADS"] = str(threads)
    os.environ["TF_NUM_INTRAOP_THREADS"] = str(threads)
    os.environ["TF_NUM_INTEROP_THREADS"] = "1"
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "2"
    if threads == 1:
        os.environ["XLA_FLAGS"] = ("--xla_cpu_multi_thread_eigen=false "
                                   "intra_op_parallelism_threads=1")
        usable = sorted(os.sched_getaffinity(0))
        core = usable[cpu % len(usable)]
        os.sched_setaffinity(0, {core})
        return f"1 thread pinned to core {core}"
    # XLA's and TensorFlow's pools spin while they wait for work; torch's OpenMP threads
    # do the same only with ACTIVE (PASSIVE threads sleep and are woken at every one of an
    # RNN's many small parallel regions: 0.64x of one thread on this machine's two vCPUs,
    # bench/threads.py). Like for like: every library's threads spin here.
    os.environ["OMP_WAIT_POLICY"] = "ACTIVE"
    return f"{threads} threads"


# Keras on JAX's CPU runtime allocates its temporaries above glibc's mmap threshold: each
# step maps fresh memory and faults it in (10,600 page faults per SimpleRNN(64) batch). With
# these two glibc settings, made before the process starts, it reuses them: 1.8x faster on
# SimpleRNN(64) training here, unchanged on LSTM and GRU. seqlab's own setting
# (seqlab/models/host_memory.py, made with mallopt at fit time) keeps blocks up to 32 MiB.
MALLOC_TUNED = {"MALLOC_MMAP_THRESHOLD_": "1000000000", "MALLOC_TRIM_THRESHOLD_": "100000000000"}


def child_label(backend: str, threads: int, malloc_tuned: bool) -> str:
    """How a child's figures are labelled: "jax, 1 thread pinned[, glibc malloc tuned]"."""
    where = "1 thread pinned" if int(threads) == 1 else f"{threads} threads"
    return f"{backend}, {where}" + (", glibc malloc tuned" if malloc_tuned else "")


def _first_call(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def run_child(args) -> None:
    args.threads = int(args.threads)
    where = configure_threads(args.backend, args.threads, args.cpu)
    _reexec_in_keras_venv()
    import keras
    import torch

    from bench import keras_models as km
    from bench.harness import finish, interleave, rate_figure, ratio_figure
    from bench.rnn_fit import BATCH, make_data, pad_pre, seqlab_model

    torch.set_num_threads(args.threads)
    if args.backend == "tensorflow":
        import tensorflow as tf
        tf.config.threading.set_intra_op_parallelism_threads(args.threads)
        tf.config.threading.set_inter_op_parallelism_threads(1)
    label = child_label(args.backend, args.threads, args.malloc_tuned)
    only = set(filter(None, args.only.split(",")))
    n_k = (args.torch_batches if args.backend == "torch" else args.batches) * BATCH
    n_s = args.batches * BATCH
    n_data = max(n_k, n_s, args.predict_n512, args.predict_n1)
    seqs, y = make_data(n_data, seed=0)
    X = pad_pre(seqs)
    Xk = X.astype("int32")
    print(f"keras {keras.__version__} (backend {keras.backend.backend()}), torch "
          f"{torch.__version__}; {where}; load average {os.getloadavg()[0]:.2f}", flush=True)
    figures, compile_s = [], {}

    def measure(key: str, cands: dict, work: dict, goal=None):
        """``cands`` name -> one round; ``work`` name -> samples in a round."""
        firsts = {n: _first_call(f) for n, f in cands.items()}
        res = interleave(cands, args.repeats, 0, verbose=args.verbose)
        print(f"\n[{key}, {label}]\n{res.table()}", flush=True)
        for n, t in firsts.items():  # first call minus a median round's duration
            compile_s[f"{key} {n}"] = max(0.0, t - work[n] / res.stats(n)["median"])
        figures.append(rate_figure(f"{key} keras ({label})", res, "keras"))
        figures.append(rate_figure(f"{key} seqlab ({label})", res, "seqlab"))
        figures.append(ratio_figure(f"{key}: seqlab / keras-{args.backend} ({label})", res,
                                    "seqlab", "keras", goal=goal,
                                    note=f"keras first call {firsts['keras']:.1f} s"))

    for spec in FIT_MODELS:
        key = f"fit {spec}"
        if only and key.replace(" ", ":") not in only:
            continue
        cell, units = spec.rstrip("0123456789"), int(spec.lstrip("lstmgrun"))
        kmod, smod = km.keras_rnn(cell, units), seqlab_model(cell, units)
        cands = {"keras": lambda: len(kmod.fit(Xk[:n_k], y[:n_k], batch_size=BATCH, epochs=1,
                                               verbose=0, shuffle=True).epoch) * n_k,
                 "seqlab": lambda: (smod.fit(X[:n_s], y[:n_s], batch_size=BATCH, epochs=1,
                                             verbose=0), n_s)[1]}
        measure(key, cands, {"keras": n_k, "seqlab": n_s}, goal=GOALS.get((args.backend, args.threads, "fit")))
    for spec in PREDICT_MODELS:
        for b, n in ((1, args.predict_n1), (512, args.predict_n512)):
            key = f"predict {spec} b{b}"
            if only and key.replace(" ", ":") not in only:
                continue
            if spec == "transformer":
                kmod, smod = km.keras_transformer(), km.seqlab_transformer()
            else:
                kmod, smod = km.keras_rnn("lstm", 64), seqlab_model("lstm", 64)
            cands = {"keras": lambda: len(kmod.predict(Xk[:n], batch_size=b, verbose=0)),
                     "seqlab": lambda: len(smod.predict(X[:n], batch_size=b, verbose=0))}
            measure(key, cands, {"keras": n, "seqlab": n}, goal=GOALS.get((args.backend, args.threads, "predict")))
    if ("bucketed" in only) or (not only and args.backend == "jax"):
        bucketed(args, measure, figures, label)
    for k, v in compile_s.items():
        if k.endswith(" keras"):
            figures.append({"name": f"{k[:-6]}: keras-{args.backend} compile + first-call "
                                    f"overhead ({label})", "value": v, "unit": "s"})
    finish("keras_compare", args, figures, {"keras": keras.__version__,
                                            "backend": args.backend, "threads": where,
                                            "load_avg_start": os.getloadavg()[0]})


def bucketed(args, measure, figures: list, label: str) -> None:
    """Variable length: seqlab ``fit`` on the lists of sequences (bucketed by length) vs
    Keras ``fit`` on the same data pre-padded to 256, LSTM(64); one round = one epoch,
    both trained the same number of epochs, then their test accuracy."""
    from bench import keras_models as km
    from bench.rnn_fit import BATCH, make_data, pad_pre, seqlab_accuracy, seqlab_model
    n = args.bucket_n // BATCH * BATCH  # whole batches: one compiled shape for Keras
    seqs, y = make_data(n, seed=0)
    test_seqs, test_y = make_data(2_000, seed=1)
    X, X_test = pad_pre(seqs).astype("int32"), pad_pre(test_seqs).astype("int32")
    kmod, smod = km.keras_rnn("lstm", 64, seed=1), seqlab_model("lstm", 64, seed=1)
    cands = {"keras": lambda: (kmod.fit(X, y, batch_size=BATCH, epochs=1, verbose=0,
                                        shuffle=True), n)[1],
             "seqlab": lambda: (smod.fit(seqs, y, batch_size=BATCH, epochs=1, verbose=0),
                                n)[1]}
    key = "fit lstm64 variable length (seqlab lists, keras padded)"
    measure(key, cands, {"keras": n, "seqlab": n},
            goal=1.8 if args.backend == "jax" else None)
    epochs = args.repeats + 1  # the first call and the measured rounds
    accs = {"keras": [float(kmod.evaluate(X_test, test_y, batch_size=512, verbose=0)[-1])],
            "seqlab": [seqlab_accuracy(smod, test_seqs, test_y)]}
    for seed in range(2, args.bucket_seeds + 1):  # more seeds, trained the same, not timed
        kmod, smod = km.keras_rnn("lstm", 64, seed=seed), seqlab_model("lstm", 64, seed=seed)
        kmod.fit(X, y, batch_size=BATCH, epochs=epochs, verbose=0, shuffle=True)
        smod.fit(seqs, y, batch_size=BATCH, epochs=epochs, verbose=0)
        accs["keras"].append(float(kmod.evaluate(X_test, test_y, batch_size=512, verbose=0)[-1]))
        accs["seqlab"].append(seqlab_accuracy(smod, test_seqs, test_y))
    for who, how in (("keras", "keras padded"), ("seqlab", "seqlab lists")):
        a = accs[who]
        figures.append({"name": f"test accuracy after {epochs} epochs of {n}, {how}, mean of "
                                f"{len(a)} seeds ({label})", "value": sum(a) / len(a),
                        "unit": "", "note": "seeds: " + ", ".join(f"{v:.4f}" for v in a)})
    diffs = [s_ - k_ for s_, k_ in zip(accs["seqlab"], accs["keras"])]
    figures.append({"name": f"variable length accuracy: seqlab - keras, mean of {len(diffs)} "
                            f"seeds ({label})", "value": sum(diffs) / len(diffs), "unit": "",
                    "goal": -0.005, "note": "within 0.5 point or better; per seed: "
                    + ", ".join(f"{d:+.4f}" for d in diffs)})


# --------------------------------------------------------------------------- parent
def _write_json(args, figures: list, extra: dict, machine: dict) -> None:
    out = {"script": "keras_compare", "quick": bool(args.quick), "repeats": args.repeats,
           "machine": {**machine, "load_avg_1min": round(os.getloadavg()[0], 2)},
           "figures": figures, **extra}
    path = Path(args.json)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(out, indent=1))
    os.replace(tmp, path)


def run_parent(args) -> None:
    """Run one child per (backend, threads) and gather their figures into one JSON."""
    figures, extra, failed = [], {"keras_backends": {}}, []
    machine = None
    fits = ",".join(f"fit:{m}" for m in FIT_MODELS)
    runs = [(b, int(t), args.malloc_tuned, args.only) for b in args.backend.split(",")
            for t in args.threads.split(",")]
    if (args.tuned_fits and not args.malloc_tuned and ("jax", 1, False, args.only) in runs
            and (not args.only or "fit:" in args.only)):  # + Keras on JAX at its fastest
        runs.append(("jax", 1, True, ",".join(x for x in args.only.split(",")
                                              if x.startswith("fit:")) or fits))
    if args.update and args.json and Path(args.json).exists():  # other backends' figures
        old = json.loads(Path(args.json).read_text())
        labels = [child_label(b, t, tuned) for b, t, tuned, _ in runs]
        figures = [f for f in old["figures"] if not any(f"({x})" in f["name"] for x in labels)
                   and not f["name"].startswith("not measured")]
        extra["keras_backends"] = {k: v for k, v in old.get("keras_backends", {}).items()
                                   if k not in labels}
    for backend, threads, tuned, only in runs:
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "child.json"
            cmd = [str(KERAS_PY) if KERAS_PY.exists() else sys.executable, __file__,
                   "--child", "--backend", backend, "--threads", str(threads),
                   "--json", str(out), "--repeats", str(args.repeats),
                   "--batches", str(args.batches), "--torch-batches",
                   str(args.torch_batches), "--predict-n1", str(args.predict_n1),
                   "--predict-n512", str(args.predict_n512), "--only", only,
                   "--bucket-n", str(args.bucket_n),
                   "--bucket-seeds", str(args.bucket_seeds),
                   "--cpu", str(args.cpu)] + (["--verbose"] if args.verbose else []) \
                + (["--malloc-tuned"] if tuned else [])
            print(f"== keras_compare child: {child_label(backend, threads, tuned)}",
                  flush=True)
            env = {**os.environ, **(MALLOC_TUNED if tuned else {})}
            rc = subprocess.run(cmd, cwd=ROOT, env=env).returncode
            if rc != 0 or not out.exists():
                failed.append(f"{backend}/{threads}t (exit {rc})")
                continue
            d = json.loads(out.read_text())
        figures += d["figures"]
        machine = machine or d["machine"]
        extra["keras"] = d.get("keras")
        # when and under what load each child measured (--update keeps older children's)
        extra["keras_backends"][child_label(backend, threads, tuned)] = (
            f"{d.get('threads')}, measured {time.strftime('%Y-%m-%d %H:%M', time.gmtime())}"
            f" UTC, load average {d.get('load_avg_start', float('nan')):.1f} at its start")
        if args.json:  # what is measured so far survives an interrupted run
            _write_json(args, figures, extra, machine)
    if failed:
        figures.append({"name": "not measured: " + ", ".join(failed), "value": 0,
                        "unit": "", "note": "see the log"})
    from bench.harness import finish
    finish("keras_compare", args, figures, extra)
    if args.json and machine:  # the children's machine block (torch of the Keras venv)
        _write_json(args, figures, extra, machine)
    if failed and len(failed) == len(runs):
        sys.exit(1)


def main(argv=None):
    from bench.harness import add_common_args
    p = add_common_args(argparse.ArgumentParser(description=__doc__.split("\n")[0]))
    p.add_argument("--backend", default=",".join(BACKENDS), help="jax,tensorflow,torch")
    p.add_argument("--threads", default="1,2", help="1 (pinned to one core) and/or 2")
    p.add_argument("--batches", type=int, default=6, help="training batches per round")
    p.add_argument("--torch-batches", type=int, default=1,
                   help="training batches per round of Keras on torch (slow)")
    p.add_argument("--predict-n1", type=int, default=64, help="rows predicted at batch 1")
    p.add_argument("--predict-n512", type=int, default=1024, help="rows at batch 512")
    p.add_argument("--bucket-n", type=int, default=8192,
                   help="training sequences of the variable-length figure (jax)")
    p.add_argument("--bucket-seeds", type=int, default=3,
                   help="model seeds whose test accuracies the variable-length figure averages")
    p.add_argument("--only", default="", help="e.g. fit:rnn64,predict:lstm64:b512,bucketed")
    p.add_argument("--cpu", type=int, default=-1, help="core index to pin to (1 thread)")
    p.add_argument("--update", action="store_true",
                   help="keep the --json file's figures of the backends not run now")
    p.add_argument("--malloc-tuned", action="store_true",
                   help="children start with glibc's mmap and trim thresholds raised "
                        "(MALLOC_TUNED): Keras on JAX at its fastest")
    p.add_argument("--no-tuned-fits", dest="tuned_fits", action="store_false",
                   help="skip the extra child that trains the fit models against Keras on "
                        "JAX with glibc tuned (run by default with the jax 1-thread child)")
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.quick:
        args.batches, args.repeats = min(args.batches, 3), min(args.repeats, 3)
        args.predict_n1, args.predict_n512 = min(args.predict_n1, 32), 512
    if args.child:
        run_child(args)
    else:
        run_parent(args)


if __name__ == "__main__":
    main()
