"""credsim's benchmark suite (not part of the test run): speed against an idiomatic Mesa 3
peer, against the machine's streaming limit, memory per agent, and scaling.

    python -m benchmarks.run                 # everything this machine can hold
    python -m benchmarks.run --quick         # small sizes only (a few minutes)
    python -m benchmarks.run --only peer     # one section: peer, limit, memory, scaling,
                                             # compile

Each measurement runs in a fresh subprocess (so that peak memory and thread counts are
its own) and prints one table at the end; medians of --repeats runs are reported."""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

DAY_PHASES = ("behave", "observe", "score", "list", "services", "respond", "record")


# ------------------------------------------------------------------------------------
# Workers (run in subprocesses)


def _credsim_days(agents: int, days: int, seed: int = 1, written: bool = False) -> dict:
    """Build and run; the time of the day loop and of the build. ``written``: the
    recorder's arrays of the horizon's aggregates are written once before the first day
    (not timed), so that no day writes memory new to the process."""
    import credsim

    # load the build's kernels first, as credsim run does before it builds (warm_kernels):
    # Numba's start-up and the loading of cached kernels are timed apart
    t = time.perf_counter()
    credsim.Sim("as-reported", agents=64, days=2, seed=seed).build()
    load = time.perf_counter() - t
    sim = credsim.Sim("as-reported", agents=agents, days=days, seed=seed)
    t = time.perf_counter()
    sim.build()
    build = time.perf_counter() - t
    if written:
        for k in sim.recorder.ARRAYS:
            getattr(sim.recorder, k).fill(0)
    # one warm-up day is excluded from the timing (kernels are loaded from the cache)
    sim.step()
    before = {k: sim.timings[k] for k in DAY_PHASES}
    t = time.perf_counter()
    while sim.day_done < sim.days:
        sim.step()
    run = time.perf_counter() - t
    phases = {k: (sim.timings[k] - before[k]) / (days - 1) for k in DAY_PHASES}
    from credsim.results import Result

    res = Result.from_sim(sim)
    mem = sim.memory_bytes()
    cols = {
        f"population.{k}": v.nbytes
        for k, v in sim.pop.arrays().items()
        if v.shape and v.shape[-1] == sim.n
    }
    cols.update({f"state.{k}": v.nbytes for k, v in sim.state.arrays().items()})
    cols.update({f"day.{k}": v.nbytes for k, v in sim.day.arrays().items() if v.shape[-1] == sim.n})
    cols.update({f"network.{k}": getattr(sim.graph, k).nbytes for k in ("indptr", "nbr", "active")})
    return {
        "columns": cols,
        "load_s": load,
        "build_s": build,
        "day_s": run / (days - 1),
        "phases_s": phases,
        "agent_days_per_s": agents * (days - 1) / run,
        "state_bytes": mem,
        "summary": res.summary(),
        "daily": res.daily.sum(numeric_only=True).to_dict(),
    }


def _streaming_pass(agents: int) -> dict:
    """One pass that reads every state column and the friend index once (NumPy
    reductions): the memory-bandwidth floor of a simulated day."""
    import numpy as np

    import credsim

    sim = credsim.Sim("as-reported", agents=agents, days=2)
    sim.build()
    arrays = (
        list(sim.pop.arrays().values())
        + list(sim.state.arrays().values())
        + [sim.graph.indptr, sim.graph.nbr, sim.graph.active]
    )
    times = []
    for _ in range(5):
        t = time.perf_counter()
        for a in arrays:
            np.bitwise_or.reduce(
                a.view(np.uint8).reshape(-1)[: a.nbytes - a.nbytes % 8].view(np.uint64)
            )
        times.append(time.perf_counter() - t)
    nbytes = sum(a.nbytes for a in arrays)
    return {"pass_s": statistics.median(times), "bytes": nbytes}


