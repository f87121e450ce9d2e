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
from ..rng import AGENT_GRAIN, day_key, parallel_for, uniform, uniform2
from ..state import Column
from .base import Phase

if TYPE_CHECKING:
    from ..scenario import DayParams


@nb.njit(inline="always")
def parent_listed(pkey, i, region, adult_start, adult_count, lflags):
    p = parent_of(pkey, i, region, adult_start, adult_count)
    return p >= 0 and (lflags[p] & (LF_COURT | LF_SCORE)) != 0


Row = tuple  # one value per service, in SERVICES order


def _row(a: np.ndarray) -> tuple:
    return tuple(a.tolist())


class ServiceRules(NamedTuple):
    """Every service's rules on one day (a tuple over services, in SERVICES order, for
    each rule), as the kernel reads them; a threshold that is nan is no such rule. Tuples,
    not arrays: the kernel's loop reads them without counting references (on a thread,
    reading an array from a record in the loop cost an atomic reference count a read,
    and made the phase six times slower)."""

    who: tuple  # bool [service][age group]: who asks for it
    deny_listed: Row  # bool
    deny_parent_listed: Row  # bool: a child is denied if its parent is listed
    annual_day: Row  # int: the one day of the year it is asked for (-1: any day)
    unscored_deposit: Row  # bool: the unscored pay a deposit
    p_urban: Row  # float: today's request probabilities
    p_rural: Row
    p_elder_urban: Row
    p_elder_rural: Row
    deny_below: Row  # float: today's thresholds (nan: none)
    deposit_below: Row
    perk_from: Row
    m_travel: tuple  # float [others, travellers][service]: request-rate factors
    listed_share: Row  # float: share of requests a listing bars
    retry: Row  # float: a denied request is tried again
    p_switch: Row  # float: a denied request turns to switch_to
    switch_to: Row  # int: the service it turns to (ALLOWED: its own rule's)
    give_up: Row  # float: an agent that knows it is listed forgoes a barred request
    acts: bool  # some service has retries, switches or giving up today

    @classmethod
    def on(cls, pa: DayParams, day: int) -> ServiceRules:
        ser = pa.svc_series
        m = travel_factors(pa.at("population.frequent_travellers", day), ser["frequent"][day])
        return cls(
            tuple(_row(w) for w in pa.svc_who),
            _row(pa.svc_deny_listed),
            _row(pa.svc_deny_parent_listed),
            _row(pa.svc_annual_day),
            _row(pa.svc_unscored_deposit),
            _row(ser["p_urban"][day]),
            _row(ser["p_rural"][day]),
            _row(ser["p_elder_urban"][day]),
            _row(ser["p_elder_rural"][day]),
            _row(ser["deny_below"][day]),
            _row(ser["deposit_below"][day]),
            _row(ser["perk_from"][day]),
            (_row(m[0]), _row(m[1])),
            _row(ser["listed_share"][day]),
            _row(ser["retry"][day]),
            _row(ser["p_switch"][day]),
            _row(pa.svc_switch_to),
            _row(ser["give_up"][day]),
            bool(
                ser["retry"][day].any() or ser["p_switch"][day].any() or ser["give_up"][day].any()
            ),
        )


@nb.njit(inline="always")
def request_p(s, a, urb, trav, r):
    if a == ELDER:
        p = r.p_elder_urban[s] if urb else r.p_elder_rural[s]
    else:
        p = r.p_urban[s] if urb else r.p_rural[s]
    return min(1.0, p * r.m_travel[1 if trav else 0][s])


@nb.njit(inline="always")
def asks(s, a, doy, r):
    return r.who[s][a] and (r.annual_day[s] < 0 or doy == r.annual_day[s])


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
SLOT_RETRY = 48  # of its retries: slot 48 + s
SLOT_SWITCH = 64  # of its switch: slot 64 + s
SLOT_GIVE_UP = 80  # of giving up a barred request: slot 80 + s
RETRY_MOST = 15  # a denied request is tried again at most this often in a day
ALLOWED = -1  # switch_to: what the same service's rule allows (an ordinary train)
FORGONE = -1  # outcome: a barred request the agent, knowing it is listed, does not make
N_CHUNKS = 32  # fixed partition of the agents for the counts of retries and switches


def _outcome(s, a, listed, sc, x, key, i, pkey, region, adult_start, adult_count, lflags, case, r):
    """The outcome of agent i's request for service s under today's rules ``r``; a
    request its listing bars is denied (and the agent knows it is listed), or, if it
    already knew, forgone with probability give_up (FORGONE)."""
    if (
        r.deny_listed[s]
        and listed
        and (r.listed_share[s] >= 1.0 or uniform(key, i, SLOT_BAN + s) < r.listed_share[s])
    ):
        if case[i] & CASE_KNOWS:
            if r.give_up[s] > 0.0 and uniform(key, i, SLOT_GIVE_UP + s) < r.give_up[s]:
                return FORGONE
        else:
            case[i] |= CASE_KNOWS
        return DENIED
    if (
        r.deny_parent_listed[s]
        and a == CHILD
        and parent_listed(pkey, i, region, adult_start, adult_count, lflags)
    ):
        return DENIED
    if sc and x < r.deny_below[s]:
        return DENIED
    if (sc and x < r.deposit_below[s]) or (not sc and r.unscored_deposit[s]):
        return DEPOSIT
    if sc and x >= r.perk_from[s]:
        return PERK
    return GRANTED


