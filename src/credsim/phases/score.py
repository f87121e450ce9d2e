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
from ..network import is_active
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
            if is_active(active, e):
                j = nbr[e]
                if scored[j]:
                    s += own[j]
                    c += 1
        fsum[i] = s
        fcnt[i] = c


@nb.njit(inline="always")
def tier_of(x, bounds):
    t = 0
    for b in range(bounds.shape[0]):
        if x >= bounds[b]:
            t = b + 1
    return t


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


@nb.njit(parallel=True, cache=True)
def score_day_kernel(obs, scored, w, symmetric, decay, deltas, cat, base, lo, hi, bounds,
                     own, own_false, fsum, fcnt, assoc, score, tier, marks, delta):
    """One pass per agent: association from yesterday's friend sums; decay of the ledgers
    (and of the friend sums); today's observed deltas (bit 9: a false flag), kept in
    ``delta``; the clipped score and the tier."""
    n = obs.shape[0]
    for i in nb.prange(n):
        a = 0.0
        if scored[i] and w != 0.0 and fcnt[i] > 0:
            m = fsum[i] / fcnt[i]
            if symmetric or m < 0.0:
                a = w * m
        assoc[i] = a
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
        marks[i] = (marks[i] & 3) | (pe << 2)
        delta[i] = dl
        rescore(i, scored, own, assoc, base, lo, hi, bounds, score, tier)


@nb.njit(cache=True)
def false_events_kernel(target, typ, scored, deltas, cat, base, lo, hi, bounds, own,
                        own_false, assoc, score, tier, marks, delta):
    """Misidentified events: the delta lands on the wrong agent, counted as false; the
    target's score and tier follow."""
    for k in range(target.shape[0]):
        j = target[k]
        if scored[j]:
            dv = deltas[typ[k]]
            own[j] += dv
            own_false[j] += dv
            delta[j] += dv
            if dv < 0.0 and cat[typ[k]] >= 0:
                marks[j] |= 4 << cat[typ[k]]
            rescore(j, scored, own, assoc, base, lo, hi, bounds, score, tier)


@nb.njit(cache=True)
def push_all_kernel(delta, indptr, nbr, active, scored, fsum):
    """push_kernel for every agent whose ledger changed today (a serial scan of delta)."""
    for j in range(delta.shape[0]):
        dv = delta[j]
        if dv != 0.0 and scored[j]:
            for e in range(indptr[j], indptr[j + 1]):
                if is_active(active, e):
                    fsum[nbr[e]] += dv


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
            if is_active(active, e):
                fsum[nbr[e]] += dv


@nb.njit(parallel=True, cache=True)
def score_kernel(scored, own, assoc, base, lo, hi, bounds, score, tier):
    n = own.shape[0]
    for i in nb.prange(n):
        rescore(i, scored, own, assoc, base, lo, hi, bounds, score, tier)


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
        decay = 0.5 ** (1.0 / s.params.at("score.half_life", day))
        deltas = s.params.deltas[day]
        bounds = s.params.tier_bounds[day]
        score_day_kernel(d.obs, st.scored, w, sc.association_symmetric, decay, deltas, _CAT,
                         sc.base, sc.min, sc.max, bounds, st.own, st.own_false, st.fsum,
                         st.fcnt, st.assoc, st.score, st.tier, d.marks, d.delta)
        false_events_kernel(d.false_target, d.false_type, st.scored, deltas, _CAT, sc.base,
                            sc.min, sc.max, bounds, st.own, st.own_false, st.assoc, st.score,
                            st.tier, d.marks, d.delta)
        if s.association_on:
            g = s.graph
            push_all_kernel(d.delta, g.indptr, g.nbr, g.active, st.scored, st.fsum)
