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

from ..constants import EVENT_CATEGORY, N_TYPES, RUMOUR, TIER_NONE, TIERS
from ..kernels import bounds_tuple, push_changes, rescore
from ..rng import AGENT_GRAIN, parallel_for, span
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
    """``p``: ScoreParams. Agents lo to hi (through ``rng.parallel_for``), in two passes.
    Every agent: association from yesterday's friend sums; decay of the ledgers (and of
    the friend sums); today's penalty marks and ledger change cleared; the clipped score
    and the tier. Written without a branch, so that LLVM vectorises it. Then the agents
    with observed events today (bit 9: a false flag; about 2 % of them): the deltas, kept
    in ``delta``, the penalised categories, and the score and tier again."""
    b0, b1, b2, b3, b4 = bounds_tuple(p.bounds)
    w = p.association_weight
    on = w != 0.0
    sym = p.association_symmetric
    dec = p.decay
    base, slo, shi = p.base, p.lo, p.hi
    for i in span(lo, hi):
        c = fcnt[i]
        m = fsum[i] / max(c, 1)
        sc = scored[i]
        a = np.float32(w * m if sc & on & (c > 0) & (sym | (m < 0.0)) else 0.0)
        assoc[i] = a
        ow = np.float32(own[i] * dec)
        own[i] = ow
        own_false[i] = own_false[i] * dec
        fsum[i] = fsum[i] * dec
        marks[i] = marks[i] & 3
        delta[i] = 0.0
        # rescore's arithmetic on the values it would read back (the tier: how many of
        # the bounds x reaches, tier_of's result since the scenario keeps them ascending)
        x = min(max(base + ow + a, slo), shi)
        tr = np.uint8(x >= b0) + np.uint8(x >= b1) + np.uint8(x >= b2) + np.uint8(x >= b3)
        score[i] = np.float32(x) if sc else np.float32(base)
        tier[i] = tr + np.uint8(x >= b4) if sc else np.uint8(TIER_NONE)
    # (arrays read from p inside a loop cost an atomic reference count at each read)
    deltas, category = p.deltas, p.category
    bounds = (b0, b1, b2, b3, b4)
    for i in span(lo, hi):
        o = obs[i]
        if o != 0 and scored[i]:
            pe = 0
            dl = 0.0
            for t in range(N_TYPES + 1):
                if (o >> t) & 1:
                    tt = RUMOUR if t == N_TYPES else t
                    dv = deltas[tt]
                    own[i] += dv
                    dl += dv
                    if t == N_TYPES:
                        own_false[i] += dv
                    if dv < 0.0 and category[tt] >= 0:
                        pe |= 1 << category[tt]
            marks[i] |= pe << 2
            delta[i] = dl
            rescore(i, scored, own, assoc, base, slo, shi, bounds, score, tier)


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
    deltas, category, bounds = p.deltas, p.category, bounds_tuple(p.bounds)
    for k in range(target.shape[0]):
        j = target[k]
        if scored[j]:
            dv = deltas[typ[k]]
            own[j] += dv
            own_false[j] += dv
            delta[j] += dv
            if dv < 0.0 and category[typ[k]] >= 0:
                marks[j] |= 4 << category[typ[k]]
            rescore(j, scored, own, assoc, p.base, p.lo, p.hi, bounds, score, tier)


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
