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

from ..constants import EVENT_CATEGORY, N_TYPES, RUMOUR
from ..kernels import push_all_kernel, rescore
from ..scenario import decay_factor
from ..state import Column
from .base import Phase

_CAT = np.array(EVENT_CATEGORY, np.int64)


@nb.njit(parallel=True, cache=True)
def score_day_kernel(
    obs,
    scored,
    w,
    symmetric,
    decay,
    deltas,
    cat,
    base,
    lo,
    hi,
    bounds,
    own,
    own_false,
    fsum,
    fcnt,
    assoc,
    score,
    tier,
    marks,
    delta,
):
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
def false_events_kernel(
    target,
    typ,
    scored,
    deltas,
    cat,
    base,
    lo,
    hi,
    bounds,
    own,
    own_false,
    assoc,
    score,
    tier,
    marks,
    delta,
):
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


class Score(Phase):
    name = "score"
    section = "score"
    state_columns = (
        Column("own", "float32", "personal ledger (decays)"),
        Column("own_false", "float32", "the part of own due to false events"),
        Column("assoc", "float32", "association term of today's score"),
        Column("fsum", "float32", "sum of own over active scored friends (kept up to date)"),
        Column("fcnt", "uint16", "number of active scored friends"),
        Column("score", "float32", "the score", fill="score.base"),
        Column("tier", "uint8", "TIER_* code (TIER_NONE for the unscored)"),
        Column("scored", "bool", "whether the agent is scored (set at build)"),
    )
    day_columns = (
        Column("delta", "float32", "today's change of own beyond decay (pushed to friends)"),
    )

    def run(self, day: int) -> None:
        s = self.sim
        sc = s.scenario.score
        st, d = s.state, s.day
        w = s.params.at("score.association_weight", day)
        decay = decay_factor(s.params.at("score.half_life", day))
        deltas = s.params.deltas[day]
        bounds = s.params.tier_bounds[day]
        score_day_kernel(
            d.obs,
            st.scored,
            w,
            sc.association_symmetric,
            decay,
            deltas,
            _CAT,
            sc.base,
            sc.min,
            sc.max,
            bounds,
            st.own,
            st.own_false,
            st.fsum,
            st.fcnt,
            st.assoc,
            st.score,
            st.tier,
            d.marks,
            d.delta,
        )
        false_events_kernel(
            d.false_target,
            d.false_type,
            st.scored,
            deltas,
            _CAT,
            sc.base,
            sc.min,
            sc.max,
            bounds,
            st.own,
            st.own_false,
            st.assoc,
            st.score,
            st.tier,
            d.marks,
            d.delta,
        )
        if s.association_on:
            g = s.graph
            push_all_kernel(d.delta, g.indptr, g.nbr, g.active, st.scored, st.fsum)
