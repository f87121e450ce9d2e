"""Each parallel pass of a day: how many pieces it was cut into and its median wall time
(not part of the test run): the measure of a pass's grain (``rng.parallel_for``), which
cuts a pass among threads only where each piece is worth a hand-over to another thread
(`python -m benchmarks.handover`).

    python -m benchmarks.passes                     # 100,000 agents, 2 threads
    NUMBA_NUM_THREADS=1 python -m benchmarks.passes --agents 1000000

Builds as-reported, runs ten days, then times every ``parallel_for`` call of the next
fifty days, by kernel."""

from __future__ import annotations

import argparse
import collections
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

from credsim import rng
from credsim.sim import Sim, warm_kernels


def time_passes(prefix: str = "credsim") -> list[tuple[str, int, float]]:
    """From now on, every ``parallel_for`` call of the loaded modules whose names start
    with ``prefix``, in the order run: (kernel, pieces, seconds)."""
    calls: list[tuple[str, int, float]] = []
    run = rng.parallel_for

    def timed(kernel: Callable[..., None], n: int, *args: Any, **kw: Any) -> None:
        m = rng.pieces(n, kw.get("grain", 1024), kw.get("work"))
        t = time.perf_counter()
        run(kernel, n, *args, **kw)
        calls.append((kernel.__name__, m, time.perf_counter() - t))

    for name, mod in list(sys.modules.items()):  # every module that took parallel_for
        if name.startswith(prefix) and getattr(mod, "parallel_for", None) is run:
            mod.parallel_for = timed  # type: ignore[attr-defined]
    return calls


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--agents", type=int, default=100_000)
    a = ap.parse_args()
    warm_kernels(helper=False)
    timed = time_passes()
    sim = Sim("as-reported", agents=a.agents, days=60, seed=1)
    sim.build()
    for _ in range(10):
        sim.step()
    timed.clear()
    for _ in range(50):
        sim.step()
    calls: dict[str, list[tuple[int, float]]] = collections.defaultdict(list)
    for k, m, t in timed:
        calls[k].append((m, t))
    print(f"{a.agents:,} agents, {rng.threads()} threads: pass | calls a day | pieces | us")
    for k, v in calls.items():
        pieces = statistics.mean(m for m, _ in v)
        us = statistics.median(t for _, t in v) * 1e6
        print(f"{k} | {len(v) / 50:.1f} | {pieces:.1f} | {us:.1f}")


if __name__ == "__main__":
    main()
