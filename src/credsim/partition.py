"""A run partitioned among processes with MPI (``mpiexec -n P credsim run ...``).

Each process (rank) holds a contiguous range of the agents made of whole regions, indexed
from 0 there: its slice of the population, its rows of the friend graph (friends on
other ranks are kept as indices outside [0, n)), its state and its day columns. The
phases run on those agents exactly as in one process (their draws are keyed by the
run's agent index, see :func:`credsim.rng.shift_key`); only what crosses a partition is
exchanged, as compact records through ``Alltoallv``:

- a changed ledger pushed to friends' sums on other ranks (score, and list's appeals);
- a speech listing chilling friends on other ranks (respond);
- unfriending across ranks: each bad end announces itself to its friends' ranks with
  what the other end needs (its standing, its ledger, its slot of the edge); the rank of
  the other end decides with the edge's own draw and tells a rank that could not decide.

Misidentified camera events and a child's parent stay within a region, so within a rank.
The aggregates of the record phase are summed over ranks at the end (integer counts, and
floating sums made per fixed chunk and region, which one rank alone holds), and rank 0
gathers the agents' rows and ledgers and writes the run directory.
"""

from __future__ import annotations

import os
import time
from collections import defaultdict
from typing import Any

import numpy as np

from .errors import CredsimError


def mpi_size() -> int:
    """The number of processes of the MPI job this process was started in by mpiexec
    (1 when it was not), read from the launcher's environment without importing MPI."""
    for var in ("PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "PMIX_SIZE", "MPI_LOCALNRANKS"):
        v = os.environ.get(var)
        if v and v.isdigit():
            return int(v)
    return 1


def comm_world() -> Any:
    """mpi4py's COMM_WORLD, or a one-line error saying how to install it."""
    try:
        from mpi4py import MPI
    except ImportError as e:  # pragma: no cover - depends on the installation
        raise CredsimError(
            f"a partitioned run needs mpi4py ({e}): pip install 'credsim[mpi]'"
        ) from None
    return MPI.COMM_WORLD


def region_bounds(region_start: np.ndarray, size: int) -> np.ndarray:
    """int64 [size + 1]: the agents of each of ``size`` ranks, cut at region boundaries,
    each cut the boundary nearest to an equal share (each rank at least one region)."""
    starts = np.unique(np.asarray(region_start, np.int64))  # empty regions fall away
    n = int(starts[-1])
    inner = starts[1:-1]
    if size > inner.size + 1:
        raise CredsimError(
            f"{size} processes: a partitioned run gives each process whole regions, and "
            f"this population has {inner.size + 1} regions with agents (allowed: at most "
            f"{inner.size + 1} processes)"
        )
    bounds = np.zeros(size + 1, np.int64)
    bounds[-1] = n
    k = 0  # the next usable boundary
    for r in range(1, size):
        last = inner.size - (size - r)  # leave a boundary for each rank after this one
        target = r * n / size
        best = k
        for c in range(k, last + 1):
            if abs(inner[c] - target) < abs(inner[best] - target):
                best = c
        bounds[r] = inner[best]
        k = best + 1
    return bounds


class Partition:
    """This rank's part of a partitioned run, and the exchanges between ranks."""

    def __init__(self, comm: Any, bounds: np.ndarray):
        self.comm = comm
        self.rank = int(comm.Get_rank())
        self.size = int(comm.Get_size())
        self.bounds = np.asarray(bounds, np.int64)
        self.lo = int(self.bounds[self.rank])
        self.hi = int(self.bounds[self.rank + 1])
        self.sent: dict[str, int] = defaultdict(int)  # bytes sent, by kind of record
        self.seconds: dict[str, float] = defaultdict(float)  # in exchanges: wait, transfer

    def owner(self, agents: np.ndarray) -> np.ndarray:
        """The rank holding each of ``agents`` (run indices)."""
        return np.searchsorted(self.bounds, agents, side="right") - 1

    def exchange(self, kind: str, records: np.ndarray, dest: np.ndarray) -> list[np.ndarray]:
        """Send each record to rank ``dest[k]`` (in their order within a destination), and
        return what each rank sent this one, by rank. Every rank calls it together."""
        from mpi4py import MPI

        t0 = time.perf_counter()
        size = self.size
        order = np.argsort(dest, kind="stable")
        send = np.ascontiguousarray(records[order])
        counts = np.bincount(dest, minlength=size).astype(np.int64)
        rcounts = np.empty(size, np.int64)
        self.comm.Barrier()  # the wait for the slowest rank, counted apart
        t1 = time.perf_counter()
        self.comm.Alltoall(counts, rcounts)
        isz = records.dtype.itemsize
        sd = np.zeros(size + 1, np.int64)
        np.cumsum(counts, out=sd[1:])
        rd = np.zeros(size + 1, np.int64)
        np.cumsum(rcounts, out=rd[1:])
        recv = np.empty(int(rd[-1]), records.dtype)
        self.comm.Alltoallv(
            [send.view(np.uint8), ((counts * isz).tolist(), (sd[:-1] * isz).tolist()), MPI.BYTE],
            [recv.view(np.uint8), ((rcounts * isz).tolist(), (rd[:-1] * isz).tolist()), MPI.BYTE],
        )
        t2 = time.perf_counter()
        self.sent[kind] += int((counts.sum() - counts[self.rank]) * isz)
        self.seconds["wait"] += t1 - t0
        self.seconds["exchange"] += t2 - t1
        return [recv[rd[q] : rd[q + 1]] for q in range(size)]

    def sum(self, a: np.ndarray) -> np.ndarray:
        """The elementwise sum of ``a`` over the ranks (on every rank)."""
        from mpi4py import MPI

        out = np.empty_like(a)
        self.comm.Allreduce(np.ascontiguousarray(a), out, op=MPI.SUM)
        return out

    def total(self, x: int) -> int:
        return int(self.comm.allreduce(int(x)))
