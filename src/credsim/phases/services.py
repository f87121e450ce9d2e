"""Phase 5, services: each agent may ask for each of the eleven services; the scenario's
policy grants, denies, asks a deposit or gives a perk. A train ride today makes smoking
on a train possible tomorrow."""

from __future__ import annotations

import numba as nb

from ..constants import (
    DENIED,
    DEPOSIT,
    ELDER,
    GRANTED,
    LF_COURT,
    LF_COURT_WRONGFUL,
    LF_SCORE,
    LF_SCORE_WRONGFUL,
    N_SERVICES,
    PERK,
    S_SERVICES,
    ST_NOT_LISTED,
    ST_RIGHTFUL,
    ST_WRONGFUL,
    SVC_TRAIN,
)
from ..rng import day_key, uniform2
from .base import Phase


@nb.njit(inline="always")
def status_of(lf):
    if lf & (LF_COURT_WRONGFUL | LF_SCORE_WRONGFUL):
        return ST_WRONGFUL
    if lf & (LF_COURT | LF_SCORE):
        return ST_RIGHTFUL
    return ST_NOT_LISTED


@nb.njit(parallel=True, cache=True)
def services_kernel(key, doy, age, urban, parent, scored, score, lflags, who, deny_listed,
                    deny_parent, annual, unscored_deposit, sp, svc_req, svc_out, rode_train):
    """sp[s]: p urban, p rural, p elder urban, p elder rural, deny below, deposit below,
    perk from (nan: no such rule)."""
    n = age.shape[0]
    for i in nb.prange(n):
        a = age[i]
        req = 0
        out = 0
        rode = False
        listed = (lflags[i] & (LF_COURT | LF_SCORE)) != 0
        sc = scored[i]
        x = score[i]
        ua = 1.0
        ub = 1.0
        drawn = -1
        for s in range(N_SERVICES):
            if not who[s, a]:
                continue
            if annual[s] >= 0 and doy != annual[s]:
                continue
            if a == ELDER:
                p = sp[s, 2] if urban[i] else sp[s, 3]
            else:
                p = sp[s, 0] if urban[i] else sp[s, 1]
            # service s draws the (s % 2)-th uniform of hash s // 2
            if s // 2 != drawn:
                ua, ub = uniform2(key, i, s // 2)
                drawn = s // 2
            if (ub if s % 2 else ua) >= p:
                continue
            req |= 1 << s
            if deny_listed[s] and listed:
                o = DENIED
            elif deny_parent[s] and parent[i] >= 0 and (lflags[parent[i]] & (LF_COURT | LF_SCORE)):
                o = DENIED
            elif sc and x < sp[s, 4]:
                o = DENIED
            elif (sc and x < sp[s, 5]) or (not sc and unscored_deposit[s]):
                o = DEPOSIT
            elif sc and x >= sp[s, 6]:
                o = PERK
            else:
                o = GRANTED
            out |= o << (2 * s)
            if s == SVC_TRAIN and o != DENIED:
                rode = True
        svc_req[i] = req
        svc_out[i] = out
        rode_train[i] = rode


class Services(Phase):
    name = "services"

    def run(self, day: int) -> None:
        s = self.sim
        pa, st, d, pop = s.params, s.state, s.day, s.pop
        services_kernel(day_key(s.seed, S_SERVICES, day), day % 365, pop.age, pop.urban,
                        pop.parent, st.scored, st.score, st.lflags, pa.svc_who,
                        pa.svc_deny_listed, pa.svc_deny_parent, pa.svc_annual,
                        pa.svc_unscored_deposit, pa.svc[day],
                        d.svc_req, d.svc_out, st.rode_train)

