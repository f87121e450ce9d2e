"""A partitioned run's time a day, split into compute, exchange and waiting, and the bytes
each rank sends a day by kind of record (not part of the test run):

    mpiexec -n 2 python -m benchmarks.partition 10000000 6    # agents, days (first untimed)
    python -m benchmarks.partition 10000000 6 --single        # the threaded single process

Each rank's Numba threads are the machine's cores over its ranks on it. Rank 0 prints one
line of JSON: the medians over the timed days of the slowest rank's day, and per rank
(means over ranks) its compute, exchange and waiting seconds a day and bytes sent a day
by kind."""

from __future__ import annotations

import json
import sys
import time
from typing import Any

import numpy as np

from credsim.partition import wait_all
from credsim.sim import Sim, cores, use_threads, warm_kernels


def main() -> None:
    agents, days = int(sys.argv[1]), int(sys.argv[2])
    single = "--single" in sys.argv
    warm_kernels(helper=False)
    if single:
        use_threads(cores())
        sim = Sim("as-reported", agents=agents, days=days, seed=1)
    else:
        from credsim.partition import make_sim

        sim = make_sim("as-reported", agents, days, 1, [])
    part = sim.part
    t = time.perf_counter()
    sim.build()
    build = time.perf_counter() - t
    if part is not None:
        wait_all(part.comm)
        build = part.comm.allreduce(build, op=_max())
    sim.step()  # the first day (not timed)
    day_s, comp, exch, wait = [], [], [], []
    sent0 = dict(part.sent) if part is not None else {}
    for _ in range(days - 1):
        if part is not None:
            wait_all(part.comm)
            s0 = dict(part.seconds)
        t = time.perf_counter()
        sim.step()
        if part is not None:
            wait_all(part.comm)
        dt = time.perf_counter() - t
        day_s.append(dt)
        if part is not None:
            e = part.seconds["exchange"] - s0.get("exchange", 0.0)
            w = part.seconds["wait"] - s0.get("wait", 0.0)
            exch.append(e)
            wait.append(w)
            comp.append(dt - e - w)
    out: dict = {
        "processes": part.size if part is not None else 0,
        "agents": sim.n_total,
        "threads": int(__import__("numba").get_num_threads()),
        "build_s": round(build, 3),
        "day_s": round(float(np.median(day_s)), 4),
    }
    if part is not None:
        ndays = days - 1
        mine = {
            "compute_s": float(np.median(comp)),
            "exchange_s": float(np.median(exch)),
            "wait_s": float(np.median(wait)),
            "sent": {
                k: (v - sent0.get(k, 0)) / ndays for k, v in part.sent.items() if k != "build"
            },
        }
        allr = part.comm.gather(mine, root=0)
        if part.rank != 0:
            return
        for k in ("compute_s", "exchange_s", "wait_s"):
            out[k] = round(float(np.mean([r[k] for r in allr])), 4)
        kinds = sorted({k for r in allr for k in r["sent"]})
        per = {k: float(np.mean([r["sent"].get(k, 0.0) for r in allr])) for k in kinds}
        out["bytes_per_rank_day"] = round(sum(per.values()))
        out["bytes_by_kind"] = {k: round(v) for k, v in per.items()}
        out["agents_per_rank"] = int(np.diff(part.bounds).mean())
    print(json.dumps(out))


def _max() -> Any:
    from mpi4py import MPI

    return MPI.MAX


if __name__ == "__main__":
    main()
