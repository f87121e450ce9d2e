"""The friend network: undirected, no self-loops or duplicates, mostly within a region,
children linked to their parent. Stored as CSR (both directions, rows sorted) with one
"active" bit per directed edge; unfriending clears both bits, edges are never added."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numba as nb
import numpy as np

from .constants import S_NETWORK
from .population import Population
from .rng import Int, day_key, other_in_range, uniform
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
        """Active undirected friendships."""
        return int(self.active_degree().sum()) // 2

    def degree(self) -> np.ndarray:
        """Friends of each agent, active or not (int64)."""
        out = self.indptr[1:].astype(np.int64)
        out -= self.indptr[:-1]
        return out

    def active_degree(self) -> np.ndarray:
        """Active friends of each agent (no per-edge temporaries)."""
        out = np.empty(self.n, np.int32)
        _active_degree(self.indptr, self.active, out)
        return out


@nb.njit(parallel=True, cache=True)
def _active_degree(indptr: np.ndarray, active: np.ndarray, out: np.ndarray) -> None:
    for i in nb.prange(indptr.shape[0] - 1):
        c = 0
        for e in range(indptr[i], indptr[i + 1]):
            c += is_active(active, e)
        out[i] = c


@nb.njit(inline="always")
def is_active(active: np.ndarray, e: Int) -> Int:
    """Whether directed edge e is active (bit e & 7 of byte e >> 3)."""
    return (active[e >> 3] >> (e & 7)) & 1


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


@nb.njit(inline="always")
def _region_of(region: np.ndarray, region_start: np.ndarray, i: Int) -> tuple[Int, Int]:
    r = region[i]
    lo = region_start[r]
    return lo, region_start[r + 1] - lo


@nb.njit(inline="always")
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
    """Agent i's out targets into out[0:], in slot order; returns how many."""
    n = region.shape[0]
    lo, size = _region_of(region, region_start, i)
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


@nb.njit(parallel=True, cache=True)
def _count_children(parent: np.ndarray, bounds: np.ndarray, part: np.ndarray) -> None:
    for t in nb.prange(bounds.shape[0] - 1):
        c = 0
        for i in range(bounds[t], bounds[t + 1]):
            c += parent[i] >= 0
        part[t] = c


@nb.njit(parallel=True, cache=True)
def _draw_count(
    key: np.uint64,
    region: np.ndarray,
    region_start: np.ndarray,
    parent: np.ndarray,
    thr: float,
    base: np.int64,
    cdf0: np.ndarray,
    cdf1: np.ndarray,
    bounds: np.ndarray,
    bits: Int,
    nin: np.ndarray,
    nany: np.ndarray,
    cnt: np.ndarray,
    outc: np.ndarray,
    part: np.ndarray,
) -> None:
    """1. nin[i] = m_i - K_i, nany[i] = K_i; for the chunk t of sources [bounds[t],
    bounds[t + 1]): cnt[t, D] targets in block D, outc[t, D] out slots of block D's rows,
    part[t] = sum of m_i."""
    for t in nb.prange(bounds.shape[0] - 1):
        tmp = np.empty(_MAX_TARGETS + 1, np.int32)
        tot: Int = 0
        for i in range(bounds[t], bounds[t + 1]):
            extra = uniform(key, i, 0) < thr
            m = base + extra
            cdf = cdf1 if extra else cdf0
            u = uniform(key, i, 1)
            k: Int = 0
            while k < m and u >= cdf[k]:
                k += 1
            if region_start[region[i] + 1] - region_start[region[i]] < 2:
                k = m  # no other agent in the region: all anywhere
            nin[i] = m - k
            nany[i] = k
            tot += m
            no = _targets(key, region, region_start, nin, nany, parent, i, tmp)
            for x in range(no):
                cnt[t, tmp[x] >> bits] += 1
            outc[t, i >> bits] += no
        part[t] = tot


