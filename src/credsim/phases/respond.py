"""Phase 6, respond: deterrence by category, chilling of the friends of an agent listed
for speech, and unfriending of listed or low-tier friends (a draw per edge)."""

from __future__ import annotations

import numba as nb
import numpy as np

from ..constants import DL_SPEECH_ENTRY, LF_COURT, LF_SCORE, S_UNFRIEND
from ..network import find_slot, is_active
from ..rng import day_key, uniform
from ..state import Column, mult_step, mult_times
from .base import Phase


@nb.njit(parallel=True, cache=True)
def deterrence_kernel(marks, step, deter):
    n = marks.shape[0]
    for i in nb.prange(n):
        p = marks[i] >> 2  # the penalised categories
        if p != 0:
            for c in range(3):
                if (p >> c) & 1:
                    deter[c, i] = mult_times(deter[c, i], step)


@nb.njit(cache=True)
def chill_kernel(listed, indptr, nbr, active, step, chill):
    """Each active friend of an agent listed for speech today: speech rate x the factor
    whose code step is ``step``."""
    for k in range(listed.shape[0]):
        i = listed[k]
        for e in range(indptr[i], indptr[i + 1]):
            if is_active(active, e):
                j = nbr[e]
                chill[j] = mult_times(chill[j], step)


@nb.njit(inline="always")
def _cut(key, b, k, j, bad, good, indptr, nbr, p):
    """Whether edge (b, j) at position k of row b is cut today; -1 no, else the cutter."""
    jb = bad[j]
    if jb and j < b:
        return -1  # both ends bad: the lower index handles the edge
    if good[j]:
        cutter = j
    elif good[b] and jb:
        cutter = b
    else:
        return -1
    if b < j:
        lo, slot = b, np.int64(k) - np.int64(indptr[b])
    else:
        lo, slot = j, find_slot(indptr, nbr, j, b) - np.int64(indptr[j])
    if uniform(key, lo, slot) < p:
        return cutter
    return -1


@nb.njit(parallel=True, cache=True)
def unfriend_count(key, bads, bad, good, indptr, nbr, active, p, count):
    for q in nb.prange(bads.shape[0]):
        b = bads[q]
        c = 0
        for e in range(indptr[b], indptr[b + 1]):
            if is_active(active, e):
                if _cut(key, b, e, nbr[e], bad, good, indptr, nbr, p) >= 0:
                    c += 1
        count[q] = c


@nb.njit(parallel=True, cache=True)
def unfriend_fill(key, bads, bad, good, indptr, nbr, active, p, offsets, cutter, cut):
    for q in nb.prange(bads.shape[0]):
        b = bads[q]
        w = offsets[q]
        for e in range(indptr[b], indptr[b + 1]):
            if is_active(active, e):
                j = nbr[e]
                c = _cut(key, b, e, j, bad, good, indptr, nbr, p)
                if c >= 0:
                    cutter[w] = c
                    cut[w] = b if c == j else j
                    w += 1


@nb.njit(cache=True)
def clear_edges(a, b, indptr, nbr, active, scored, own, fsum, fcnt):
    """Clear both directions of each cut friendship; each end's friend sum loses the
    other end's ledger."""
    for k in range(a.shape[0]):
        for x, y in ((a[k], b[k]), (b[k], a[k])):
            e = find_slot(indptr, nbr, x, y)
            active[e >> 3] &= np.uint8(~(1 << (e & 7)) & 0xFF)
            if scored[y]:
                fsum[x] -= own[y]
                fcnt[x] -= 1


class Respond(Phase):
    name = "respond"
    section = "respond"
    state_columns = (
        Column(
            "deter",
            "uint16",
            "public, financial and speech deterrence multipliers (log2 codes)",
            rows=3,
        ),
        Column(
            "chill", "uint16", "speech-rate multiplier from friends' speech listings (log2 code)"
        ),
    )
    day_columns = (
        Column("cut_cutter", "int64", "friendships cut today: the agent who cut", per_agent=False),
        Column("cut_other", "int64", "friendships cut today: the friend cut off", per_agent=False),
    )

    metrics = ("edges_cut", "friendships_lost")

    def run(self, day: int) -> None:
        s = self.sim
        rc = s.scenario.respond
        pa, st, d, g = s.params, s.state, s.day, s.graph
        deterrence_kernel(d.marks, mult_step(1.0 - pa.at("respond.deterrence", day)), st.deter)
        speech = np.flatnonzero(d.lst & DL_SPEECH_ENTRY)
        if speech.size:
            chill_kernel(
                speech, g.indptr, g.nbr, g.active, mult_step(pa.at("respond.chill", day)), st.chill
            )
        d.cut_cutter = d.cut_other = np.zeros(0, np.int64)
        if rc.unfriending:
            good_from = pa.threshold_at(rc.good_from, day)
            bad_below = pa.threshold_at(rc.bad_below, day)
            listed = (st.lflags & (LF_COURT | LF_SCORE)) != 0
            bad = listed | (st.scored & (st.score < bad_below))
            good = st.scored & (st.score >= good_from)
            bads = np.flatnonzero(bad)
            if bads.size:
                key = day_key(s.seed, S_UNFRIEND, day)
                p = pa.at("respond.p_unfriend", day)
                count = np.zeros(bads.size, np.int64)
                unfriend_count(key, bads, bad, good, g.indptr, g.nbr, g.active, p, count)
                offsets = np.zeros(bads.size + 1, np.int64)
                np.cumsum(count, out=offsets[1:])
                cutter = np.empty(offsets[-1], np.int64)
                other = np.empty(offsets[-1], np.int64)
                unfriend_fill(
                    key, bads, bad, good, g.indptr, g.nbr, g.active, p, offsets, cutter, other
                )
                clear_edges(
                    cutter, other, g.indptr, g.nbr, g.active, st.scored, st.own, st.fsum, st.fcnt
                )
                d.cut_cutter, d.cut_other = cutter, other
