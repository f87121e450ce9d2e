"""Phase 2, observe: sensors turn true events into observed ones (cameras with
misidentification, registry, payment platform, train staff, speech monitor), courts
open cases and land judgments, defamation cases end in apologies."""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

import numba as nb
import numpy as np

from ..constants import (
    CASE_DEFAMATION,
    CASE_FALSE_BIT,
    DC_DEF_DROPPED,
    DC_DEF_JUDGED,
    DC_DEF_OPENED,
    DC_FIN_DROPPED,
    DC_FIN_JUDGED,
    DC_FIN_OPENED,
    DC_INSINCERE,
    DC_JUDGED_FALSE,
    EVENT_TYPES,
    S_COURT,
    S_MISID_TARGET,
    S_OBSERVE,
    SMOKING_IN_PUBLIC,
)
from ..kernels import agents_with
from ..population import A_SPEAKER, urban_of
from ..rng import AGENT_GRAIN, other_in_range, parallel_for, span, uniform
from ..state import Column
from .base import Phase

if TYPE_CHECKING:
    from ..scenario import DayParams, Scenario


class ObserveParams(NamedTuple):
    """The observe section on one day, as the kernel reads it."""

    registry: bool
    payment_platform: bool
    cameras: bool
    train_staff: bool
    speech_monitor: bool
    courts: bool
    p_registry: float
    coverage_urban: float
    coverage_rural: float
    misid: float
    p_train_staff: float
    p_case: float
    p_defamation_speaker: float
    p_defamation_other: float
    p_insincere: float
    court_delay: int

    @classmethod
    def on(cls, scn: Scenario, params: DayParams, day: int) -> ObserveParams:
        sc = scn.observe

        def at(key: str) -> float:
            return float(params.at(f"observe.{key}", day))

        return cls(
            bool(sc.registry),
            bool(sc.payment_platform),
            bool(sc.cameras),
            bool(sc.train_staff),
            bool(sc.speech_monitor),
            bool(sc.courts),
            at("p_registry"),
            at("coverage_urban"),
            at("coverage_rural"),
            at("misid"),
            at("p_train_staff"),
            at("p_case"),
            at("p_defamation_speaker"),
            at("p_defamation_other"),
            at("p_insincere"),
            round(at("court_delay")),
        )


@nb.njit(nogil=True, cache=True)
def observe_kernel(lo, hi, key, ckey, day, attrs, true_ev, pend_day, case, p, obs, marks, court):
    """Who among agents lo to hi observes what today (``p``: ObserveParams; through
    ``rng.parallel_for``). Most agents have no event and no judgment today: a first pass
    clears every agent's columns, the second handles the others."""
    for i in span(lo, hi):
        obs[i] = 0
        marks[i] = 0
        court[i] = 0
    # (a signed index here: with span this branchy loop ran 1.5 to 2 times slower)
    for i in range(lo, hi):
        if pend_day[i] != day and true_ev[i] == 0:
            continue
        o = 0
        m = 0
        c = 0
        # a judgment lands: the case's event is observed today (its delta applies now)
        if pend_day[i] == day:
            kind = case[i] & 7
            if kind == CASE_DEFAMATION:
                c |= DC_DEF_JUDGED
                if case[i] & CASE_FALSE_BIT:
                    c |= DC_JUDGED_FALSE
                if uniform(ckey, i, 0) < p.p_insincere:
                    c |= DC_INSINCERE
            else:
                c |= DC_FIN_JUDGED
                o |= 1 << (4 + kind)  # debt 5, fraud 6, tax 7
            pend_day[i] = -1
            case[i] &= 0xF0
        ev = true_ev[i]
        if ev != 0:
            if p.registry and (ev & 1) and uniform(key, i, 0) < p.p_registry:
                o |= 1
            if p.payment_platform and (ev & 2):
                o |= 2
            if p.cameras:
                cov = p.coverage_urban if urban_of(attrs[i]) else p.coverage_rural
                for t in range(2):  # smoking in public, traffic violation
                    b = 1 << (SMOKING_IN_PUBLIC + t)
                    if (ev & b) and uniform(key, i, 2 + t) < cov:
                        if uniform(key, i, 4 + t) < p.misid:
                            m |= 1 << t
                        else:
                            o |= b
            if p.train_staff and (ev & 16) and uniform(key, i, 6) < p.p_train_staff:
                o |= 16
            if p.courts:
                for t in range(3):  # debt, fraud, tax
                    if (ev & (32 << t)) and uniform(key, i, 7 + t) < p.p_case:
                        if pend_day[i] < 0:
                            pend_day[i] = day + p.court_delay
                            case[i] = (case[i] & 0xF0) | (1 + t)
                            c |= DC_FIN_OPENED
                        else:
                            c |= DC_FIN_DROPPED
            if p.speech_monitor:
                pdef = p.p_defamation_speaker if attrs[i] & A_SPEAKER else p.p_defamation_other
                for t in range(2):  # rumour (true), rumour (false flag)
                    b = 256 << t
                    if ev & b:
                        o |= b
                        if p.courts and uniform(key, i, 10 + t) < pdef:
                            if pend_day[i] < 0:
                                pend_day[i] = day + p.court_delay
                                case[i] = (case[i] & 0xF0) | CASE_DEFAMATION | (CASE_FALSE_BIT * t)
                                c |= DC_DEF_OPENED
                            else:
                                c |= DC_DEF_DROPPED
        obs[i] = o
        marks[i] = m
        court[i] = c


