"""Phase 5, services: each agent may ask for each of the eleven services; the scenario's
policy grants, denies, asks a deposit or gives a perk. A train ride today makes smoking
on a train possible tomorrow."""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

import numba as nb
import numpy as np

from ..constants import (
    CASE_KNOWS,
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
from ..population import A_GROUP, A_TRAVELLER, N_GROUPS, age_of, parent_of, urban_of
from ..rng import AGENT_GRAIN, parallel_for, span, uniform, uniform2
from ..state import Column
from .base import Phase

if TYPE_CHECKING:
    from ..scenario import DayParams


@nb.njit(inline="always")
def parent_listed(pkey, i, region, adult_start, adult_count, lflags):
    p = parent_of(pkey, i, region, adult_start, adult_count)
    return p >= 0 and (lflags[p] & (LF_COURT | LF_SCORE)) != 0


class ServiceRules(NamedTuple):
    """Every service's rules on one day (arrays over services, in SERVICES order); a
    threshold that is nan is no such rule. The kernels read them packed (``packed``)."""

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
    retry: np.ndarray  # float64: a denied request is tried again
    p_switch: np.ndarray  # float64: a denied request turns to switch_to
    switch_to: np.ndarray  # int64: the service it turns to (ALLOWED: its own rule's)
    give_up: np.ndarray  # float64: an agent that knows it is listed forgoes a barred request
    acts: bool  # some service has retries, switches or giving up today

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
            ser["retry"][day],
            ser["p_switch"][day],
            pa.svc_switch_to,
            ser["give_up"][day],
            bool(
                ser["retry"][day].any() or ser["p_switch"][day].any() or ser["give_up"][day].any()
            ),
        )

    def packed(self) -> tuple[np.ndarray, np.ndarray]:
        """The rules as the kernels read them: (float rules [F_*, service], integer rules
        [I_*, service]), two arrays passed as the kernels' own arguments (read from a
        record inside a serial loop, each array costs an atomic reference count a read:
        services ran six times slower so)."""
        rf = np.stack(
            [
                self.p_urban, self.p_rural, self.p_elder_urban, self.p_elder_rural,
                self.deny_below, self.deposit_below, self.perk_from, self.m_travel[0],
                self.m_travel[1], self.listed_share, self.retry, self.p_switch, self.give_up,
            ]
        ).astype(np.float64)  # fmt: skip
        ri = np.concatenate(
            [
                self.who.T,
                np.stack(
                    [
                        self.deny_listed, self.deny_parent_listed, self.annual_day,
                        self.unscored_deposit, self.switch_to,
                    ]
                ),
            ]
        ).astype(np.int64)  # fmt: skip
        return np.ascontiguousarray(rf), np.ascontiguousarray(ri)


# rows of ServiceRules.packed(): the float rules, then the integer ones (I_WHO + age group)
(F_P_URBAN, F_P_RURAL, F_P_ELDER_URBAN, F_P_ELDER_RURAL, F_DENY_BELOW, F_DEPOSIT_BELOW,
 F_PERK_FROM, F_M_OTHER, F_M_TRAVELLER, F_LISTED_SHARE, F_RETRY, F_P_SWITCH,
 F_GIVE_UP) = range(13)  # fmt: skip
I_WHO = 0
I_DENY_LISTED, I_DENY_PARENT, I_ANNUAL_DAY, I_UNSCORED_DEPOSIT, I_SWITCH_TO = range(3, 8)


@nb.njit(inline="always")
def request_p(s, a, urb, trav, rf):
    if a == ELDER:
        p = rf[F_P_ELDER_URBAN, s] if urb else rf[F_P_ELDER_RURAL, s]
    else:
        p = rf[F_P_URBAN, s] if urb else rf[F_P_RURAL, s]
    return min(1.0, p * rf[F_M_TRAVELLER if trav else F_M_OTHER, s])


@nb.njit(inline="always")
def asks(s, a, doy, ri):
    return ri[I_WHO + a, s] != 0 and (ri[I_ANNUAL_DAY, s] < 0 or doy == ri[I_ANNUAL_DAY, s])


