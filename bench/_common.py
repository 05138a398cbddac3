"""Shared bench plumbing: timing helpers and the table / --json output every bench prints.

Each metric is one record {"metric", "unit", "ours", "baseline", "baseline_name", "ratio"}:
ours and its baseline are always measured in the same run, on the same machine.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence


def metric(name: str, unit: str, ours: float, baseline: float, baseline_name: str,
           *, higher_is_better: bool = False) -> dict:
    """ratio > 1 always means ours is better than the baseline."""
    if higher_is_better:
        ratio = ours / baseline if baseline else float("inf")
    else:
        ratio = baseline / ours if ours else float("inf")
    return {"metric": name, "unit": unit, "ours": round(ours, 4), "baseline": round(baseline, 4),
            "baseline_name": baseline_name, "ratio": round(ratio, 3)}


def report(title: str, metrics: Sequence[dict], argv: Sequence[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if "--json" in argv:
        for m in metrics:
            print(json.dumps(m))
        return
    print(title)
    w = max(len(m["metric"]) for m in metrics)
    print(f"{'metric'.ljust(w)}  {'ours':>12}  {'baseline':>12}  {'ratio':>7}  unit / baseline")
    for m in metrics:
        print(f"{m['metric'].ljust(w)}  {m['ours']:>12}  {m['baseline']:>12}  {m['ratio']:>6}x  "
              f"{m['unit']} / {m['baseline_name']}")


def median_wall_ms(cmd: Sequence[str], runs: int, env: dict | None = None) -> float:
    """Median wall time of a whole process, after one warm-up run (page cache, .pyc)."""
    subprocess.run(cmd, capture_output=True, env=env, check=False)
    samples = []
    for _ in range(runs):
        t = time.perf_counter()
        subprocess.run(cmd, capture_output=True, env=env, check=False)
        samples.append((time.perf_counter() - t) * 1000)
    return statistics.median(samples)


def per_second(fn: Callable[[], object], *, min_time: float = 0.5) -> float:
    """Calls per second of fn, timed over at least min_time seconds."""
    n, total = 0, 0.0
    batch = 1
    while total < min_time:
        t = time.perf_counter()
        for _ in range(batch):
            fn()
        total += time.perf_counter() - t
        n += batch
        batch *= 2
    return n / total