def _first_run(agents: int, days: int, helper: bool = True) -> dict:
    """A first run after an install (this process starts with an empty Numba cache), as
    ``credsim run`` makes it: the kernels a run uses are compiled by a tiny simulation
    (with ``helper``, as ``credsim run`` does, a second process shares the compiling into
    the same cache), then the run writes its run directory. Returns
    the first run's wait for compiling (what ``warm_kernels`` returns: alone, the seconds
    this process spent compiling, from Numba's compile events; with the helper, the wall
    time of the warm-up; plus any compiling in the run), the wall time and each kernel's
    own share in this process."""
    import collections
    import tempfile

    from numba.core import event as ev

    stack: list = []
    own: collections.Counter = collections.Counter()

    class _Kernels(ev.Listener):
        def on_start(self, event: Any) -> None:
            d = event.data.get("dispatcher")
            name = f"{d.py_func.__module__}.{d.py_func.__qualname__}" if d else "?"
            stack.append([name, time.perf_counter(), 0.0])

        def on_end(self, event: Any) -> None:
            name, t0, inner = stack.pop()
            dt = time.perf_counter() - t0
            own[name] += dt - inner
            if stack:
                stack[-1][2] += dt

    ev.register("numba:compile", _Kernels())
    import credsim
    from credsim.sim import COMPILE, warm_kernels

    t = time.perf_counter()
    warm = warm_kernels(helper=helper)
    c = COMPILE.seconds
    with tempfile.TemporaryDirectory() as tmp:
        credsim.Sim("as-reported", agents=agents, days=days, seed=1).run(out=f"{tmp}/run")
    return {
        "compile_s": warm + COMPILE.seconds - c,
        "wall_s": time.perf_counter() - t,
        "kernels": dict(own.most_common(40)),
    }


def _warm_units() -> dict:
    """What each unit of the warm-up costs one process alone with an empty Numba cache:
    the stand-in population, each unit of ``credsim.sim.WARM_UNITS`` in turn, then the
    tiny simulation that loads them (seconds of wall time)."""
    import tempfile

    t = time.perf_counter()
    from credsim import sim

    out = {"import": time.perf_counter() - t}
    t = time.perf_counter()
    tiny = sim._tiny()
    tiny.build_on(*sim._standin(tiny))
    out["stand-in"] = time.perf_counter() - t
    with tempfile.TemporaryDirectory() as claims:
        for unit in sim.WARM_UNITS:
            for other in sim.WARM_UNITS:  # every other unit claimed: this one runs alone
                (Path(claims) / other).touch()
            (Path(claims) / unit).unlink()
            t = time.perf_counter()
            sim.warm_units(claims)
            out[unit] = time.perf_counter() - t
    t = time.perf_counter()
    sim._tiny().run()
    out["final run"] = time.perf_counter() - t
    return out


def _peer(agents: int, days: int) -> dict:
    from benchmarks.peers.mesa_asreported import run

    return run(agents, days, seed=1)


WORKERS: dict[str, Callable[..., dict]] = {
    "credsim": _credsim_days,
    "stream": _streaming_pass,
    "peer": _peer,
    "first_run": _first_run,
    "warm_units": _warm_units,
}


def _worker_main(argv: list[str]) -> None:
    name, args = argv[0], json.loads(argv[1])
    out = WORKERS[name](**args)
    out["max_rss"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print("RESULT " + json.dumps(out, default=float))


def measure(name: str, threads: int = 2, cache: str | None = None, **kwargs: Any) -> dict:
    """Run worker ``name`` in a fresh subprocess on ``threads`` threads (with ``cache`` as
    Numba's cache directory when given)."""
    env = dict(os.environ, NUMBA_NUM_THREADS=str(threads))
    if cache is not None:
        env["NUMBA_CACHE_DIR"] = cache
    p = subprocess.run(
        [sys.executable, "-m", "benchmarks.run", "--worker", name, json.dumps(kwargs)],
        env=env,
        capture_output=True,
        text=True,
    )
    for line in p.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[7:])
    raise RuntimeError(f"{name} {kwargs} failed:\n{p.stderr[-2000:]}")


