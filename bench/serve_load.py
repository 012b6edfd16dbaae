"""A bounded load on ``seqlab serve``: dynamic batching vs one request at a time.

Trains a small Rotten Tomatoes sentiment run (bidirectional LSTM 64, one short epoch: the
figures are about serving), then for each server setting starts ``seqlab serve`` on
127.0.0.1 (a free port) in a subprocess and sends ``--requests`` POST /predict requests
from ``--clients`` concurrent clients (one keep-alive connection each): 1 to 4 review
texts of 1 to 60 words per request, and every ``--malformed-every``-th request malformed
(bad JSON, no inputs, a number instead of a text, too many inputs, a text over the
length limit). Prints requests/s, p50/p99 latency, the answers by status, the failures on
valid requests (must be 0), malformed requests not answered with a 4xx (must be 0), and
the throughput ratio of dynamic batching (--max-batch 64) to one at a time (--max-batch 1).

    OMP_NUM_THREADS=1 python bench/serve_load.py [--out docs/results/export_serve.md]
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.export import train, write_section  # noqa: E402

WORDS = ("the a film plot actor is was very good bad scene music funny dull story "
         "characters performance boring moving script").split()


def requests_for(n: int, malformed_every: int, seed: int = 0) -> list:
    """(body bytes, is_valid) for n requests."""
    import random
    rng = random.Random(seed)
    bad = [b"{not json", json.dumps({"texts": ["a film"]}).encode(),
           json.dumps({"inputs": [3]}).encode(), json.dumps({"inputs": ["a"] * 65}).encode(),
           json.dumps({"inputs": ["film " * 200]}).encode(), json.dumps({"inputs": []}).encode()]
    out = []
    for i in range(n):
        if malformed_every and i % malformed_every == malformed_every - 1:
            out.append((bad[(i // malformed_every) % len(bad)], False))
            continue
        texts = [" ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 60)))
                 for _ in range(rng.randint(1, 4))]
        out.append((json.dumps({"inputs": texts}).encode(), True))
    return out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(folder, max_batch: int):
    port = free_port()
    env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1")
    proc = subprocess.Popen([sys.executable, "-m", "seqlab.cli", "serve", str(folder),
                             "--host", "127.0.0.1", "--port", str(port),
                             "--max-batch", str(max_batch)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.time() + 120
    while time.time() < deadline:
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            c.request("GET", "/health")
            if c.getresponse().status == 200:
                return proc, port
        except OSError:
            time.sleep(0.2)
        if proc.poll() is not None:
            raise RuntimeError(proc.stderr.read().decode()[-2000:])
    proc.kill()
    raise RuntimeError("the server did not start in 120 s")


def load(port: int, reqs: list, clients: int) -> dict:
    lock = threading.Lock()
    todo = list(enumerate(reqs))
    results = []

    def worker():
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        while True:
            with lock:
                if not todo:
                    return
                i, (body, valid) = todo.pop()
            t0 = time.perf_counter()
            try:
                conn.request("POST", "/predict", body, {"Content-Type": "application/json"})
                resp = conn.getresponse()
                resp.read()
                status = resp.status
            except (OSError, http.client.HTTPException):
                status = 0                                       # connection failure
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            with lock:
                results.append((valid, status, time.perf_counter() - t0))

    t0 = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    lat = sorted(r[2] for r in results)
    return {"rps": len(results) / wall, "wall": wall,
            "p50": 1000 * statistics.median(lat), "p99": 1000 * lat[int(0.99 * (len(lat) - 1))],
            "status": dict(sorted(Counter(r[1] for r in results).items())),
            "valid_failures": sum(1 for v, s, _ in results if v and s != 200),
            "malformed_not_4xx": sum(1 for v, s, _ in results if not v and not 400 <= s < 500),
            "n": len(results)}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--requests", type=int, default=2000)
    p.add_argument("--clients", type=int, default=32)
    p.add_argument("--malformed-every", type=int, default=20)
    p.add_argument("--out", default=None, help="Markdown file to write the results into")
    args = p.parse_args()
    from seqlab.export import export_run
    runs_dir = tempfile.mkdtemp(prefix="bench-serve-")
    path = train("sentiment_rotten_tomatoes.toml", runs_dir, "sentiment",
                 model={"arch": "rnn", "bidirectional": True, "units": 64, "cell": "lstm"},
                 training={"epochs": 1, "keep_best": False, "threads": 1},
                 data={"max_samples": 2000})
    folder = export_run(path, "onnx")
    reqs = requests_for(args.requests, args.malformed_every)
    res = {}
    for name, max_batch in (("dynamic batching (max 64, 5 ms)", 64), ("one at a time", 1)):
        proc, port = start(folder, max_batch)
        try:
            res[name] = load(port, reqs, args.clients)
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    names = list(res)
    lines = [f"## seqlab serve under load (bench/serve_load.py)", "",
             f"Rotten Tomatoes bidirectional LSTM 64 on onnxruntime (1 thread), 127.0.0.1; "
             f"{args.requests} POST /predict from {args.clients} concurrent clients, 1-4 "
             f"texts of 1-60 words each, every {args.malformed_every}th request malformed.",
             "", "| server | requests/s | p50 ms | p99 ms | answers by status | failed valid "
                 "| malformed not 4xx |", "|---|---:|---:|---:|---|---:|---:|"]
    for name in names:
        r = res[name]
        lines.append(f"| {name} | {r['rps']:.0f} | {r['p50']:.1f} | {r['p99']:.1f} | "
                     f"{', '.join(f'{k}: {v}' for k, v in r['status'].items())} | "
                     f"{r['valid_failures']} | {r['malformed_not_4xx']} |")
    ratio = res[names[0]]["rps"] / res[names[1]]["rps"]
    lines += ["", f"Dynamic batching / one at a time, throughput: **{ratio:.2f}x**."]
    ok = all(r["valid_failures"] == 0 and r["malformed_not_4xx"] == 0 for r in res.values())
    lines.append(f"Every valid request answered 200 and every malformed one a 4xx: "
                 f"{'yes' if ok else 'NO'}.")
    lines.append(f"The load generator ({args.clients} threads) and the server share this "
                 f"machine's {os.cpu_count()} cores; per-request HTTP and JSON work, which "
                 f"batching does not remove, is most of each request's cost here.")
    out = "\n".join(lines)
    print(out)
    if args.out:
        write_section(Path(args.out), "serve_load", out)
    if not ok:
        sys.exit(1)


if __name__ == "__main__":
    main()
