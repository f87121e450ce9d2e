"""Phase 3, score: the personal ledger (observed deltas, decay), association from
yesterday's ledgers of active friends, the clipped score and the tier.

The association term needs the mean of friends' ledgers. Rather than reading every
friend every day, each agent keeps the sum of its active scored friends' ledgers
(``fsum``) and their number (``fcnt``): every ledger decays by the same factor, so the
sum decays by it too, and only the few agents whose ledger changed today (an event, a
false event, a struck appeal) push the change to their friends; a cut friendship takes
the friend's ledger out of the sum."""

from __future__ import annotations

import numba as nb
import numpy as np

from ..constants import EVENT_CATEGORY, N_TYPES, RUMOUR, TIER_NONE
from .base import Phase

_CAT = np.array(EVENT_CATEGORY, np.int64)


@nb.njit(parallel=True, cache=True)
def friend_sums_kernel(indptr, nbr, active, scored, own, fsum, fcnt):
    """fsum, fcnt from scratch (at build, or after the state was edited by hand)."""
    n = indptr.shape[0] - 1
    for i in nb.prange(n):
        s = 0.0
        c = 0
        for e in range(indptr[i], indptr[i + 1]):
            if (active[e >> 3] >> (e & 7)) & 1:
                j = nbr[e]
                if scored[j]:
                    s += own[j]
                    c += 1
        fsum[i] = s
        fcnt[i] = c


@nb.njit(parallel=True, cache=True)
def association_kernel(scored, fsum, fcnt, w, symmetric, assoc):
    """assoc_i = w * min(0, mean own_j over active scored friends j), from yesterday's sums."""
    n = fsum.shape[0]
    for i in nb.prange(n):
        if not scored[i] or w == 0.0 or fcnt[i] == 0:
            assoc[i] = 0.0
        else:
            m = fsum[i] / fcnt[i]
            assoc[i] = w * m if (symmetric or m < 0.0) else 0.0


@nb.njit(parallel=True, cache=True)
def ledger_kernel(obs, scored, decay, deltas, cat, own, own_false, pen, delta, fsum):
    """Decay the ledgers (and the friend sums), then add today's observed deltas
    (bit 9: a false flag); ``delta`` keeps what was added."""
    n = obs.shape[0]
    for i in nb.prange(n):
        own[i] *= decay
        own_false[i] *= decay
        fsum[i] *= decay
        pe = 0
        dl = 0.0
        o = obs[i]
        if o != 0 and scored[i]:
            for t in range(N_TYPES + 1):
                if (o >> t) & 1:
                    tt = RUMOUR if t == N_TYPES else t
                    dv = deltas[tt]
                    own[i] += dv
                    dl += dv
                    if t == N_TYPES:
                        own_false[i] += dv
                    if dv < 0.0 and cat[tt] >= 0:
                        pe |= 1 << cat[tt]
        pen[i] = pe
        delta[i] = dl


@nb.njit(cache=True)
def false_events_kernel(target, typ, scored, deltas, cat, own, own_false, pen, delta):
    """Misidentified events: the delta lands on the wrong agent, counted as false."""
    for k in range(target.shape[0]):
        j = target[k]
        if scored[j]:
            dv = deltas[typ[k]]
            own[j] += dv
            own_false[j] += dv
            delta[j] += dv
            if dv < 0.0 and cat[typ[k]] >= 0:
                pen[j] |= 1 << cat[typ[k]]


@nb.njit(cache=True)
def push_kernel(changed, delta, indptr, nbr, active, scored, fsum):
    """Each changed scored agent adds its change to its active friends' sums (serial:
    the order of additions is fixed, so sums are identical for any thread count)."""
    for k in range(changed.shape[0]):
        j = changed[k]
        if not scored[j]:
            continue
        dv = delta[j]
        for e in range(indptr[j], indptr[j + 1]):
            if (active[e >> 3] >> (e & 7)) & 1:
                fsum[nbr[e]] += dv


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


def push_changes(sim, changed: np.ndarray) -> None:
    """Bring friends' sums up to date after the ledgers of ``changed`` moved by
    ``sim.day.delta``."""
    if sim.association_on and changed.size:
        g = sim.graph
        push_kernel(changed, sim.day.delta, g.indptr, g.nbr, g.active, sim.state.scored,
                    sim.state.fsum)


class Score(Phase):
    name = "score"

    def run(self, day: int) -> None:
        s = self.sim
        sc = s.scenario.score
        st, d = s.state, s.day
        w = s.params.at("score.association_weight", day)
        association_kernel(st.scored, st.fsum, st.fcnt, w, sc.association_symmetric,
                           st.assoc)
        decay = 0.5 ** (1.0 / s.params.at("score.half_life", day))
        deltas = s.params.deltas[day]
        ledger_kernel(d.obs, st.scored, decay, deltas, _CAT, st.own, st.own_false, d.pen,
                      d.delta, st.fsum)
        false_events_kernel(d.false_target, d.false_type, st.scored, deltas, _CAT, st.own,
                            st.own_false, d.pen, d.delta)
        push_changes(s, np.flatnonzero(d.delta))
        score_kernel(st.scored, st.own, st.assoc, sc.base, sc.min, sc.max,
                     s.params.tier_bounds[day], st.score, st.tier)
