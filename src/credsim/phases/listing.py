"""Phase 4, list: court listings (judgments, insincere apologies) with their term and
payments, score listings below the threshold, wrongful and by-association flags, and
appeals where due process is on."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NamedTuple

import numba as nb
import numpy as np

from ..constants import (
    CASE_DEBT,
    CASE_DEFAMATION,
    CASE_FRAUD,
    CASE_KNOWS,
    CASE_TAX,
    CHILD,
    DC_FIN_JUDGED,
    DC_INSINCERE,
    DC_JUDGED_FALSE,
    DL_APPEALED,
    DL_COURT_ENTRY,
    DL_COURT_WRONGFUL,
    DL_ENTRY_ASSOC,
    DL_ENTRY_WRONGFUL,
    DL_EXIT_APPEAL_COURT,
    DL_EXIT_APPEAL_SCORE,
    DL_EXIT_EXPIRY,
    DL_EXIT_PAID,
    DL_EXIT_RECOVERED,
    DL_SCORE_ENTRY,
    DL_SPEECH_ENTRY,
    DL_STRUCK,
    LF_COURT,
    LF_COURT_WRONGFUL,
    LF_EVER,
    LF_SCORE,
    LF_SCORE_ASSOC,
    LF_SCORE_EXEMPT,
    LF_SCORE_WRONGFUL,
    S_LIST,
)
from ..kernels import agents_with, push_changes, rescore
from ..population import age_of
from ..rng import AGENT_GRAIN, parallel_for, span, uniform
from ..state import Column
from .base import Phase

if TYPE_CHECKING:
    from ..scenario import DayParams, Scenario


class ListParams(NamedTuple):
    """The listing section on one day (and the score range a struck ledger is rescored
    in), as the kernel reads it."""

    court_listing: bool
    score_listing: bool
    due_process: bool
    terms: np.ndarray  # int64 [5]: the term of a court listing by reason (0: no end)
    backlog: float  # share of adults listed for a debt default on day 0
    p_pay: float
    score_threshold: float
    p_appeal: float
    p_overturn_wrongful: float
    p_overturn_rightful: float
    base: float
    lo: float
    hi: float
    bounds: np.ndarray  # the tier bounds

    @classmethod
    def on(cls, scn: Scenario, pa: DayParams, day: int) -> ListParams:
        lc, sc = scn.listing, scn.score

        def at(key: str) -> float:
            return float(pa.at(f"listing.{key}", day))

        return cls(
            bool(lc.court_listing),
            bool(lc.score_listing),
            bool(lc.due_process),
            court_terms(lc, pa, day),
            float(lc.backlog),
            at("p_pay"),
            at("score_threshold"),
            at("p_appeal"),
            at("p_overturn_wrongful"),
            at("p_overturn_rightful"),
            float(sc.base),
            float(sc.min),
            float(sc.max),
            pa.tier_bounds[day],
        )


NO_END = 32767  # court_until of a listing that no term ends (the int16 maximum)
TERM_KEYS = {
    CASE_DEBT: "term_debt_default",
    CASE_FRAUD: "term_fraud",
    CASE_TAX: "term_tax_evasion",
    CASE_DEFAMATION: "term_speech",
}


def court_terms(lc: Any, pa: DayParams, day: int) -> np.ndarray:
    """The term of a new court listing today, by reason: the reason's own term where the
    scenario gives one, else ``court_term``; 0 for a listing no term ends."""
    default = round(pa.at("listing.court_term", day))
    terms = np.full(CASE_DEFAMATION + 1, default, np.int64)
    for reason, key in TERM_KEYS.items():
        if getattr(lc, key) is not None:
            terms[reason] = round(pa.at(f"listing.{key}", day))
    return terms


@nb.njit(nogil=True, cache=True)
def list_kernel(
    lo,
    hi,
    key,
    day,
    attrs,
    court,
    obs,
    scored,
    own,
    own_false,
    assoc,
    score,
    tier,
    court_until,
    case,
    lflags,
    lst,
    delta,
    p,
):
    """Exits, appeals and new listings of the day for agents lo to hi (``p``: ListParams;
    through ``rng.parallel_for``). Most agents are not listed, have no judgment today
    and score above the threshold: for them the day is an empty ``lst``, written by a
    first pass; the second handles the others."""
    for i in span(lo, hi):
        lst[i] = 0
    backlog_day = day == 0 and p.backlog > 0.0
    thr = p.score_threshold if p.score_listing else -np.inf
    for i in range(lo, hi):  # (signed: see observe_kernel)
        lf = lflags[i]
        if not (
            lf & (LF_COURT | LF_SCORE | LF_SCORE_EXEMPT)
            or court[i] & (DC_FIN_JUDGED | DC_INSINCERE)
            or backlog_day
            or (scored[i] and score[i] < thr)
            or case[i] & CASE_KNOWS
        ):
            continue
        dl = 0
        # exits of standing listings
        if lf & LF_COURT:
            if day >= court_until[i]:
                lf &= ~(LF_COURT | LF_COURT_WRONGFUL)
                dl |= DL_EXIT_EXPIRY
            elif ((case[i] >> 4) & 7) != CASE_DEFAMATION and uniform(key, i, 0) < p.p_pay:
                lf &= ~(LF_COURT | LF_COURT_WRONGFUL)
                dl |= DL_EXIT_PAID
        if (lf & (LF_SCORE | LF_SCORE_EXEMPT)) and score[i] >= p.score_threshold:
            if lf & LF_SCORE:
                dl |= DL_EXIT_RECOVERED
            lf &= ~(LF_SCORE | LF_SCORE_WRONGFUL | LF_SCORE_ASSOC | LF_SCORE_EXEMPT)
        # appeals of standing listings
        if p.due_process and (lf & (LF_COURT | LF_SCORE)) and uniform(key, i, 1) < p.p_appeal:
            dl |= DL_APPEALED
            strike = False
            if lf & LF_COURT:
                wrongful = (lf & LF_COURT_WRONGFUL) != 0
                p_over = p.p_overturn_wrongful if wrongful else p.p_overturn_rightful
                if uniform(key, i, 2) < p_over:
                    lf &= ~(LF_COURT | LF_COURT_WRONGFUL)
                    dl |= DL_EXIT_APPEAL_COURT
                    strike = strike or wrongful
            if lf & LF_SCORE:
                wrongful = (lf & LF_SCORE_WRONGFUL) != 0
                p_over = p.p_overturn_wrongful if wrongful else p.p_overturn_rightful
                if uniform(key, i, 3) < p_over:
                    lf &= ~(LF_SCORE | LF_SCORE_WRONGFUL | LF_SCORE_ASSOC)
                    lf |= LF_SCORE_EXEMPT
                    dl |= DL_EXIT_APPEAL_SCORE
                    strike = strike or wrongful
            if strike:  # the false events are struck from the ledger, the score restored
                delta[i] = -own_false[i]
                dl |= DL_STRUCK
                own[i] -= own_false[i]
                own_false[i] = 0.0
                rescore(i, scored, own, assoc, p.base, p.lo, p.hi, p.bounds, score, tier)
        # new court listings: a financial judgment or an insincere apology (or, on day 0,
        # the backlog of debt defaults listed before the run)
        c = court[i]
        backlog = (
            day == 0
            and p.backlog > 0.0
            and age_of(attrs[i]) != CHILD
            and uniform(key, i, 4) < p.backlog
        )
        if p.court_listing and ((c & (DC_FIN_JUDGED | DC_INSINCERE)) or backlog):
            if c & DC_FIN_JUDGED:
                reason = 1 if obs[i] & 32 else (2 if obs[i] & 64 else 3)
            elif c & DC_INSINCERE:
                reason = CASE_DEFAMATION
                dl |= DL_SPEECH_ENTRY
            else:
                reason = CASE_DEBT
            lf |= LF_COURT
            lf &= ~LF_COURT_WRONGFUL
            case[i] = (case[i] & (15 | CASE_KNOWS)) | (reason << 4)
            term = p.terms[reason]
            court_until[i] = day + term if term > 0 else NO_END
            dl |= DL_COURT_ENTRY
            if reason == CASE_DEFAMATION and (c & DC_JUDGED_FALSE):
                lf |= LF_COURT_WRONGFUL
                dl |= DL_COURT_WRONGFUL
        # new score listings
        if (
            p.score_listing
            and scored[i]
            and not (lf & (LF_SCORE | LF_SCORE_EXEMPT))
            and score[i] < p.score_threshold
        ):
            lf |= LF_SCORE
            dl |= DL_SCORE_ENTRY
            if score[i] - own_false[i] >= p.score_threshold:
                lf |= LF_SCORE_WRONGFUL
                dl |= DL_ENTRY_WRONGFUL
            if p.base + own[i] >= p.score_threshold:
                lf |= LF_SCORE_ASSOC
                dl |= DL_ENTRY_ASSOC
        if lf & (LF_COURT | LF_SCORE):
            lf |= LF_EVER
        lflags[i] = lf
        if case[i] & CASE_KNOWS and not lf & (LF_COURT | LF_SCORE):
            case[i] &= ~CASE_KNOWS  # no longer listed: a new listing must be learnt again
        lst[i] = dl


class List(Phase):
    name = "list"
    section = "listing"
    state_columns = (
        Column("court_until", "int16", "last day of the court listing (-1: none)", fill=-1),
        Column("lflags", "uint8", "LF_* listing flags (and yesterday's train ride)"),
    )
    day_columns = (Column("lst", "uint16", "DL_* bits: entries, exits, appeals today"),)

    metrics = (
        "listed",
        "listed_court",
        "listed_score",
        "listed_wrongful",
        "listed_association",
        "ever_listed",
        "entries_debt_default",
        "entries_fraud",
        "entries_tax_evasion",
        "entries_speech",
        "entries_score",
        "entries_wrongful",
        "entries_association",
        "exits_expiry",
        "exits_paid",
        "exits_recovered",
        "exits_appeal",
        "appeals",
    )
    counts = (
        ("lst", DL_SCORE_ENTRY, "entries_score"),
        ("lst", DL_ENTRY_WRONGFUL, "entries_wrongful"),
        ("lst", DL_COURT_WRONGFUL, "entries_wrongful"),
        ("lst", DL_ENTRY_ASSOC, "entries_association"),
        ("lst", DL_EXIT_EXPIRY, "exits_expiry"),
        ("lst", DL_EXIT_PAID, "exits_paid"),
        ("lst", DL_EXIT_RECOVERED, "exits_recovered"),
        ("lst", DL_EXIT_APPEAL_COURT, "exits_appeal"),
        ("lst", DL_EXIT_APPEAL_SCORE, "exits_appeal"),
        ("lst", DL_APPEALED, "appeals"),
        ("lflags", LF_COURT | LF_SCORE, "listed"),
        ("lflags", LF_COURT, "listed_court"),
        ("lflags", LF_SCORE, "listed_score"),
        ("lflags", LF_COURT_WRONGFUL | LF_SCORE_WRONGFUL, "listed_wrongful"),
        ("lflags", LF_SCORE_ASSOC, "listed_association"),
        ("lflags", LF_EVER, "ever_listed"),
    )

    def run(self, day: int) -> None:
        s = self.sim
        st, d = s.state, s.day
        parallel_for(
            list_kernel,
            s.n,
            s.key(S_LIST, day),
            day,
            s.pop.attrs,
            d.court,
            d.obs,
            st.scored,
            st.own,
            st.own_false,
            st.assoc,
            st.score,
            st.tier,
            st.court_until,
            st.case,
            st.lflags,
            d.lst,
            d.delta,
            ListParams.on(s.scenario, s.params, day),
            grain=AGENT_GRAIN,
        )
        struck = agents_with(d.lst, DL_STRUCK)
        if struck.size or s.part is not None:  # (every rank of a partitioned run calls it)
            push_changes(s, struck)
