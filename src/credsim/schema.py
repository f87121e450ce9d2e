"""The output schema: the metrics counted per cell and day, the groups of the score
histogram, and the ledger's rows (kinds, exit reasons, the row layout). The record phase
fills them and results.py turns them into tables; neither owns them."""

from __future__ import annotations

import numpy as np

from .constants import EVENT_TYPES, OUTCOMES, SERVICES, TIERS, TRUE_EVENT_NAMES

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
M_CASES = _m("cases_financial", "cases_financial_dropped", "cases_defamation",
             "cases_defamation_dropped", "judgments_financial", "judgments_defamation",
             "apologies_insincere")
M_POSTS = _m("posts")
M_SPEAKERS = _m("speakers", "rumours_of_speakers")
M_LISTED = _m("listed", "listed_court", "listed_score", "listed_wrongful",
              "listed_association", "ever_listed")
M_ENTRY = _m("entries_debt_default", "entries_fraud", "entries_tax_evasion", "entries_speech",
             "entries_score", "entries_wrongful", "entries_association")
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
# Ledger rows

KINDS = ("event", "case_opened", "case_dropped", "judgment", "listing", "exit", "appeal",
         "denial")
K_EVENT, K_CASE, K_DROP, K_JUDG, K_LIST, K_EXIT, K_APPEAL, K_DENIAL = range(8)
EXIT_REASONS = ("expiry", "paid", "recovered", "appeal_court", "appeal_score")
LEDGER_DTYPE = np.dtype([("day", np.int16), ("agent", np.int32), ("kind", np.uint8),
                         ("code", np.uint8), ("truth", np.uint8), ("flags", np.uint8),
                         ("delta", np.float32), ("score", np.float32), ("other", np.int32)])