@nb.njit(cache=True)
def none_probability(doy, rf, ri):
    """P(no request today) for each age group, urban status and traveller class: the
    product of 1 - p."""
    q = np.ones((3, 2, 2))
    for a in range(3):
        for urb in range(2):
            for trav in range(2):
                for s in range(N_SERVICES):
                    if asks(s, a, doy, ri):
                        q[a, urb, trav] *= 1.0 - request_p(s, a, urb == 1, trav == 1, rf)
    return q


SLOT_BAN = 32  # the uniform of service s's ban (listed_share < 1) is slot 32 + s
SLOT_RETRY = 48  # of its retries: slot 48 + s
SLOT_SWITCH = 64  # of its switch: slot 64 + s
SLOT_GIVE_UP = 80  # of giving up a barred request: slot 80 + s
RETRY_MOST = 15  # a denied request is tried again at most this often in a day
ALLOWED = -1  # switch_to: what the same service's rule allows (an ordinary train)
FORGONE = -1  # outcome: a barred request the agent, knowing it is listed, does not make
N_CHUNKS = 32  # fixed partition of the agents for the counts of retries and switches


def _outcome(
    s, a, listed, sc, x, key, i, pkey, region, adult_start, adult_count, lflags, case, rf, ri
):
    """The outcome of agent i's request for service s under today's rules (``rf``, ``ri``); a
    request its listing bars is denied (and the agent knows it is listed), or, if it
    already knew, forgone with probability give_up (FORGONE)."""
    if (
        ri[I_DENY_LISTED, s] != 0
        and listed
        and (rf[F_LISTED_SHARE, s] >= 1.0 or uniform(key, i, SLOT_BAN + s) < rf[F_LISTED_SHARE, s])
    ):
        if case[i] & CASE_KNOWS:
            if rf[F_GIVE_UP, s] > 0.0 and uniform(key, i, SLOT_GIVE_UP + s) < rf[F_GIVE_UP, s]:
                return FORGONE
        else:
            case[i] |= CASE_KNOWS
        return DENIED
    if (
        ri[I_DENY_PARENT, s] != 0
        and a == CHILD
        and parent_listed(pkey, i, region, adult_start, adult_count, lflags)
    ):
        return DENIED
    if sc and x < rf[F_DENY_BELOW, s]:
        return DENIED
    if (sc and x < rf[F_DEPOSIT_BELOW, s]) or (not sc and ri[I_UNSCORED_DEPOSIT, s] != 0):
        return DEPOSIT
    if sc and x >= rf[F_PERK_FROM, s]:
        return PERK
    return GRANTED


# inlined where every request is decided (a call there doubled the phase's time at 10M);
# called from switches, which few agents reach (inlining it there too costs compile time)
outcome = nb.njit(inline="always")(_outcome)
outcome_called = nb.njit(_outcome)


@nb.njit
def retries(key, i, s, rf):
    """How often a denied request for service s is tried again: P(at least k) = retry^k,
    at most RETRY_MOST."""
    k = 0
    p = rf[F_RETRY, s]
    if p > 0.0:
        u = uniform(key, i, SLOT_RETRY + s)
        q = p
        while k < RETRY_MOST and u < q:
            k += 1
            q *= p
    return k


@nb.njit  # called, not inlined: only agents with a denied request get here
def switches(
    key, i, a, doy, listed, sc, x, pkey, region, adult_start, adult_count, lflags, case, rf, ri,
    req, out, rode, mo, c,
):  # fmt: skip
    """After agent i's denials today (retries done): a denied request may turn to
    another service (decided by that service's rules, tried again if denied, never
    switched again) or to what its own rule allows; returns (req, out, rode)."""
    into = 0
    for s in range(N_SERVICES):
        if (
            ((req >> s) & 1) == 0
            or ((out >> (2 * s)) & 3) != DENIED
            or (into >> s) & 1
            or rf[F_P_SWITCH, s] <= 0.0
            or uniform(key, i, SLOT_SWITCH + s) >= rf[F_P_SWITCH, s]
        ):
            continue
        t = ri[I_SWITCH_TO, s]
        if t == ALLOWED:
            mo[c, N_SERVICES + s] += 1
            if s == SVC_TRAIN:
                rode = True
            continue
        if (req >> t) & 1 or not asks(t, a, doy, ri):
            continue  # already asked for today, or not for this agent
        into |= 1 << t
        o = outcome_called(
            t, a, listed, sc, x, key, i, pkey, region, adult_start,
            adult_count, lflags, case, rf, ri,
        )  # fmt: skip
        if o == FORGONE:  # knowing it is listed, it does not try that either
            mo[c, 2 * N_SERVICES + t] += 1
            continue
        mo[c, N_SERVICES + s] += 1
        req |= 1 << t
        out |= o << (2 * t)
        if o == DENIED:
            mo[c, t] += retries(key, i, t, rf)
        elif t == SVC_TRAIN:
            rode = True
    return req, out, rode


