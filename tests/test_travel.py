"""Who travels: frequent travellers (a population share) ask for services at a higher
rate and, optionally, face financial judgments more often, the means kept; a listing bars
only a share of a service's purchases (listed_share)."""

from __future__ import annotations

import numpy as np
from conftest import close, phase, tiny

from credsim import Sim
from credsim.constants import DENIED, LF_COURT, LF_EVER, SERVICES, TRUE_EVENT_NAMES
from credsim.population import A_TRAVELLER

FLIGHT = SERVICES.index("flight")
TRAIN = SERVICES.index("train")
DEBT = TRUE_EVENT_NAMES.index("debt_default")


def test_travellers_are_drawn_among_grown_ups_and_change_no_other_attribute():
    base = Sim("as-reported", agents=40_000, days=1, seed=3)
    base.build()
    sim = Sim(
        "as-reported",
        agents=40_000,
        days=1,
        seed=3,
        overrides=["population.frequent_travellers=0.3"],
    )
    sim.build()
    trav = (sim.pop.attrs & A_TRAVELLER) != 0
    grown = sim.pop.column("age") != 0
    share = trav[grown].mean()
    k = grown.sum()
    assert close(share * k, 0.3 * k, 0.3 * 0.7 * k)
    assert not trav[~grown].any()
    assert not ((base.pop.attrs & A_TRAVELLER) != 0).any()
    assert np.array_equal(sim.pop.attrs & 0x7F, base.pop.attrs)


def test_frequent_travellers_ask_more_and_the_mean_is_kept():
    n, days, s, m, p = 20_000, 20, 0.25, 5.0, 0.02
    trav = np.arange(n) < n * s
    sim = tiny(
        n=n,
        days=days,
        traveller=trav,
        sets=[
            f"population.frequent_travellers={s}",
            f"services.flight.frequent={m}",
            f"services.flight.p_urban={p}",
        ],
    )
    asked = np.zeros(n, np.int64)
    for d in range(days):
        phase(sim, "services").run(d)
        asked += (sim.day.svc_req.astype(np.int64) >> FLIGHT) & 1
    other = p / (1 + s * (m - 1))
    for who, rate in ((trav, m * other), (~trav, other)):
        trials = who.sum() * days
        assert close(asked[who].sum(), rate * trials, rate * (1 - rate) * trials)
    # the population's rate is p, as without travellers
    assert close(asked.sum(), p * n * days, p * (1 - p) * n * days * 2)
    # other services are not affected
    sim0 = tiny(
        n=200,
        days=2,
        traveller=np.ones(200, bool),
        sets=[
            "population.frequent_travellers=0.5",
            "services.train.p_urban=1",
            "services.flight.p_urban=0",
        ],
    )
    phase(sim0, "services").run(0)
    assert ((sim0.day.svc_req.astype(np.int64) >> TRAIN) & 1).all()


def test_a_listing_bars_only_its_share_of_purchases():
    n = 4000
    for share in (0.3, 1.0):
        sim = tiny(
            n=n, days=5, sets=["services.train.p_urban=1", f"services.train.listed_share={share}"]
        )
        listed = np.arange(n) % 2 == 0
        sim.state.lflags[listed] = LF_COURT | LF_EVER
        denied = np.zeros(n, np.int64)
        for d in range(5):
            phase(sim, "services").run(d)
            denied += ((sim.day.svc_out.astype(np.int64) >> (2 * TRAIN)) & 3) == DENIED
        k = listed.sum() * 5
        assert close(denied[listed].sum(), share * k, share * (1 - share) * k)
        assert denied[~listed].sum() == 0


def test_frequent_travellers_face_more_judgments_and_the_mean_is_kept():
    n, days, s, r, p = 20_000, 10, 0.25, 4.0, 0.01
    trav = np.arange(n) % 4 == 0
    sim = tiny(
        n=n,
        days=days,
        traveller=trav,
        sets=[
            f"population.frequent_travellers={s}",
            f"behave.frequent_financial={r}",
            f"behave.p_debt_default={p}",
        ],
    )
    events = np.zeros(n, np.int64)
    for d in range(days):
        phase(sim, "behave").run(d)
        events += (sim.day.true_ev.astype(np.int64) >> DEBT) & 1
    dishonest = 1.0 - sim.pop.column("honesty")
    other = 1 / (1 + s * (r - 1))
    for who, f in ((trav, r * other), (~trav, other)):
        q = p * f * dishonest[who]
        assert close(events[who].sum(), days * q.sum(), days * (q * (1 - q)).sum())
    mean = p * dishonest
    assert close(events.sum(), days * mean.sum(), days * (mean * (1 - mean)).sum() * 2)


def test_the_agents_table_says_who_travels(tmp_path):
    sim = Sim(
        "as-reported",
        agents=3000,
        days=2,
        seed=3,
        overrides=["population.frequent_travellers=0.3"],
    )
    res = sim.run(out=tmp_path / "r")
    a = res.agents
    trav = (sim.pop.attrs & A_TRAVELLER) != 0
    assert a.traveller.dtype == bool and trav.any()
    assert np.array_equal(a.sort_values("agent").traveller.to_numpy(), trav)
