"""Phase 1, behave: the true events of the day, drawn per agent and type."""

from __future__ import annotations

import math

import numba as nb
import numpy as np

from ..constants import CHILD, LF_RODE_TRAIN, S_BEHAVE
from ..population import A_PLATFORM, A_SMOKER, A_SPEAKER, age_of
from ..rng import day_key, poisson, poisson_e, uniform2
from ..state import mult_of, mult_times
from .base import Phase


@nb.njit(parallel=True, cache=True)
def behave_kernel(key, attrs, prop, prop_values, lflags, deter, chill, p, true_ev, posts):
    # speech at the base rates (no deterrence or chilling yet, the common case):
    # exp(-rate) and the two flag probabilities, per speaker status, computed once
    pre = np.empty((2, 3))
    for sp in range(2):
        rate, crit = (p[9], p[11]) if sp else (p[8], p[10])
        pre[sp, 0] = math.exp(-rate)
        pre[sp, 1] = 1.0 - math.exp(-rate * p[12] * p[13])
        pre[sp, 2] = 1.0 - math.exp(-rate * (crit * p[14] + (1.0 - crit - p[12]) * p[15]))
    """p: community, purchase, smoke, traffic, train smoke, debt, fraud, tax, post rate,
    speaker rate, critical, critical speaker, misinfo, flag false, flag critical, flag other.
    Eleven draws from six hashes (two 32-bit uniforms each)."""
    n = attrs.shape[0]
    for i in nb.prange(n):
        ev = 0
        npost = 0
        at = attrs[i]
        if age_of(at) != CHILD:
            dpub = mult_of(deter[0, i])
            dfin = mult_of(deter[1, i])
            u0, u1 = uniform2(key, i, 0)
            if u0 < p[0] * prop_values[2, prop[2, i]]:
                ev |= 1
            if (at & A_PLATFORM) and u1 < p[1]:
                ev |= 2
            incivil = 1.0 - prop_values[1, prop[1, i]]
            u2, u3 = uniform2(key, i, 1)
            if (at & A_SMOKER) and u2 < p[2] * incivil * dpub:
                ev |= 4
            if u3 < p[3] * incivil * dpub:
                ev |= 8
            u4, u5 = uniform2(key, i, 2)
            if (at & A_SMOKER) and (lflags[i] & LF_RODE_TRAIN) and u4 < p[4] * dpub:
                ev |= 16
            dishonest = (1.0 - prop_values[0, prop[0, i]]) * dfin
            if u5 < p[5] * dishonest:
                ev |= 32
            u6, u7 = uniform2(key, i, 3)
            if u6 < p[6] * dishonest:
                ev |= 64
            if u7 < p[7] * dishonest:
                ev |= 128
            speaker = (at & A_SPEAKER) != 0
            if speaker:
                rate, crit = p[9], p[11]
            else:
                rate, crit = p[8], p[10]
            mcode = mult_times(deter[2, i], chill[i])
            u8, u9 = uniform2(key, i, 4)
            u10, _ = uniform2(key, i, 5)
            if mcode == 0:
                sp = 1 if speaker else 0
                npost = poisson_e(u8, rate, pre[sp, 0])
                p_true, p_false = pre[sp, 1], pre[sp, 2]
            else:
                rate *= mult_of(mcode)
                npost = poisson(u8, rate)
                p_true = 1.0 - math.exp(-rate * p[12] * p[13])
                p_false = 1.0 - math.exp(-rate * (crit * p[14] + (1.0 - crit - p[12]) * p[15]))
            if u9 < p_true:
                ev |= 256
            if u10 < p_false:
                ev |= 512
        true_ev[i] = ev
        posts[i] = min(npost, 65535)


KEYS = ("p_community_service", "p_domestic_purchase", "p_smoking_in_public",
        "p_traffic_violation", "p_smoking_on_train", "p_debt_default", "p_fraud",
        "p_tax_evasion", "post_rate", "post_rate_speaker", "critical", "critical_speaker",
        "misinfo", "flag_false", "flag_critical", "flag_other")


class Behave(Phase):
    """True events per agent and type; children commit none; deterrence and chilling
    scale the probabilities; smoking on a train needs yesterday's ride."""

    name = "behave"

    def run(self, day: int) -> None:
        s = self.sim
        p = np.array([s.params.at(f"behave.{k}", day) for k in KEYS])
        pop, st, d = s.pop, s.state, s.day
        behave_kernel(day_key(s.seed, S_BEHAVE, day), pop.attrs, pop.prop, pop.prop_values,
                      st.lflags,
                      st.deter, st.chill, p, d.true_ev, d.posts)