@nb.njit(parallel=True, cache=True)
def _stage(
    key: np.uint64,
    region: np.ndarray,
    region_start: np.ndarray,
    nin: np.ndarray,
    nany: np.ndarray,
    parent: np.ndarray,
    bounds: np.ndarray,
    bits: Int,
    icur: np.ndarray,
    jcur: np.ndarray,
    nbr: np.ndarray,
    nbr16: np.ndarray,
) -> None:
    """2. Each (source i, target j) of the chunk t of sources: i at nbr[icur[t, D]] and j's
    row within its block D at nbr16[jcur[t, D]]."""
    mask = (1 << bits) - 1
    for t in nb.prange(bounds.shape[0] - 1):
        tmp = np.empty(_MAX_TARGETS + 1, np.int32)
        for i in range(bounds[t], bounds[t + 1]):
            for x in range(_targets(key, region, region_start, nin, nany, parent, i, tmp)):
                j = tmp[x]
                d = j >> bits
                nbr[icur[t, d]] = i
                icur[t, d] += 1
                nbr16[jcur[t, d]] = j & mask
                jcur[t, d] += 1


@nb.njit(inline="always")
def _ce(a: Int, b: Int) -> tuple[Int, Int]:
    return min(a, b), max(a, b)


@nb.njit(inline="always")
def _sort12(t: np.ndarray) -> None:
    """Sort t[0:12]: Green's 16-input network, pruned to 12 inputs."""
    a0, a1, a2, a3, a4, a5, a6, a7 = t[0], t[1], t[2], t[3], t[4], t[5], t[6], t[7]
    a8, a9, a10, a11 = t[8], t[9], t[10], t[11]
    a4, a8 = _ce(a4, a8)
    a5, a6 = _ce(a5, a6)
    a7, a11 = _ce(a7, a11)
    a9, a10 = _ce(a9, a10)
    a0, a5 = _ce(a0, a5)
    a1, a7 = _ce(a1, a7)
    a2, a9 = _ce(a2, a9)
    a3, a4 = _ce(a3, a4)
    a0, a1 = _ce(a0, a1)
    a2, a3 = _ce(a2, a3)
    a4, a5 = _ce(a4, a5)
    a6, a8 = _ce(a6, a8)
    a7, a9 = _ce(a7, a9)
    a10, a11 = _ce(a10, a11)
    a0, a2 = _ce(a0, a2)
    a1, a3 = _ce(a1, a3)
    a4, a10 = _ce(a4, a10)
    a5, a11 = _ce(a5, a11)
    a6, a7 = _ce(a6, a7)
    a8, a9 = _ce(a8, a9)
    a1, a2 = _ce(a1, a2)
    a4, a6 = _ce(a4, a6)
    a5, a7 = _ce(a5, a7)
    a8, a10 = _ce(a8, a10)
    a9, a11 = _ce(a9, a11)
    a1, a4 = _ce(a1, a4)
    a2, a6 = _ce(a2, a6)
    a5, a8 = _ce(a5, a8)
    a7, a10 = _ce(a7, a10)
    a2, a4 = _ce(a2, a4)
    a3, a6 = _ce(a3, a6)
    a3, a5 = _ce(a3, a5)
    a6, a8 = _ce(a6, a8)
    a7, a9 = _ce(a7, a9)
    a3, a4 = _ce(a3, a4)
    a5, a6 = _ce(a5, a6)
    a7, a8 = _ce(a7, a8)
    a9, a10 = _ce(a9, a10)
    a6, a7 = _ce(a6, a7)
    a8, a9 = _ce(a8, a9)
    t[0], t[1], t[2], t[3], t[4], t[5], t[6], t[7] = a0, a1, a2, a3, a4, a5, a6, a7
    t[8], t[9], t[10], t[11] = a8, a9, a10, a11


