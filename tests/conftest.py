"""Shared helpers: small simulations built once per session, and a hand-made tiny sim."""

from __future__ import annotations

import math

import numpy as np
import pytest

from credsim import Sim
from credsim.network import FriendGraph
from credsim.phases.base import Phase


def tol(p: float, n: int, z: float = 4.5) -> float:
    """Tolerance on an observed rate: z standard errors of a binomial proportion."""
    return z * math.sqrt(max(p * (1 - p), 1e-12) / max(n, 1))


def close(observed: float, expected: float, var: float, z: float = 5.0) -> bool:
    """An observed count within z standard deviations (variance ``var``) of expected."""
    return abs(observed - expected) <= z * math.sqrt(var) + 1e-9


def phase(sim: Sim, name: str) -> Phase:
    """The simulation's phase called ``name``."""
    return next(p for p in sim.phases if p.name == name)


def graph_from_edges(n: int, edges: list[tuple[int, int]]) -> FriendGraph:
    """A CSR friend graph from an undirected edge list (rows sorted)."""
    rows: list[list[int]] = [[] for _ in range(n)]
    for a, b in edges:
        rows[a].append(b)
        rows[b].append(a)
    indptr = np.zeros(n + 1, np.int64)
    indptr[1:] = np.cumsum([len(r) for r in rows])
    nbr = np.array([j for r in rows for j in sorted(r)], np.int32)
    nnz = nbr.size
    active = np.full((nnz + 7) // 8, 0xFF, np.uint8)
    if nnz % 8:
        active[-1] = (1 << (nnz % 8)) - 1
    return FriendGraph(indptr, nbr, active)


def assert_one_line(code: int, err: str, *needles: str) -> None:
    """A refusal: exit code 2 and one line 'error: ...' holding every needle."""
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert "Traceback" not in err
    for n in needles:
        assert n in err, (n, err)


def tiny(
    n: int = 8,
    days: int = 5,
    edges: list[tuple[int, int]] | None = None,
    preset: str = "as-reported",
    sets: list[str] | None = None,
    **cols,
) -> Sim:
    """A hand-made population of ``n`` agents in one region: every attribute may be set
    (``age=[...]`` etc.); the friend graph is ``edges``; all agents adults by default.
    Children's parents are drawn from the region's adults (``pop.adult_start``,
    ``pop.adult_count``), which a test may narrow."""
    sim = Sim(
        preset,
        agents=n,
        days=days,
        seed=7,
        overrides=[
            "population.single_region=Tiny",
            "population.single_region_urban=1.0",
            "record.tracked=0",
        ]
        + (sets or []),
    )
    sim.build()
    pop = sim.pop
    pop.set_attr("age", cols.pop("age", np.ones(n, np.uint8)))
    for name, val in cols.items():
        pop.set_attr(name, val)
    sim.graph = graph_from_edges(n, edges or [])
    from credsim.recorder import Recorder

    sim.recorder = Recorder(sim)
    if sim.scenario.score.scored == "adults_elders":
        sim.state.scored[:] = pop.age != 0
    sim.sync_friend_sums()
    return sim


MID_SETS = [
    "behave.p_debt_default=0.003",
    "behave.p_fraud=0.0005",
    "observe.court_delay=20",
    "behave.p_traffic_violation=0.2",
    "score.deltas.traffic_violation=-40",
    "observe.misid=0.05",
    "record.tracked=2000",
]


@pytest.fixture(scope="session")
def mid_run():
    """as-reported, 30,000 agents, 250 days, rates raised so that lists fill quickly.
    Stepped by hand: each day's new score listings are checked against the definitions
    of wrongful and by-association listings, with the state they were made from."""
    from credsim.constants import DL_SCORE_ENTRY, LF_SCORE_ASSOC, LF_SCORE_WRONGFUL
    from credsim.results import Result

    sim = Sim("as-reported", agents=30_000, days=250, seed=3, overrides=MID_SETS)
    sim.build()
    checks = {"entries": 0, "wrongful": 0, "association": 0, "mismatch": 0}
    thr = 600.0
    while sim.day_done < sim.days:
        sim.step()
        st = sim.state
        new = np.flatnonzero(sim.day.lst & DL_SCORE_ENTRY)
        wr = st.score[new] - st.own_false[new] >= thr
        asc = 1000.0 + st.own[new] >= thr
        flag_wr = (st.lflags[new] & LF_SCORE_WRONGFUL) != 0
        flag_as = (st.lflags[new] & LF_SCORE_ASSOC) != 0
        checks["entries"] += new.size
        checks["wrongful"] += int(flag_wr.sum())
        checks["association"] += int(flag_as.sum())
        checks["mismatch"] += int((wr != flag_wr).sum() + (asc != flag_as).sum())
    res = Result.from_sim(sim)
    return sim, res, checks
