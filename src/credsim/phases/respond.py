"""Phase 6, respond: deterrence by category, chilling of the friends of an agent listed
for speech, and unfriending of listed or low-tier friends (a draw per edge)."""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

import numba as nb
import numpy as np

from ..constants import DL_SPEECH_ENTRY, LF_COURT, LF_SCORE, S_UNFRIEND
from ..kernels import clear_friendships
from ..network import find_slot, is_active
from ..rng import AGENT_GRAIN, parallel_for, span, uniform
from ..state import Column, mult_step, mult_times
from .base import Phase

if TYPE_CHECKING:
    from ..scenario import DayParams, Scenario
    from ..sim import Sim


class RespondParams(NamedTuple):
    """The respond section on one day, as the kernels read it."""

    deter_step: int  # the code step of today's deterrence factor (1 - deterrence)
    chill_step: int  # the code step of the chilling factor
    unfriending: bool
    good_from: float  # a good end has at least this score
    bad_below: float  # a bad end is listed or has a score below this
    p_unfriend: float

    @classmethod
    def on(cls, scn: Scenario, pa: DayParams, day: int) -> RespondParams:
        rc = scn.respond
        return cls(
            mult_step(1.0 - pa.at("respond.deterrence", day)),
            mult_step(pa.at("respond.chill", day)),
            bool(rc.unfriending),
            float(pa.threshold_at(rc.good_from, day)),
            float(pa.threshold_at(rc.bad_below, day)),
            float(pa.at("respond.p_unfriend", day)),
        )


@nb.njit(inline="always")
def _bad(j, lflags, scored, score, p):
    """A bad end: listed, or scored below ``p.bad_below``."""
    return (lflags[j] & (LF_COURT | LF_SCORE)) != 0 or (scored[j] and score[j] < p.bad_below)


@nb.njit(inline="always")
def _good(j, scored, score, p):
    return scored[j] and score[j] >= p.good_from


@nb.njit(nogil=True, cache=True)
def respond_scan(
    ch0, ch1, marks, lst, lflags, scored, score, p, deter, apply, bads, nbad, speech, nspeech
):
    """A pass over the agents of chunks ch0 to ch1 of a fixed partition (through
    ``rng.parallel_for``): (if ``apply``) today's deterrence of the penalised categories;
    the bad ends (when unfriending is on) and the agents listed for speech today, each
    chunk's listed in its share of ``bads`` and ``speech`` while it has room (``nbad``,
    ``nspeech``: how many there are)."""
    n = marks.shape[0]
    nch = nbad.shape[0]
    step = (n + nch - 1) // nch
    capb = bads.shape[0] // nch
    caps = speech.shape[0] // nch
    for ch in range(ch0, ch1):
        kb = 0
        ks = 0
        for i in span(ch * step, min(n, (ch + 1) * step)):
            pm = marks[i] >> 2  # the penalised categories
            if apply and pm != 0:
                for c in range(3):
                    if (pm >> c) & 1:
                        deter[c, i] = mult_times(deter[c, i], p.deter_step)
            if lst[i] & DL_SPEECH_ENTRY:
                if ks < caps:
                    speech[ch * caps + ks] = i
                ks += 1
            if p.unfriending and _bad(i, lflags, scored, score, p):
                if kb < capb:
                    bads[ch * capb + kb] = i
                kb += 1
        nbad[ch] = kb
        nspeech[ch] = ks


