"""The friend network: undirected, no self-loops or duplicates, mostly within a region,
children linked to their parent. Stored as CSR (both directions, rows sorted) with one
"active" bit per directed edge; unfriending clears both bits, edges are never added."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import cast

import numba as nb
import numpy as np
from llvmlite import ir
from numba.core import cgutils, types
from numba.core.base import BaseContext
from numba.core.typing import Context, Signature
from numba.extending import intrinsic

from .constants import S_NETWORK
from .population import A_GROUP, Population
from .rng import Int, Typed, day_key, other_in_range, parallel_for, threads, uniform
from .scenario import Network as NetParams


@dataclass
class FriendGraph:
    indptr: np.ndarray  # [N + 1]: uint32, or int64 once the rows need 2**32 slots or more
    nbr: np.ndarray  # int32 [nnz], each row sorted ascending
    active: np.ndarray  # uint8 [ceil(nnz / 8)]: bit (e & 7) of byte (e >> 3)

    @property
    def n(self) -> int:
        return int(self.indptr.shape[0] - 1)

    @property
    def nnz(self) -> int:
        return int(self.nbr.shape[0])

    def nbytes(self) -> int:
        return self.indptr.nbytes + self.nbr.nbytes + self.active.nbytes

    def active_mask(self) -> np.ndarray:
        """A bool per directed edge (a copy: one byte per edge)."""
        return np.unpackbits(self.active, bitorder="little")[: self.nnz].astype(np.bool_)

    def active_edges(self) -> int:
        """Active undirected friendships (a count of the active bits)."""
        return int(np.bitwise_count(self.active).sum(dtype=np.int64)) // 2

    def degree(self) -> np.ndarray:
        """Friends of each agent, active or not (int64)."""
        out = self.indptr[1:].astype(np.int64)
        out -= self.indptr[:-1]
        return out

    def active_degree(self) -> np.ndarray:
        """Active friends of each agent (no per-edge temporaries)."""
        out = np.empty(self.n, np.int32)
        parallel_for(_active_degree, self.n, self.indptr, self.active, out)
        return out

    def friend_counts(self, scored: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """Active friends of each agent that are scored, as uint16 (the count that the
        state's friend sums keep). Before day 0 every ledger is 0, so each agent's sum of
        friends' ledgers is 0 and this is all there is to compute: when every agent is
        scored and every edge active, it is the degree (no pass over the edges)."""
        if out is None:
            out = np.empty(self.n, np.uint16)
        if self.n and scored.all() and self.active_edges() * 2 == self.nnz:
            np.subtract(self.indptr[1:], self.indptr[:-1], out=out, casting="unsafe")
        else:
            parallel_for(scored_degree, self.n, self.indptr, self.nbr, self.active, scored, out)
        return out


def cell_degrees(
    graph: FriendGraph, region: np.ndarray, attrs: np.ndarray, n_groups: int, n_cells: int
) -> np.ndarray:
    """int64 [n_cells]: the friends (edge ends, active or not) of the agents of each cell
    ``region * n_groups + (attrs & A_GROUP)``, in one pass over the agents."""
    out = np.zeros(n_cells, np.int64)
    _cell_degrees(graph.indptr, region, attrs, n_groups, out)
    return out


@nb.njit(nogil=True, cache=True)
def _cell_degrees(
    indptr: np.ndarray, region: np.ndarray, attrs: np.ndarray, n_groups: Int, out: np.ndarray
) -> None:
    for i in range(region.shape[0]):
        out[np.int64(region[i]) * n_groups + (attrs[i] & A_GROUP)] += indptr[i + 1] - indptr[i]


@nb.njit(nogil=True, cache=True)
def _active_degree(
    lo: Int, hi: Int, indptr: np.ndarray, active: np.ndarray, out: np.ndarray
) -> None:
    for i in range(lo, hi):
        c = 0
        for e in range(indptr[i], indptr[i + 1]):
            c += is_active(active, e)
        out[i] = c


@nb.njit(nogil=True, cache=True)
def scored_degree(
    lo: Int,
    hi: Int,
    indptr: np.ndarray,
    nbr: np.ndarray,
    active: np.ndarray,
    scored: np.ndarray,
    out: np.ndarray,
) -> None:
    """The active scored friends of agents lo to hi; a partitioned run's friends on other
    ranks (outside [0, n)) are not counted here (``Partition.friend_counts``)."""
    n = scored.shape[0]
    for i in range(lo, hi):
        c = 0
        for e in range(indptr[i], indptr[i + 1]):
            j = nbr[e]
            if 0 <= j < n:
                c += is_active(active, e) & scored[j]
        out[i] = c


@intrinsic
def _is_active(typingctx: Context, active: types.Type, e: types.Type) -> Typed:
    """Whether directed edge e is active: bit e & 7 of byte e >> 3 of ``active`` (a
    contiguous uint8 array), as an int64 0 or 1. An intrinsic: emitted into the calling
    kernel's edge loop, nothing to type or inline per call."""
    if not (
        isinstance(active, types.Array)
        and active.ndim == 1
        and active.layout == "C"
        and active.dtype == types.uint8
        and isinstance(e, types.Integer)
    ):
        return None

    def codegen(
        context: BaseContext, builder: ir.IRBuilder, sig: Signature, args: Sequence[ir.Value]
    ) -> ir.Value:
        ary = context.make_array(sig.args[0])(context, builder, args[0])
        x = context.cast(builder, args[1], sig.args[1], types.int64)
        byte = builder.load(builder.gep(ary.data, [builder.lshr(x, x.type(3))], inbounds=True))
        bit = builder.lshr(builder.zext(byte, x.type), builder.and_(x, x.type(7)))
        return builder.and_(bit, x.type(1))

    return types.int64(active, e), codegen


# The intrinsic as kernels call it (see rng.py)
is_active = cast("Callable[[np.ndarray, Int], Int]", _is_active)


@nb.njit(cache=True)
def find_slot(indptr: np.ndarray, nbr: np.ndarray, i: Int, j: Int) -> Int:
    """Position of j in row i (rows are sorted), or -1."""
    lo, hi = np.int64(indptr[i]), np.int64(indptr[i + 1])
    while lo < hi:
        mid = (lo + hi) >> 1
        v = nbr[mid]
        if v < j:
            lo = mid + 1
        elif v > j:
            hi = mid
        else:
            return mid
    return -1


# ---------------------------------------------------------------------------------------
# Generation. Agent i has m_i = base or base + 1 random "out" friends (base, and the share
# of base + 1, make the total round(n * mean_degree / 2) minus the child links):
# K_i ~ Binomial(m_i, 1 - p_same_region) of them anywhere (uniform over the agents other
# than i), the other m_i - K_i in its region (uniform over its region's other agents;
# anywhere if it has none), plus its parent for a child. Drawing K_i, then the targets, is
# the same law as a coin per target (the targets are exchangeable). Every target is a pure
# function of (key, i, slot): slot 0 gives m_i, 1 gives K_i, 2 + k the k-th in-region
# target, _ANY + k the k-th anywhere target; so targets are regenerated, never stored.
#
# Row i holds the union of i's targets and of the sources that target i. Writing each
# source straight into its targets' rows scatters into the whole array (a cache miss per
# slot at 10M agents), so the rows are built per block of 2**bits consecutive rows:
#   1. draw m_i, K_i, and count the targets each chunk of sources sends into each block;
#   2. lay the blocks out (each block gets its rows' out and in slots) and stage, in each
#      block's own space, every (source, target row) pair that lands in it: the sources as
#      int32 at the block's end, the target rows as uint16 at its start, sources ascending
#      (chunk by chunk); writes go to one stream per block and stay in cache;
#   3. per block (in cache): counting-sort the staged pairs by row, so each row's incoming
#      list is sorted; per row: regenerate and sort its own targets, merge, drop
#      duplicates (rare: a pair drawn twice, a parent drawn too) and write the row right
#      after the previous one (never past where the block's own staging lay);
#   4. close the gaps that duplicates leave between chunks of blocks (a small shift).
# A block whose staging would not fit its slots (more than twice as many in as out slots:
# only at extreme parameters) gets extra slots, which step 3/4 squeeze out again.
# Steps 1 and 2 are one serial kernel (_sources), step 3 another, each run on one chunk
# per thread (rng.parallel_for).
# Peak memory beside the final arrays: two bytes per agent (m_i, K_i), the block tables
# and one block's buffers per thread; never an edge list.
# ---------------------------------------------------------------------------------------

_ANY = 1 << 9  # first slot of the anywhere targets (in-region slots are 2 .. 2 + m_i, m_i < 256)
_BIG32 = np.int32(2**31 - 1)  # larger than any agent id
_MAX_TARGETS = 256  # out-friends of an agent: m_i < 256, plus a parent
_MIN_BITS, _MAX_BITS = 13, 16  # rows per block: 8192 to 65536 (j's row within is a uint16)


def _block_bits(n: int) -> int:
    """Blocks of 8192 rows (their buffers stay in cache), larger past 16M agents so that
    there are at most 2048 blocks (each one an open write stream while staging)."""
    return min(_MAX_BITS, max(_MIN_BITS, (max(n, 1) - 1).bit_length() - 11))


@nb.njit(cache=True)
def _targets(
    key: np.uint64,
    region: np.ndarray,
    region_start: np.ndarray,
    nin: np.ndarray,
    nany: np.ndarray,
    parent: np.ndarray,
    i: Int,
    out: np.ndarray,
) -> int:
    """Agent i's out targets into out[0:], in slot order; returns how many. The kernels
    below repeat these lines in place: a helper that takes arrays costs each call atomic
    reference counts, more than the draws themselves."""
    n = region.shape[0]
    r = region[i]
    lo = region_start[r]
    size = region_start[r + 1] - lo
    c = 0
    for k in range(nin[i]):
        out[c] = other_in_range(uniform(key, i, 2 + k), i, lo, size)
        c += 1
    for k in range(nany[i]):
        out[c] = other_in_range(uniform(key, i, _ANY + k), i, 0, n)
        c += 1
    if parent[i] >= 0:
        out[c] = parent[i]
        c += 1
    return c


@nb.njit(nogil=True, cache=True)
def _sources(
    t0: Int,
    t1: Int,
    stage: bool,
    key: np.uint64,
    region: np.ndarray,
    region_start: np.ndarray,
    parent: np.ndarray,
    thr: float,
    base: np.int64,
    cdf: np.ndarray,
    bounds: np.ndarray,
    bits: Int,
    nin: np.ndarray,
    nany: np.ndarray,
    cnt: np.ndarray,
    outc: np.ndarray,
    icur: np.ndarray,
    jcur: np.ndarray,
    nbr: np.ndarray,
    nbr16: np.ndarray,
) -> None:
    """The chunks t0 <= t < t1 of sources [bounds[t], bounds[t + 1]).
    1. (stage false) Draw nin[i] = m_i - K_i, nany[i] = K_i (cdf[e]: the Binomial(base +
    e, q) CDF) and count cnt[t, D], the targets in block D, and outc[t, D], the out
    slots of block D's rows.
    2. (stage true) Each (source i, target j): i at nbr[icur[t, D]] and j's row within its
    block D at nbr16[jcur[t, D]]."""
    n = region.shape[0]
    mask = (1 << bits) - 1
    tmp = np.empty(_MAX_TARGETS + 1, np.int32)
    for t in range(t0, t1):
        for i in range(bounds[t], bounds[t + 1]):
            r = region[i]
            lo = region_start[r]
            size = region_start[r + 1] - lo
            if not stage:
                extra = np.int64(uniform(key, i, 0) < thr)
                m = base + extra
                u = uniform(key, i, 1)
                k: Int = 0
                while k < m and u >= cdf[extra, k]:
                    k += 1
                if size < 2:
                    k = m  # no other agent in the region: all anywhere
                nin[i] = m - k
                nany[i] = k
            c = 0  # _targets(i)
            for x in range(nin[i]):
                tmp[c] = other_in_range(uniform(key, i, 2 + x), i, lo, size)
                c += 1
            for x in range(nany[i]):
                tmp[c] = other_in_range(uniform(key, i, _ANY + x), i, 0, n)
                c += 1
            if parent[i] >= 0:
                tmp[c] = parent[i]
                c += 1
            if not stage:
                for x in range(c):
                    cnt[t, tmp[x] >> bits] += 1
                outc[t, i >> bits] += c
                continue
            for x in range(c):
                j = tmp[x]
                d = j >> bits
                ic = icur[t, d]  # both cursors read before either write (may alias)
                jc = jcur[t, d]
                icur[t, d] = ic + 1
                jcur[t, d] = jc + 1
                nbr[ic] = i
                nbr16[jc] = j & mask


# Sorting networks (compare-exchanges i < j): Green's 16-input network, and that network
# pruned to 12 inputs.
# fmt: off
_NET12 = (
    (4, 8), (5, 6), (7, 11), (9, 10), (0, 5), (1, 7), (2, 9), (3, 4), (0, 1), (2, 3),
    (4, 5), (6, 8), (7, 9), (10, 11), (0, 2), (1, 3), (4, 10), (5, 11), (6, 7), (8, 9),
    (1, 2), (4, 6), (5, 7), (8, 10), (9, 11), (1, 4), (2, 6), (5, 8), (7, 10), (2, 4),
    (3, 6), (3, 5), (6, 8), (7, 9), (3, 4), (5, 6), (7, 8), (9, 10), (6, 7), (8, 9),
)
_NET16 = (
    (0, 13), (1, 12), (2, 15), (3, 14), (4, 8), (5, 6), (7, 11), (9, 10), (0, 5), (1, 7),
    (2, 9), (3, 4), (6, 13), (8, 14), (10, 15), (11, 12), (0, 1), (2, 3), (4, 5), (6, 8),
    (7, 9), (10, 11), (12, 13), (14, 15), (0, 2), (1, 3), (4, 10), (5, 11), (6, 7), (8, 9),
    (12, 14), (13, 15), (1, 2), (3, 12), (4, 6), (5, 7), (8, 10), (9, 11), (13, 14),
    (1, 4), (2, 6), (5, 8), (7, 10), (9, 13), (11, 14), (2, 4), (3, 6), (9, 12), (11, 13),
    (3, 5), (6, 8), (7, 9), (10, 12), (3, 4), (5, 6), (7, 8), (9, 10), (11, 12), (6, 7),
    (8, 9),
)
# fmt: on


def _network_sort(pairs: tuple[tuple[int, int], ...], width: int) -> Callable[[np.ndarray], None]:
    """An intrinsic sorting t[0:width] (int32, contiguous) in place with the network
    ``pairs``: loads, min/max selects, stores, emitted as LLVM IR (branch-free, and nothing
    for Numba to type or inline per compare-exchange)."""

    @intrinsic
    def sort_net(typingctx: Context, t: types.Type) -> Typed:
        if not (
            isinstance(t, types.Array)
            and t.ndim == 1
            and t.layout == "C"
            and t.dtype == types.int32
        ):
            return None

        def codegen(
            context: BaseContext, builder: ir.IRBuilder, sig: Signature, args: Sequence[ir.Value]
        ) -> ir.Value:
            ary = context.make_array(sig.args[0])(context, builder, args[0])
            ptrs = [cgutils.gep_inbounds(builder, ary.data, x) for x in range(width)]
            v = [builder.load(q) for q in ptrs]
            for a, b in pairs:
                lt = builder.icmp_signed("<", v[a], v[b])
                v[a], v[b] = builder.select(lt, v[a], v[b]), builder.select(lt, v[b], v[a])
            for q, x in zip(ptrs, v):
                builder.store(x, q)
            return context.get_dummy_value()

        return types.none(t), codegen

    return cast("Callable[[np.ndarray], None]", sort_net)


_sort12 = _network_sort(_NET12, 12)
_sort16 = _network_sort(_NET16, 16)


@nb.njit(inline="always")
def _sort_small(t: np.ndarray, no: Int) -> None:
    """Sort t[0:no] (branch-free networks up to 16; t holds at least 17), then t[no] = a
    sentinel."""
    if no <= 12:
        for x in range(no, 12):
            t[x] = _BIG32
        _sort12(t)
    elif no <= 16:
        for x in range(no, 16):
            t[x] = _BIG32
        _sort16(t)
    else:
        for x in range(1, no):  # insertion sort: only at mean degrees above 30
            v = t[x]
            y = x - 1
            while y >= 0 and t[y] > v:
                t[y + 1] = t[y]
                y -= 1
            t[y + 1] = v
    t[no] = _BIG32


@nb.njit(nogil=True, cache=True)
def _assemble(
    c0: Int,
    c1: Int,
    key: np.uint64,
    region: np.ndarray,
    region_start: np.ndarray,
    nin: np.ndarray,
    nany: np.ndarray,
    parent: np.ndarray,
    cb: np.ndarray,
    bits: Int,
    P: np.ndarray,
    n_in: np.ndarray,
    nbr: np.ndarray,
    nbr16: np.ndarray,
    indptr: np.ndarray,
    outw: np.ndarray,
    max_in: Int,
    max_out: Int,
) -> None:
    """3. For each chunk of blocks c0 <= c < c1: blocks cb[c] .. cb[c + 1] - 1, in order,
    written from P[cb[c]] on; outw[c] is where the chunk's output ends. A block's staged
    pairs are read (into lbuf, by row) before any of its rows is written, and writes never
    pass the block's end."""
    n = region.shape[0]
    lbuf = np.empty(max_in, np.int32)
    rowc = np.empty((1 << bits) + 1, np.int64)
    tmp = np.empty(max_out + 1, np.int32)  # max_out >= 16: room for a sorting network
    for c in range(c0, c1):
        w = P[cb[c]]
        for d in range(cb[c], cb[c + 1]):
            d0 = d << bits
            nr = (1 << bits) if d0 + (1 << bits) <= n else n - d0
            ni = n_in[d]
            ib = P[d + 1] - ni  # staged sources
            jb = 2 * P[d]  # staged rows (uint16 index)
            for r in range(nr + 1):
                rowc[r] = 0
            for x in range(ni):
                rowc[nbr16[jb + x]] += 1
            acc = 0
            for r in range(nr):
                cr = rowc[r]
                rowc[r] = acc
                acc += cr
            for x in range(ni):
                r = nbr16[jb + x]
                lbuf[rowc[r]] = nbr[ib + x]
                rowc[r] += 1
            q = 0  # row r's incoming list is lbuf[q:rowc[r]], sorted
            for r in range(nr):
                i = d0 + r
                qe = rowc[r]
                rg = region[i]
                lo = region_start[rg]
                size = region_start[rg + 1] - lo
                no = 0  # _targets(i)
                for k in range(nin[i]):
                    tmp[no] = other_in_range(uniform(key, i, 2 + k), i, lo, size)
                    no += 1
                for k in range(nany[i]):
                    tmp[no] = other_in_range(uniform(key, i, _ANY + k), i, 0, n)
                    no += 1
                if parent[i] >= 0:
                    tmp[no] = parent[i]
                    no += 1
                _sort_small(tmp, no)
                indptr[i] = w
                x = 0
                last = np.int32(-1)
                while q < qe:  # branch-free merge, dropping repeats
                    a = tmp[x]
                    b = lbuf[q]
                    take = a <= b
                    v = a if take else b
                    x += take
                    q += not take
                    nbr[w] = v
                    w += v != last
                    last = v
                while x < no:
                    v = tmp[x]
                    x += 1
                    nbr[w] = v
                    w += v != last
                    last = v
        outw[c] = w


@nb.njit(nogil=True, cache=True)
def _copy_left(
    k0: Int,
    k1: Int,
    a: np.ndarray,
    src: Int,
    dst: Int,
    length: Int,
    plen: Int,
    side: np.ndarray,
) -> None:
    """4. Pieces k0 <= k < k1 of a[dst:dst + length] = a[src:src + length] (dst < src,
    pieces of plen): each piece copies forward; the slots a piece overwrites at the end of
    the piece before it were copied aside (``side``) first."""
    sh = src - dst
    npc = (length + plen - 1) // plen
    for k in range(k0, k1):
        s0 = k * plen
        ln = min(plen, length - s0)
        cut = ln - sh if k < npc - 1 else ln
        for p in range(max(cut, 0)):
            a[dst + s0 + p] = a[src + s0 + p]
        for p in range(max(cut, 0), ln):
            a[dst + s0 + p] = side[k, p - cut]


def _move_left(a: np.ndarray, src: int, dst: int, length: int) -> None:
    """a[dst:dst + length] = a[src:src + length] for dst < src, in parallel pieces."""
    sh = src - dst
    if sh <= 0 or length <= 0:
        return
    pieces = max(1, min(threads(), length // max(4 * sh, 1 << 16)))
    plen = (length + pieces - 1) // pieces
    npc = (length + plen - 1) // plen
    side = np.empty((npc, sh), a.dtype)
    for k in range(npc - 1):  # the tail of each piece's source, before the next overwrites it
        e = src + (k + 1) * plen
        side[k] = a[e - sh : e]
    parallel_for(_copy_left, npc, a, src, dst, length, plen, side, grain=1)


def _binomial_cdf(m: int, q: float) -> np.ndarray:
    """P(K <= k), k = 0..m, for K ~ Binomial(m, q) (the last entry exactly 1)."""
    pmf = np.array([math.comb(m, k) * q**k * (1.0 - q) ** (m - k) for k in range(m + 1)])
    cdf = np.cumsum(pmf)
    cdf[-1] = 1.0
    return cdf


def _bounds(n: int, t: int) -> np.ndarray:
    return (np.arange(t + 1, dtype=np.int64) * n) // t


def build_network(pop: Population, p: NetParams, seed: int, chunks: int = 0) -> FriendGraph:
    """Random friendships (a share ``p_same_region`` within the region) plus child-parent
    links, symmetrised and deduplicated; O(agents + edges) time, and beside the final
    arrays a few bytes per agent. Built in ``chunks`` parallel chunks (0: one a thread);
    the graph depends on neither."""
    return _build(pop, p, seed, chunks or threads(), _block_bits(pop.n))


def _build(pop: Population, p: NetParams, seed: int, chunks: int, bits: int) -> FriendGraph:
    """build_network with ``chunks`` parallel chunks and blocks of 2**bits rows (any
    values give the same graph)."""
    n = pop.n
    parent = np.ascontiguousarray(pop.parent, dtype=np.int32)  # read once (may be computed)
    region = np.ascontiguousarray(pop.region)
    region_start = np.ascontiguousarray(pop.region_start, dtype=np.int64)
    assert 1 <= bits <= _MAX_BITS
    nt = max(1, min(chunks, n // 64))
    bounds = _bounds(n, nt)
    links = int(np.count_nonzero(parent >= 0))
    total = int(round(n * p.mean_degree / 2))
    r = max(0, total - links) if n > 1 else 0
    base, frac = divmod(r, n) if n else (0, 0)
    if base + 1 >= 256:
        raise ValueError(f"network.mean_degree {p.mean_degree}: too large")
    q = min(max(1.0 - float(p.p_same_region), 0.0), 1.0)
    key = day_key(seed, S_NETWORK, 0)
    nblk = max(1, (n + (1 << bits) - 1) >> bits)
    nin = np.empty(n, np.uint8)
    nany = np.empty(n, np.uint8)
    cnt = np.zeros((nt, nblk), np.int64)
    outc = np.zeros((nt, nblk), np.int64)
    cdf = np.ones((2, base + 2))
    cdf[0, : base + 1] = _binomial_cdf(base, q)
    cdf[1] = _binomial_cdf(base + 1, q)
    none = np.zeros((1, 1), np.int64)
    parallel_for(
        _sources,
        nt,
        False,
        key,
        region,
        region_start,
        parent,
        frac / max(n, 1),
        np.int64(base),
        cdf,
        bounds,
        np.int64(bits),
        nin,
        nany,
        cnt,
        outc,
        none,
        none,
        np.zeros(1, np.int32),
        np.zeros(1, np.uint16),
        grain=1,
    )
    n_in = cnt.sum(axis=0)  # in slots of each block (= its staged pairs)
    n_out = outc.sum(axis=0)
    extra = np.maximum((n_in + 1) // 2 - n_out, 0)  # staging needs 1.5 slots a pair
    P = np.zeros(nblk + 1, np.int64)
    np.cumsum(n_in + n_out + extra, out=P[1:])
    slots = int(P[-1])
    nbr = np.empty(slots, np.int32)
    before = np.zeros_like(cnt)  # pairs staged in each block by the chunks before t
    np.cumsum(cnt[:-1], axis=0, out=before[1:])
    icur = (P[1:] - n_in)[None, :] + before
    jcur = 2 * P[:-1][None, :] + before
    del outc, before
    parallel_for(
        _sources,
        nt,
        True,
        key,
        region,
        region_start,
        parent,
        0.0,
        np.int64(base),
        cdf,
        bounds,
        np.int64(bits),
        nin,
        nany,
        none,
        none,
        icur,
        jcur,
        nbr,
        nbr.view(np.uint16),
        grain=1,
    )
    del cnt, icur, jcur
    indptr = np.empty(n + 1, np.uint32 if slots < 2**32 else np.int64)
    nc = max(1, min(chunks, nblk))
    cb = _bounds(nblk, nc)
    outw = np.zeros(nc, np.int64)
    parallel_for(
        _assemble,
        nc,
        key,
        region,
        region_start,
        nin,
        nany,
        parent,
        cb,
        np.int64(bits),
        P,
        n_in,
        nbr,
        nbr.view(np.uint16),
        indptr,
        outw,
        int(n_in.max()),
        max(int(base) + 2, 16),
        grain=1,
    )
    del nin, nany
    w = int(outw[0])
    for c in range(1, nc):  # close the gaps between chunks
        src = int(P[cb[c]])
        length = int(outw[c]) - src
        if src > w:
            _move_left(nbr, src, w, length)
            rows = slice(int(cb[c]) << bits, min(n, int(cb[c + 1]) << bits))
            indptr[rows] = indptr[rows] - (src - w)
        w += length
    indptr[n] = w
    nnz = w
    if nnz < slots:
        nbr.resize(nnz, refcheck=False)  # shrinks in place (realloc)
    active = np.full((nnz + 7) // 8, 0xFF, np.uint8)
    if nnz % 8:
        active[-1] = (1 << (nnz % 8)) - 1
    return FriendGraph(indptr, nbr, active)


# ---------------------------------------------------------------------------------------
# A partitioned run's part of the graph (credsim.partition): the rows of the agents
# [lo, hi) of this rank, the same rows as build_network gives. Each rank draws the targets
# of its own agents (the same draws, keyed by the run's agent index); the pairs whose
# target is on another rank are sent there in one exchange; each row then holds its
# sources (received from lower ranks, its own, then from higher ranks: ascending) and is
# merged with its own targets, regenerated, as above. The rows are written in place:
# beside them only the pairs that cross ranks are held.
# ---------------------------------------------------------------------------------------


@nb.njit(inline="always")
def _owner(bounds: np.ndarray, j: Int) -> Int:
    """The rank whose agents [bounds[r], bounds[r + 1]) hold j."""
    a = 0
    b = bounds.shape[0] - 1
    while b - a > 1:
        mid = (a + b) >> 1
        if bounds[mid] <= j:
            a = mid
        else:
            b = mid
    return a


@nb.njit(cache=True)
def _part_sources(
    mode: Int,
    lo: Int,
    n: Int,
    key: np.uint64,
    region_start: np.ndarray,
    region: np.ndarray,
    parent: np.ndarray,
    thr: float,
    base: np.int64,
    cdf: np.ndarray,
    bounds: np.ndarray,
    nin: np.ndarray,
    nany: np.ndarray,
    nout: np.ndarray,
    incnt: np.ndarray,
    sendcnt: np.ndarray,
    sendcur: np.ndarray,
    send: np.ndarray,
    rstart: np.ndarray,
    fill: np.ndarray,
    nbr: np.ndarray,
) -> None:
    """The targets of this rank's agents (run indices lo + i; ``region_start`` of the
    run, ``parent`` local). mode 0: draw nin, nany, count each row's sources here
    (``incnt``) and the pairs for each other rank (``sendcnt``); mode 1: those pairs
    (source, target) into ``send`` from ``sendcur[rank]``; mode 2: each source into its
    local target's row (``nbr`` from ``rstart``, ``fill`` so far)."""
    m = region.shape[0]
    hi = lo + m
    tmp = np.empty(_MAX_TARGETS + 1, np.int64)
    for il in range(m):
        i = lo + il
        r = region[il]
        rlo = region_start[r]
        size = region_start[r + 1] - rlo
        if mode == 0:
            extra = np.int64(uniform(key, i, 0) < thr)
            mm = base + extra
            u = uniform(key, i, 1)
            k: Int = 0
            while k < mm and u >= cdf[extra, k]:
                k += 1
            if size < 2:
                k = mm  # no other agent in the region: all anywhere
            nin[il] = mm - k
            nany[il] = k
        c = 0
        for x in range(nin[il]):
            tmp[c] = other_in_range(uniform(key, i, 2 + x), i, rlo, size)
            c += 1
        for x in range(nany[il]):
            tmp[c] = other_in_range(uniform(key, i, _ANY + x), i, 0, n)
            c += 1
        if parent[il] >= 0:
            tmp[c] = lo + parent[il]
            c += 1
        if mode == 0:
            nout[il] = c
        for x in range(c):
            j = tmp[x]
            if lo <= j < hi:
                if mode == 0:
                    incnt[j - lo] += 1
                elif mode == 2:
                    jl = j - lo
                    nbr[rstart[jl] + fill[jl]] = i
                    fill[jl] += 1
            elif mode == 0:
                sendcnt[_owner(bounds, j)] += 1
            elif mode == 1:
                q = _owner(bounds, j)
                w = sendcur[q]
                send[w, 0] = i
                send[w, 1] = j
                sendcur[q] = w + 1


@nb.njit(cache=True)
def _part_place(
    pairs: np.ndarray, lo: Int, rstart: np.ndarray, fill: np.ndarray, nbr: np.ndarray
) -> None:
    """Received (source, target) pairs: each source into its target's row."""
    for k in range(pairs.shape[0]):
        jl = pairs[k, 1] - lo
        nbr[rstart[jl] + fill[jl]] = pairs[k, 0]
        fill[jl] += 1


@nb.njit(cache=True)
def _part_assemble(
    lo: Int,
    n: Int,
    key: np.uint64,
    region_start: np.ndarray,
    region: np.ndarray,
    parent: np.ndarray,
    nin: np.ndarray,
    nany: np.ndarray,
    incnt: np.ndarray,
    rstart: np.ndarray,
    nbr: np.ndarray,
    indptr: np.ndarray,
    max_in: Int,
    max_out: Int,
) -> Int:
    """Each row: its sources (at rstart, ascending) merged with its own targets, repeats
    dropped, written after the row before; returns the slots used."""
    m = region.shape[0]
    lbuf = np.empty(max_in + 1, np.int32)
    tmp = np.empty(max_out + 1, np.int32)
    w = np.int64(0)
    for il in range(m):
        i = lo + il
        ni = incnt[il]
        s0 = rstart[il]
        for x in range(ni):
            lbuf[x] = nbr[s0 + x]
        r = region[il]
        rlo = region_start[r]
        size = region_start[r + 1] - rlo
        no = 0
        for k in range(nin[il]):
            tmp[no] = other_in_range(uniform(key, i, 2 + k), i, rlo, size)
            no += 1
        for k in range(nany[il]):
            tmp[no] = other_in_range(uniform(key, i, _ANY + k), i, 0, n)
            no += 1
        if parent[il] >= 0:
            tmp[no] = lo + parent[il]
            no += 1
        _sort_small(tmp, no)
        indptr[il] = w
        x = 0
        q = 0
        last = np.int32(-1)
        while q < ni:
            a = tmp[x]
            b = lbuf[q]
            take = a <= b
            v = a if take else b
            x += take
            q += not take
            nbr[w] = v
            w += v != last
            last = v
        while x < no:
            v = tmp[x]
            x += 1
            nbr[w] = v
            w += v != last
            last = v
    indptr[m] = w
    return w


def build_network_part(pop: Population, p: NetParams, seed: int, part: object) -> FriendGraph:
    """This rank's rows of the run's friend graph (see build_network), for the agents
    [part.lo, part.hi) of the run whose population slice ``pop`` holds (indexed from 0,
    as its neighbours are: those on other ranks lie outside [0, n))."""
    from .partition import Partition

    assert isinstance(part, Partition)
    lo = part.lo
    m = pop.n
    n = int(part.bounds[-1])
    parent = np.ascontiguousarray(pop.parent, dtype=np.int32)
    region = np.ascontiguousarray(pop.region)
    region_start = np.ascontiguousarray(pop.region_start + lo, dtype=np.int64)  # the run's
    links = part.total(int(np.count_nonzero(parent >= 0)))
    total = int(round(n * p.mean_degree / 2))
    r = max(0, total - links) if n > 1 else 0
    base, frac = divmod(r, n) if n else (0, 0)
    if base + 1 >= 256:
        raise ValueError(f"network.mean_degree {p.mean_degree}: too large")
    q = min(max(1.0 - float(p.p_same_region), 0.0), 1.0)
    key = day_key(seed, S_NETWORK, 0)
    cdf = np.ones((2, base + 2))
    cdf[0, : base + 1] = _binomial_cdf(base, q)
    cdf[1] = _binomial_cdf(base + 1, q)
    nin = np.empty(m, np.uint8)
    nany = np.empty(m, np.uint8)
    nout = np.empty(m, np.int32)
    incnt = np.zeros(m, np.int64)
    sendcnt = np.zeros(part.size, np.int64)
    args = (lo, n, key, region_start, region, parent, frac / max(n, 1), np.int64(base), cdf,
            part.bounds, nin, nany, nout, incnt, sendcnt)  # fmt: skip
    none1 = np.zeros(1, np.int64)
    none2 = np.zeros((1, 2), np.int32)
    _part_sources(0, *args, none1, none2, none1, none1, np.zeros(1, np.int32))
    sendcur = np.zeros(part.size, np.int64)
    np.cumsum(sendcnt[:-1], out=sendcur[1:])
    send = np.empty((int(sendcnt.sum()), 2), np.int32)
    _part_sources(1, *args, sendcur, send, none1, none1, np.zeros(1, np.int32))
    pairs = send.view(np.dtype([("s", np.int32), ("t", np.int32)])).reshape(-1)
    dest = np.repeat(np.arange(part.size), sendcnt)
    got = [g.view(np.int32).reshape(-1, 2) for g in part.exchange("build", pairs, dest)]
    del send, pairs
    for g in got:
        np.add.at(incnt, g[:, 1] - lo, 1)
    rstart = np.zeros(m + 1, np.int64)
    np.cumsum(nout.astype(np.int64) + incnt, out=rstart[1:])
    nbr = np.empty(int(rstart[-1]), np.int32)
    fill = np.zeros(m, np.int64)
    for g in got[: part.rank]:  # sources of lower ranks come first
        _part_place(g, lo, rstart, fill, nbr)
    _part_sources(2, *args, none1, none2, rstart, fill, nbr)
    for g in got[part.rank + 1 :]:
        _part_place(g, lo, rstart, fill, nbr)
    del got, fill
    slots = int(rstart[-1])
    indptr = np.empty(m + 1, np.uint32 if slots < 2**32 else np.int64)
    nnz = int(
        _part_assemble(
            lo, n, key, region_start, region, parent, nin, nany, incnt, rstart, nbr, indptr,
            int(incnt.max()) if m else 0, max(int(base) + 2, 16),
        )
    )  # fmt: skip
    if nnz < slots:
        nbr.resize(nnz, refcheck=False)
    nbr -= np.int32(lo)  # the rank's own indices; friends on other ranks fall outside [0, m)
    active = np.full((nnz + 7) // 8, 0xFF, np.uint8)
    if nnz % 8:
        active[-1] = (1 << (nnz % 8)) - 1
    return FriendGraph(indptr, nbr, active)
