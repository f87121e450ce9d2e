"""The friend network: undirected, no self-loops or duplicates, mostly within a region,
children linked to their parent. Stored as CSR (both directions, rows sorted) with one
"active" bit per directed edge; unfriending clears both bits, edges are never added."""

from __future__ import annotations

from dataclasses import dataclass

import numba as nb
import numpy as np

from .constants import S_NETWORK
from .population import Population
from .rng import day_key, other_in_range, uniform
from .scenario import Network as NetParams


@dataclass
class FriendGraph:
    indptr: np.ndarray  # int64 [N + 1]
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
        return np.diff(self.indptr)

    def active_degree(self) -> np.ndarray:
        """Active friends of each agent (no per-edge temporaries)."""
        out = np.empty(self.n, np.int32)
        _active_degree(self.indptr, self.active, out)
        return out


@nb.njit(parallel=True, cache=True)
def _active_degree(indptr, active, out):
    for i in nb.prange(indptr.shape[0] - 1):
        c = 0
        for e in range(indptr[i], indptr[i + 1]):
            c += is_active(active, e)
        out[i] = c


@nb.njit(inline="always")
def is_active(active, e):
    """Whether directed edge e is active (bit e & 7 of byte e >> 3)."""
    return (active[e >> 3] >> (e & 7)) & 1


@nb.njit(cache=True)
def find_slot(indptr, nbr, i, j):
    """Position of j in row i (rows are sorted), or -1."""
    lo, hi = indptr[i], indptr[i + 1]
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


@nb.njit(parallel=True, cache=True)
def _random_edges(key, region, region_start, offsets, m, p_same, src, dst):
    n = region.shape[0]
    for i in nb.prange(n):
        r = region[i]
        lo, size = region_start[r], region_start[r + 1] - region_start[r]
        for k in range(m[i]):
            e = offsets[i] + k
            u = uniform(key, i, 2 + 2 * k)
            if uniform(key, i, 1 + 2 * k) < p_same and size > 1:
                j = other_in_range(u, i, lo, size)
            else:
                j = other_in_range(u, i, 0, n)
            src[e] = i
            dst[e] = j


@nb.njit(cache=True)
def _fill(src, dst, indptr, out):
    cur = indptr[:-1].copy()
    for e in range(src.shape[0]):
        a, b = src[e], dst[e]
        out[cur[a]] = b
        cur[a] += 1
        out[cur[b]] = a
        cur[b] += 1


@nb.njit(parallel=True, cache=True)
def _sort_dedup(indptr, out, newdeg):
    n = indptr.shape[0] - 1
    for i in nb.prange(n):
        lo, hi = indptr[i], indptr[i + 1]
        row = np.sort(out[lo:hi])
        k = 0
        last = -1
        for v in row:
            if v != last and v != i:
                out[lo + k] = v
                k += 1
                last = v
        newdeg[i] = k


@nb.njit(parallel=True, cache=True)
def _compact(indptr, out, newptr, nbr):
    n = indptr.shape[0] - 1
    for i in nb.prange(n):
        d = newptr[i + 1] - newptr[i]
        nbr[newptr[i]:newptr[i] + d] = out[indptr[i]:indptr[i] + d]


def build_network(pop: Population, p: NetParams, seed: int) -> FriendGraph:
    """Random friendships (a share ``p_same_region`` within the region) plus child-parent
    links, symmetrised and deduplicated; O(agents + edges) time and memory."""
    n = pop.n
    children = np.flatnonzero(pop.parent >= 0)
    links = children.shape[0]
    total = int(round(n * p.mean_degree / 2))
    r = max(0, total - links)
    key = day_key(seed, S_NETWORK, 0)
    base, frac = divmod(r, n) if n else (0, 0)
    u = _uniforms(key, n)
    m = (base + (u < frac / max(n, 1))).astype(np.int64)
    offsets = np.zeros(n + 1, np.int64)
    np.cumsum(m, out=offsets[1:])
    e0 = int(offsets[-1])
    src = np.empty(e0 + links, np.int32)
    dst = np.empty(e0 + links, np.int32)
    _random_edges(key, pop.region, pop.region_start, offsets, m, p.p_same_region,
                  src[:e0], dst[:e0])
    src[e0:] = children
    dst[e0:] = pop.parent[children]
    deg = np.bincount(src, minlength=n).astype(np.int64) + np.bincount(dst, minlength=n)
    indptr = np.zeros(n + 1, np.int64)
    np.cumsum(deg, out=indptr[1:])
    out = np.empty(int(indptr[-1]), np.int32)
    _fill(src, dst, indptr, out)
    del src, dst
    newdeg = np.empty(n, np.int64)
    _sort_dedup(indptr, out, newdeg)
    newptr = np.zeros(n + 1, np.int64)
    np.cumsum(newdeg, out=newptr[1:])
    nbr = np.empty(int(newptr[-1]), np.int32)
    _compact(indptr, out, newptr, nbr)
    del out
    nnz = nbr.shape[0]
    active = np.full((nnz + 7) // 8, 0xFF, np.uint8)
    if nnz % 8:
        active[-1] = (1 << (nnz % 8)) - 1
    return FriendGraph(newptr, nbr, active)


@nb.njit(parallel=True, cache=True)
def _uniforms_k(key, out):
    for i in nb.prange(out.shape[0]):
        out[i] = uniform(key, i, 0)


def _uniforms(key: np.uint64, n: int) -> np.ndarray:
    out = np.empty(n, np.float64)
    _uniforms_k(key, out)
    return out
