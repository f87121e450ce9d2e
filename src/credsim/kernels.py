"""Kernels that more than one phase (or the simulation's build) uses: the score and tier
of an agent, the friend sums that the association term reads, and an agent's listing
status. Phases import from here, never from each other."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, cast

import numba as nb
import numpy as np
from llvmlite import ir
from numba.core import cgutils, types
from numba.core.base import BaseContext
from numba.core.typing import Context, Signature
from numba.extending import intrinsic

from .constants import (
    LF_COURT,
    LF_COURT_WRONGFUL,
    LF_SCORE,
    LF_SCORE_WRONGFUL,
    ST_NOT_LISTED,
    ST_RIGHTFUL,
    ST_WRONGFUL,
    TIER_BOUNDS,
    TIER_NONE,
)
from .network import find_slot, is_active
from .rng import AGENT_GRAIN, Int, Typed, parallel_for, pieces, span, threads


@intrinsic
def _prefetch(typingctx: Context, arr: types.Type, idx: types.Type) -> Typed:
    """Ask the processor to bring the cache line of arr[idx] (idx within bounds) towards
    its caches, without waiting for it (LLVM's prefetch: a read, kept in every level)."""
    if not (isinstance(arr, types.Array) and isinstance(idx, types.Integer)):
        return None

    def codegen(
        context: BaseContext, builder: ir.IRBuilder, sig: Signature, args: Sequence[ir.Value]
    ) -> ir.Value:
        aryty = sig.args[0]
        ary = context.make_array(aryty)(context, builder, args[0])
        i = context.cast(builder, args[1], sig.args[1], types.int64)
        ptr = cgutils.get_item_pointer(context, builder, aryty, ary, [i])
        byte = ir.IntType(8).as_pointer()
        i32 = ir.IntType(32)
        fnty = ir.FunctionType(ir.VoidType(), [byte, i32, i32, i32])
        fn = cgutils.get_or_insert_function(builder.module, fnty, "llvm.prefetch.p0")
        builder.call(fn, [builder.bitcast(ptr, byte), i32(0), i32(3), i32(1)])
        return context.get_dummy_value()

    return types.void(arr, idx), codegen


prefetch = cast("Callable[[np.ndarray, Int], None]", _prefetch)


@nb.njit(inline="always")
def tier_of(x, bounds):
    """The tier of score x: one more than the last of ``bounds`` (an array, or the tuple
    of :func:`bounds_tuple`) that x reaches."""
    t = 0
    k = 0
    for v in bounds:
        k += 1
        if x >= v:
            t = k
    return t


assert len(TIER_BOUNDS) == 5  # bounds_tuple names them one by one


@nb.njit(inline="always")
def bounds_tuple(bounds):
    """The day's tier bounds as a tuple: read once before a loop over agents, they stay in
    registers (read from the array, they were loaded again for every agent: 40 % of the
    score pass at 10M)."""
    return (bounds[0], bounds[1], bounds[2], bounds[3], bounds[4])


@nb.njit(inline="always")
def rescore(i, scored, own, assoc, base, lo, hi, bounds, score, tier):
    """score = clip(base + own + assoc, lo, hi) and its tier; base and no tier if unscored."""
    if scored[i]:
        x = min(max(base + own[i] + assoc[i], lo), hi)
        score[i] = x
        tier[i] = tier_of(x, bounds)
    else:
        score[i] = base
        tier[i] = TIER_NONE


@nb.njit(nogil=True, cache=True)
def score_kernel(first, end, scored, own, assoc, base, lo, hi, bounds, score, tier):
    """The score and tier of agents first to end from their ledgers and association terms
    (once a run, on Python's threads through ``rng.parallel_for``: a parallel loop would
    add a second to the first run's compiling)."""
    for i in range(first, end):
        rescore(i, scored, own, assoc, base, lo, hi, bounds, score, tier)


@nb.njit(inline="always")
def status_of(lf):
    """An agent's listing status (ST_*) from its listing flags."""
    if lf & (LF_COURT_WRONGFUL | LF_SCORE_WRONGFUL):
        return ST_WRONGFUL
    if lf & (LF_COURT | LF_SCORE):
        return ST_RIGHTFUL
    return ST_NOT_LISTED


# ------------------------------------------------------------------------------------
# Friend sums: each agent's sum and count of its active scored friends' ledgers


@nb.njit(nogil=True, cache=True)
def friend_sums_kernel(first, end, indptr, nbr, active, scored, own, fsum, fcnt):
    """fsum, fcnt of agents first to end from scratch (after the state was edited by hand;
    through ``rng.parallel_for``)."""
    for i in range(first, end):
        s = 0.0
        c = 0
        for e in range(indptr[i], indptr[i + 1]):
            if is_active(active, e):
                j = nbr[e]
                if scored[j]:
                    s += own[j]
                    c += 1
        fsum[i] = s
        fcnt[i] = c


@nb.njit(cache=True)
def clear_friendships(a, b, own_a, own_b, scored_a, scored_b, indptr, nbr, active, fsum, fcnt):
    """Clear both directions of each cut friendship (a[k], b[k]), in order; each end
    loses the other's ledger (``own_*``, counted where ``scored_*``) from its friends' sum.
    In a partitioned run an end on another rank (outside [0, n)) is cleared there."""
    n = fsum.shape[0]
    for k in range(a.shape[0]):
        for side in range(2):
            x, y = (a[k], b[k]) if side == 0 else (b[k], a[k])
            if x < 0 or x >= n:
                continue
            e = find_slot(indptr, nbr, x, y)
            active[e >> 3] &= np.uint8(~(1 << (e & 7)) & 0xFF)
            if (scored_b[k] if side == 0 else scored_a[k]) != 0:
                fsum[x] -= own_b[k] if side == 0 else own_a[k]
                fcnt[x] -= 1


N_CHUNKS = 64  # fixed partition of the agents for finding the changed ledgers


@nb.njit(nogil=True, cache=True)
def _changed_count(ch0, ch1, delta, scored, step, cnt):
    """cnt[ch + 1]: how many scored agents of chunk ch changed their ledger today."""
    n = delta.shape[0]
    for ch in range(ch0, ch1):
        c = 0
        for j in span(ch * step, min(n, (ch + 1) * step)):
            c += (delta[j] != 0.0) & scored[j]
        cnt[ch + 1] = c


@nb.njit(nogil=True, cache=True)
def _changed_fill(ch0, ch1, delta, scored, step, off, out):
    """The changed agents of chunks ch0 to ch1, from off[ch]."""
    n = delta.shape[0]
    for ch in range(ch0, ch1):
        w = off[ch]
        for j in span(ch * step, min(n, (ch + 1) * step)):
            if delta[j] != 0.0 and scored[j]:
                out[w] = j
                w += 1


def changed_of(delta: np.ndarray, scored: np.ndarray, nchunks: int) -> np.ndarray:
    """The scored agents whose ledger changed today (``delta`` != 0), ascending: each
    chunk of a fixed partition counted, then listed, on Python's threads."""
    n = delta.shape[0]
    step = (n + nchunks - 1) // nchunks
    cnt = np.zeros(nchunks + 1, np.int64)
    # (the count, vectorised, costs about a sixteenth of what an agent of a day's pass
    # does: cut only where each piece is worth a hand-over to another thread)
    parallel_for(_changed_count, nchunks, delta, scored, step, cnt, grain=16 * AGENT_GRAIN, work=n)
    off = np.cumsum(cnt)
    out = np.empty(int(off[-1]), np.int64)
    parallel_for(_changed_fill, nchunks, delta, scored, step, off, out, grain=AGENT_GRAIN, work=n)
    return out


@nb.njit(cache=True)
def agents_with(col, mask):
    """The agents whose ``col`` has a bit of ``mask``, ascending (for the few agents a
    phase handles after its pass: two reads of one column, no temporary masks; the count
    without a branch, which LLVM vectorises)."""
    n = col.shape[0]
    c = 0
    for j in range(n):
        c += (col[j] & mask) != 0
    out = np.empty(c, np.int64)
    w = 0
    for j in range(n):
        if col[j] & mask:
            out[w] = j
            w += 1
    return out


@nb.njit(inline="always")
def _lower_bound(nbr, lo, hi, x):
    """First position in nbr[lo:hi] (sorted) whose value is at least x."""
    while lo < hi:
        mid = (lo + hi) >> 1
        if nbr[mid] < x:
            lo = mid + 1
        else:
            hi = mid
    return lo


PUSH_AHEAD = 4  # how many changed agents ahead the push prefetches (see push_kernel)


@nb.njit(nogil=True, cache=True)
def push_kernel(b0, b1, changed, delta, indptr, nbr, active, scored, fsum, nblocks):
    """Each scored agent in ``changed`` (ascending) adds its ledger's change ``delta`` to
    its active friends' sums. The friends are split into ``nblocks`` ranges of agents, one
    a task (blocks b0 to b1 here, through ``rng.parallel_for``): a task reads every changed
    agent's row but writes only the friends in its range, so each sum receives its
    additions in the order of ``changed`` whatever the number of threads, and no two tasks
    write the same sum."""
    n = fsum.shape[0]
    m = changed.shape[0]
    d = PUSH_AHEAD
    for b in range(b0, b1):
        lo = b * n // nblocks
        hi = (b + 1) * n // nblocks
        for k in range(m):
            # the rows of changed agents lie anywhere in memory: their row bounds are
            # fetched 3d agents ahead, their rows 2d ahead, their friends' sums d ahead
            if k + 3 * d < m:
                prefetch(indptr, changed[k + 3 * d])
            if k + 2 * d < m:
                r = np.int64(indptr[changed[k + 2 * d]])
                prefetch(nbr, r)
                prefetch(nbr, r + 16)
                prefetch(active, r >> 3)
            if k + d < m:
                r = changed[k + d]
                for e in range(indptr[r], indptr[r + 1]):
                    prefetch(fsum, nbr[e])
            j = changed[k]
            if not scored[j]:
                continue
            dv = delta[j]
            e1 = np.int64(indptr[j + 1])
            e = _lower_bound(nbr, np.int64(indptr[j]), e1, lo)
            while e < e1 and nbr[e] < hi:
                if is_active(active, e):
                    fsum[nbr[e]] += dv
                e += 1


def push_changes(sim: Any, changed: np.ndarray | None = None) -> None:
    """Bring friends' sums up to date after the ledgers of ``changed`` (by default every
    scored agent whose ``sim.day.delta`` is not zero) moved by ``sim.day.delta`` (in a
    partitioned run, every rank calls it together: friends on other ranks are sent the
    change)."""
    if not sim.association_on:
        return
    st, g = sim.state, sim.graph
    if changed is None:
        changed = changed_of(sim.day.delta, st.scored, N_CHUNKS)

    def push(changed: np.ndarray) -> None:
        # one range of friends a piece (a range re-reads every changed row: on one
        # thread, one range); a changed row costs about as much as 16 agents of a pass
        grain = max(1, AGENT_GRAIN // 16)
        nblocks = pieces(threads(), grain, changed.size)
        parallel_for(
            push_kernel, nblocks, changed, sim.day.delta, g.indptr, g.nbr, g.active,
            st.scored, st.fsum, nblocks, grain=grain, work=changed.size,
        )  # fmt: skip

    if sim.part is not None:
        from .partition import push_across

        push_across(sim, changed, push)
    elif changed.size:
        push(changed)


def travel_factors(share: float, ratio: np.ndarray) -> np.ndarray:
    """[others, frequent travellers] x ratio: the factors on a rate whose frequent
    travellers (``share`` of the agents) have ``ratio`` times the others' rate, the mean
    kept: others 1 / (1 + share (ratio - 1)), travellers ratio times that."""
    other = 1.0 / (1.0 + share * (np.asarray(ratio, np.float64) - 1.0))
    return np.stack([other, other * ratio])