def median_of(repeats: int, name: str, key: str, **kwargs: Any) -> tuple[float, dict]:
    runs = [measure(name, **kwargs) for _ in range(repeats)]
    return statistics.median(r[key] for r in runs), runs[-1]


# ------------------------------------------------------------------------------------
# Sections


def section_peer(
    rows: list, repeats: int, sizes: tuple[int, ...] = (10_000, 100_000), days: int = 30
) -> None:
    rows.append(("## Peer: idiomatic Mesa 3 as-reported, 30 days", "", "", ""))
    rows.append(("agents", "Mesa agent-days/s", "credsim agent-days/s", "ratio"))
    agg = []
    for n in sizes:
        peer, pr = median_of(repeats, "peer", "agent_days_per_s", agents=n, days=days)
        ours, cr = median_of(repeats, "credsim", "agent_days_per_s", agents=n, days=days + 1)
        rows.append((f"{n:,}", f"{peer:,.0f}", f"{ours:,.0f}", f"{ours / peer:,.0f}x"))
        agg.append((n, pr, cr))
    rows.append(("### aggregates per 1,000 agent-days (Mesa | credsim)", "", "", ""))
    keys = (
        "true_community_service",
        "true_domestic_purchase",
        "true_smoking_in_public",
        "true_traffic_violation",
        "true_debt_default",
        "observed_traffic_violation",
        "posts",
        "false_flags",
        "flight_requests",
        "train_requests",
    )
    for n, pr, cr in agg:
        for k in keys:
            ck = "false_flag_rumour" if k == "false_flags" else k
            c = cr["daily"].get(ck, float("nan")) / (n * (days + 1)) * 1000  # + warm-up
            m = pr.get(k, float("nan")) / (n * days) * 1000
            rows.append((f"{n:,} {k}", f"{m:.3f}", f"{c:.3f}", ""))


def section_limit(
    rows: list, repeats: int, sizes: tuple[int, ...] = (1_000_000, 10_000_000)
) -> None:
    rows.append(("## Machine limit: one day against one streaming pass", "", "", ""))
    rows.append(("agents", "streaming pass s", "one day s", "day / pass"))
    for n in sizes:
        sp, _ = median_of(repeats, "stream", "pass_s", agents=n)
        day, r = median_of(repeats, "credsim", "day_s", agents=n, days=6)
        rows.append((f"{n:,}", f"{sp:.4f}", f"{day:.4f}", f"{day / sp:.1f}"))
        rows.append(
            (
                f"  ms/day by phase at {n:,}",
                ", ".join(f"{k} {v * 1e3:.1f}" for k, v in r["phases_s"].items()),
                "",
                "",
            )
        )


def section_memory(rows: list, sizes: tuple[int, ...] = (1_000_000, 10_000_000)) -> None:
    rows.append(("## Memory per agent (as-reported, degree 20)", "", "", ""))
    rows.append(("agents", "peak RSS / agent", "state columns / agent", "network / agent"))
    for n in sizes:
        r = measure("credsim", agents=n, days=3)
        m = r["state_bytes"]
        cols = m["population"] + m["state"] + m["day"]
        rows.append(
            (
                f"{n:,}",
                f"{r['max_rss'] / n:.0f} B",
                f"{cols / n:.1f} B",
                f"{m['network'] / n:.1f} B",
            )
        )
    rows.append((f"### byte budget per column at {n:,} agents", "", "", ""))
    rows.append(("column", "dtype bytes / agent", "", ""))
    for k, v in r["columns"].items():
        rows.append((k, f"{v / n:.2f}", "", ""))
    rows.append(("total", f"{sum(r['columns'].values()) / n:.2f}", "", ""))


