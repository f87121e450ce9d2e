"""One simulation's milliseconds a day, by phase (not part of the test run): the quick
measure of a change to a kernel, run in turn on the code before and after it.

    python -m benchmarks.phases 10000000 8      # agents, days (the first day not timed)
    python -m benchmarks.phases 100000 300 --written
    NUMBA_OPT=1 NUMBA_CACHE_DIR=/tmp/opt1 python -m benchmarks.phases 10000000 8

Loads (or compiles) the kernels first and prints the seconds that took, then builds
as-reported and prints the mean wall time of a day and of each phase. With
``--written``, the recorder's arrays of the horizon's aggregates (about 290 KB a day) are
written once before the first day: the record phase then writes no memory new to the
process (on the reference machine, the first write of memory costs up to about 10 ms a
MB; at 100,000 agents that is a large part of a day)."""

from __future__ import annotations

import sys
import time

import numba

from benchmarks.run import DAY_PHASES, _credsim_days
from credsim.sim import COMPILE, warm_kernels


def main() -> None:
    agents, days = int(sys.argv[1]), int(sys.argv[2])
    written = "--written" in sys.argv[3:]
    t = time.perf_counter()
    warm_kernels(helper=False)
    opt = int(numba.config.OPT)  # type: ignore[attr-defined]
    print(
        f"NUMBA_OPT {opt}: kernels in {time.perf_counter() - t:.1f} s "
        f"({COMPILE.seconds:.1f} s compiling)"
    )
    r = _credsim_days(agents, days, written=written)
    phases = ", ".join(f"{k} {r['phases_s'][k] * 1e3:.1f}" for k in DAY_PHASES)
    print(f"{agents:,} agents: {r['day_s'] * 1e3:.1f} ms a day ({phases})")


if __name__ == "__main__":
    main()
