"""What a denied person does: tries again (retries, each a blocked attempt), turns to
another service or to what the rule allows (a switch), or, once a listing has denied it,
gives up asking for what the listing bars."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import close, phase, tiny

from credsim import Sim
from credsim.constants import (
    CASE_KNOWS,
    DENIED,
    GRANTED,
    LF_COURT,
    LF_EVER,
    LF_RODE_TRAIN,
    N_SERVICES,
    SERVICES,
)
from credsim.errors import ScenarioError
from credsim.phases.services import RETRY_MOST

FLIGHT = SERVICES.index("flight")
TRAIN = SERVICES.index("train")
HOTEL = SERVICES.index("hotel")


def day(sim, d):
    """Run the services phase on day d: (requested, outcome) per service as [agent,
    service] arrays, and the retries and switches of each service."""
    phase(sim, "services").run(d)
    req = sim.day.svc_req.astype(np.int64)
    out = sim.day.svc_out.astype(np.int64)
    s = np.arange(N_SERVICES)
    asked = (req[:, None] >> s) & 1 == 1
    code = (out[:, None] >> (2 * s)) & 3
    more = sim.day.svc_more
    if more.size:
        tot = more.sum(axis=0)
        retries, switched = tot[:N_SERVICES], tot[N_SERVICES:]
    else:
        retries = switched = np.zeros(N_SERVICES, np.int64)
    return asked, code, retries, switched


def listed_half(n: int, sets: list[str], days: int = 5):
    sim = tiny(n=n, days=days, sets=sets)
    listed = np.arange(n) % 2 == 0
    sim.state.lflags[listed] = LF_COURT | LF_EVER
    return sim, listed


@pytest.mark.parametrize("retry", [0.3, 0.95])
def test_retries_are_geometric_capped_and_only_after_a_denial(retry):
    n = 6000
    sim, listed = listed_half(
        n,
        ["services.flight.p_urban=1", "services.train.p_urban=0", f"services.flight.retry={retry}"],
    )
    asked, code, retries, switched = day(sim, 0)
    denied = asked[:, FLIGHT] & (code[:, FLIGHT] == DENIED)
    assert denied.sum() == listed.sum()  # every listed agent asked and was refused
    # E[min(K, 15)] with P(K >= k) = retry^k; Var from E[min(K,15)^2]
    k = np.arange(1, RETRY_MOST + 1)
    pk = retry**k
    mean = pk.sum()
    second = ((2 * k - 1) * pk).sum()
    m = denied.sum()
    assert close(retries[FLIGHT], m * mean, m * (second - mean**2))
    assert retries.sum() == retries[FLIGHT] and switched.sum() == 0
    # an agent never retries more than RETRY_MOST times: one listed agent, many days
    one, _ = listed_half(2, ["services.flight.p_urban=1", f"services.flight.retry={retry}"], 40)
    for d in range(40):
        assert day(one, d)[2][FLIGHT] <= RETRY_MOST


def test_a_denied_flight_turns_into_a_train_request_under_the_train_rules():
    n = 8000
    sets = [
        "services.flight.p_urban=1",
        "services.train.p_urban=0",
        "services.flight.p_switch=0.6",
        "services.flight.switch_to=train",
        "services.train.listed_share=0.5",
        "services.train.retry=0.5",
    ]
    sim, listed = listed_half(n, sets)
    asked, code, retries, switched = day(sim, 0)
    k = listed.sum()
    # only denied (listed) agents switch; every switch is a train request
    assert not asked[~listed, TRAIN].any()
    assert switched[FLIGHT] == asked[:, TRAIN].sum()
    assert close(switched[FLIGHT], 0.6 * k, 0.24 * k)
    # the train request is decided by the train's rules: half of it barred, and retried
    tden = (asked[:, TRAIN] & (code[:, TRAIN] == DENIED)).sum()
    assert close(tden, 0.5 * switched[FLIGHT], 0.25 * switched[FLIGHT])
    assert (code[asked[:, TRAIN] & (code[:, TRAIN] != DENIED), TRAIN] == GRANTED).all()
    assert close(retries[TRAIN], tden * 0.5 / 0.5, tden * 2)  # mean r/(1-r) (cap apart)
    assert switched[TRAIN] == 0  # a switched request never switches again
    # a granted train ride (switched) lets the agent smoke on a train tomorrow
    rode = (sim.state.lflags & LF_RODE_TRAIN) != 0
    assert np.array_equal(rode, asked[:, TRAIN] & (code[:, TRAIN] != DENIED))


def test_a_switch_to_a_service_already_asked_for_or_not_for_the_agent_adds_nothing():
    n = 2000
    sets = [
        "services.flight.p_urban=1",
        "services.train.p_urban=1",
        "services.flight.p_switch=1",
        "services.flight.switch_to=train",
    ]
    sim, listed = listed_half(n, sets)
    asked, code, retries, switched = day(sim, 0)
    assert switched[FLIGHT] == 0 and asked[:, TRAIN].all()
    # hotels are for adults only: an elder's denied flight cannot become a hotel stay
    sim, listed = listed_half(
        n,
        [
            "services.flight.p_urban=1",
            "services.hotel.p_urban=0",
            "services.flight.p_switch=1",
            "services.flight.switch_to=hotel",
        ],
    )
    sim.pop.set_attr("age", np.full(n, 2, np.uint8))  # elders
    asked, code, retries, switched = day(sim, 0)
    assert switched[FLIGHT] == 0 and not asked[:, HOTEL].any()


def test_a_banned_g_train_becomes_an_ordinary_train():
    n = 6000
    sets = ["services.train.p_urban=1", "services.train.p_switch=0.7"]  # switch_to: allowed
    sim, listed = listed_half(n, sets)
    asked, code, retries, switched = day(sim, 0)
    k = listed.sum()
    denied = asked[:, TRAIN] & (code[:, TRAIN] == DENIED)
    assert denied.sum() == k  # still counted as a blocked purchase
    assert close(switched[TRAIN], 0.7 * k, 0.21 * k)
    rode = (sim.state.lflags & LF_RODE_TRAIN) != 0
    assert rode[~listed].all()  # granted
    assert close(rode[listed].sum(), 0.7 * k, 0.21 * k)  # rode an ordinary train


def test_an_agent_that_a_listing_denied_gives_up_until_it_is_delisted():
    n, g = 8000, 0.7
    sets = [
        "services.flight.p_urban=1",
        "services.train.p_urban=1",
        f"services.flight.give_up={g}",
        "listing.p_pay=0",
    ]
    sim, listed = listed_half(n, sets, days=4)
    asked, code, _, _ = day(sim, 0)
    k = listed.sum()
    assert (asked[listed, FLIGHT] & (code[listed, FLIGHT] == DENIED)).all()
    assert np.array_equal((sim.state.case & CASE_KNOWS) != 0, listed)
    asked, code, _, _ = day(sim, 1)
    # knowing it is listed, it forgoes a barred flight (no request, no denial) ...
    tries = asked[listed, FLIGHT].sum()
    assert close(tries, (1 - g) * k, g * (1 - g) * k)
    forgone = sim.day.svc_more.sum(axis=0)[2 * N_SERVICES :]
    assert forgone[FLIGHT] == k - tries and forgone.sum() == forgone[FLIGHT]
    assert (code[listed & asked[:, FLIGHT], FLIGHT] == DENIED).all()
    assert asked[~listed, FLIGHT].all()
    # ... but still tries trains (give_up is the train's own, 0)
    assert asked[listed, TRAIN].all()
    # once the listing ends, the agent must learn again: the list phase clears the bit
    sim.state.lflags[:] = 0
    sim.state.court_until[:] = 0
    listing = phase(sim, "list")
    listing.run(2)
    assert not (sim.state.case & CASE_KNOWS).any()
    asked, code, _, _ = day(sim, 3)
    assert asked[:, FLIGHT].all()


def test_switch_to_is_checked():
    for bad, says in (("boat", "must be 'allowed' or a service"), ("flight", "another service")):
        with pytest.raises(ScenarioError, match="services.flight.switch_to") as e:
            Sim("court-list", agents=100, days=1, overrides=[f"services.flight.switch_to={bad}"])
        assert says in str(e.value) and "\n" not in str(e.value)


def test_without_these_rules_nothing_is_counted_and_a_run_records_them():
    sim = Sim("as-reported", agents=3000, days=3, seed=2)
    sim.build()
    day(sim, 0)
    assert sim.day.svc_more.size == 0  # as-reported has none of these rules
    sets = [
        "listing.backlog=0.3",
        "services.flight.p_urban=0.3",
        "services.flight.retry=0.5",
        "services.flight.p_switch=0.5",
        "services.flight.switch_to=train",
    ]
    res = Sim("court-list", agents=3000, days=3, seed=2, overrides=sets).run()
    daily = res.daily
    assert daily["flight_retries"].sum() > 0 and daily["flight_switched"].sum() > 0
    assert daily["flight_switched"].sum() <= daily["train_requests"].sum()
