"""Phase 3, score: the personal ledger (observed deltas, decay), association from
yesterday's ledgers of active friends, the clipped score and the tier."""

from __future__ import annotations

import numba as nb
import numpy as np

from ..constants import EVENT_CATEGORY, N_TYPES, RUMOUR, TIER_NONE
from .base import Phase

_CAT = np.array(EVENT_CATEGORY, np.int64)


@nb.njit(parallel=True, cache=True)
def association_kernel(indptr, nbr, active, scored, own, w, symmetric, assoc):
    """assoc_i = w * min(0, mean own_j over active scored friends j); reads yesterday's own."""
    n = indptr.shape[0] - 1
    for i in nb.prange(n):
        if not scored[i] or w == 0.0:
            assoc[i] = 0.0
            continue
        s = 0.0
        c = 0
        for e in range(indptr[i], indptr[i + 1]):
            if (active[e >> 3] >> (e & 7)) & 1:
                j = nbr[e]
                if scored[j]:
                    s += own[j]
                    c += 1
        if c == 0:
            assoc[i] = 0.0
        else:
            m = s / c
            assoc[i] = w * m if (symmetric or m < 0.0) else 0.0


@nb.njit(parallel=True, cache=True)
def ledger_kernel(obs, scored, decay, deltas, cat, own, own_false, pen):
    """Decay the ledgers, then add today's observed deltas (bit 9: a false flag)."""
    n = obs.shape[0]
    for i in nb.prange(n):
        own[i] *= decay
        own_false[i] *= decay
        pe = 0
        o = obs[i]
        if o != 0 and scored[i]:
            for t in range(N_TYPES + 1):
                if (o >> t) & 1:
                    tt = RUMOUR if t == N_TYPES else t
                    dv = deltas[tt]
                    own[i] += dv
                    if t == N_TYPES:
                        own_false[i] += dv
                    if dv < 0.0 and cat[tt] >= 0:
                        pe |= 1 << cat[tt]
        pen[i] = pe


@nb.njit(cache=True)
def false_events_kernel(target, typ, scored, deltas, cat, own, own_false, pen):
    """Misidentified events: the delta lands on the wrong agent, counted as false."""
    for k in range(target.shape[0]):
        j = target[k]
        if scored[j]:
            dv = deltas[typ[k]]
            own[j] += dv
            own_false[j] += dv
            if dv < 0.0 and cat[typ[k]] >= 0:
                pen[j] |= 1 << cat[typ[k]]


@nb.njit(inline="always")
def tier_of(x, bounds):
    t = 0
    for b in range(bounds.shape[0]):
        if x >= bounds[b]:
            t = b + 1
    return t


@nb.njit(parallel=True, cache=True)
def score_kernel(scored, own, assoc, base, lo, hi, bounds, score, tier):
    n = own.shape[0]
    for i in nb.prange(n):
        if scored[i]:
            x = min(max(base + own[i] + assoc[i], lo), hi)
            score[i] = x
            tier[i] = tier_of(x, bounds)
        else:
            score[i] = base
            tier[i] = TIER_NONE


class Score(Phase):
    name = "score"

    def run(self, day: int) -> None:
        s = self.sim
        sc = s.scenario.score
        st, d, g = s.state, s.day, s.graph
        w = s.params.at("score.association_weight", day)
        association_kernel(g.indptr, g.nbr, g.active, st.scored, st.own, w,
                           sc.association_symmetric, st.assoc)
        decay = 0.5 ** (1.0 / s.params.at("score.half_life", day))
        deltas = s.params.deltas[day]
        ledger_kernel(d.obs, st.scored, decay, deltas, _CAT, st.own, st.own_false, d.pen)
        false_events_kernel(d.false_target, d.false_type, st.scored, deltas, _CAT, st.own,
                            st.own_false, d.pen)
        score_kernel(st.scored, st.own, st.assoc, sc.base, sc.min, sc.max,
                     s.params.tier_bounds[day], st.score, st.tier)