@nb.njit(nogil=True, cache=True)
def services_kernel(
    ch0,
    ch1,
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
    case,
    rf,
    ri,
    acts,
    q_none,
    svc_req,
    svc_out,
    more,
):
    """``rf``, ``ri``: the day's rules (``ServiceRules.packed``); ``acts``: some service has
    retries, switches or giving up today. Requests are independent draws per service; one
    uniform decides the first request by inversion (most agents: none today, one hash),
    the services after it draw fresh uniforms. When a rule has retries, switches or
    giving up, a denied request may be tried again and then turn to another
    service, and a barred one be forgone; ``more[chunk, cell]`` counts the retries of
    each service, then the switches from each, then the requests forgone (a fixed
    partition of the agents into chunks; integer counts, so exact). Chunks ch0 to ch1 of
    that partition, through ``rng.parallel_for``."""
    n = attrs.shape[0]
    nch = more.shape[0]
    step = (n + nch - 1) // nch
    for ch in range(ch0, ch1):
        mo = more[ch]
        for i in span(ch * step, min(n, (ch + 1) * step)):
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
                c = region[i] * N_GROUPS + (attrs[i] & A_GROUP)
                q = 1.0
                first = True
                spare = u1  # the second half of the hash, then fresh hashes
                slot = 1
                found = False
                denied = False
                for s in range(N_SERVICES):
                    if not asks(s, a, doy, ri):
                        continue
                    p = request_p(s, a, urb, trav, rf)
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
                    o = outcome(
                        s, a, listed, sc, x, key, i, pkey, region, adult_start, adult_count,
                        lflags, case, rf, ri,
                    )  # fmt: skip
                    if o == FORGONE:
                        req &= ~(1 << s)
                        mo[c, 2 * N_SERVICES + s] += 1
                        continue
                    out |= o << (2 * s)
                    if o == DENIED:
                        denied = True
                        if acts:
                            mo[c, s] += retries(key, i, s, rf)
                    elif s == SVC_TRAIN:
                        rode = True
                if not found:
                    req = 0  # rounding left u0 just above the last step: no request
                    out = 0
                    rode = False
                elif denied and acts:
                    req, out, rode = switches(
                        key, i, a, doy, listed, sc, x, pkey, region, adult_start,
                        adult_count, lflags, case, rf, ri, req, out, rode, mo, c,
                    )  # fmt: skip
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
        Column(
            "svc_more",
            "int64",
            "by cell: retries of denied requests by service, then switches, then forgone "
            "requests (empty: none)",
            per_agent=False,
        ),
    )

    metrics = (
        *(f"{s}_{k}" for s in SERVICES for k in ("requests", *OUTCOMES)),
        *(f"{s}_retries" for s in SERVICES),
        *(f"{s}_switched" for s in SERVICES),
        *(f"{s}_forgone" for s in SERVICES),
    )

    def run(self, day: int) -> None:
        s = self.sim
        st, d, pop = s.state, s.day, s.pop
        rules = ServiceRules.on(s.params, day)
        rf, ri = rules.packed()
        # retries and switches by chunk and cell, summed into d.svc_more
        cells = len(pop.region_names) * N_GROUPS if rules.acts else 0
        more = np.zeros((N_CHUNKS, cells, 3 * N_SERVICES if rules.acts else 0), np.int32)
        parallel_for(
            services_kernel,
            N_CHUNKS,
            s.key(S_SERVICES, day),
            day % 365,
            pop.attrs,
            *pop.parent_args(),
            st.scored,
            st.score,
            st.lflags,
            st.case,
            rf,
            ri,
            rules.acts,
            none_probability(day % 365, rf, ri),
            d.svc_req,
            d.svc_out,
            more,
            grain=AGENT_GRAIN,
            work=s.n,
        )
        d.svc_more = more.sum(axis=0, dtype=np.int64) if rules.acts else np.zeros(0, np.int64)
