"""A small benchmark harness: interleaved candidates, min/median/max, paired ratios.

These machines are noisy (the same run can vary 2x when other processes share the
cores), so absolute numbers mean little. What this harness reports instead:

* every candidate is run **in the same process, interleaved** over ``repeats`` rounds
  (A B C, then C B A, ...), so a slow period hits all candidates alike;
* per candidate: the rate (work units per second) of every round, and its
  min / median / max;
* per pair: the **paired ratio** of the rates within each round, summarised by its
  median (and min / max): the figure to trust;
* the same ratio on **CPU time** (``time.process_time``) as a cross-check: with one
  thread per process, CPU time counts the work done and is far less disturbed than wall
  time by other processes taking turns on the cores (cache and memory-bandwidth sharing
  still show). Goals are judged on wall time; a large gap between the two says the
  round was disturbed.

A candidate is a callable ``fn() -> work`` that does one round of work (e.g. one epoch,
or N training batches) and returns how many units it did (samples, tokens). The harness
times it with ``time.perf_counter``.

    >>> from bench.harness import interleave
    >>> res = interleave({"a": lambda: 10, "b": lambda: 10}, repeats=2, warmup=0)
    >>> sorted(res.rates)
    ['a', 'b']

Scripts call ``add_common_args`` / ``finish`` so that every script takes ``--repeats``,
``--quick`` and ``--json PATH`` and ``run_all.py`` can collect their figures.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional

# Scripts are run as ``python bench/x.py``: make ``import seqlab`` / ``bench.harness`` work.
ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


# --------------------------------------------------------------------------- machine
def cpu_model() -> str:
    """The CPU's marketing name from /proc/cpuinfo (or platform.processor())."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def cpu_flags() -> set[str]:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("flags"):
                return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def machine_info(device: str = "cpu") -> dict:
    """What the figures were measured on: CPU, cores, versions, thread settings."""
    import torch

    flags = cpu_flags()
    info = {
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "cores_usable": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "simd": ",".join(f for f in ("avx2", "avx512f", "avx512_bf16", "amx_bf16") if f in flags),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "torch_cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "torch_threads": torch.get_num_threads(),
        "torch_interop_threads": torch.get_num_interop_threads(),
        "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS"),
        "OMP_WAIT_POLICY": os.environ.get("OMP_WAIT_POLICY"),
        "device": device,
        "load_avg_1min": round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None,
    }
    if device.startswith("cuda") and torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name(0)
        info["cudnn"] = torch.backends.cudnn.version()
    try:
        import seqlab
        info["seqlab"] = seqlab.__version__
    except Exception:  # seqlab absent: plain-PyTorch baselines still run
        info["seqlab"] = None
    return info


def sync(device: str) -> None:
    """Wait for queued GPU work so wall-clock timings are honest."""
    if device.startswith("cuda"):
        import torch
        torch.cuda.synchronize()


# --------------------------------------------------------------------------- timing
def _stats(xs: list[float]) -> dict:
    return {"min": min(xs), "median": statistics.median(xs), "max": max(xs), "n": len(xs)}


@dataclass
class Results:
    """Rates per candidate per round (units/s), in the order the rounds ran."""
    rates: dict[str, list[float]] = field(default_factory=dict)
    unit: str = "samples/s"
    cpu_rates: dict[str, list[float]] = field(default_factory=dict)  # work / CPU second

    def stats(self, name: str) -> dict:
        return _stats(self.rates[name])

    def ratio(self, a: str, b: str, clock: str = "wall") -> dict:
        """Paired ratio rate(a) / rate(b), one per round; min / median / max.
        ``clock="cpu"``: the same on CPU time (see the module docstring)."""
        rates = self.cpu_rates if clock == "cpu" else self.rates
        pairs = [x / y for x, y in zip(rates[a], rates[b])]
        return _stats(pairs)

    def table(self) -> str:
        width = max(len(n) for n in self.rates) + 2
        lines = [f"{'candidate':<{width}} {'min':>10} {'median':>10} {'max':>10}  ({self.unit})"]
        for name in self.rates:
            s = self.stats(name)
            lines.append(f"{name:<{width}} {s['min']:>10.1f} {s['median']:>10.1f} {s['max']:>10.1f}")
        return "\n".join(lines)


