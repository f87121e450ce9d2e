"""Holds the aggregates of every day in preallocated arrays and the ledger rows; the
record phase fills it, results.py turns it into tables."""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from .constants import N_SERVICES, SMOKING_IN_PUBLIC, STATUSES, TIERS
from .phases.record import N_CHUNKS, ledger_rows, record_kernel
from .rundir import AGG_SPOOL, SPOOL, Spool
from .schema import (
    LEDGER_DTYPE,
    M_MISID,
    M_NET,
    M_OBS,
    N_GROUPS,
    N_METRICS,
)

if TYPE_CHECKING:
    from .sim import Sim


@dataclass(frozen=True)
class Aggregates:
    """The day-by-day aggregates of a run, as results.py turns them into tables:
    ``cells[day, cell, metric]`` (int32 counts; cell = region x group, group = urban x age
    group x sex, ``N_GROUPS`` of them), ``score_sum[day, cell]``, ``hist[day, group, bin]``
    (1-point score bins from ``lo``), ``svc[day, service, tier, status, outcome]``, the
    active friendships at the end of each day and the friendship ends of each cell at the
    start."""

    cells: np.ndarray
    score_sum: np.ndarray
    hist: np.ndarray
    svc: np.ndarray
    edges_active: np.ndarray
    friend_ends0: np.ndarray
    lo: float
    nbins: int


