"""Phase 4, list: court listings (judgments, insincere apologies) with their term and
payments, score listings below the threshold, wrongful and by-association flags, and
appeals where due process is on."""

from __future__ import annotations

import numba as nb
import numpy as np

from ..constants import (
    CASE_DEFAMATION,
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
from ..kernels import push_changes, rescore
from ..rng import day_key, uniform
from ..state import Column
from .base import Phase


@nb.njit(parallel=True, cache=True)
def list_kernel(key, day, court, obs, scored, own, own_false, assoc, score, tier,
                court_until, case, lflags, lst, delta,
                court_on, score_on, due, term, p_pay, thr, p_appeal, p_ow, p_or,
                base, lo, hi, bounds):
    n = court.shape[0]
    for i in nb.prange(n):
        lf = lflags[i]
        dl = 0
        # exits of standing listings
        if lf & LF_COURT:
            if day >= court_until[i]:
                lf &= ~(LF_COURT | LF_COURT_WRONGFUL)
                dl |= DL_EXIT_EXPIRY
            elif (case[i] >> 4) != CASE_DEFAMATION and uniform(key, i, 0) < p_pay:
                lf &= ~(LF_COURT | LF_COURT_WRONGFUL)
                dl |= DL_EXIT_PAID
        if (lf & (LF_SCORE | LF_SCORE_EXEMPT)) and score[i] >= thr:
            if lf & LF_SCORE:
                dl |= DL_EXIT_RECOVERED
            lf &= ~(LF_SCORE | LF_SCORE_WRONGFUL | LF_SCORE_ASSOC | LF_SCORE_EXEMPT)
        # appeals of standing listings
        if due and (lf & (LF_COURT | LF_SCORE)) and uniform(key, i, 1) < p_appeal:
            dl |= DL_APPEALED
            strike = False
            if lf & LF_COURT:
                wrongful = (lf & LF_COURT_WRONGFUL) != 0
                if uniform(key, i, 2) < (p_ow if wrongful else p_or):
                    lf &= ~(LF_COURT | LF_COURT_WRONGFUL)
                    dl |= DL_EXIT_APPEAL_COURT
                    strike = strike or wrongful
            if lf & LF_SCORE:
                wrongful = (lf & LF_SCORE_WRONGFUL) != 0
                if uniform(key, i, 3) < (p_ow if wrongful else p_or):
                    lf &= ~(LF_SCORE | LF_SCORE_WRONGFUL | LF_SCORE_ASSOC)
                    lf |= LF_SCORE_EXEMPT
                    dl |= DL_EXIT_APPEAL_SCORE
                    strike = strike or wrongful
            if strike:  # the false events are struck from the ledger, the score restored
                delta[i] = -own_false[i]
                dl |= DL_STRUCK
                own[i] -= own_false[i]
                own_false[i] = 0.0
                rescore(i, scored, own, assoc, base, lo, hi, bounds, score, tier)
        # new court listings: a financial judgment or an insincere apology
        c = court[i]
        if court_on and (c & (DC_FIN_JUDGED | DC_INSINCERE)):
            if c & DC_FIN_JUDGED:
                reason = 1 if obs[i] & 32 else (2 if obs[i] & 64 else 3)
            else:
                reason = CASE_DEFAMATION
                dl |= DL_SPEECH_ENTRY
            lf |= LF_COURT
            lf &= ~LF_COURT_WRONGFUL
            case[i] = (case[i] & 15) | (reason << 4)
            court_until[i] = day + term
            dl |= DL_COURT_ENTRY
            if reason == CASE_DEFAMATION and (c & DC_JUDGED_FALSE):
                lf |= LF_COURT_WRONGFUL
                dl |= DL_COURT_WRONGFUL
        # new score listings
        if score_on and scored[i] and not (lf & (LF_SCORE | LF_SCORE_EXEMPT)) and score[i] < thr:
            lf |= LF_SCORE
            dl |= DL_SCORE_ENTRY
            if score[i] - own_false[i] >= thr:
                lf |= LF_SCORE_WRONGFUL
                dl |= DL_ENTRY_WRONGFUL
            if base + own[i] >= thr:
                lf |= LF_SCORE_ASSOC
                dl |= DL_ENTRY_ASSOC
        if lf & (LF_COURT | LF_SCORE):
            lf |= LF_EVER
        lflags[i] = lf
        lst[i] = dl


class List(Phase):
    name = "list"
    section = "listing"
    state_columns = (
        Column("court_until", "int16", "last day of the court listing (-1: none)", fill=-1),
        Column("lflags", "uint8", "LF_* listing flags (and yesterday's train ride)"),
    )
    day_columns = (Column("lst", "uint16", "DL_* bits: entries, exits, appeals today"),)

    def run(self, day: int) -> None:
        s = self.sim
        sc, lc = s.scenario.score, s.scenario.listing
        st, d, pa = s.state, s.day, s.params
        list_kernel(day_key(s.seed, S_LIST, day), day, d.court, d.obs, st.scored, st.own,
                    st.own_false, st.assoc, st.score, st.tier, st.court_until,
                    st.case, st.lflags, d.lst, d.delta, lc.court_listing, lc.score_listing,
                    lc.due_process, round(pa.at("listing.court_term", day)),
                    pa.at("listing.p_pay", day),
                    pa.at("listing.score_threshold", day), pa.at("listing.p_appeal", day),
                    pa.at("listing.p_overturn_wrongful", day),
                    pa.at("listing.p_overturn_rightful", day), sc.base, sc.min, sc.max,
                    pa.tier_bounds[day])
        struck = np.flatnonzero(d.lst & DL_STRUCK)
        if struck.size:
            push_changes(s, struck)
