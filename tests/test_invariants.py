"""Invariants over a whole run (as-reported with raised rates, see conftest.mid_run)."""

from __future__ import annotations

import numpy as np

from credsim.constants import SERVICES
from credsim.schema import METRICS


def test_children_commit_nothing(mid_run):
    _, res, _ = mid_run
    g = res.groups
    kids = g[(g.dimension == "age_group") & (g.group == "child")]
    true_cols = [m for m in METRICS if m.startswith("true_")]
    assert kids[true_cols].to_numpy().sum() == 0
    assert kids["posts"].sum() == 0
    adults = g[(g.dimension == "age_group") & (g.group == "adult")]
    assert adults[true_cols].to_numpy().sum() > 0


def test_listed_agents_never_granted_list_restricted_services(mid_run):
    _, res, _ = mid_run
    s = res.services
    listed = s.status.isin(["listed_rightful", "listed_wrongful"])
    restricted = s.service.isin(["flight", "train", "luxury_hotel", "property_purchase"])
    assert s[listed & restricted & (s.outcome != "denied")]["count"].sum() == 0
    assert s[listed & restricted & (s.outcome == "denied")]["count"].sum() > 50
    assert s[~listed & restricted & (s.outcome == "denied")]["count"].sum() == 0


def test_private_school_denied_exactly_when_parent_listed(mid_run):
    _, res, _ = mid_run
    s = res.services
    ps = s[s.service == "private_school"]
    assert ps["count"].sum() > 100
    parent_listed = ps.status != "not_listed"
    assert ps[parent_listed & (ps.outcome != "denied")]["count"].sum() == 0
    assert ps[parent_listed & (ps.outcome == "denied")]["count"].sum() > 0
    assert ps[~parent_listed & (ps.outcome == "denied")]["count"].sum() == 0


def test_scores_stay_in_range(mid_run):
    sim, res, _ = mid_run
    a = res.agents
    assert a.score.between(0, 1500).all()
    assert a.score.min() < 600  # the range is exercised
    d = res.daily
    assert d[[c for c in d.columns if c.startswith("score_p")]].stack().between(0, 1500).all()


def test_network_symmetric_after_unfriending(mid_run):
    sim, res, _ = mid_run
    g = sim.graph
    act = g.active_mask()
    n = g.n
    src = np.repeat(np.arange(n, dtype=np.int64), np.diff(g.indptr))
    key_fwd = src[act] * n + g.nbr[act]
    key_rev = np.sort(g.nbr[act].astype(np.int64) * n + src[act])
    assert np.array_equal(np.sort(key_fwd), key_rev)
    cut = int(res.daily.edges_cut.sum())
    assert cut > 0
    assert act.sum() // 2 == g.nnz // 2 - cut == res.daily.active_edges.iloc[-1]


def test_wrongful_and_association_flags_match_definitions(mid_run):
    _, res, checks = mid_run
    assert checks["entries"] > 50 and checks["wrongful"] > 0 and checks["association"] > 0
    assert checks["mismatch"] == 0
    # court listings are wrongful only through a false speech flag
    led = res.ledger
    court = led[(led.kind == "listing") & (led.what != "score")]
    assert (court[court.truth == "wrongful"].what == "speech").all()


def test_daily_flows_balance_the_stock(mid_run):
    _, res, _ = mid_run
    d = res.daily
    entries = d[
        [
            "entries_debt_default",
            "entries_fraud",
            "entries_tax_evasion",
            "entries_speech",
            "entries_score",
        ]
    ].sum(axis=1)
    exits = d[["exits_expiry", "exits_paid", "exits_recovered", "exits_appeal"]].sum(axis=1)
    # listings (court and score counted apart) = cumulative entries - exits, less renewals
    stock = d.listed_court + d.listed_score
    assert (stock <= entries.cumsum() - exits.cumsum()).all()
    assert d.ever_listed.is_monotonic_increasing


def test_tracked_ledger_reconciles_events(mid_run):
    sim, res, _ = mid_run
    led = res.ledger
    ev = led[led.kind == "event"]
    assert set(ev.truth.dropna().unique()) <= {"true", "misidentified", "false_flag"}
    mis = ev[ev.truth == "misidentified"]
    assert len(mis) > 0 and (mis.other_agent != mis.agent).all()
    assert SERVICES[0] == "flight"
