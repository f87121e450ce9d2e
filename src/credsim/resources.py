"""What a run needs before it allocates anything: memory (from the per-agent and per-edge
byte budget) and disk (tables and checkpoints), against what the machine has."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from .errors import CredsimError

# Bytes per agent of the simulation state (see docs/model.md, "Memory"):
POPULATION_B = 5  # region, packed attributes, three propensity classes
STATE_B = 38  # ledgers, score, tier, friend sums, deterrence, chill, courts, listing flags
DAY_B = 20  # the day columns the phases hand on
RECORD_B = 1  # tracked
INDPTR_B = 4  # CSR row pointer (uint32 below 2**32 slots)
EDGE_B = 4.125  # int32 neighbour + one active bit, per directed edge (2 per friendship)
BUILD_AGENT_B = 4  # extra per agent while the network is built (counts, block tables)
# Measured peak resident memory, as-reported, 365 days, degree 20 (2-core reference
# machine): 0.82 GiB at 1e6 agents and 16.3 GiB at 1e8 (2.3 GiB at 1e7 for 5 days); the
# constants below give 0.9, 16.3 and 2.6 GiB.
OUTPUT_B = 12  # per agent while the agents table is written (degrees, parents)
BATCH_ROW_B = 130  # per row of one batch of the agents table (at most 2**22 rows)
BASE_B = 550 * 2**20  # the interpreter, NumPy, Numba, Arrow, DuckDB and compiled kernels
DISK_AGENT_B = 30  # agents.parquet per agent
DISK_CHECKPOINT_B = 50  # a checkpoint per agent (state, active bits)
DISK_SPOOL_B_PER_DAY = 0.6  # the ledger spool, per agent and day (as-reported rates)
DISK_LEDGER_B_PER_DAY = 0.02  # ledger.parquet per agent and day


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


def estimate(agents: int, mean_degree: float, days: int, n_cells: int = 372,
             n_metrics: int = 120, score_bins: int = 1501, ledger: bool = True,
             checkpoints: bool = True) -> Estimate:
    """Peak memory and disk of a run, from the byte budget."""
    edges = agents * mean_degree  # directed
    run = (POPULATION_B + STATE_B + DAY_B + RECORD_B + INDPTR_B) * agents + EDGE_B * edges
    build = (POPULATION_B + BUILD_AGENT_B + INDPTR_B) * agents + EDGE_B * edges
    aggregates = days * (n_cells * n_metrics * 4 + 12 * score_bins * 4 + 11 * 84 * 4)
    memory = int(BASE_B + aggregates + max(build, run + OUTPUT_B * agents
                                                + BATCH_ROW_B * min(agents, 1 << 22)))
    disk = int(DISK_AGENT_B * agents + (DISK_CHECKPOINT_B * agents if checkpoints else 0)
               + ((DISK_SPOOL_B_PER_DAY + DISK_LEDGER_B_PER_DAY) * agents * days if ledger
                  else 0)
               + aggregates // 4 + 2**20)
    return Estimate(memory, disk, (run - INDPTR_B * agents) / max(agents, 1))


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


def check(est: Estimate, agents: int, mean_degree: float, out: Path | None) -> None:
    """Refuse, in one line, a run that the machine cannot hold."""
    mem = available_memory()
    if mem is not None and est.memory > mem:
        raise ResourceError(
            f"a run of {agents:,} agents at mean degree {mean_degree:g} needs about "
            f"{gib(est.memory)} of memory; {gib(mem)} is available: use fewer --agents "
            f"(about {int(agents * mem / est.memory * 0.9):,} fit) or a lower "
            f"network.mean_degree")
    if out is not None:
        disk = available_disk(out)
        if disk is not None and est.disk > disk:
            raise ResourceError(
                f"{out}: a run of {agents:,} agents needs about {gib(est.disk)} of disk for "
                f"its tables and checkpoints; {gib(disk)} is free there: use fewer --agents "
                f"or another --out")
