"""Phase 5, services: each agent may ask for each of the eleven services; the scenario's
policy grants, denies, asks a deposit or gives a perk. A train ride today makes smoking
on a train possible tomorrow."""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

import numba as nb
import numpy as np

from ..constants import (
    CHILD,
    DENIED,
    DEPOSIT,
    ELDER,
    GRANTED,
    LF_COURT,
    LF_RODE_TRAIN,
    LF_SCORE,
    N_SERVICES,
    OUTCOMES,
    PERK,
    S_SERVICES,
    SERVICES,
    SVC_TRAIN,
)
from ..kernels import travel_factors
from ..population import A_TRAVELLER, age_of, parent_of, urban_of
from ..rng import day_key, uniform, uniform2
from ..state import Column
from .base import Phase

if TYPE_CHECKING:
    from ..scenario import DayParams


@nb.njit(inline="always")
def parent_listed(pkey, i, region, adult_start, adult_count, lflags):
    p = parent_of(pkey, i, region, adult_start, adult_count)
    return p >= 0 and (lflags[p] & (LF_COURT | LF_SCORE)) != 0


class ServiceRules(NamedTuple):
    """Every service's rules on one day (arrays over services, in SERVICES order), as the
    kernel reads them; a threshold that is nan is no such rule."""

    who: np.ndarray  # bool [service, age group]: who asks for it
    deny_listed: np.ndarray  # bool
    deny_parent_listed: np.ndarray  # bool: a child is denied if its parent is listed
    annual_day: np.ndarray  # int64: the one day of the year it is asked for (-1: any day)
    unscored_deposit: np.ndarray  # bool: the unscored pay a deposit
    p_urban: np.ndarray  # float64: today's request probabilities
    p_rural: np.ndarray
    p_elder_urban: np.ndarray
    p_elder_rural: np.ndarray
    deny_below: np.ndarray  # float64: today's thresholds (nan: none)
    deposit_below: np.ndarray
    perk_from: np.ndarray
    m_travel: np.ndarray  # float64 [2, service]: request-rate factor of others, travellers
    listed_share: np.ndarray  # float64: share of requests a listing bars

    @classmethod
    def on(cls, pa: DayParams, day: int) -> ServiceRules:
        ser = pa.svc_series
        return cls(
            pa.svc_who,
            pa.svc_deny_listed,
            pa.svc_deny_parent_listed,
            pa.svc_annual_day,
            pa.svc_unscored_deposit,
            ser["p_urban"][day],
            ser["p_rural"][day],
            ser["p_elder_urban"][day],
            ser["p_elder_rural"][day],
            ser["deny_below"][day],
            ser["deposit_below"][day],
            ser["perk_from"][day],
            travel_factors(pa.at("population.frequent_travellers", day), ser["frequent"][day]),
            ser["listed_share"][day],
        )


@nb.njit(inline="always")
def request_p(s, a, urb, trav, r):
    if a == ELDER:
        p = r.p_elder_urban[s] if urb else r.p_elder_rural[s]
    else:
        p = r.p_urban[s] if urb else r.p_rural[s]
    return min(1.0, p * r.m_travel[1 if trav else 0, s])


@nb.njit(inline="always")
def asks(s, a, doy, r):
    return r.who[s, a] and (r.annual_day[s] < 0 or doy == r.annual_day[s])


@nb.njit(cache=True)
def none_probability(doy, r):
    """P(no request today) for each age group, urban status and traveller class: the
    product of 1 - p."""
    q = np.ones((3, 2, 2))
    for a in range(3):
        for urb in range(2):
            for trav in range(2):
                for s in range(N_SERVICES):
                    if asks(s, a, doy, r):
                        q[a, urb, trav] *= 1.0 - request_p(s, a, urb == 1, trav == 1, r)
    return q


SLOT_BAN = 32  # the uniform of service s's ban (listed_share < 1) is slot 32 + s


@nb.njit(parallel=True, cache=True)
def services_kernel(
    key,
    doy,
    attrs,
    pkey,
    region,
    adult_start,
    adult_count,
    scored,
    score,
    lflags,
    r,
    q_none,
    svc_req,
    svc_out,
):
    """``r``: ServiceRules. Requests are independent draws per service; one
    uniform decides the first request by inversion (most agents: none today, one hash),
    the services after it draw fresh uniforms."""
    n = attrs.shape[0]
    for i in nb.prange(n):
        a = age_of(attrs[i])
        urb = urban_of(attrs[i])
        trav = (attrs[i] & A_TRAVELLER) != 0
        req = 0
        out = 0
        rode = False
        u0, u1 = uniform2(key, i, 0)
        if u0 < 1.0 - q_none[a, 1 if urb else 0, 1 if trav else 0]:
            listed = (lflags[i] & (LF_COURT | LF_SCORE)) != 0
            sc = scored[i]
            x = score[i]
            q = 1.0
            first = True
            spare = u1  # the second half of the hash, then fresh hashes
            slot = 1
            found = False
            for s in range(N_SERVICES):
                if not asks(s, a, doy, r):
                    continue
                p = request_p(s, a, urb, trav, r)
                if first:
                    qn = q * (1.0 - p)
                    hit = u0 < 1.0 - qn  # the first request is service s
                    q = qn
                    if hit:
                        first = False
                        found = True
                else:
                    if spare < 0.0:
                        spare, nxt = uniform2(key, i, slot)
                        slot += 1
                        hit = spare < p
                        spare = nxt
                    else:
                        hit = spare < p
                        spare = -1.0
                if not hit:
                    continue
                req |= 1 << s
                if (
                    r.deny_listed[s]
                    and listed
                    and (
                        r.listed_share[s] >= 1.0
                        or uniform(key, i, SLOT_BAN + s) < r.listed_share[s]
                    )
                ):
                    o = DENIED
                elif (
                    r.deny_parent_listed[s]
                    and a == CHILD
                    and parent_listed(pkey, i, region, adult_start, adult_count, lflags)
                ):
                    o = DENIED
                elif sc and x < r.deny_below[s]:
                    o = DENIED
                elif (sc and x < r.deposit_below[s]) or (not sc and r.unscored_deposit[s]):
                    o = DEPOSIT
                elif sc and x >= r.perk_from[s]:
                    o = PERK
                else:
                    o = GRANTED
                out |= o << (2 * s)
                if s == SVC_TRAIN and o != DENIED:
                    rode = True
            if not found:
                req = 0  # rounding left u0 just above the last step: no request
                out = 0
                rode = False
        svc_req[i] = req
        svc_out[i] = out
        lflags[i] = (lflags[i] | LF_RODE_TRAIN) if rode else (lflags[i] & ~LF_RODE_TRAIN)


class Services(Phase):
    name = "services"
    section = "services"
    state_columns = ()
    day_columns = (
        Column("svc_req", "uint16", "bit s: requested service s"),
        Column("svc_out", "uint32", "2 bits per service: the outcome code"),
    )

    metrics = tuple(f"{s}_{k}" for s in SERVICES for k in ("requests", *OUTCOMES))

    def run(self, day: int) -> None:
        s = self.sim
        st, d, pop = s.state, s.day, s.pop
        rules = ServiceRules.on(s.params, day)
        services_kernel(
            day_key(s.seed, S_SERVICES, day),
            day % 365,
            pop.attrs,
            *pop.parent_args(),
            st.scored,
            st.score,
            st.lflags,
            rules,
            none_probability(day % 365, rules),
            d.svc_req,
            d.svc_out,
        )
