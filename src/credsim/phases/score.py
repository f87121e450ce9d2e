"""Phase 3, score: the personal ledger (observed deltas, decay), association from
yesterday's ledgers of active friends, the clipped score and the tier.

The association term needs the mean of friends' ledgers. Rather than reading every
friend every day, each agent keeps the sum of its active scored friends' ledgers
(``fsum``) and their number (``fcnt``): every ledger decays by the same factor, so the
sum decays by it too, and only the few agents whose ledger changed today (an event, a
false event, a struck appeal) push the change to their friends; a cut friendship takes
the friend's ledger out of the sum."""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

import numba as nb
import numpy as np

from ..constants import EVENT_CATEGORY, N_TYPES, RUMOUR, TIERS
from ..kernels import bounds_tuple, push_changes, rescore
from ..rng import AGENT_GRAIN, parallel_for
from ..scenario import decay_factor
from ..state import Column
from .base import Phase

if TYPE_CHECKING:
    from ..scenario import DayParams, Scenario

_CAT = np.array(EVENT_CATEGORY, np.int64)


class ScoreParams(NamedTuple):
    """The score section on one day, as the kernels read it."""

    association_weight: float
    association_symmetric: bool
    decay: float  # the ledgers' daily decay factor
    deltas: np.ndarray  # float64 [event type]: today's deltas
    category: np.ndarray  # int64 [event type]: the deterrence category (-1: none)
    base: float
    lo: float
    hi: float
    bounds: np.ndarray  # today's tier bounds

    @classmethod
    def on(cls, scn: Scenario, pa: DayParams, day: int) -> ScoreParams:
        sc = scn.score
        return cls(
            float(pa.at("score.association_weight", day)),
            bool(sc.association_symmetric),
            decay_factor(pa.at("score.half_life", day)),
            pa.deltas[day],
            _CAT,
            float(sc.base),
            float(sc.min),
            float(sc.max),
            pa.tier_bounds[day],
        )


@nb.njit(nogil=True, cache=True)
def score_day_kernel(
    lo,
    hi,
    obs,
    scored,
    p,
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
    """``p``: ScoreParams. One pass over agents lo to hi (through ``rng.parallel_for``):
    association from yesterday's friend sums; decay of the ledgers (and of the friend
    sums); today's observed deltas (bit 9: a false flag), kept in ``delta``; the clipped
    score and the tier."""
    bounds = bounds_tuple(p.bounds)
    for i in range(lo, hi):
        a = 0.0
        if scored[i] and p.association_weight != 0.0 and fcnt[i] > 0:
            m = fsum[i] / fcnt[i]
            if p.association_symmetric or m < 0.0:
                a = p.association_weight * m
        assoc[i] = a
        own[i] *= p.decay
        own_false[i] *= p.decay
        fsum[i] *= p.decay
        pe = 0
        dl = 0.0
        o = obs[i]
        if o != 0 and scored[i]:
            for t in range(N_TYPES + 1):
                if (o >> t) & 1:
                    tt = RUMOUR if t == N_TYPES else t
                    dv = p.deltas[tt]
                    own[i] += dv
                    dl += dv
                    if t == N_TYPES:
                        own_false[i] += dv
                    if dv < 0.0 and p.category[tt] >= 0:
                        pe |= 1 << p.category[tt]
        marks[i] = (marks[i] & 3) | (pe << 2)
        delta[i] = dl
        rescore(i, scored, own, assoc, p.base, p.lo, p.hi, bounds, score, tier)


@nb.njit(cache=True)
def false_events_kernel(
    target,
    typ,
    scored,
    p,
    own,
    own_false,
    assoc,
    score,
    tier,
    marks,
    delta,
):
    """``p``: ScoreParams. Misidentified events: the delta lands on the wrong agent,
    counted as false; the target's score and tier follow."""
    for k in range(target.shape[0]):
        j = target[k]
        if scored[j]:
            dv = p.deltas[typ[k]]
            own[j] += dv
            own_false[j] += dv
            delta[j] += dv
            if dv < 0.0 and p.category[typ[k]] >= 0:
                marks[j] |= 4 << p.category[typ[k]]
            rescore(j, scored, own, assoc, p.base, p.lo, p.hi, p.bounds, score, tier)


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

    metrics = (*(f"tier_{t}" for t in TIERS), "scored")

    def run(self, day: int) -> None:
        s = self.sim
        st, d = s.state, s.day
        p = ScoreParams.on(s.scenario, s.params, day)
        parallel_for(
            score_day_kernel, s.n, d.obs, st.scored, p, st.own, st.own_false, st.fsum,
            st.fcnt, st.assoc, st.score, st.tier, d.marks, d.delta, grain=AGENT_GRAIN,
        )  # fmt: skip
        false_events_kernel(
            d.false_target, d.false_type, st.scored, p, st.own, st.own_false, st.assoc,
            st.score, st.tier, d.marks, d.delta,
        )  # fmt: skip
        push_changes(s)