class Recorder:
    """Day-by-day aggregates: ``cells[day, cell, metric]`` (cell = region x urban x age x
    sex), ``score_sum[day, cell]``, ``hist[day, group, bin]`` (1-point bins),
    ``svc[day, service, tier, status, outcome]`` and the ledger rows."""

    def __init__(self, sim: Sim):
        self.sim = sim
        pop = sim.pop
        n_regions = len(pop.region_names)
        self.n_cells = n_regions * N_GROUPS
        sc = sim.scenario.score
        self.lo = float(sc.min)
        self.nbins = int(np.floor(sc.max - sc.min)) + 1
        days = sim.days
        self.cells = np.zeros((days, self.n_cells, N_METRICS), np.int32)
        self.score_sum = np.zeros((days, self.n_cells), np.float64)
        self.hist = np.zeros((days, N_GROUPS, self.nbins), np.int32)
        self.svc = np.zeros((days, N_SERVICES, len(TIERS), len(STATUSES), 4), np.int32)
        self.edges_active = np.zeros(days, np.int64)
        self._counts = np.zeros((N_CHUNKS, self.n_cells, N_METRICS), np.int64)
        self._ssum = np.zeros((N_CHUNKS, self.n_cells), np.float64)
        self._hist = np.zeros((N_CHUNKS, N_GROUPS, self.nbins), np.int64)
        self._svct = np.zeros((N_CHUNKS, N_SERVICES, len(TIERS), len(STATUSES), 4), np.int64)
        # ledger rows go to an append-only spool file (in the run directory when there is
        # one, so that a checkpoint records only its length), not to memory; the per-day
        # aggregates are appended, compressed, to another at each checkpoint
        if sim.out is not None:
            sim.out.mkdir(parents=True, exist_ok=True)
        self.spool = Spool(sim.out / SPOOL if sim.out is not None else None, "ledger spool")
        self.agg = Spool(sim.out / AGG_SPOOL if sim.out is not None else None, "aggregates spool")
        self.agg_days = 0  # days whose aggregates are on the aggregates spool
        self.ledger_rows = 0
        self.active_edges = sim.graph.active_edges()
        # edge ends of each cell at the start (active friendships of its agents)
        deg = sim.graph.degree()
        self.friend_ends0 = np.bincount(self.cell_of(), weights=deg, minlength=self.n_cells).astype(
            np.int64
        )

    def cell_of(self, agents: np.ndarray | slice = slice(None)) -> np.ndarray:
        """The cell (region x group) of ``agents`` (all agents by default)."""
        pop = self.sim.pop
        return pop.region[agents].astype(np.int64) * N_GROUPS + pop.column("group", agents)

    def record(self, day: int) -> None:
        s = self.sim
        st, d, pop = s.state, s.day, s.pop
        for a in (self._counts, self._ssum, self._hist, self._svct):
            a.fill(0)
        record_kernel(
            pop.region,
            pop.attrs,
            pop.key,
            pop.adult_start,
            pop.adult_count,
            d.true_ev,
            d.obs,
            d.court,
            d.lst,
            d.posts,
            d.svc_req,
            d.svc_out,
            st.lflags,
            st.scored,
            st.score,
            st.tier,
            self.lo,
            self.nbins,
            self._counts,
            self._ssum,
            self._hist,
            self._svct,
        )
        counts = self._counts.sum(axis=0)
        svct = self._svct.sum(axis=0)
        # misidentified events count where they land
        if d.false_target.size:
            tc = self.cell_of(d.false_target)
            k = d.false_type.astype(np.int64) - SMOKING_IN_PUBLIC
            np.add.at(counts, (tc, M_OBS + SMOKING_IN_PUBLIC + k), 1)
            np.add.at(counts, (tc, M_MISID + k), 1)
        if d.cut_cutter.size:
            cutter = self.cell_of(d.cut_cutter)
            other = self.cell_of(d.cut_other)
            np.add.at(counts[:, M_NET], cutter, 1)
            np.add.at(counts[:, M_NET + 1], cutter, 1)
            np.add.at(counts[:, M_NET + 1], other, 1)
            self.active_edges -= int(d.cut_cutter.size)
        self.cells[day] = counts
        self.score_sum[day] = self._ssum.sum(axis=0)
        self.hist[day] = self._hist.sum(axis=0)
        self.svc[day] = svct
        self.edges_active[day] = self.active_edges
        if s.record_ledger:
            args = (
                day,
                d.obs,
                d.court,
                d.lst,
                d.svc_req,
                d.svc_out,
                st.scored,
                st.score,
                st.lflags,
                st.case,
                *pop.parent_args(),
                s.params.deltas[day],
                d.false_target,
                d.false_type,
                d.false_source,
            )
            out = ledger_rows(*args)
            self.spool.append(out.tobytes())
            self.ledger_rows += out.shape[0]

    ARRAYS = ("cells", "score_sum", "hist", "svc", "edges_active")

    def sync(self, days: int) -> dict[str, int | str]:
        """Append the aggregates of the days not yet spooled (up to ``days``), compressed,
        flush both spools to disk, and say what a checkpoint must record of them."""
        if days > self.agg_days:
            a = self.agg_days
            body = zlib.compress(
                b"".join(getattr(self, k)[a:days].tobytes() for k in self.ARRAYS), 1
            )
            self.agg.append(np.array([a, days, len(body)], np.int64).tobytes() + body)
            self.agg_days = days
        rows = self.spool.sync()
        agg = self.agg.sync()
        return {
            "ledger_bytes": rows[0],
            "ledger_sha256": rows[1],
            "aggregates_bytes": agg[0],
            "aggregates_sha256": agg[1],
            "aggregates_days": days,
        }

    def restore(self, ck: dict) -> None:
        """Continue from what a checkpoint recorded of the spools (see :meth:`sync`); a
        spool that is missing, shorter or different is refused."""
        self.spool.restore(int(ck["ledger_bytes"]), str(ck["ledger_sha256"]))
        self.ledger_rows = self.spool.size // LEDGER_DTYPE.itemsize
        self.agg.restore(int(ck["aggregates_bytes"]), str(ck["aggregates_sha256"]))
        b = self.agg.read(0, self.agg.size)
        pos = 0
        while pos < len(b):
            a, d, n = np.frombuffer(b, np.int64, 3, pos)
            body = zlib.decompress(b[pos + 24 : pos + 24 + int(n)])
            off = 0
            for k in self.ARRAYS:
                dest = getattr(self, k)[a:d]
                dest[...] = np.frombuffer(body, dest.dtype, dest.size, off).reshape(dest.shape)
                off += dest.nbytes
            pos += 24 + int(n)
        self.agg_days = int(ck["aggregates_days"])

    def aggregates(self) -> Aggregates:
        return Aggregates(
            self.cells,
            self.score_sum,
            self.hist,
            self.svc,
            self.edges_active,
            self.friend_ends0,
            self.lo,
            self.nbins,
        )

    def ledger_for(self, keep: np.ndarray, chunk: int = 1 << 22) -> np.ndarray:
        """Ledger rows of the agents where ``keep`` is true, in day order."""
        parts = [np.zeros(0, LEDGER_DTYPE)]
        size = LEDGER_DTYPE.itemsize
        for start in range(0, self.ledger_rows, chunk):
            n = min(chunk, self.ledger_rows - start)
            r = np.frombuffer(self.spool.read(start * size, n * size), LEDGER_DTYPE)
            parts.append(r[keep[r["agent"]]])
        return np.concatenate(parts)

    def close(self, remove: bool = True) -> None:
        """Close the spools (and remove them: once the run directory is complete)."""
        self.spool.close(remove)
        self.agg.close(remove)