# inlined where every request is decided (a call there doubled the phase's time at 10M);
# called from switches, which few agents reach (inlining it there too costs compile time)
outcome = nb.njit(inline="always")(_outcome)
outcome_called = nb.njit(_outcome)


@nb.njit
def retries(key, i, s, r):
    """How often a denied request for service s is tried again: P(at least k) = retry^k,
    at most RETRY_MOST."""
    k = 0
    p = r.retry[s]
    if p > 0.0:
        u = uniform(key, i, SLOT_RETRY + s)
        q = p
        while k < RETRY_MOST and u < q:
            k += 1
            q *= p
    return k


@nb.njit  # called, not inlined: only agents with a denied request get here
def switches(
    key, i, a, doy, listed, sc, x, pkey, region, adult_start, adult_count, lflags, case, r,
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
            or r.p_switch[s] <= 0.0
            or uniform(key, i, SLOT_SWITCH + s) >= r.p_switch[s]
        ):
            continue
        t = r.switch_to[s]
        if t == ALLOWED:
            mo[c, N_SERVICES + s] += 1
            if s == SVC_TRAIN:
                rode = True
            continue
        if (req >> t) & 1 or not asks(t, a, doy, r):
            continue  # already asked for today, or not for this agent
        into |= 1 << t
        o = outcome_called(
            t, a, listed, sc, x, key, i, pkey, region, adult_start,
            adult_count, lflags, case, r,
        )  # fmt: skip
        if o == FORGONE:  # knowing it is listed, it does not try that either
            mo[c, 2 * N_SERVICES + t] += 1
            continue
        mo[c, N_SERVICES + s] += 1
        req |= 1 << t
        out |= o << (2 * t)
        if o == DENIED:
            mo[c, t] += retries(key, i, t, r)
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
    r,
    q_none,
    svc_req,
    svc_out,
    more,
):
    """``r``: ServiceRules. Requests are independent draws per service; one
    uniform decides the first request by inversion (most agents: none today, one hash),
    the services after it draw fresh uniforms. When a rule has retries, switches or
    giving up (``r.acts``), a denied request may be tried again and then turn to another
    service, and a barred one be forgone; ``more[chunk, cell]`` counts the retries of
    each service, then the switches from each, then the requests forgone (a fixed
    partition of the agents into chunks; integer counts, so exact). Chunks ch0 to ch1 of
    that partition, through ``rng.parallel_for``."""
    n = attrs.shape[0]
    nch = more.shape[0]
    step = (n + nch - 1) // nch
    for ch in range(ch0, ch1):
        mo = more[ch]
        for i in range(ch * step, min(n, (ch + 1) * step)):
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
                    o = outcome(
                        s, a, listed, sc, x, key, i, pkey, region, adult_start, adult_count,
                        lflags, case, r,
                    )  # fmt: skip
                    if o == FORGONE:
                        req &= ~(1 << s)
                        mo[c, 2 * N_SERVICES + s] += 1
                        continue
                    out |= o << (2 * s)
                    if o == DENIED:
                        denied = True
                        if r.acts:
                            mo[c, s] += retries(key, i, s, r)
                    elif s == SVC_TRAIN:
                        rode = True
                if not found:
                    req = 0  # rounding left u0 just above the last step: no request
                    out = 0
                    rode = False
                elif denied and r.acts:
                    req, out, rode = switches(
                        key, i, a, doy, listed, sc, x, pkey, region, adult_start,
                        adult_count, lflags, case, r, req, out, rode, mo, c,
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
        # retries and switches by chunk and cell, summed into d.svc_more
        cells = len(pop.region_names) * N_GROUPS if rules.acts else 0
        more = np.zeros((N_CHUNKS, cells, 3 * N_SERVICES if rules.acts else 0), np.int32)
        parallel_for(
            services_kernel,
            N_CHUNKS,
            day_key(s.seed, S_SERVICES, day),
            day % 365,
            pop.attrs,
            *pop.parent_args(),
            st.scored,
            st.score,
            st.lflags,
            st.case,
            rules,
            none_probability(day % 365, rules),
            d.svc_req,
            d.svc_out,
            more,
            grain=AGENT_GRAIN,
            work=s.n,
        )
        d.svc_more = more.sum(axis=0, dtype=np.int64) if rules.acts else np.zeros(0, np.int64)
