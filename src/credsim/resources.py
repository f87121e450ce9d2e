"""What a run needs before it allocates anything: memory (from the per-agent and per-edge
byte budget) and disk (tables and checkpoints), against what the machine has."""

from __future__ import annotations

import math
import os
import resource
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .errors import CredsimError

# Bytes per agent of the simulation state (see docs/model.md, "Memory"):
POPULATION_B = 5  # region, packed attributes, three propensity classes
# the state and day columns (ledgers, score, tier, friend sums, deterrence, chill, courts,
# listing flags; the day's events) are declared by the phases: phases.column_bytes()
RECORD_B = 2  # tracked (1), the list of agents with ledger rows (at most 1/4 of an int32)
INDPTR_B = 4  # CSR row pointer (uint32 below 2**32 slots)
EDGE_B = 4.125  # int32 neighbour + one active bit, per directed edge (2 per friendship)
BUILD_AGENT_B = 4  # extra per agent while the network is built (counts, block tables)
# a partitioned run's rank builds its rows with each row's sources held first, and per
# agent counts and offsets: measured 33 bytes an agent above the single-process build's
# peak (2 ranks of 4M agents, peak RSS, 2026-12-04), with a margin
PART_BUILD_AGENT_B = 40
OUTPUT_B = 12  # per agent while the agents table is written (degrees, parents)
BATCH_ROW_B = 130  # per row of one batch of the agents table (at most 2**22 rows)
BASE_B = 330 * 2**20  # the interpreter, NumPy, Numba, Arrow, DuckDB and loaded kernels
# The per-day aggregates (cells x metrics, score histograms, services) are held for every
# day; building the tables from them takes about 0.6 times as much again.
TABLES_OF_AGGREGATES = 1.6
LEDGER_MEM_B = 0.03  # ledger rows of tracked and listed agents in memory, per agent-day
# Disk, from the files of as-reported runs (2026-12, benchmarks/resources.py):
DISK_AGENT_B = 21  # agents.parquet per agent
DISK_DAY_B = 2_400  # daily, groups, services and score_hist tables, per day
DISK_SPOOL_B = 0.47  # the ledger spool, per agent-day (as-reported rates)
DISK_LEDGER_B = 0.01  # ledger.parquet per agent-day of listed agents...
DISK_LEDGER_TRACKED_B = 0.13  # ...and per tracked agent-day
# the aggregates spool (zlib), per day: more agents fill more cells, so it grows with the
# decades of agents: 10.9 KB a day at 1e4 agents, 16 KB at 1e5
AGG_SPOOL_DAY_B = (5_100, -9_500)  # bytes per decade of agents, intercept


class ResourceError(CredsimError):
    """The machine cannot hold the run."""


@dataclass
class Estimate:
    memory: int
    disk: int
    per_agent: float

    def __str__(self) -> str:
        return f"memory {gib(self.memory)}, disk {gib(self.disk)}"


def gib(b: float) -> str:
    return f"{b / 2**30:.1f} GiB"


def estimate(
    agents: int,
    mean_degree: float,
    days: int,
    n_cells: int = 372,
    n_metrics: int = 120,
    score_bins: int = 1501,
    ledger: bool = True,
    checkpoint_every: int = 30,
    tracked: int = 10_000,
    build_agent_b: float = BUILD_AGENT_B,
) -> Estimate:
    """Peak memory and disk of a run, from the byte budget (see docs/performance.md,
    "Pre-flight estimates", for how they compare with measured peaks)."""
    from .phases import column_bytes

    state_b, day_b = column_bytes()
    edges = agents * mean_degree  # directed
    run = (POPULATION_B + state_b + day_b + RECORD_B + INDPTR_B) * agents + EDGE_B * edges
    build = (POPULATION_B + build_agent_b + INDPTR_B) * agents + EDGE_B * edges
    per_day = n_cells * n_metrics * 4 + n_cells * 8 + 12 * score_bins * 4 + 11 * 5 * 3 * 4 * 4
    aggregates = days * per_day
    ledger_mem = LEDGER_MEM_B * agents * days if ledger else 0
    memory = int(
        BASE_B
        + TABLES_OF_AGGREGATES * aggregates
        + ledger_mem
        + max(build, run + OUTPUT_B * agents + BATCH_ROW_B * min(agents, 1 << 22))
    )
    # disk at its peak: both spools whole, and either two checkpoints (one replacing the
    # other, when there is more than one) or the final checkpoint beside the tables
    checkpoints = checkpoint_every > 0
    checkpoint = (state_b + EDGE_B / 33 * mean_degree) * agents if checkpoints else 0
    replaced = checkpoint if checkpoints and days > checkpoint_every else 0
    tables: float = DISK_AGENT_B * agents + DISK_DAY_B * days + 2**16
    spools = 0.0
    if ledger:
        share = min(tracked, agents) / max(agents, 1)
        tables += (DISK_LEDGER_B + DISK_LEDGER_TRACKED_B * share) * agents * days
        spools += DISK_SPOOL_B * agents * days
    if checkpoints:
        a, b = AGG_SPOOL_DAY_B
        decades = math.log10(max(agents, 10))
        spools += days * min(max(a * decades + b, 2_000), per_day)
    disk = int(spools + max(checkpoint + replaced, checkpoint + tables))
    return Estimate(memory, disk, (run - INDPTR_B * agents) / max(agents, 1))


