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
import re
import select
import shutil
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

from .errors import CredsimError


def _launcher_env(what: str, default: int) -> int:
    """``what`` (SIZE or RANK) of the MPI job, as MPICH, Open MPI or PMIx's launcher set
    it in the environment (read without importing MPI), or ``default``."""
    for var in (f"PMI_{what}", f"OMPI_COMM_WORLD_{what}", f"PMIX_{what}"):
        v = os.environ.get(var)
        if v and v.isdigit():
            return int(v)
    return default


def mpi_size() -> int:
    """The number of processes of the MPI job this process was started in by mpiexec
    (1 when it was not)."""
    return _launcher_env("SIZE", 1)


def mpi_rank() -> int:
    """This process's rank in the MPI job (0 when it was not started by mpiexec)."""
    return _launcher_env("RANK", 0)


def comm_world() -> Any:
    """mpi4py's COMM_WORLD, or a one-line error saying how to install it."""
    try:
        from mpi4py import MPI
    except ImportError as e:  # pragma: no cover - depends on the installation
        err = CredsimError(f"a partitioned run needs mpi4py ({e}): pip install 'credsim[mpi]'")
        err.all_ranks = True
        raise err from None
    return MPI.COMM_WORLD


def region_bounds(region_start: np.ndarray, size: int) -> np.ndarray:
    """int64 [size + 1]: the agents of each of ``size`` ranks, cut at region boundaries,
    each cut the boundary nearest to an equal share (each rank at least one region)."""
    starts = np.unique(np.asarray(region_start, np.int64))  # empty regions fall away
    n = int(starts[-1])
    inner = starts[1:-1]
    if size > inner.size + 1:
        k = inner.size + 1
        raise CredsimError(
            f"{size} processes: a partitioned run gives each process whole regions, and "
            f"this population has {k} region{'s' if k > 1 else ''} with agents (allowed: "
            f"at most {k} process{'es' if k > 1 else ''})"
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


def wait_all(comm: Any) -> None:
    """A barrier that waits asleep: MPI's own spins on its core, which a rank still
    computing (or compiling, or writing the tables) on the same cores would lose."""
    req = comm.Ibarrier()
    while not req.Test():
        time.sleep(0.0002)


def _shared() -> Any:
    from mpi4py import MPI

    return MPI.COMM_TYPE_SHARED


def on_root(comm: Any, fn: Any) -> Any:
    """``fn()`` on rank 0 (its result there, None elsewhere); a one-line error it raises
    is raised on every rank, so that all stop together."""
    err = None
    out = None
    if comm.Get_rank() == 0:
        try:
            out = fn()
        except CredsimError as e:
            err = (type(e), str(e))
    wait_all(comm)
    err = comm.bcast(err, root=0)
    if err is not None:
        exc = err[0](err[1])
        exc.all_ranks = True  # every rank stops with it: nothing to abort
        raise exc
    return out


class Partition:
    """This rank's part of a partitioned run, and the exchanges between ranks."""

    def __init__(self, comm: Any, bounds: np.ndarray):
        self.comm = comm
        self.rank = int(comm.Get_rank())
        self.size = int(comm.Get_size())
        self.bounds = np.asarray(bounds, np.int64)
        self.lo = int(self.bounds[self.rank])
        self.hi = int(self.bounds[self.rank + 1])
        # the ranks on this rank's machine (they share its memory and cores)
        self.local = int(comm.Split_type(_shared()).Get_size()) if self.size > 1 else 1
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
        wait_all(self.comm)  # the wait for the slowest rank, counted apart
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

    def on_root(self, fn: Any) -> Any:
        return on_root(self.comm, fn)

    def sum(self, a: np.ndarray) -> np.ndarray:
        """The elementwise sum of ``a`` over the ranks (on every rank)."""
        from mpi4py import MPI

        out = np.empty_like(a)
        self.comm.Allreduce(np.ascontiguousarray(a), out, op=MPI.SUM)
        return out

    def total(self, x: int) -> int:
        return int(self.comm.allreduce(int(x)))

    def lower_edges(self, graph: Any) -> int:
        """The active friendships of which this rank holds the lower end."""
        return int(_lower_edges(graph.indptr, graph.nbr, graph.active))

    def friend_counts(self, graph: Any, scored: np.ndarray, out: np.ndarray) -> None:
        """Each agent's active scored friends (the count the friend sums keep): those here
        counted, those on other ranks sent their scored flag."""
        n = scored.shape[0]
        parallel_for(scored_degree, n, graph.indptr, graph.nbr, graph.active, scored, out)
        piece = 1 << 20  # a piece of the rows at a time: only the records are kept whole
        js = [np.zeros(0, np.int32)]
        for a in range(0, n, piece):
            rows = np.flatnonzero(scored[a : a + piece]) + a
            js.append((remote_friends(rows, graph, n)[1] + self.lo).astype(np.int32))
        rec = np.concatenate(js).view(AGENT)
        got = np.concatenate(self.exchange("build", rec, self.owner(rec["j"])))
        np.add.at(out, got["j"].astype(np.int64) - self.lo, 1)


# ------------------------------------------------------------------------------------
# What crosses a partition during a day. Friends on other ranks are the indices outside
# [0, n) of a rank's rows (run index = local index + lo).

import numba as nb  # noqa: E402

from .kernels import clear_friendships  # noqa: E402
from .network import is_active, scored_degree  # noqa: E402
from .rng import parallel_for  # noqa: E402

PUSH = np.dtype([("j", np.int32), ("dv", np.float32)])
AGENT = np.dtype([("j", np.int32)])
ANNOUNCE = np.dtype(
    [("b", np.int32), ("j", np.int32), ("slot", np.int32), ("own", np.float32),
     ("good", np.uint8), ("scored", np.uint8)]
)  # fmt: skip
REPLY = np.dtype([("b", np.int32), ("j", np.int32), ("own", np.float32), ("scored", np.uint8)])


@nb.njit(cache=True)
def _remote_friends(
    rows: np.ndarray, indptr: np.ndarray, nbr: np.ndarray, active: np.ndarray, n: int,
    count_only: bool, out: np.ndarray,
) -> int:  # fmt: skip
    """The active friends on other ranks of each agent of ``rows``, in order (row by
    row, each ascending): (k, local index j, position e in the row) into ``out``;
    returns how many."""
    w = 0
    for k in range(rows.shape[0]):
        i = rows[k]
        for e in range(indptr[i], indptr[i + 1]):
            j = nbr[e]
            if (j < 0 or j >= n) and is_active(active, e):
                if not count_only:
                    out[w] = k
                    out[w + 1] = j
                    out[w + 2] = e - indptr[i]
                w += 3
    return w // 3


def remote_friends(
    rows: np.ndarray, graph: Any, n: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(k, j, slot): each active friendship of agent rows[k] with an agent j (a local
    index) on another rank, at ``slot`` of the row; by k, then j ascending."""
    rows = np.ascontiguousarray(rows, np.int64)
    none = np.zeros(0, np.int64)
    c = _remote_friends(rows, graph.indptr, graph.nbr, graph.active, n, True, none)
    out = np.empty(3 * c, np.int64)
    _remote_friends(rows, graph.indptr, graph.nbr, graph.active, n, False, out)
    return out[0::3], out[1::3], out[2::3]


@nb.njit(cache=True)
def _lower_edges(indptr: np.ndarray, nbr: np.ndarray, active: np.ndarray) -> int:
    c = 0
    for i in range(indptr.shape[0] - 1):
        for e in range(indptr[i], indptr[i + 1]):
            if nbr[e] > i and is_active(active, e):
                c += 1
    return c


@nb.njit(cache=True)
def _add_pushes(j: np.ndarray, dv: np.ndarray, fsum: np.ndarray) -> None:
    for k in range(j.shape[0]):
        fsum[j[k]] += dv[k]


def push_across(sim: Any, changed: np.ndarray, local_push: Any) -> None:
    """Friends' sums after the ledgers of ``changed`` moved by ``day.delta``: the changes
    for friends on other ranks are sent there; each sum then receives its additions in
    the order of the run's agents, as in one process (those of lower ranks, this rank's
    own through ``local_push``, those of higher ranks)."""
    part: Partition = sim.part
    st, d = sim.state, sim.day
    changed = changed[st.scored[changed]] if changed.size else changed
    k, j, _ = remote_friends(changed, sim.graph, sim.n)
    rec = np.empty(j.size, PUSH)
    rec["j"] = j + part.lo
    rec["dv"] = d.delta[changed[k]]
    got = part.exchange("push", rec, part.owner(rec["j"]))
    for g in got[: part.rank]:
        _add_pushes(g["j"].astype(np.int64) - part.lo, g["dv"], st.fsum)
    if changed.size:
        local_push(changed)
    for g in got[part.rank + 1 :]:
        _add_pushes(g["j"].astype(np.int64) - part.lo, g["dv"], st.fsum)


def chill_across(sim: Any, listed: np.ndarray, step: int) -> None:
    """The friends on other ranks of agents listed for speech today: their rank applies
    the chilling (a step of an integer code: the order does not matter)."""
    from .state import MULT_ZERO

    part: Partition = sim.part
    _, j, _ = remote_friends(listed, sim.graph, sim.n)
    rec = np.empty(j.size, AGENT)
    rec["j"] = j + part.lo
    got = np.concatenate(part.exchange("chill", rec, part.owner(rec["j"])))
    x, times = np.unique(got["j"].astype(np.int64) - part.lo, return_counts=True)
    ch = sim.state.chill  # k steps of a saturating code: min(code + k * step, MULT_ZERO)
    ch[x] = np.minimum(ch[x].astype(np.int64) + times * int(step), MULT_ZERO)


def unfriend_across(
    sim: Any, key: np.uint64, p: Any, bads: np.ndarray, cutter: np.ndarray, other: np.ndarray,
    decide: Any, bad: Any,
) -> None:  # fmt: skip
    """Today's unfriending where friends live on two ranks, then every cut applied.
    ``cutter``, ``other``: the cuts between agents of this rank (respond's kernels);
    ``decide``: respond's rule for an edge between an announced bad end on another rank
    and an agent here; ``bad``: which agents are bad ends (a mask of local agents).
    Each bad end announces itself to its friends' ranks (its standing, ledger and slot
    of the edge); each rank decides the edges announced to it, and tells the bad end's
    rank of the cuts it alone could decide (its end not bad). All cuts that touch this
    rank are applied in the order one process applies them: by the bad end whose row
    handles the edge (the lower one when both are bad), then the other end."""
    part: Partition = sim.part
    st, g, d = sim.state, sim.graph, sim.day
    lo = part.lo
    good = st.scored & (st.score >= p.good_from)
    k, j, slot = remote_friends(bads, g, sim.n)
    b = bads[k]
    ann = np.empty(j.size, ANNOUNCE)
    ann["b"] = b + lo
    ann["j"] = j + lo
    ann["slot"] = slot
    ann["own"] = st.own[b]
    ann["good"] = good[b]
    ann["scored"] = st.scored[b]
    got = np.concatenate(part.exchange("announce", ann, part.owner(ann["j"])))
    gb = got["b"].astype(np.int64) - lo
    gj = got["j"].astype(np.int64) - lo
    cut = np.zeros(gb.size, np.bool_)
    by = np.zeros(gb.size, np.int64)
    reply = np.zeros(gb.size, np.bool_)
    decide(key, gb, gj, got["slot"].astype(np.int64), got["good"], st.lflags, st.scored,
           st.score, g.indptr, g.nbr, g.active, p, cut, by, reply)  # fmt: skip
    tell = got[cut & reply]
    rep = np.empty(tell.size, REPLY)
    rep["b"] = tell["b"]
    rep["j"] = tell["j"]
    jl = tell["j"].astype(np.int64) - lo
    rep["own"] = st.own[jl]
    rep["scored"] = st.scored[jl]
    back = np.concatenate(part.exchange("reply", rep, part.owner(rep["b"])))
    # every cut that touches this rank: ends (x, y), the cutter, the handling bad end
    x = np.concatenate([cutter, gj[cut], back["b"].astype(np.int64) - lo])
    y = np.concatenate([other, gb[cut], back["j"].astype(np.int64) - lo])
    who = np.concatenate([cutter, by[cut], back["j"].astype(np.int64) - lo])
    own_y = np.concatenate([st.own[other], got["own"][cut], back["own"]])
    scored_y = np.concatenate([st.scored[other], got["scored"][cut] != 0, back["scored"] != 0])
    # handler: for cuts here, the lower bad end; for announced ones, j if it is bad and
    # the lower, else b; for replies, b (j was not bad)
    bad_x = bad(x)
    bad_y = np.concatenate(
        [bad(other), np.ones(int(cut.sum()), np.bool_), np.zeros(back.size, np.bool_)]
    )
    handler = np.where(bad_x & (~bad_y | (x < y)), x, y)
    order = np.lexsort((np.where(handler == x, y, x), handler))
    x, y, who, own_y, scored_y = x[order], y[order], who[order], own_y[order], scored_y[order]
    own_x = st.own[x]
    clear_friendships(x, y, own_x, own_y, st.scored[x], scored_y, g.indptr, g.nbr, g.active,
                      st.fsum, st.fcnt)  # fmt: skip
    n = sim.n
    d.cut_cutter = who[(who >= 0) & (who < n)]
    cut_end = np.where(who == x, y, x)
    d.cut_other = cut_end[(cut_end >= 0) & (cut_end < n)]
    lower = np.minimum(x, y)
    d.cut_lower = lower[(lower >= 0) & (lower < n)]


def gather_ledger(part: Partition, rows: np.ndarray) -> np.ndarray:
    """Every rank's ledger rows on rank 0 (run indices), in the order of one process: day
    by day, the agents' rows in agent order (rank by rank), then the misidentified events
    (rank by rank, each in its offenders' order); an empty array on the other ranks."""
    from .constants import TRUTH_MISID
    from .schema import K_EVENT

    rows = rows.copy()
    rows["agent"] += part.lo
    rows["other"] = np.where(rows["other"] >= 0, rows["other"] + part.lo, rows["other"])
    parts = part.comm.gather(rows, root=0)
    if part.rank != 0:
        return rows[:0]
    allr = np.concatenate(parts)
    rank = np.repeat(np.arange(part.size), [p.size for p in parts])
    pos = np.concatenate([np.arange(p.size) for p in parts])
    tail = (allr["kind"] == K_EVENT) & (allr["truth"] == TRUTH_MISID)
    return allr[np.lexsort((pos, rank, tail, allr["day"]))]


def make_sim(
    scenario: Any, agents: int | None, days: int | None, seed: int | None, overrides: list[str]
) -> Any:
    """This rank's Sim of a partitioned run on MPI's COMM_WORLD (whole regions a rank,
    about as many agents each), its Numba threads sized so that the ranks on a machine
    share its cores."""
    from .population import region_layout
    from .sim import Sim, cores, use_threads

    try:
        probe = Sim(scenario, agents=agents, days=days, seed=seed, overrides=overrides)
    except CredsimError as e:
        e.all_ranks = True
        raise
    comm = comm_world()
    _, start, _, _ = region_layout(probe.scenario.population, probe.n_total)
    try:
        bounds = region_bounds(start, comm.Get_size())
    except CredsimError as e:
        e.all_ranks = True
        raise
    part = Partition(comm, bounds)
    use_threads(max(1, cores() // part.local))
    return Sim(probe.scenario, record_ledger=probe.record_ledger, part=part)


def resume_sim(out: Any) -> Any:
    """This rank's Sim of the partitioned run interrupted in ``out``, ready to run on:
    rank 0 checks the directory and reads the manifest (the last checkpoint every rank
    completed), which must name as many processes as this job has; each rank rebuilds
    its part and loads its own file of that checkpoint."""
    from pathlib import Path

    from . import rundir
    from .errors import RunDirError
    from .sim import Sim, _read_checkpoint, cores, resumable, use_threads

    out = Path(out)
    comm = comm_world()
    size = int(comm.Get_size())
    path = out / rundir.CHECKPOINT

    def check() -> tuple[rundir.RunLock, dict[str, Any]]:
        lock = resumable(out)
        try:
            meta, _ = _read_checkpoint(path)
            procs = int(meta.get("processes", 1))
            if procs != size:
                raise RunDirError(
                    f"{out}: the run was partitioned among {procs} process"
                    f"{'es' if procs > 1 else ''}; resume it with the same number "
                    f"('mpiexec -n {procs} credsim run --resume {out}'"
                    f"{')' if procs > 1 else ' without mpiexec)'}"
                )
            return lock, meta
        except BaseException:
            lock.release()
            raise

    got = on_root(comm, check)
    lock, meta = got if got is not None else (None, None)
    meta = comm.bcast(meta, root=0)
    part = Partition(comm, np.asarray(meta["bounds"], np.int64))
    use_threads(max(1, cores() // part.local))
    sim = Sim(meta["scenario"], record_ledger=meta["record_ledger"], part=part)
    sim.out = out
    sim.lock = lock
    sim.build()
    mine = sim.file(f"checkpoint-{meta['slot']}.npz")
    if not mine.exists():
        raise RunDirError(f"{mine}: missing (rank {part.rank}'s part of the checkpoint)")
    rmeta, arrays = _read_checkpoint(mine)
    if int(rmeta["day_done"]) != int(meta["day_done"]) or int(rmeta.get("rank", -1)) != part.rank:
        raise RunDirError(
            f"{mine}: corrupted checkpoint (rank {rmeta.get('rank')} at day "
            f"{rmeta['day_done']}; the run's checkpoint is at day {meta['day_done']})"
        )
    sim._restore(mine, rmeta, arrays)
    sim._slot = str(meta["slot"])
    sim._final_checkpoint = path if sim.day_done == sim.days else None
    return sim


# ------------------------------------------------------------------------------------
# credsim run --processes P: mpiexec started for the user, on this machine

BANNER = re.compile(
    r"^(=+|=\s.*|YOUR APPLICATION TERMINATED.*|This typically refers.*|Please see the FAQ.*)$"
)  # MPICH's report of a process that died


def mpiexec() -> str | None:
    """The mpiexec beside this Python (MPICH from PyPI puts it there), or on the PATH."""
    here = Path(sys.executable).parent / "mpiexec"
    return str(here) if here.exists() else shutil.which("mpiexec")


def _wait_status(pid: int) -> int | None:
    """The wait status of process ``pid``, which has ended, where the kernel still has it
    (a zombie's: field 52 of /proc/PID/stat); None once its parent has reaped it."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return int(fields[49]) if fields[0] == "Z" and len(fields) > 49 else None


def _stamp(path: Path) -> tuple[int, int] | None:
    """The inode and modification time of ``path`` (None if there is none): a file
    written again (renamed into place) has another."""
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_ino, st.st_mtime_ns


def _ours(pid: int) -> bool:
    """Whether process ``pid`` runs credsim (not another that took the pid of a rank
    that ended)."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            return b"credsim" in fh.read()
    except OSError:
        return False


def launch(processes: int, args: list[str], out: Path) -> int:
    """Run ``credsim run ARGS`` as ``processes`` ranks under mpiexec on this machine and
    return its exit status. What the ranks print passes through. mpiexec is told not to
    end the other ranks when one dies: this process watches them (each rank writes its
    pid under ``ranks/``), and when one ends before the run is complete it ends the others
    and, for a rank killed by a signal (from outside, or by the out-of-memory killer),
    says so in one line naming the rank, with how to resume (a rank that fails by itself
    has said why in its own line)."""
    import signal as sig
    import threading

    exe = mpiexec()
    if exe is None:
        raise CredsimError("--processes needs mpiexec and mpi4py: pip install 'credsim[mpi]'")
    cmd = [exe, "-disable-auto-cleanup", "-n", str(processes), sys.executable, "-m",
           "credsim.cli", "run", *args]  # fmt: skip
    for f in (out / "ranks").glob("r*.pid"):  # an earlier job's (a run resumed)
        f.unlink()
    previous = sig.signal(sig.SIGINT, sig.SIG_IGN)  # Ctrl-C is mpiexec's to pass on
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    died: list[tuple[int, int, int | None]] = []  # (rank, pid, wait status)
    stop = threading.Event()
    before = _stamp(out / "run.json")  # a finished run's, which --force replaces

    def complete() -> bool:
        """Whether this job has written the run's run.json (the ranks end after it)."""
        now = _stamp(out / "run.json")
        return now is not None and now != before

    def watch() -> None:
        """Wait on every rank's pidfd: the kernel wakes this thread as the first rank
        ends, before mpiexec, told of it, ends or signals the others (whose own ends
        take tens of milliseconds more), so that the first rank seen ended is the one
        that ended first."""
        pids: dict[int, int] = {}
        fds: dict[int, int] = {}  # pidfd -> rank
        gone: list[int] = []
        poller = select.poll()
        try:
            while not stop.is_set():
                for f in (out / "ranks").glob("r*.pid") if len(pids) < processes else ():
                    rank = int(f.name[1:5])
                    if rank in pids:
                        continue
                    try:
                        pid = int(f.read_text())  # (an earlier job's were removed above)
                        fd = os.pidfd_open(pid)
                    except ProcessLookupError:
                        fd = -1
                    except (OSError, ValueError):
                        continue  # not written yet
                    pids[rank] = pid
                    if fd < 0 or not _ours(pid):  # ended before it was seen
                        gone.append(rank)
                        if fd >= 0:
                            os.close(fd)
                        continue
                    fds[fd] = rank
                    poller.register(fd, select.POLLIN)
                if complete():
                    return  # the ranks are ending of themselves
                wait = 5 if len(pids) < processes else 50
                ready = gone + [fds[fd] for fd, _ in poller.poll(0 if gone else wait)]
                if not ready:
                    continue
                if complete():
                    return  # (while this thread waited)
                # more than one only if this thread ran tens of milliseconds late: then
                # a rank mpiexec has already reaped (its status gone) before its zombies
                got = [(rank, pids[rank], _wait_status(pids[rank])) for rank in ready]
                died.extend(sorted(got, key=lambda d: (d[2] is not None, d[0])))
                for rank, pid in pids.items():  # the others wait for them: end them
                    if rank not in ready:
                        try:
                            os.kill(pid, sig.SIGKILL)
                        except OSError:
                            pass
                return
        finally:
            for fd in fds:
                os.close(fd)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    assert p.stdout is not None
    said = 0  # the signal mpiexec's banner names
    for line in p.stdout:
        if not BANNER.match(line.rstrip("\n")):  # mpiexec's banner: said below in a line
            sys.stdout.write(line)
            sys.stdout.flush()
        elif m := re.search(r"EXIT STRING: .*\(signal (\d+)\)", line):
            said = int(m.group(1))
    rc = p.wait()
    sig.signal(sig.SIGINT, previous)
    stop.set()
    watcher.join()
    if not died:
        return rc
    rank, pid, status = died[0]
    # its wait status, or when mpiexec reaped it first, the signal mpiexec reported
    signum = os.WTERMSIG(status) if status is not None and os.WIFSIGNALED(status) else 0
    signum = signum or (said if status is None else 0)
    if not signum:
        return rc  # a rank that failed by itself has said why in its own line
    hint = f"; no checkpoint was written: start over with --force --out {out}"
    try:
        import json

        with np.load(out / "checkpoint.npz") as z:
            day = int(json.loads(bytes(z["meta"]).decode())["day_done"])
        hint = (
            f"; the last checkpoint (after day {day - 1}) is kept: resume with "
            f"'credsim run --processes {processes} --resume {out}'"
        )
    except (OSError, ValueError, KeyError):
        pass
    sys.stderr.write(
        f"error: rank {rank} (pid {pid}) was killed by signal {signum} "
        f"({sig.Signals(signum).name}), which ended the run{hint}\n"
    )
    return 128 + signum
