"""Observed rates against the model (docs/model.md), with tolerances derived from the sample size
(z = 4.5 standard errors, fixed seed)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from credsim import Sim
from credsim.constants import ADULT, CHILD, ELDER, SERVICES

Z = 4.5


def check_count(observed: float, p: np.ndarray, what: str) -> None:
    """observed ~ sum of independent Bernoulli(p_i)."""
    mean = float(p.sum())
    sd = math.sqrt(float((p * (1 - p)).sum()))
    assert abs(observed - mean) <= Z * sd + 1e-9, f"{what}: {observed} vs {mean:.1f} +- {sd:.1f}"


@pytest.fixture(scope="module")
def days2():
    """200,000 agents, two days; the day arrays of each day kept."""
    sim = Sim("as-reported", agents=200_000, days=2, seed=11, overrides=["record.tracked=0"])
    sim.build()
    out = []
    for _ in range(2):
        rode = sim.state.rode_train.copy()
        sim.step()
        d = sim.day
        out.append(
            {
                "true": d.true_ev.copy(),
                "obs": d.obs.copy(),
                "misid": d.misid.copy(),
                "posts": d.posts.copy(),
                "req": d.svc_req.copy(),
                "rode": rode,
                "ft": d.false_target.copy(),
                "fs": d.false_source.copy(),
            }
        )
    return sim, out


def bit(a: np.ndarray, k: int) -> np.ndarray:
    return ((a >> k) & 1).astype(bool)


def test_behave_rates_day0(days2):
    sim, out = days2
    pop = sim.pop
    ev = out[0]["true"]
    grown = pop.age != CHILD
    assert not ev[~grown].any(), "children commit nothing"
    civic, civ, hon = (
        pop.civic.astype(float),
        pop.civility.astype(float),
        pop.honesty.astype(float),
    )
    check_count(bit(ev, 0).sum(), 0.02 * civic * grown, "community_service")
    check_count(bit(ev, 1).sum(), 0.05 * (pop.platform & grown), "domestic_purchase")
    check_count(bit(ev, 2).sum(), 0.05 * (1 - civ) * (pop.smoker & grown), "smoking_in_public")
    check_count(bit(ev, 3).sum(), 0.02 * (1 - civ) * grown, "traffic_violation")
    assert not bit(ev, 4).any(), "nobody rode a train before day 0"
    fin = np.concatenate([bit(o["true"], 5) for o in out]).sum()
    check_count(fin, np.tile(1.5e-4 * (1 - hon) * grown, 2), "debt_default (2 days)")


def test_speech_rates(days2):
    sim, out = days2
    pop = sim.pop
    grown = pop.age != CHILD
    d = out[0]
    spk = pop.speaker
    for who, rate, crit in ((grown & ~spk, 0.2, 0.05), (spk, 5.0, 0.5)):
        n = int(who.sum())
        posts = d["posts"][who].sum()
        assert abs(posts - rate * n) <= Z * math.sqrt(rate * n) + 1e-9
        p_true = 1 - math.exp(-rate * 0.002 * 0.5)
        p_false = 1 - math.exp(-rate * (crit * 0.005 + (1 - crit - 0.002) * 1e-4))
        both = np.concatenate([bit(o["true"][who], 8) for o in out]).sum()
        check_count(both, np.full(2 * n, p_true), f"rumour_true rate {rate}")
        ff = np.concatenate([bit(o["true"][who], 9) for o in out]).sum()
        check_count(ff, np.full(2 * n, p_false), f"rumour_false_flag rate {rate}")
    # the model's claim: a speaker is flagged about six times a year, mostly falsely
    yearly = 365 * (1 - math.exp(-5 * 0.001) + 1 - math.exp(-5 * (0.5 * 0.005 + 0.498e-4)))
    assert 5.5 < yearly < 7.0
    assert not d["posts"][~grown].any()


def test_smoking_on_train_after_a_ride(days2):
    sim, out = days2
    pop = sim.pop
    rode = out[1]["rode"]
    assert rode.sum() > 500
    ev = out[1]["true"]
    assert not bit(ev, 4)[~rode].any()
    check_count(bit(ev, 4).sum(), 0.1 * (rode & pop.smoker), "smoking_on_train")


def test_observation_shares(days2):
    sim, out = days2
    pop = sim.pop
    seen = {0: 0, 1: 0}
    true_n = {0: 0, 1: 0}
    misid = 0
    for o in out:
        for urban in (0, 1):
            sel = pop.urban == bool(urban)
            for k in (2, 3):
                t = bit(o["true"][sel], k)
                true_n[urban] += int(t.sum())
                seen[urban] += int((bit(o["obs"][sel], k) | bit(o["misid"][sel], k - 2)).sum())
        misid += int((o["misid"] != 0).sum() + (o["misid"] == 3).sum())
    for urban, cov in ((1, 0.6), (0, 0.2)):
        check_count(seen[urban], np.full(true_n[urban], cov), f"camera coverage {urban}")
    check_count(misid, np.full(seen[0] + seen[1], 0.01), "misidentified share")
    # every misidentified event lands on another agent of the same region
    for o in out:
        assert np.all(o["ft"] != o["fs"])
        assert np.array_equal(pop.region[o["ft"]], pop.region[o["fs"]])
    # registry reports community service with p 0.8; the platform always
    tcs = sum(int(bit(o["true"], 0).sum()) for o in out)
    ocs = sum(int(bit(o["obs"], 0).sum()) for o in out)
    check_count(ocs, np.full(tcs, 0.8), "registry")
    assert all(np.array_equal(bit(o["true"], 1), bit(o["obs"], 1)) for o in out)


def test_false_flag_share_of_observed_rumours(days2):
    sim, out = days2
    pop = sim.pop
    grown = pop.age != CHILD
    rate = np.where(pop.speaker, 5.0, 0.2) * grown
    crit = np.where(pop.speaker, 0.5, 0.05)
    pt = 1 - np.exp(-rate * 0.001)
    pf = 1 - np.exp(-rate * (crit * 0.005 + (1 - crit - 0.002) * 1e-4))
    ff = sum(int(bit(o["obs"], 9).sum()) for o in out)
    tr = sum(int(bit(o["obs"], 8).sum()) for o in out)
    share = pf.sum() / (pf.sum() + pt.sum())
    check_count(ff, np.full(ff + tr, share), "false-flag share")


def test_service_request_rates(days2):
    sim, out = days2
    pop = sim.pop
    table = {
        "flight": (0.004, 0.001, (ADULT, ELDER)),
        "train": (0.01, 0.004, (ADULT, ELDER)),
        "luxury_hotel": (0.001, 0.0002, (ADULT,)),
        "hotel": (0.01, 0.003, (ADULT,)),
        "bike_rental": (0.05, 0.01, (ADULT,)),
        "umbrella_rental": (0.01, 0.002, (ADULT, ELDER)),
        "property_purchase": (1e-4, 5e-5, (ADULT,)),
        "visa": (5e-4, 1e-4, (ADULT,)),
        "dating_app": (0.02, 0.01, (ADULT,)),
    }
    for name, (pu, pr, ages) in table.items():
        s = SERVICES.index(name)
        elig = np.isin(pop.age, ages)
        p = np.where(pop.urban, pu, pr) * elig
        req = sum(int(bit(o["req"], s).sum()) for o in out)
        check_count(req, np.tile(p, 2), name)
        assert not any(bit(o["req"], s)[~elig].any() for o in out)
    s = SERVICES.index("social_services")
    p = np.select([pop.age == ELDER, pop.age == ADULT], [0.01, 0.002], 0.0)
    check_count(sum(int(bit(o["req"], s).sum()) for o in out), np.tile(p, 2), "social")
    assert not any(bit(o["req"], SERVICES.index("private_school")).any() for o in out)


def test_private_school_requests_on_day_243():
    sim = Sim(
        "as-reported",
        agents=100_000,
        days=244,
        seed=5,
        overrides=["record.tracked=0", "record.region_every=7"],
    )
    sim.build()
    sim.day_done = 243  # jump to 1 September (nothing else is needed for the request draw)
    from credsim.phases.services import Services

    Services(sim).run(243)
    pop = sim.pop
    s = SERVICES.index("private_school")
    req = bit(sim.day.svc_req, s)
    check_count(
        req.sum(), np.where(pop.age == CHILD, np.where(pop.urban, 0.1, 0.02), 0), "private school"
    )


def test_service_requests_are_independent(days2):
    """Pairs of requests on one agent-day occur at the product of their probabilities."""
    sim, out = days2
    pop = sim.pop
    urban_adult = (pop.age == ADULT) & pop.urban
    for a, b, pa, pb in (
        ("bike_rental", "dating_app", 0.05, 0.02),
        ("flight", "bike_rental", 0.004, 0.05),
        ("train", "dating_app", 0.01, 0.02),
    ):
        sa, sb = SERVICES.index(a), SERVICES.index(b)
        both = sum(int((bit(o["req"], sa) & bit(o["req"], sb))[urban_adult].sum()) for o in out)
        check_count(both, np.full(2 * int(urban_adult.sum()), pa * pb), f"{a} and {b}")