def _read_int(path: Path) -> int | None:
    try:
        text = path.read_text().strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None


def _proc_status(key: str) -> int | None:
    """A size from /proc/self/status (VmRSS, VmSize), in bytes."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith(key + ":"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def _cgroup_headroom(
    proc: Path = Path("/proc/self/cgroup"), mount: Path = Path("/sys/fs/cgroup")
) -> int | None:
    """The least (limit - usage) over this process's memory cgroup and its ancestors
    (cgroup v2 memory.max, or v1 memory.limit_in_bytes); None without a limit."""
    try:
        lines = proc.read_text().splitlines()
    except OSError:
        return None
    best: int | None = None
    for line in lines:
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        if parts[0] == "0" and parts[1] == "":
            root, limit_f, usage_f = mount, "memory.max", "memory.current"
        elif "memory" in parts[1].split(","):
            root = mount / "memory"
            limit_f, usage_f = "memory.limit_in_bytes", "memory.usage_in_bytes"
        else:
            continue
        d = root / parts[2].lstrip("/")
        while True:
            limit, usage = _read_int(d / limit_f), _read_int(d / usage_f)
            if limit is not None and usage is not None and limit < 2**60:
                room = max(limit - usage, 0)
                best = room if best is None else min(best, room)
            if d == root or root not in d.parents:
                break
            d = d.parent
    return best


def memory_headroom(share: int = 1) -> tuple[int, str] | None:
    """How much more memory this process may take, and what limits it: the system's
    available memory, the memory cgroup's limit (each divided among the ``share``
    processes of a partitioned run on this machine), or the address-space limit (ulimit
    -v); None where none is known."""
    options: list[tuple[int, str]] = []
    each = f" for each of the {share} processes on this machine" if share > 1 else ""
    mem = available_memory()
    if mem is not None:
        options.append((mem // share, f"available{each}"))
    cg = _cgroup_headroom()
    if cg is not None:
        options.append((cg // share, f"left under the memory cgroup's limit{each}"))
    try:
        soft, _ = resource.getrlimit(resource.RLIMIT_AS)
    except (OSError, ValueError):
        soft = resource.RLIM_INFINITY
    if soft != resource.RLIM_INFINITY:
        vm = _proc_status("VmSize") or 0
        options.append((max(soft - vm, 0), "left under the address-space limit (ulimit -v)"))
    return min(options) if options else None


def available_memory() -> int | None:
    """MemAvailable from /proc/meminfo (None where unknown)."""
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return int(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):
        return None


def available_disk(path: Path) -> int | None:
    p = Path(path).absolute()
    while not p.exists() and p != p.parent:
        p = p.parent
    try:
        return shutil.disk_usage(p).free
    except OSError:
        return None


def agents_that_fit(fits: Callable[[int], bool], agents: int) -> int:
    """The largest number of agents below ``agents`` for which ``fits`` holds (0 if
    none), by bisection on the estimate."""
    lo, hi = 0, agents
    while hi - lo > max(1, lo // 100):
        mid = (lo + hi) // 2
        if fits(mid):
            lo = mid
        else:
            hi = mid
    return lo


def check(
    estimate_for: Callable[[int], Estimate],
    agents: int,
    mean_degree: float,
    out: Path | None,
    share: int = 1,
    ranks: int = 1,
) -> None:
    """Refuse, in one line, a run that the machine (or this process's limits) cannot
    hold. ``estimate_for(n)`` is the run's estimate with ``n`` agents; ``share``: the
    processes of a partitioned run on this machine (each may take that share of its
    memory), whose ``ranks`` processes each hold about ``agents``."""
    est = estimate_for(agents)
    room = memory_headroom(share)
    have = _proc_status("VmRSS") or 0  # what this process holds already counts
    if room is not None and est.memory - have > room[0]:
        fit = agents_that_fit(lambda n: estimate_for(n).memory - have <= room[0], agents)
        more = "more processes, " if ranks > 1 else ""
        advice = (
            f"use {more}fewer --agents (about {fit * ranks:,} fit) or a lower network.mean_degree"
            if fit > 0
            else f"even with no agents the horizon's per-day aggregates need "
            f"{gib(estimate_for(0).memory)}: use fewer --days or a narrower score "
            f"range (score.min to score.max)"
        )
        whose = f"this process's {agents:,} agents" if ranks > 1 else f"a run of {agents:,} agents"
        raise ResourceError(
            f"{whose} at mean degree {mean_degree:g} needs about "
            f"{gib(est.memory)} of memory; {gib(room[0] + have)} is {room[1]}: {advice}"
        )
    if out is not None:
        disk = available_disk(out)
        if disk is not None and est.disk > disk:
            fit = agents_that_fit(lambda n: estimate_for(n).disk <= disk, agents)
            raise ResourceError(
                f"{out}: a run of {agents:,} agents needs about {gib(est.disk)} of disk for "
                f"its tables, spools and checkpoints; {gib(disk)} is free there: use fewer "
                f"--agents (about {fit:,} fit) or another --out"
            )
