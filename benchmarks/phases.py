"""One simulation's milliseconds a day, by phase (not part of the test run): the quick
measure of a change to a kernel, run in turn on the code before and after it.

    python -m benchmarks.phases 10000000 8      # agents, days (the first day not timed)
    NUMBA_OPT=1 NUMBA_CACHE_DIR=/tmp/opt1 python -m benchmarks.phases 10000000 8

Loads (or compiles) the kernels first and prints the seconds that took, then builds
as-reported and prints the mean wall time of a day and of each phase."""

from __future__ import annotations

import sys
import time

import numba

from credsim.sim import COMPILE, Sim, warm_kernels


def main() -> None:
    agents, days = int(sys.argv[1]), int(sys.argv[2])
    t = time.perf_counter()
    warm_kernels(helper=False)
    print(
        f"NUMBA_OPT {int(numba.config.OPT)}: kernels in {time.perf_counter() - t:.1f} s "
        f"({COMPILE.seconds:.1f} s compiling)"
    )
    sim = Sim("as-reported", agents=agents, days=days, seed=1)
    sim.build()
    sim.step()
    before = {p.name: sim.timings[p.name] for p in sim.phases}
    t = time.perf_counter()
    while sim.day_done < days:
        sim.step()
    k = days - 1
    phases = ", ".join(
        f"{p.name} {(sim.timings[p.name] - before[p.name]) / k * 1e3:.1f}" for p in sim.phases
    )
    print(f"{agents:,} agents: {(time.perf_counter() - t) / k * 1e3:.1f} ms a day ({phases})")


if __name__ == "__main__":
    main()