def section_compile(rows: list, repeats: int, agents: int = 2000, days: int = 30) -> None:
    """The first run's wait: each repeat a fresh process with an empty Numba cache, first
    compiling alone, then with the helper process that ``credsim run`` starts."""
    import tempfile

    rows.append(("## First run: compiling the kernels (empty Numba cache)", "", "", ""))
    rows.append(("run", "compile s: alone | with helper", "wall s", "largest kernels (own s)"))
    runs: dict[bool, list] = {False: [], True: []}
    for k in range(repeats):
        for helper in (False, True):
            with tempfile.TemporaryDirectory() as cache:
                r = measure("first_run", cache=cache, agents=agents, days=days, helper=helper)
            runs[helper].append(r)
            top = ", ".join(
                f"{name.rsplit('.', 1)[-1]} {v:.1f}" for name, v in list(r["kernels"].items())[:4]
            )
            way = "with helper" if helper else "alone"
            rows.append((f"{k + 1}, {way}", f"{r['compile_s']:.1f}", f"{r['wall_s']:.1f}", top))
    med = {h: statistics.median(r["compile_s"] for r in runs[h]) for h in runs}
    rows.append(
        (
            "median",
            f"{med[False]:.1f} | {med[True]:.1f}",
            f"{statistics.median(r['wall_s'] for r in runs[True]):.1f} (with helper)",
            f"as-reported, {agents:,} agents, {days} days",
        )
    )
    with tempfile.TemporaryDirectory() as cache:
        u = measure("warm_units", cache=cache)
    u.pop("max_rss", None)
    rows.append(
        (
            "units alone",
            f"{sum(u.values()):.1f}",
            "",
            ", ".join(f"{k} {v:.1f}" for k, v in sorted(u.items(), key=lambda kv: -kv[1])),
        )
    )


def section_scaling(
    rows: list, repeats: int, sizes: tuple[int, ...] = (100_000, 1_000_000, 10_000_000)
) -> None:
    rows.append(("## Scaling: time per simulated day", "", "", ""))
    rows.append(
        ("agents", "1 thread s/day", "2 threads s/day", "build s (2 threads; + loading kernels)")
    )
    for n in sizes:
        days = 11 if n <= 1_000_000 else 4
        t1, _ = median_of(repeats, "credsim", "day_s", threads=1, agents=n, days=days)
        t2, r2 = median_of(repeats, "credsim", "day_s", threads=2, agents=n, days=days)
        rows.append(
            (
                f"{n:,}",
                f"{t1:.4f}",
                f"{t2:.4f}",
                f"{r2['build_s']:.2f} ({r2['build_s'] / t2:.1f} days; + {r2['load_s']:.2f})",
            )
        )


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        _worker_main(sys.argv[2:])
        return
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small sizes only")
    ap.add_argument("--only", choices=("peer", "limit", "memory", "scaling", "compile"))
    ap.add_argument("--repeats", type=int, default=3)
    a = ap.parse_args()
    rows: list = []
    big = (1_000_000,) if a.quick else (1_000_000, 10_000_000)
    if a.only in (None, "peer"):
        section_peer(rows, a.repeats, sizes=(10_000,) if a.quick else (10_000, 100_000))
    if a.only in (None, "limit"):
        section_limit(rows, a.repeats, sizes=big)
    if a.only in (None, "memory"):
        section_memory(rows, sizes=big)
    if a.only in (None, "scaling"):
        section_scaling(rows, a.repeats, sizes=(100_000,) + big)
    if a.only in (None, "compile"):
        section_compile(rows, a.repeats)
    print(f"\ncredsim benchmarks ({os.cpu_count()} cpus, {time.strftime('%Y-%m-%d')})")
    for r in rows:
        if r[0].startswith("#"):
            print(f"\n{r[0]}")
        else:
            print(" | ".join(f"{c:>22}" for c in r))


if __name__ == "__main__":
    main()
