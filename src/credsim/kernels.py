"""Kernels that more than one phase (or the simulation's build) uses: the score and tier
of an agent, the friend sums that the association term reads, and an agent's listing
status. Phases import from here, never from each other."""

from __future__ import annotations

from typing import Any

import numba as nb
import numpy as np

from .constants import (
    LF_COURT,
    LF_COURT_WRONGFUL,
    LF_SCORE,
    LF_SCORE_WRONGFUL,
    ST_NOT_LISTED,
    ST_RIGHTFUL,
    ST_WRONGFUL,
    TIER_NONE,
)
from .network import is_active


@nb.njit(inline="always")
def tier_of(x, bounds):
    t = 0
    for b in range(bounds.shape[0]):
        if x >= bounds[b]:
            t = b + 1
    return t


@nb.njit(inline="always")
def rescore(i, scored, own, assoc, base, lo, hi, bounds, score, tier):
    """score = clip(base + own + assoc, lo, hi) and its tier; base and no tier if unscored."""
    if scored[i]:
        x = min(max(base + own[i] + assoc[i], lo), hi)
        score[i] = x
        tier[i] = tier_of(x, bounds)
    else:
        score[i] = base
        tier[i] = TIER_NONE


@nb.njit(parallel=True, cache=True)
def score_kernel(scored, own, assoc, base, lo, hi, bounds, score, tier):
    """Every agent's score and tier from its ledger and association term."""
    n = own.shape[0]
    for i in nb.prange(n):
        rescore(i, scored, own, assoc, base, lo, hi, bounds, score, tier)


@nb.njit(inline="always")
def status_of(lf):
    """An agent's listing status (ST_*) from its listing flags."""
    if lf & (LF_COURT_WRONGFUL | LF_SCORE_WRONGFUL):
        return ST_WRONGFUL
    if lf & (LF_COURT | LF_SCORE):
        return ST_RIGHTFUL
    return ST_NOT_LISTED


# ------------------------------------------------------------------------------------
# Friend sums: each agent's sum and count of its active scored friends' ledgers


@nb.njit(parallel=True, cache=True)
def friend_sums_kernel(indptr, nbr, active, scored, own, fsum, fcnt):
    """fsum, fcnt from scratch (at build, or after the state was edited by hand)."""
    n = indptr.shape[0] - 1
    for i in nb.prange(n):
        s = 0.0
        c = 0
        for e in range(indptr[i], indptr[i + 1]):
            if is_active(active, e):
                j = nbr[e]
                if scored[j]:
                    s += own[j]
                    c += 1
        fsum[i] = s
        fcnt[i] = c


@nb.njit(inline="always")
def _push(j, dv, indptr, nbr, active, fsum):
    for e in range(indptr[j], indptr[j + 1]):
        if is_active(active, e):
            fsum[nbr[e]] += dv


@nb.njit(cache=True)
def push_all_kernel(delta, indptr, nbr, active, scored, fsum):
    """Every scored agent whose ledger changed today (``delta`` != 0) adds the change to
    its active friends' sums. Serial: the order of additions is fixed, so the sums are
    identical for any thread count."""
    for j in range(delta.shape[0]):
        if delta[j] != 0.0 and scored[j]:
            _push(j, delta[j], indptr, nbr, active, fsum)


@nb.njit(cache=True)
def push_kernel(changed, delta, indptr, nbr, active, scored, fsum):
    """The same for the agents listed in ``changed`` only."""
    for k in range(changed.shape[0]):
        j = changed[k]
        if scored[j]:
            _push(j, delta[j], indptr, nbr, active, fsum)


def push_changes(sim: Any, changed: np.ndarray) -> None:
    """Bring friends' sums up to date after the ledgers of ``changed`` moved by
    ``sim.day.delta``."""
    if sim.association_on and changed.size:
        g = sim.graph
        push_kernel(
            changed, sim.day.delta, g.indptr, g.nbr, g.active, sim.state.scored, sim.state.fsum
        )
