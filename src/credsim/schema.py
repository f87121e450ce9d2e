"""The output schema: the metrics counted per cell and day, the groups of the score
histogram, and the ledger's rows (kinds, exit reasons, the row layout). The record phase
fills them and results.py turns them into tables; neither owns them."""

from __future__ import annotations

import numpy as np

from .constants import (
    DC_DEF_DROPPED,
    DC_DEF_JUDGED,
    DC_DEF_OPENED,
    DC_FIN_DROPPED,
    DC_FIN_JUDGED,
    DC_FIN_OPENED,
    DC_INSINCERE,
    DL_APPEALED,
    DL_COURT_WRONGFUL,
    DL_ENTRY_ASSOC,
    DL_ENTRY_WRONGFUL,
    DL_EXIT_APPEAL_COURT,
    DL_EXIT_APPEAL_SCORE,
    DL_EXIT_EXPIRY,
    DL_EXIT_PAID,
    DL_EXIT_RECOVERED,
    DL_SCORE_ENTRY,
    EVENT_TYPES,
    LF_COURT,
    LF_COURT_WRONGFUL,
    LF_EVER,
    LF_SCORE,
    LF_SCORE_ASSOC,
    LF_SCORE_WRONGFUL,
    OUTCOMES,
    SERVICES,
    TIERS,
    TRUE_EVENT_NAMES,
)

# ------------------------------------------------------------------------------------
# The metrics counted per cell and day (int counts)

METRICS: list[str] = []


def _m(*names: str) -> int:
    first = len(METRICS)
    METRICS.extend(names)
    return first


M_TRUE = _m(*[f"true_{t}" for t in TRUE_EVENT_NAMES])
M_OBS = _m(*[f"observed_{t}" for t in EVENT_TYPES])
M_MISID = _m("misidentified_smoking_in_public", "misidentified_traffic_violation")
M_FALSE_FLAG = _m("false_flag_rumour")
M_CASES = _m(
    "cases_financial",
    "cases_financial_dropped",
    "cases_defamation",
    "cases_defamation_dropped",
    "judgments_financial",
    "judgments_defamation",
    "apologies_insincere",
)
M_POSTS = _m("posts")
M_SPEAKERS = _m("speakers", "rumours_of_speakers")
M_LISTED = _m(
    "listed", "listed_court", "listed_score", "listed_wrongful", "listed_association", "ever_listed"
)
M_ENTRY = _m(
    "entries_debt_default",
    "entries_fraud",
    "entries_tax_evasion",
    "entries_speech",
    "entries_score",
    "entries_wrongful",
    "entries_association",
)
M_EXIT = _m("exits_expiry", "exits_paid", "exits_recovered", "exits_appeal")
M_APPEALS = _m("appeals")
M_TIER = _m(*[f"tier_{t}" for t in TIERS])
M_SCORED = _m("scored")
M_SVC = _m(*[f"{s}_{k}" for s in SERVICES for k in ("requests",) + OUTCOMES])
M_NET = _m("edges_cut", "friendships_lost")
M_AGENTS = _m("agents")
N_METRICS = len(METRICS)

N_GROUPS = 12  # urban x age group x sex: the score histogram's groups

# ------------------------------------------------------------------------------------
# What the record phase counts by testing bits: (column, mask, metric). An agent counts
# once towards the metric when (column & mask) != 0. The day's columns true_ev, obs,
# court and lst, and the state's listing flags lflags; the other metrics (tiers, scores,
# posts, speakers, court entries by reason, services) are counted by the record kernel.

COUNTED_COLUMNS = ("true_ev", "obs", "court", "lst", "lflags")
COUNTS: list[tuple[str, int, str]] = (
    [("true_ev", 1 << k, f"true_{t}") for k, t in enumerate(TRUE_EVENT_NAMES)]
    + [("obs", 1 << k, f"observed_{t}") for k, t in enumerate(EVENT_TYPES)]
    + [
        ("obs", 1 << len(EVENT_TYPES), "observed_rumour"),  # a false flag is a rumour flag
        ("obs", 1 << len(EVENT_TYPES), "false_flag_rumour"),
    ]
    + [
        ("court", DC_FIN_OPENED, "cases_financial"),
        ("court", DC_FIN_DROPPED, "cases_financial_dropped"),
        ("court", DC_DEF_OPENED, "cases_defamation"),
        ("court", DC_DEF_DROPPED, "cases_defamation_dropped"),
        ("court", DC_FIN_JUDGED, "judgments_financial"),
        ("court", DC_DEF_JUDGED, "judgments_defamation"),
        ("court", DC_INSINCERE, "apologies_insincere"),
    ]
    + [
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
    ]
    + [
        ("lflags", LF_COURT | LF_SCORE, "listed"),
        ("lflags", LF_COURT, "listed_court"),
        ("lflags", LF_SCORE, "listed_score"),
        ("lflags", LF_COURT_WRONGFUL | LF_SCORE_WRONGFUL, "listed_wrongful"),
        ("lflags", LF_SCORE_ASSOC, "listed_association"),
        ("lflags", LF_EVER, "ever_listed"),
    ]
)


def count_table(column: str) -> np.ndarray:
    """The (mask, metric index) rows of COUNTS for one column, as an int64 [rows + 1, 2]:
    the last row holds the union of the masks (and no metric)."""
    rows = [(m, METRICS.index(name)) for c, m, name in COUNTS if c == column]
    union = 0
    for m, _ in rows:
        union |= m
    return np.array(rows + [(union, -1)], np.int64)


# ------------------------------------------------------------------------------------
# Ledger rows

KINDS = ("event", "case_opened", "case_dropped", "judgment", "listing", "exit", "appeal", "denial")
K_EVENT, K_CASE, K_DROP, K_JUDG, K_LIST, K_EXIT, K_APPEAL, K_DENIAL = range(8)
EXIT_REASONS = ("expiry", "paid", "recovered", "appeal_court", "appeal_score")
LEDGER_DTYPE = np.dtype(
    [
        ("day", np.int16),
        ("agent", np.int32),
        ("kind", np.uint8),
        ("code", np.uint8),
        ("truth", np.uint8),
        ("flags", np.uint8),
        ("delta", np.float32),
        ("score", np.float32),
        ("other", np.int32),
    ]
)