@nb.njit(cache=True)
def misid_targets(key, offenders, bit, region, region_start, target):
    """The agent each misidentified event is pinned on: uniform over the rest of the region."""
    for k in range(offenders.shape[0]):
        i = offenders[k]
        r = region[i]
        lo, size = region_start[r], region_start[r + 1] - region_start[r]
        if size <= 1:
            target[k] = -1  # nobody else in the region: the match fails, nothing recorded
            continue
        target[k] = other_in_range(uniform(key, i, bit[k]), i, lo, size)


class Observe(Phase):
    name = "observe"
    section = "observe"
    state_columns = (
        Column("pend_day", "int16", "day a pending judgment lands (-1: none)", fill=-1),
        Column(
            "case",
            "uint8",
            "bits 0-3: the pending case (CASE_* | CASE_FALSE_BIT); bits "
            "4-6: the reason of the court listing (an index into COURT_REASONS, set by "
            "list); bit 7: CASE_KNOWS (set by services, cleared by list)",
        ),
    )
    day_columns = (
        Column(
            "obs", "uint16", "observed events attributed to the agent rightly (bit 9: a false flag)"
        ),
        Column(
            "marks",
            "uint8",
            "bits 0/1: the agent's smoking/traffic offence was pinned on "
            "another; bits 2-4: penalised today in category 0-2 (set by score)",
        ),
        Column("court", "uint8", "DC_* bits: cases opened, dropped, judged today"),
        Column("false_target", "int32", "misidentified events: who received each", per_agent=False),
        Column("false_type", "uint8", "misidentified events: the event type", per_agent=False),
        Column("false_source", "int32", "misidentified events: the true offender", per_agent=False),
    )

    metrics = (
        *(f"observed_{t}" for t in EVENT_TYPES),
        "misidentified_smoking_in_public",
        "misidentified_traffic_violation",
        "false_flag_rumour",
        "cases_financial",
        "cases_financial_dropped",
        "cases_defamation",
        "cases_defamation_dropped",
        "judgments_financial",
        "judgments_defamation",
        "apologies_insincere",
    )
    counts = (
        *(("obs", 1 << k, f"observed_{t}") for k, t in enumerate(EVENT_TYPES)),
        ("obs", 1 << len(EVENT_TYPES), "observed_rumour"),  # a false flag is a rumour flag
        ("obs", 1 << len(EVENT_TYPES), "false_flag_rumour"),
        ("court", DC_FIN_OPENED, "cases_financial"),
        ("court", DC_FIN_DROPPED, "cases_financial_dropped"),
        ("court", DC_DEF_OPENED, "cases_defamation"),
        ("court", DC_DEF_DROPPED, "cases_defamation_dropped"),
        ("court", DC_FIN_JUDGED, "judgments_financial"),
        ("court", DC_DEF_JUDGED, "judgments_defamation"),
        ("court", DC_INSINCERE, "apologies_insincere"),
    )

    def run(self, day: int) -> None:
        s = self.sim
        pa = s.params
        st, d, pop = s.state, s.day, s.pop
        parallel_for(
            observe_kernel,
            s.n,
            s.key(S_OBSERVE, day),
            s.key(S_COURT, day),
            day,
            pop.attrs,
            d.true_ev,
            st.pend_day,
            st.case,
            ObserveParams.on(s.scenario, pa, day),
            d.obs,
            d.marks,
            d.court,
            grain=AGENT_GRAIN,
        )
        # the few misidentified events land on another agent of the region
        misid = d.marks  # bits 0/1 only, until score marks the penalised
        off = agents_with(misid, 3)
        # in the order of the offenders, each one's smoking event before its traffic
        # violation (an order that a partitioned run keeps, process by process)
        reps = 1 + (misid[off] == 3).astype(np.int64)
        offenders = np.repeat(off, reps).astype(np.int64)
        bit = np.repeat(np.where(misid[off] & 1, 0, 1), reps).astype(np.int64)
        bit[np.cumsum(reps)[reps == 2] - 1] = 1  # the second of an offender's two
        target = np.empty(offenders.shape[0], np.int64)
        misid_targets(
            s.key(S_MISID_TARGET, day),
            offenders,
            bit,
            pop.region,
            pop.region_start,
            target,
        )
        ok = target >= 0
        d.false_target = target[ok].astype(np.int32)
        d.false_type = (SMOKING_IN_PUBLIC + bit[ok]).astype(np.uint8)
        d.false_source = offenders[ok].astype(np.int32)
