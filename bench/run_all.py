"""Run every benchmark and write bench/results.md (what ``make bench`` does).

Each script runs in its own subprocess (one thread, passive OpenMP waiting unless the
environment says otherwise), writes its figures to ``bench/out/<script>.json`` and its
output to ``bench/out/<script>.log``; this file then gathers the JSON files into one
Markdown table: the machine and versions, every figure with min / median / max over the
interleaved repeats, and each speed goal with PASS / MISS.

    python bench/run_all.py                  # everything, full sizes
    python bench/run_all.py --quick          # shrunken sizes (contended CPU)
    python bench/run_all.py --only rnn_fit,generation
    python bench/run_all.py --report-only    # rebuild results.md from bench/out/*.json

A script without a JSON this time (not in ``--only``) keeps its section and goal rows of the
results.md being replaced, with the date it was measured.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
OUT = BENCH / "out"
RESULTS = BENCH / "results.md"

# (script, extra arguments). A script that is absent is reported as absent; all of them
# speak bench/harness.py's --json / --quick / --repeats.
SCRIPTS = [
    ("threads", []),
    ("rnn_fit", []),
    ("keras_compare", []),
    ("predict_overhead", ["--slices", "32,64,128"]),
    ("generation", []),
    ("bf16", []),
    ("recurrent_paths", []),
    ("gemm_paths", []),
    ("transformer_speed", []),
    ("word2vec_vs_gensim", []),
]
MACHINE_KEYS = ["cpu", "cores", "cores_usable", "simd", "torch_cpu_capability", "python",
                "torch", "seqlab", "torch_threads", "torch_interop_threads",
                "OMP_NUM_THREADS", "OMP_WAIT_POLICY", "device", "gpu", "load_avg_1min"]


def run_script(name: str, extra: list[str], args) -> dict:
    path = BENCH / f"{name}.py"
    if not path.exists():
        return {"script": name, "status": "absent"}
    OUT.mkdir(exist_ok=True)
    cmd = [sys.executable, str(path), "--json", str(OUT / f"{name}.json"), *extra]
    if args.quick:
        cmd.append("--quick")
    if args.repeats:
        cmd += ["--repeats", str(args.repeats)]
    if args.device != "cpu":
        cmd += ["--device", args.device]
    env = dict(os.environ)
    for k, v in (("OMP_NUM_THREADS", "1"), ("MKL_NUM_THREADS", "1"),
                 ("OMP_WAIT_POLICY", "PASSIVE"), ("MPLBACKEND", "Agg")):
        env.setdefault(k, v)
    (OUT / f"{name}.json").unlink(missing_ok=True)
    print(f"== {name}: {' '.join(cmd[1:])}", flush=True)
    t0 = time.perf_counter()
    with open(OUT / f"{name}.log", "w") as log:
        try:
            rc = subprocess.run(cmd, stdout=log, stderr=subprocess.STDOUT, env=env,
                                timeout=args.timeout, cwd=BENCH.parent).returncode
        except subprocess.TimeoutExpired:
            rc = "timeout"
    secs = time.perf_counter() - t0
    print(f"   {'ok' if rc == 0 else f'FAILED ({rc})'} in {secs:.0f} s; log bench/out/{name}.log",
          flush=True)
    return {"script": name, "status": "ok" if rc == 0 else f"failed ({rc})", "seconds": secs}


def _num(v, unit="") -> str:
    if v is None:
        return ""
    if unit == "x":
        return f"{v:.2f}"
    if abs(v) >= 100:
        return f"{v:,.0f}"
    return f"{v:.3g}"


def previous_report(path: Path = RESULTS) -> tuple[dict, dict]:
    """The results.md being replaced, per script: its ``### name`` section and its rows of
    the goals table. A script not run this time (``--only``) keeps them."""
    sections: dict[str, list[str]] = {}
    goals: dict[str, list[str]] = {}
    if not path.exists():
        return sections, goals
    current, in_goals = None, False
    for line in path.read_text().splitlines():
        if line.startswith("## "):
            current, in_goals = None, line.startswith("## Speed goals")
            if line == "## Machine":
                current = "## Machine"
                sections[current] = [line]
        elif line.startswith("### "):
            current = line[4:].split(" ")[0]
            sections[current] = [line]
        elif current:
            sections[current].append(line)
        elif in_goals and line.startswith("| ") and not line.startswith("| script"):
            goals.setdefault(line.split("|")[1].strip(), []).append(line)
    return sections, goals


def _goal_row(script: str, f: dict) -> str:
    x = "x" if f.get("unit") == "x" else ""
    return (f"| {script} | {f['name']} | {_num(f['value'], f.get('unit'))}{x} | "
            f"{_num(f.get('min'), 'x')} | {_num(f.get('max'), 'x')} | "
            f"{_num(f.get('cpu_ratio'), 'x')} | "
            f">= {f['goal']} | {'PASS' if f['passed'] else '**MISS**'} |")


def write_report(runs: list[dict], args) -> str:
    data = {}
    for name, _ in SCRIPTS:
        f = OUT / f"{name}.json"
        if f.exists():
            data[name] = json.loads(f.read_text())
    status = {r["script"]: r for r in runs}
    lines = ["# seqlab benchmarks", "",
             f"Written by `bench/run_all.py` on {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC.",
             "Every ratio is the median of paired per-round ratios of candidates run "
             "interleaved in one process (bench/harness.py); min and max are over the rounds. "
             "Absolute rates depend on the load of the machine (shared cores): compare ratios.",
             ""]
    old_sections, old_goals = previous_report()
    machine = next((d["machine"] for d in data.values() if "machine" in d), None)
    if not machine:
        lines += old_sections.get("## Machine", [])
    if machine:
        lines += ["## Machine", "",
                  "The machine of the sections measured in this run; each section names the "
                  "CPU it was measured on (sections kept from earlier reports without one: "
                  "that report's machine).", "", "| | |", "|---|---|"]
        lines += [f"| {k} | {machine[k]} |" for k in MACHINE_KEYS if machine.get(k) is not None]
        try:
            rev = subprocess.run(["git", "describe", "--always", "--dirty"], cwd=BENCH.parent,
                                 capture_output=True, text=True).stdout.strip()
        except OSError:
            rev = ""
        if rev:
            lines.append(f"| seqlab commit (when the report was written) | {rev} |")
        keras = next((d.get("keras") for d in data.values() if d.get("keras")), None)
        if keras:
            lines.append(f"| keras (bench/.venv-keras: JAX, TensorFlow and torch backends) | {keras} |")
        else:  # keras_compare not run this time: its Keras version as last reported
            lines += [ln for ln in old_sections.get("## Machine", []) if ln.startswith("| keras (")]
        lines.append("")
    goals = [(n, f) for n, d in data.items() for f in d["figures"] if f.get("goal") is not None]
    if goals or old_goals:
        lines += ["## Speed goals", "",
                  "Judged on the wall-clock ratio; the CPU-time ratio (process time, one thread) "
                  "is the cross-check least disturbed by other processes on the cores.", "",
                  "| script | figure | median | min | max | CPU-time ratio | goal | |",
                  "|---|---|---|---|---|---|---|---|"]
        for script, _ in SCRIPTS:
            if script not in data:
                lines += old_goals.get(script, [])
                continue
            lines += [_goal_row(n, f) for n, f in goals if n == script]
        lines.append("")
    lines += ["## All figures", ""]
    for name, _ in SCRIPTS:
        d = data.get(name)
        st = status.get(name, {}).get("status")
        if d is None:
            if st and st != "absent":
                lines += [f"### {name}", "", f"Not measured: {st} (see bench/out/{name}.log).", ""]
            elif name in old_sections:  # not run this time: the last report's figures
                lines += old_sections[name]
            continue
        quick = " (shrunken sizes: --quick)" if d.get("quick") else ""
        when = dt.datetime.fromtimestamp((OUT / f"{name}.json").stat().st_mtime,
                                         dt.timezone.utc)
        lines += [f"### {name}{quick}", "",
                  f"Measured {when:%Y-%m-%d %H:%M} UTC on {d['machine'].get('cpu')}; "
                  f"{d.get('repeats')} interleaved rounds; "
                  f"load average at the end {d['machine'].get('load_avg_1min')}.", "",
                  *([f"Runs of this section: " + "; ".join(
                      f"{k}: {v}" for k, v in d["keras_backends"].items()) + ".", ""]
                    if d.get("keras_backends") else []),
                  "| figure | median | min | max | unit | CPU-time ratio | goal |",
                  "|---|---|---|---|---|---|---|"]
        for f in d["figures"]:
            u = f.get("unit", "")
            goal = "" if f.get("goal") is None else (
                f">= {f['goal']} {'PASS' if f['passed'] else '**MISS**'}")
            note = f" ({f['note']})" if f.get("note") else ""
            label = f"{f['name']}{note}".replace("|", "\\|")
            lines.append(f"| {label} | {_num(f['value'], u)} | {_num(f.get('min'), u)} "
                         f"| {_num(f.get('max'), u)} | {u} | {_num(f.get('cpu_ratio'), 'x')} "
                         f"| {goal} |")
        lines.append("")
    text = "\n".join(lines).rstrip("\n") + "\n"
    tmp = RESULTS.with_name(RESULTS.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, RESULTS)
    return text


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true", help="shrunken sizes for a busy CPU")
    p.add_argument("--only", default="", help="comma list of scripts (default: all)")
    p.add_argument("--repeats", type=int, default=0, help="override every script's repeats")
    p.add_argument("--device", default="cpu", help="cpu, cuda or auto")
    p.add_argument("--timeout", type=int, default=3600, help="seconds per script")
    p.add_argument("--report-only", action="store_true",
                   help="only rebuild results.md from bench/out/*.json")
    args = p.parse_args(argv)
    only = set(filter(None, args.only.split(",")))
    unknown = only - {n for n, _ in SCRIPTS}
    if unknown:
        sys.exit(f"run_all: unknown script(s) {sorted(unknown)}; choose from "
                 f"{[n for n, _ in SCRIPTS]}.")
    runs = []
    if not args.report_only:
        for name, extra in SCRIPTS:
            if not only or name in only:
                runs.append(run_script(name, extra, args))
    write_report(runs, args)
    print(f"wrote {RESULTS.relative_to(BENCH.parent)}")
    failed = [r for r in runs if r["status"].startswith("failed")]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