@nb.njit(inline="always")
def _sort16(t: np.ndarray) -> None:
    """Sort t[0:16]: Green's 16-input network (60 compare-exchanges)."""
    a0, a1, a2, a3, a4, a5, a6, a7 = t[0], t[1], t[2], t[3], t[4], t[5], t[6], t[7]
    a8, a9, a10, a11, a12, a13, a14, a15 = t[8], t[9], t[10], t[11], t[12], t[13], t[14], t[15]
    a0, a13 = _ce(a0, a13)
    a1, a12 = _ce(a1, a12)
    a2, a15 = _ce(a2, a15)
    a3, a14 = _ce(a3, a14)
    a4, a8 = _ce(a4, a8)
    a5, a6 = _ce(a5, a6)
    a7, a11 = _ce(a7, a11)
    a9, a10 = _ce(a9, a10)
    a0, a5 = _ce(a0, a5)
    a1, a7 = _ce(a1, a7)
    a2, a9 = _ce(a2, a9)
    a3, a4 = _ce(a3, a4)
    a6, a13 = _ce(a6, a13)
    a8, a14 = _ce(a8, a14)
    a10, a15 = _ce(a10, a15)
    a11, a12 = _ce(a11, a12)
    a0, a1 = _ce(a0, a1)
    a2, a3 = _ce(a2, a3)
    a4, a5 = _ce(a4, a5)
    a6, a8 = _ce(a6, a8)
    a7, a9 = _ce(a7, a9)
    a10, a11 = _ce(a10, a11)
    a12, a13 = _ce(a12, a13)
    a14, a15 = _ce(a14, a15)
    a0, a2 = _ce(a0, a2)
    a1, a3 = _ce(a1, a3)
    a4, a10 = _ce(a4, a10)
    a5, a11 = _ce(a5, a11)
    a6, a7 = _ce(a6, a7)
    a8, a9 = _ce(a8, a9)
    a12, a14 = _ce(a12, a14)
    a13, a15 = _ce(a13, a15)
    a1, a2 = _ce(a1, a2)
    a3, a12 = _ce(a3, a12)
    a4, a6 = _ce(a4, a6)
    a5, a7 = _ce(a5, a7)
    a8, a10 = _ce(a8, a10)
    a9, a11 = _ce(a9, a11)
    a13, a14 = _ce(a13, a14)
    a1, a4 = _ce(a1, a4)
    a2, a6 = _ce(a2, a6)
    a5, a8 = _ce(a5, a8)
    a7, a10 = _ce(a7, a10)
    a9, a13 = _ce(a9, a13)
    a11, a14 = _ce(a11, a14)
    a2, a4 = _ce(a2, a4)
    a3, a6 = _ce(a3, a6)
    a9, a12 = _ce(a9, a12)
    a11, a13 = _ce(a11, a13)
    a3, a5 = _ce(a3, a5)
    a6, a8 = _ce(a6, a8)
    a7, a9 = _ce(a7, a9)
    a10, a12 = _ce(a10, a12)
    a3, a4 = _ce(a3, a4)
    a5, a6 = _ce(a5, a6)
    a7, a8 = _ce(a7, a8)
    a9, a10 = _ce(a9, a10)
    a11, a12 = _ce(a11, a12)
    a6, a7 = _ce(a6, a7)
    a8, a9 = _ce(a8, a9)
    t[0], t[1], t[2], t[3], t[4], t[5], t[6], t[7] = a0, a1, a2, a3, a4, a5, a6, a7
    t[8], t[9], t[10], t[11], t[12], t[13], t[14], t[15] = a8, a9, a10, a11, a12, a13, a14, a15


@nb.njit(inline="always")
def _sort_small(t: np.ndarray, no: Int) -> None:
    """Sort t[0:no] (branch-free networks up to 16), then t[no] = a sentinel."""
    if no <= 12:
        for x in range(no, 12):
            t[x] = _BIG32
        _sort12(t)
    elif no <= 16:
        for x in range(no, 16):
            t[x] = _BIG32
        _sort16(t)
    else:
        t[:no].sort()
    t[no] = _BIG32