def _listed(buf: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """The agents of each chunk's share of ``buf``, in chunk order."""
    cap = buf.shape[0] // counts.shape[0]
    return np.concatenate(
        [buf[ch * cap : ch * cap + int(c)] for ch, c in enumerate(counts)]
    ).astype(np.int64)


@nb.njit(cache=True)
def chill_kernel(listed, indptr, nbr, active, step, chill):
    """Each active friend of an agent listed for speech today: speech rate x the factor
    whose code step is ``step`` (friends on another rank of a partitioned run: there)."""
    n = chill.shape[0]
    for k in range(listed.shape[0]):
        i = listed[k]
        for e in range(indptr[i], indptr[i + 1]):
            j = nbr[e]
            if 0 <= j < n and is_active(active, e):
                chill[j] = mult_times(chill[j], step)


@nb.njit(inline="always")
def _cut(key, b, k, j, lflags, scored, score, indptr, nbr, p):
    """Whether edge (b, j) at position k of row b (a bad end) is cut today; -1 no, else
    the cutter."""
    jb = _bad(j, lflags, scored, score, p)
    if jb and j < b:
        return -1  # both ends bad: the lower index handles the edge
    if _good(j, scored, score, p):
        cutter = j
    elif jb and _good(b, scored, score, p):
        cutter = b
    else:
        return -1
    if b < j:
        lo, slot = b, np.int64(k) - np.int64(indptr[b])
    else:
        lo, slot = j, find_slot(indptr, nbr, j, b) - np.int64(indptr[j])
    if uniform(key, lo, slot) < p.p_unfriend:
        return cutter
    return -1


@nb.njit(cache=True)
def decide_remote(key, b, j, slot, good_b, lflags, scored, score, indptr, nbr, active, p, cut,
                  cutter, reply):  # fmt: skip
    """A partitioned run's friendships between a bad end b[k] on another rank (local
    index outside [0, n); announced with whether it is good and the slot of the edge in
    its row) and j[k] here: the rule of ``_cut`` with b's standing as announced. cut[k]:
    whether the edge is cut today, by cutter[k]; reply[k]: whether b's rank must be told
    (j is not a bad end, so b's rank could not decide)."""
    for k in range(b.shape[0]):
        bk = b[k]
        jk = j[k]
        e = find_slot(indptr, nbr, jk, bk)
        if e < 0 or not is_active(active, e):
            continue
        jb = _bad(jk, lflags, scored, score, p)
        gj = _good(jk, scored, score, p)
        reply[k] = not jb
        if jb and jk < bk:  # j's row handles the edge; b is its other end
            if good_b[k]:
                c = bk
            elif gj:
                c = jk
            else:
                continue
        elif gj:
            c = jk
        elif jb and good_b[k]:
            c = bk
        else:
            continue
        lower = min(bk, jk)
        sl = slot[k] if bk < jk else e - np.int64(indptr[jk])
        if uniform(key, lower, sl) < p.p_unfriend:
            cut[k] = True
            cutter[k] = c


def bad_ends(st, p: RespondParams):
    """A mask of the given agents' bad ends (see ``_bad``), for a partitioned run."""
    return lambda x: (
        ((st.lflags[x] & (LF_COURT | LF_SCORE)) != 0) | (st.scored[x] & (st.score[x] < p.bad_below))
    )


# unfriend_count and unfriend_fill run over bads[lo:hi] on Python's threads
# (rng.parallel_for; on one thread while there are fewer than two pieces of its grain):
# two parallel loops fewer to compile on a first run


@nb.njit(nogil=True, cache=True)
def unfriend_count(lo, hi, key, bads, lflags, scored, score, indptr, nbr, active, p, count):
    """How many of each bad end's friendships are cut today."""
    n = lflags.shape[0]
    for q in range(lo, hi):
        b = bads[q]
        c = 0
        for e in range(indptr[b], indptr[b + 1]):
            j = nbr[e]
            if 0 <= j < n and is_active(active, e):
                if _cut(key, b, e, j, lflags, scored, score, indptr, nbr, p) >= 0:
                    c += 1
        count[q] = c


@nb.njit(nogil=True, cache=True)
def unfriend_fill(
    lo, hi, key, bads, lflags, scored, score, indptr, nbr, active, p, offsets, cutter, cut
):
    """The friendships each bad end loses today, from ``offsets[q]``: who cut, who was cut."""
    n = lflags.shape[0]
    for q in range(lo, hi):
        b = bads[q]
        w = offsets[q]
        for e in range(indptr[b], indptr[b + 1]):
            j = nbr[e]
            if 0 <= j < n and is_active(active, e):
                c = _cut(key, b, e, j, lflags, scored, score, indptr, nbr, p)
                if c >= 0:
                    cutter[w] = c
                    cut[w] = b if c == j else j
                    w += 1


def clear_edges(a, b, indptr, nbr, active, scored, own, fsum, fcnt):
    """Clear both directions of each cut friendship (a[k], b[k]) of this process; each
    end's friend sum loses the other end's ledger."""
    clear_friendships(
        a, b, own[a], own[b], scored[a], scored[b], indptr, nbr, active, fsum, fcnt
    )  # fmt: skip


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
        Column(
            "cut_lower", "int64", "friendships cut today: the end of lower index", per_agent=False
        ),
    )

    metrics = ("edges_cut", "friendships_lost")

    N_CHUNKS = 64  # fixed partition of the agents for the scan

    def __init__(self, sim: Sim) -> None:
        super().__init__(sim)
        self._cap = 256  # room a chunk for bad ends and speech listings (grows as needed)

    def warm_up(self) -> None:
        """Unfriending and chilling need listed agents and speech listings."""
        self.sim.state.lflags[::4] |= LF_COURT
        self.sim.day.lst[::5] |= DL_SPEECH_ENTRY

    def run(self, day: int) -> None:
        s = self.sim
        p = RespondParams.on(s.scenario, s.params, day)
        st, d, g = s.state, s.day, s.graph
        nch = self.N_CHUNKS
        nbad = np.zeros(nch, np.int64)
        nspeech = np.zeros(nch, np.int64)
        apply = True
        while True:
            bads = np.empty(nch * self._cap, np.int64)
            speech = np.empty(nch * self._cap, np.int64)
            parallel_for(
                respond_scan, nch, d.marks, d.lst, st.lflags, st.scored, st.score, p,
                st.deter, apply, bads, nbad, speech, nspeech, grain=AGENT_GRAIN, work=s.n,
            )  # fmt: skip
            most = int(max(nbad.max(), nspeech.max()))
            if most <= self._cap:
                break
            self._cap = 2 * most  # a chunk had no room: list again (deterrence is done)
            apply = False
        speech = _listed(speech, nspeech)
        if speech.size:
            chill_kernel(speech, g.indptr, g.nbr, g.active, p.chill_step, st.chill)
        if s.part is not None:
            from ..partition import chill_across

            chill_across(s, speech, p.chill_step)
        d.cut_cutter = d.cut_other = d.cut_lower = np.zeros(0, np.int64)
        bads = _listed(bads, nbad)
        if bads.size or (s.part is not None and p.unfriending):
            key = s.key(S_UNFRIEND, day)
            args = (key, bads, st.lflags, st.scored, st.score, g.indptr, g.nbr, g.active, p)
            count = np.zeros(bads.size, np.int64)
            parallel_for(unfriend_count, bads.size, *args, count)
            offsets = np.zeros(bads.size + 1, np.int64)
            np.cumsum(count, out=offsets[1:])
            cutter = np.empty(offsets[-1], np.int64)
            other = np.empty(offsets[-1], np.int64)
            parallel_for(unfriend_fill, bads.size, *args, offsets, cutter, other)
            if s.part is not None:
                from ..partition import unfriend_across

                unfriend_across(s, key, p, bads, cutter, other, decide_remote, bad_ends(st, p))
                return
            clear_edges(
                cutter, other, g.indptr, g.nbr, g.active, st.scored, st.own, st.fsum, st.fcnt
            )
            d.cut_cutter, d.cut_other = cutter, other
            d.cut_lower = np.minimum(cutter, other)
