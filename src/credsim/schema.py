"""The output schema: the metrics counted per cell and day, the groups of the score
histogram, and the ledger's rows (kinds, exit reasons, the row layout). The record phase
fills them and results.py turns them into tables; neither owns them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from . import population
from .constants import (
    EVENT_TYPES,
    OUTCOMES,
    SERVICES,
    TIERS,
    TRUE_EVENT_NAMES,
)
from .phases import ORDER

if TYPE_CHECKING:
    from .phases.base import Phase

# ------------------------------------------------------------------------------------
# The metrics counted per cell and day (int counts), as the phases declare them, in the
# day's order; the record kernel reaches groups of them by offset


def assemble(phases: Sequence[type[Phase]]) -> tuple[list[str], list[tuple[str, int, str]]]:
    """The metrics and bit counts the ``phases`` declare, in their order; refused if a
    metric is declared twice or a count names a metric no phase declares."""
    metrics = [m for ph in phases for m in ph.metrics]
    twice = sorted({m for m in metrics if metrics.count(m) > 1})
    if twice:
        raise ValueError(f"metrics declared twice: {twice}")
    counts = [c for ph in phases for c in ph.counts]
    unknown = sorted({name for _, _, name in counts} - set(metrics))
    if unknown:
        raise ValueError(f"bit counts of undeclared metrics: {unknown}")
    return metrics, counts


METRICS, COUNTS = assemble(ORDER)
N_METRICS = len(METRICS)


def _group(*names: str) -> int:
    """The offset of a group of metrics the kernels index from its first (declared
    together, in this order)."""
    first = METRICS.index(names[0])
    if METRICS[first : first + len(names)] != list(names):
        raise ImportError(f"metrics {names[0]}... must be declared together, in order")
    return first


M_TRUE = _group(*[f"true_{t}" for t in TRUE_EVENT_NAMES])
M_OBS = _group(*[f"observed_{t}" for t in EVENT_TYPES])
M_MISID = _group("misidentified_smoking_in_public", "misidentified_traffic_violation")
M_POSTS = _group("posts")
M_SPEAKERS = _group("speakers", "rumours_of_speakers")
M_ENTRY = _group("entries_debt_default", "entries_fraud", "entries_tax_evasion",
                 "entries_speech")  # fmt: skip
M_TIER = _group(*[f"tier_{t}" for t in TIERS])
M_SCORED = _group("scored")
M_SVC = _group(*[f"{s}_{k}" for s in SERVICES for k in ("requests", *OUTCOMES)])
M_SVX = _group(*[f"{s}_{k}" for k in ("retries", "switched", "forgone") for s in SERVICES])
M_NET = _group("edges_cut", "friendships_lost")
M_AGENTS = _group("agents")

N_GROUPS = population.N_GROUPS  # urban x age group x sex: the score histogram's groups

# ------------------------------------------------------------------------------------
# What the record phase counts by testing bits, as the phases declare it: (column, mask,
# metric), an agent counting once towards the metric when (column & mask) != 0. The day's
# columns true_ev, obs, court and lst, and the state's listing flags lflags; the other
# metrics (tiers, scores, posts, speakers, court entries by reason, services, cuts) are
# counted by the record kernel and the recorder.

COUNTED_COLUMNS = ("true_ev", "obs", "court", "lst", "lflags")
if {c for c, _, _ in COUNTS} - set(COUNTED_COLUMNS):
    raise ImportError(f"the record kernel counts bits of {COUNTED_COLUMNS} only")


def count_table(
    column: str,
    metrics: Sequence[str] | None = None,
    counts: Sequence[tuple[str, int, str]] | None = None,
) -> np.ndarray:
    """The (mask, metric index) rows of COUNTS (or ``counts``) for one column, as an
    int64 [rows + 1, 2]: the last row holds the union of the masks (and no metric)."""
    metrics = METRICS if metrics is None else metrics
    counts = COUNTS if counts is None else counts
    rows = [(m, metrics.index(name)) for c, m, name in counts if c == column]
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