def interleave(candidates: dict[str, Callable[[], float]], repeats: int = 5, warmup: int = 1,
               unit: str = "samples/s", device: str = "cpu", verbose: bool = False) -> Results:
    """Run each candidate ``warmup`` + ``repeats`` times, interleaved, and time each round.

    The order alternates (forward, then reversed) so that no candidate always runs
    right after the same neighbour. Warm-up rounds (first-call costs: lazy builds,
    allocator growth, compilation) are run but not recorded.
    """
    names = list(candidates)
    res = Results({n: [] for n in names}, unit, {n: [] for n in names})
    for r in range(warmup + repeats):
        order = names if r % 2 == 0 else names[::-1]
        for name in order:
            sync(device)
            t0, c0 = time.perf_counter(), time.process_time()
            work = candidates[name]()
            sync(device)
            dt, dc = time.perf_counter() - t0, time.process_time() - c0
            if r >= warmup:
                res.rates[name].append(work / dt)
                res.cpu_rates[name].append(work / max(dc, 1e-9))
            if verbose:
                tag = "warmup" if r < warmup else f"round {r - warmup + 1}/{repeats}"
                print(f"  [{tag}] {name}: {work / dt:,.1f} {unit} ({dt:.2f} s)", flush=True)
    return res


def fmt_ratio(r: dict) -> str:
    return f"{r['median']:.2f}x (min {r['min']:.2f}, max {r['max']:.2f})"


# --------------------------------------------------------------------------- CLI
def add_common_args(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
    p.add_argument("--repeats", type=int, default=5, help="recorded rounds per candidate")
    p.add_argument("--warmup", type=int, default=1, help="unrecorded first rounds")
    p.add_argument("--quick", action="store_true", help="shrunken sizes (contended CPU)")
    p.add_argument("--device", default="cpu", help="cpu, cuda, or auto")
    p.add_argument("--json", default=None, help="write the figures to this JSON file")
    p.add_argument("--verbose", action="store_true", help="print every round")
    return p


def resolve_device(device: str) -> str:
    import torch
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return device


def set_threads_from_env() -> None:
    """Honour OMP_NUM_THREADS for torch's intra-op pool and use one inter-op thread."""
    import torch
    n = os.environ.get("OMP_NUM_THREADS")
    if n and n.isdigit():
        torch.set_num_threads(int(n))
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:  # already set, or parallel work already started
        pass


def finish(name: str, args, figures: list[dict], extra: Optional[dict] = None,
           device: str = "cpu") -> dict:
    """Print the figures and, with ``--json``, write them (atomically) for run_all.py.

    A figure is ``{"name", "value", "unit", "goal" (optional, a minimum), "note"}``;
    ``passed`` is added when a goal is given.
    """
    for f in figures:
        if f.get("goal") is not None:
            f["passed"] = bool(f["value"] >= f["goal"])
    out = {"script": name, "machine": machine_info(device), "quick": bool(args.quick),
           "repeats": args.repeats, "figures": figures, **(extra or {})}
    print(f"\n== {name}: figures ==")
    for f in figures:
        goal = f" (goal >= {f['goal']}: {'PASS' if f['passed'] else 'MISS'})" if "passed" in f else ""
        if "cpu_ratio" in f:
            goal += f" [CPU-time ratio {f['cpu_ratio']:.2f}]"
        note = f"  [{f['note']}]" if f.get("note") else ""
        print(f"  {f['name']}: {f['value']:.3g} {f['unit']}{goal}{note}")
    if args.json:
        path = Path(args.json)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(json.dumps(out, indent=1))
        os.replace(tmp, path)
    return out


def ratio_figure(name: str, res: Results, a: str, b: str, goal: Optional[float] = None,
                 note: str = "") -> dict:
    r = res.ratio(a, b)
    out = {"name": name, "value": r["median"], "min": r["min"], "max": r["max"],
           "unit": "x", "goal": goal, "note": note}
    if res.cpu_rates and res.cpu_rates.get(a) and res.cpu_rates.get(b):
        out["cpu_ratio"] = res.ratio(a, b, clock="cpu")["median"]
    return out


def rate_figure(name: str, res: Results, cand: str, note: str = "") -> dict:
    s = res.stats(cand)
    return {"name": name, "value": s["median"], "min": s["min"], "max": s["max"],
            "unit": res.unit, "note": note}