@nb.njit(parallel=True, cache=True)
def _assemble(
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
    """3. Blocks cb[c] .. cb[c + 1] - 1, in order, written from P[cb[c]] on; outw[c] is
    where the chunk's output ends. A block's staged pairs are read (into lbuf, by row)
    before any of its rows is written, and writes never pass the block's end."""
    n = region.shape[0]
    for c in nb.prange(cb.shape[0] - 1):
        lbuf = np.empty(max_in, np.int32)
        rowc = np.empty((1 << bits) + 1, np.int64)
        tmp = np.empty(max(max_out, 16) + 1, np.int32)
        w = P[cb[c]]
        for d in range(cb[c], cb[c + 1]):
            d0 = d << bits
            nr = min(n, d0 + (1 << bits)) - d0
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
                no = _targets(key, region, region_start, nin, nany, parent, i, tmp)
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


@nb.njit(parallel=True, cache=True)
def _move_left(a: np.ndarray, src: Int, dst: Int, length: Int, pieces: Int) -> None:
    """4. a[dst:dst + length] = a[src:src + length] for dst <= src, in parallel pieces (the
    slots each piece overwrites in the piece before it are copied aside first)."""
    sh = src - dst
    if sh <= 0 or length <= 0:
        return
    plen = (length + pieces - 1) // pieces
    if pieces < 2 or sh >= plen:
        for p in range(length):
            a[dst + p] = a[src + p]
        return
    npc = (length + plen - 1) // plen
    side = np.empty((npc, sh), a.dtype)
    for k in nb.prange(npc - 1):
        e = src + (k + 1) * plen
        for p in range(sh):
            side[k, p] = a[e - sh + p]
    for k in nb.prange(npc):
        s0 = k * plen
        ln = min(plen, length - s0)
        cut = ln - sh if k < npc - 1 else ln
        for p in range(cut):
            a[dst + s0 + p] = a[src + s0 + p]
        for p in range(max(cut, 0), ln):
            a[dst + s0 + p] = side[k, p - cut]


@nb.njit(parallel=True, cache=True)
def _shift_rows(indptr: np.ndarray, lo: Int, hi: Int, sh: Int) -> None:
    for i in nb.prange(lo, hi):
        indptr[i] -= sh


def _binomial_cdf(m: int, q: float) -> np.ndarray:
    """P(K <= k), k = 0..m, for K ~ Binomial(m, q) (the last entry exactly 1)."""
    pmf = np.array([math.comb(m, k) * q**k * (1.0 - q) ** (m - k) for k in range(m + 1)])
    cdf = np.cumsum(pmf)
    cdf[-1] = 1.0
    return cdf


def _bounds(n: int, t: int) -> np.ndarray:
    return (np.arange(t + 1, dtype=np.int64) * n) // t


def build_network(pop: Population, p: NetParams, seed: int) -> FriendGraph:
    """Random friendships (a share ``p_same_region`` within the region) plus child-parent
    links, symmetrised and deduplicated; O(agents + edges) time, and beside the final
    arrays a few bytes per agent. The graph does not depend on the thread count."""
    return _build(pop, p, seed, nb.get_num_threads(), _block_bits(pop.n))


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
    part = np.zeros(nt, np.int64)
    _count_children(parent, bounds, part)
    links = int(part.sum())
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
    _draw_count(
        key,
        region,
        region_start,
        parent,
        frac / max(n, 1),
        np.int64(base),
        _binomial_cdf(base, q),
        _binomial_cdf(base + 1, q),
        bounds,
        bits,
        nin,
        nany,
        cnt,
        outc,
        part,
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
    del cnt, outc, before
    _stage(
        key,
        region,
        region_start,
        nin,
        nany,
        parent,
        bounds,
        bits,
        icur,
        jcur,
        nbr,
        nbr.view(np.uint16),
    )
    del icur, jcur
    indptr = np.empty(n + 1, np.uint32 if slots < 2**32 else np.int64)
    nc = max(1, min(chunks, nblk))
    cb = _bounds(nblk, nc)
    outw = np.zeros(nc, np.int64)
    _assemble(
        key,
        region,
        region_start,
        nin,
        nany,
        parent,
        cb,
        bits,
        P,
        n_in,
        nbr,
        nbr.view(np.uint16),
        indptr,
        outw,
        int(n_in.max()),
        base + 2,
    )
    del nin, nany
    w = int(outw[0])
    for c in range(1, nc):  # close the gaps between chunks
        src = int(P[cb[c]])
        length = int(outw[c]) - src
        if src > w:
            _move_left(nbr, src, w, length, nb.get_num_threads())
            _shift_rows(indptr, int(cb[c]) << bits, min(n, int(cb[c + 1]) << bits), src - w)
        w += length
    indptr[n] = w
    nnz = w
    if nnz < slots:
        nbr.resize(nnz, refcheck=False)  # shrinks in place (realloc)
    active = np.full((nnz + 7) // 8, 0xFF, np.uint8)
    if nnz % 8:
        active[-1] = (1 << (nnz % 8)) - 1
    return FriendGraph(indptr, nbr, active)
