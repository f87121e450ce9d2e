"""Phase 1, behave: the true events of the day, drawn per agent and type."""

from __future__ import annotations

import math

import numba as nb
import numpy as np

from ..constants import CHILD, LF_RODE_TRAIN, S_BEHAVE, TRUE_EVENT_NAMES
from ..population import A_PLATFORM, A_SMOKER, A_SPEAKER, age_of
from ..rng import day_key, poisson_e, uniform2
from ..state import Column, mult_of, mult_times
from .base import Phase

N_GATED = 10  # the events decided by one minimum: eight types, true rumour, false flag


@nb.njit(inline="always")
def _event_uniform(k, m, j, key, i):
    """The uniform of event k, given the minimum m of the ten and its index j: m itself,
    or a uniform on [m, 1) from the agent's fresh slots (the others are i.i.d. there)."""
    if k == j:
        return m
    a, b = uniform2(key, i, 1 + (k >> 1))
    return m + (1.0 - m) * (a if k & 1 else b)


@nb.njit(inline="always")
def _fires(k, pk, m, j, key, i):
    """Bit k if event k happens (its uniform below pk; none can below the minimum m)."""
    if pk > m and _event_uniform(k, m, j, key, i) < pk:
        return 1 << k
    return 0


@nb.njit(parallel=True, cache=True)
def behave_kernel(key, attrs, prop, prop_values, lflags, deter, chill, p, true_ev, posts):
    """p: community, purchase, smoke, traffic, train smoke, debt, fraud, tax, post rate,
    speaker rate, critical, critical speaker, misinfo, flag false, flag critical, flag other.

    Per grown-up agent, ten independent events (the eight types, a true rumour, a false
    flag), each with its own uniform, and a Poisson number of posts. One hash gives two
    uniforms: the first is turned into the minimum of the ten events' uniforms, which
    decides "none of them" for most agents on most days; only below the largest
    probability are the ten uniforms made (the minimum, at a uniform index, and the
    others i.i.d. above it). Each event's uniform is a function of (agent, day) alone,
    whatever the probabilities: a scenario that changes one event's probability leaves
    the other events of every agent as they were (common random numbers). The second
    uniform gives the number of posts by inversion."""
    # speech at the base rates (no deterrence or chilling yet, the common case):
    # exp(-rate) and the two flag probabilities, per speaker status, computed once
    pre = np.empty((2, 3))
    for sp in range(2):
        rate, crit = (p[9], p[11]) if sp else (p[8], p[10])
        pre[sp, 0] = math.exp(-rate)
        pre[sp, 1] = 1.0 - math.exp(-rate * p[12] * p[13])
        pre[sp, 2] = 1.0 - math.exp(-rate * (crit * p[14] + (1.0 - crit - p[12]) * p[15]))
    n = attrs.shape[0]
    for i in nb.prange(n):
        ev = 0
        npost = 0
        at = attrs[i]
        if age_of(at) != CHILD:
            dpub = mult_of(deter[0, i])
            dfin = mult_of(deter[1, i])
            incivil = 1.0 - prop_values[1, prop[1, i]]
            dishonest = (1.0 - prop_values[0, prop[0, i]]) * dfin
            smoker = (at & A_SMOKER) != 0
            speaker = (at & A_SPEAKER) != 0
            if speaker:
                rate, crit = p[9], p[11]
            else:
                rate, crit = p[8], p[10]
            mcode = mult_times(deter[2, i], chill[i])
            if mcode == 0:
                sp = 1 if speaker else 0
                e0, p_true, p_false = pre[sp, 0], pre[sp, 1], pre[sp, 2]
            else:
                rate *= mult_of(mcode)
                e0 = math.exp(-rate)
                p_true = 1.0 - math.exp(-rate * p[12] * p[13])
                p_false = 1.0 - math.exp(-rate * (crit * p[14] + (1.0 - crit - p[12]) * p[15]))
            u0, u1 = uniform2(key, i, 0)
            npost = poisson_e(u1, rate, e0)  # most agents: u1 < exp(-rate), no post
            p0 = p[0] * prop_values[2, prop[2, i]]
            p1 = p[1] if at & A_PLATFORM else 0.0
            p2 = p[2] * incivil * dpub if smoker else 0.0
            p3 = p[3] * incivil * dpub
            p4 = p[4] * dpub if smoker and (lflags[i] & LF_RODE_TRAIN) else 0.0
            p5 = p[5] * dishonest
            p6 = p[6] * dishonest
            p7 = p[7] * dishonest
            pmax = max(max(max(p0, p1), max(p2, p3)), max(max(p4, p5), max(p_true, p_false)))
            # u0 gives the minimum m = 1 - (1 - u0)^(1/10) of the ten events' uniforms;
            # no event unless m < pmax, i.e. u0 < 1 - (1 - pmax)^10
            x2 = (1.0 - pmax) * (1.0 - pmax)
            x8 = (x2 * x2) * (x2 * x2)
            if u0 < 1.0 - x8 * x2:
                m = -math.expm1(0.1 * math.log1p(-u0))
                j = min(np.int64(uniform2(key, i, 6)[0] * N_GATED), N_GATED - 1)
                ev = (
                    _fires(0, p0, m, j, key, i)
                    | _fires(1, p1, m, j, key, i)
                    | _fires(2, p2, m, j, key, i)
                    | _fires(3, p3, m, j, key, i)
                    | _fires(4, p4, m, j, key, i)
                    | _fires(5, p5, m, j, key, i)
                    | _fires(6, p6, m, j, key, i)
                    | _fires(7, p7, m, j, key, i)
                    | _fires(8, p_true, m, j, key, i)
                    | _fires(9, p_false, m, j, key, i)
                )
        true_ev[i] = ev
        posts[i] = min(npost, 65535)


KEYS = (
    "p_community_service",
    "p_domestic_purchase",
    "p_smoking_in_public",
    "p_traffic_violation",
    "p_smoking_on_train",
    "p_debt_default",
    "p_fraud",
    "p_tax_evasion",
    "post_rate",
    "post_rate_speaker",
    "critical",
    "critical_speaker",
    "misinfo",
    "flag_false",
    "flag_critical",
    "flag_other",
)


class Behave(Phase):
    """True events per agent and type; children commit none; deterrence and chilling
    scale the probabilities; smoking on a train needs yesterday's ride."""

    name = "behave"
    section = "behave"
    state_columns = ()
    day_columns = (
        Column("true_ev", "uint16", "bit t: a true event of type t (bit 9: a false-flagged post)"),
        Column("posts", "uint16", "posts today"),
    )

    metrics = (*(f"true_{t}" for t in TRUE_EVENT_NAMES), "posts")
    counts = tuple(("true_ev", 1 << k, f"true_{t}") for k, t in enumerate(TRUE_EVENT_NAMES))

    def run(self, day: int) -> None:
        s = self.sim
        p = np.array([s.params.at(f"behave.{k}", day) for k in KEYS])
        pop, st, d = s.pop, s.state, s.day
        behave_kernel(
            day_key(s.seed, S_BEHAVE, day),
            pop.attrs,
            pop.prop,
            pop.prop_values,
            st.lflags,
            st.deter,
            st.chill,
            p,
            d.true_ev,
            d.posts,
        )
