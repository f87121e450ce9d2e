"""The build, again and again in one process (not part of the test run): how much of it
is the work and how much the first touch of memory the process has not used before, and
the network's passes apart.

    python -m benchmarks.build                          # 10,000,000 agents, 3 builds
    python -m benchmarks.build --agents 1000000 --repeats 5

Each repeat builds the population, the network and the rest of the build (state,
recorder, friend counts: ``Sim.build_on``) of as-reported, timing each, then frees them.
The first build writes memory fresh from the operating system; the later ones mostly
memory the earlier ones freed. The network's passes are timed apart: counting the pairs
(the first pass of ``_sources``), placing them (its second pass: the first write of
every neighbour slot, scattered), sorting and merging each block (``_assemble``), and
the rest (closing the gaps between chunks). Then one day is timed, for the build in
days. Last, 1 GB is written twice in one array: once fresh, once again."""

from __future__ import annotations

import argparse
import gc
import time

import numpy as np

from benchmarks.passes import time_passes
from credsim.network import build_network
from credsim.population import build_population
from credsim.sim import Sim, warm_kernels


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--agents", type=int, default=10_000_000)
    ap.add_argument("--repeats", type=int, default=3)
    a = ap.parse_args()
    warm_kernels()
    passes = time_passes("credsim.network")
    print(
        "build | population s | network s (count, place, sort and merge, rest)"
        " | state, recorder, friend counts s | total s"
    )
    for r in range(a.repeats):
        sim = Sim("as-reported", agents=a.agents, days=3, seed=1)
        t0 = time.perf_counter()
        pop = build_population(sim.scenario.population, a.agents, 1)
        t1 = time.perf_counter()
        passes.clear()
        graph = build_network(pop, sim.scenario.network, 1)
        t2 = time.perf_counter()
        sim.build_on(pop, graph)
        t3 = time.perf_counter()
        sp = [x for k, _, x in passes if k == "_sources"] + [0.0, 0.0]
        sa = sum(x for k, _, x in passes if k == "_assemble")
        rest = t2 - t1 - sp[0] - sp[1] - sa
        net = f"{t2 - t1:.3f} ({sp[0]:.3f}, {sp[1]:.3f}, {sa:.3f}, {rest:.3f})"
        parts = (f"{t1 - t0:.3f}", net, f"{t3 - t2:.3f}", f"{t3 - t0:.3f}")
        print(f"{r + 1} | " + " | ".join(parts), flush=True)
        if r == a.repeats - 1:
            sim.step()  # (the first day loads the day's kernels)
            t = time.perf_counter()
            sim.step()
            day = time.perf_counter() - t
            print(f"one day: {day:.3f} s; the last build is {(t3 - t0) / day:.1f} days")
        del sim, pop, graph
        gc.collect()
    x = np.empty(1 << 30, np.uint8)
    t = time.perf_counter()
    x.fill(1)
    fresh = time.perf_counter() - t
    t = time.perf_counter()
    x.fill(2)
    print(f"1 GB written fresh: {fresh:.3f} s; again: {time.perf_counter() - t:.3f} s")


if __name__ == "__main__":
    main()
