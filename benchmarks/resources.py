"""Pre-flight estimates against measured peaks: for a grid of agents and horizons, run
``credsim run`` in a fresh process and compare its peak resident memory and the peak
size of its run directory with what credsim estimated before allocating anything.

    python -m benchmarks.resources                       # the grid of docs/performance.md
    python -m benchmarks.resources --grid 10000x30,100000x365

The peak memory is the child's ru_maxrss (wait4); the peak disk is the largest total size
of the run directory, sampled every 5 ms while the run writes it (checkpoints replace
each other atomically, so two can exist at once)."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

GRID = [
    (10_000, 30),
    (10_000, 365),
    (10_000, 2000),
    (100_000, 30),
    (100_000, 365),
    (100_000, 2000),
    (1_000_000, 30),
    (1_000_000, 365),
    (1_000_000, 2000),
    (10_000_000, 30),
    (10_000_000, 365),
]


def dir_bytes(path: Path) -> int:
    total = 0
    try:
        with os.scandir(path) as it:
            for e in it:
                try:
                    if e.is_file(follow_symlinks=False):
                        total += e.stat(follow_symlinks=False).st_size
                except FileNotFoundError:
                    pass
    except FileNotFoundError:
        pass
    return total


def measure(agents: int, days: int, scenario: str, threads: int, workdir: Path) -> dict:
    from credsim import Sim

    out = workdir / f"run-{agents}-{days}"
    est = Sim(scenario, agents=agents, days=days).estimate(out=out)
    cmd = [
        sys.executable,
        "-m",
        "credsim.cli",
        "run",
        scenario,
        "--agents",
        str(agents),
        "--days",
        str(days),
        "--out",
        str(out),
        "--quiet",
        "--force",
    ]
    env = dict(os.environ, NUMBA_NUM_THREADS=str(threads))
    peak_disk = 0
    stop = threading.Event()

    def watch() -> None:
        nonlocal peak_disk
        while not stop.is_set():
            peak_disk = max(peak_disk, dir_bytes(out))
            time.sleep(0.005)

    w = threading.Thread(target=watch, daemon=True)
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    w.start()
    _, status, usage = os.wait4(p.pid, 0)
    stop.set()
    w.join()
    wall = time.perf_counter() - t0
    if status != 0:
        err = p.stderr.read().decode() if p.stderr is not None else ""
        raise SystemExit(f"{' '.join(cmd)} failed: {err}")
    peak_rss = usage.ru_maxrss * 1024
    final = dir_bytes(out)
    subprocess.run(["rm", "-rf", str(out)], check=True)
    return {
        "agents": agents,
        "days": days,
        "wall_s": round(wall, 1),
        "est_memory": est.memory,
        "peak_rss": peak_rss,
        "memory_ratio": est.memory / peak_rss,
        "est_disk": est.disk,
        "peak_disk": peak_disk,
        "final_disk": final,
        "disk_ratio": est.disk / max(peak_disk, 1),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--grid", help="AGENTSxDAYS,... (default: the grid of docs/performance.md)")
    ap.add_argument("--scenario", default="as-reported")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--dir", help="where the runs are written (default: a temporary directory)")
    ap.add_argument("--json", help="also write the rows to this JSON file")
    a = ap.parse_args()
    grid = GRID if not a.grid else [tuple(int(x) for x in g.split("x")) for g in a.grid.split(",")]
    workdir = Path(a.dir or tempfile.mkdtemp(prefix="credsim-resources-"))
    rows = []
    print(
        "| agents | days | est. memory | peak RSS | est/peak | est. disk | peak disk | "
        "est/peak | wall s |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for agents, days in grid:
        r = measure(agents, days, a.scenario, a.threads, workdir)
        rows.append(r)
        mib = 2**20
        print(
            f"| {agents:,} | {days:,} | {r['est_memory'] / mib:,.0f} MiB | "
            f"{r['peak_rss'] / mib:,.0f} MiB | {r['memory_ratio']:.2f} | "
            f"{r['est_disk'] / mib:,.1f} MiB | {r['peak_disk'] / mib:,.1f} MiB | "
            f"{r['disk_ratio']:.2f} | {r['wall_s']} |",
            flush=True,
        )
    if a.json:
        Path(a.json).write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
