"""Each phase on tiny hand-built populations: the exact expected state after one day."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import phase, tiny

from credsim.constants import (
    DC_FIN_DROPPED,
    DC_FIN_JUDGED,
    DC_FIN_OPENED,
    DC_INSINCERE,
    DC_JUDGED_FALSE,
    DENIED,
    DEPOSIT,
    DL_COURT_ENTRY,
    DL_COURT_WRONGFUL,
    DL_ENTRY_ASSOC,
    DL_ENTRY_WRONGFUL,
    DL_EXIT_EXPIRY,
    DL_SCORE_ENTRY,
    DL_SPEECH_ENTRY,
    GRANTED,
    LF_COURT,
    LF_COURT_WRONGFUL,
    LF_EVER,
    LF_RODE_TRAIN,
    LF_SCORE,
    LF_SCORE_ASSOC,
    LF_SCORE_WRONGFUL,
    PERK,
    SERVICES,
    TIER_A,
    TIER_AA,
    TIER_B,
    TIER_C,
    TIER_D,
)
from credsim.state import MULT_ZERO, mult_values

QUIET = [
    f"behave.{k}=0"
    for k in (
        "p_community_service",
        "p_domestic_purchase",
        "p_smoking_in_public",
        "p_traffic_violation",
        "p_smoking_on_train",
        "p_debt_default",
        "p_fraud",
        "p_tax_evasion",
        "post_rate",
        "post_rate_speaker",
    )
]


def test_phase_order_is_models():
    sim = tiny(n=4)
    assert sim.phase_names == [
        "behave",
        "observe",
        "score",
        "list",
        "services",
        "respond",
        "record",
    ]


def test_behave_children_commit_nothing_certain_events_happen():
    sets = [s for s in QUIET if "traffic" not in s] + ["behave.p_traffic_violation=1"]
    sim = tiny(n=6, age=[0, 1, 1, 2, 0, 1], civility=np.zeros(6, np.float32), sets=sets)
    phase(sim, "behave").run(0)
    assert sim.day.true_ev.tolist() == [0, 8, 8, 8, 0, 8]
    assert sim.day.posts.tolist() == [0] * 6


def test_behave_deterrence_scales_probability_to_zero():
    sets = [s for s in QUIET if "traffic" not in s] + ["behave.p_traffic_violation=1"]
    sim = tiny(n=4, civility=np.zeros(4, np.float32), sets=sets)
    sim.state.deter[0, :2] = MULT_ZERO  # public deterrence fully on for agents 0, 1
    phase(sim, "behave").run(0)
    assert sim.day.true_ev.tolist() == [0, 0, 8, 8]


def test_behave_smoking_on_train_needs_yesterdays_ride():
    sets = [s for s in QUIET if "on_train" not in s] + ["behave.p_smoking_on_train=1"]
    sim = tiny(n=4, smoker=[True, True, False, True], sets=sets)
    sim.state.lflags[:] = np.array([True, False, True, True]) * LF_RODE_TRAIN
    phase(sim, "behave").run(0)
    assert sim.day.true_ev.tolist() == [16, 0, 0, 16]


def test_observe_camera_without_misidentification():
    sim = tiny(n=4, sets=["observe.coverage_urban=1", "observe.misid=0"])
    sim.day.true_ev[:] = [8, 4, 0, 12]
    phase(sim, "observe").run(0)
    assert sim.day.obs.tolist() == [8, 4, 0, 12]
    assert sim.day.false_target.size == 0


def test_observe_camera_misidentification_lands_on_another_agent_of_the_region():
    sim = tiny(n=5, sets=["observe.coverage_urban=1", "observe.misid=1"])
    sim.day.true_ev[:] = [8, 0, 4, 0, 0]
    phase(sim, "observe").run(3)
    assert sim.day.obs.tolist() == [0] * 5  # the offenders receive nothing
    assert sim.day.misid.tolist() == [2, 0, 1, 0, 0]
    assert sorted(sim.day.false_source.tolist()) == [0, 2]
    src = sim.day.false_source
    assert np.all(sim.day.false_target != src)
    types = dict(zip(src.tolist(), sim.day.false_type.tolist()))
    assert types == {0: 3, 2: 2}


def test_observe_no_camera_coverage_sees_nothing():
    sim = tiny(n=3, sets=["observe.coverage_urban=0", "observe.misid=1"])
    sim.day.true_ev[:] = [8, 4, 12]
    phase(sim, "observe").run(0)
    assert sim.day.obs.tolist() == [0, 0, 0] and sim.day.misid.tolist() == [0, 0, 0]


def test_courts_case_pending_dropped_judgment_and_listing():
    sets = [s for s in QUIET if "debt" not in s] + [
        "behave.p_debt_default=1",
        "observe.p_case=1",
        "observe.court_delay=2",
    ]
    sim = tiny(n=2, honesty=np.zeros(2, np.float32), sets=sets, days=4)
    sim.step()  # day 0: a case opens, judgment due on day 2
    assert sim.day.court[0] == DC_FIN_OPENED and sim.state.pend_day[0] == 2
    assert sim.day.obs[0] == 0 and sim.state.own[0] == 0
    sim.step()  # day 1: a new case is dropped (one pending case per agent)
    assert sim.day.court[0] == DC_FIN_DROPPED and sim.state.pend_day[0] == 2
    sim.step()  # day 2: the judgment lands: delta applied, agent listed; a new case opens
    assert sim.day.court[0] == DC_FIN_JUDGED | DC_FIN_OPENED
    assert sim.day.obs[0] == 32
    decay = 0.5 ** (1 / 365)
    assert sim.state.own[0] == pytest.approx(-50.0, rel=1e-6)
    assert sim.state.pend_day[0] == 4
    assert sim.state.lflags[0] & LF_COURT and sim.state.court_reason[0] == 1
    assert sim.state.court_until[0] == 2 + 730
    assert sim.day.lst[0] & DL_COURT_ENTRY
    assert decay < 1


def test_defamation_case_from_false_flag_lists_wrongfully_when_insincere():
    sim = tiny(
        n=2,
        speaker=[True, False],
        sets=QUIET
        + ["observe.p_defamation_speaker=1", "observe.court_delay=1", "observe.p_insincere=1"],
    )
    sim.day.true_ev[:] = [512, 0]  # a falsely flagged post of the speaker
    phase(sim, "observe").run(0)
    assert sim.day.obs[0] == 512
    assert sim.state.pend_day[0] == 1 and sim.state.pend_kind[0] == 4 | 8
    sim.day.true_ev[:] = 0
    phase(sim, "observe").run(1)
    assert sim.day.court[0] == DC_INSINCERE | DC_JUDGED_FALSE | 32
    phase(sim, "list").run(1)
    lf = sim.state.lflags[0]
    assert lf & LF_COURT and lf & LF_COURT_WRONGFUL and sim.state.court_reason[0] == 4
    assert sim.day.lst[0] & DL_SPEECH_ENTRY and sim.day.lst[0] & DL_COURT_WRONGFUL


def test_score_ledger_decay_association_clip_tiers():
    # 0 - 1 friends, 1 - 2 friends; agent 1 is observed in a traffic violation on day 0
    sim = tiny(n=4, edges=[(0, 1), (1, 2)], sets=QUIET)
    decay = 0.5 ** (1 / 365)
    sim.state.own[:] = [0.0, 0.0, -100.0, -2000.0]
    sim.state.own_false[:] = [0.0, 0.0, -20.0, 0.0]
    sim.sync_friend_sums()
    sim.day.obs[:] = [0, 8, 512, 0]  # traffic (true) for 1, a false rumour flag for 2
    phase(sim, "score").run(0)
    own = sim.state.own
    np.testing.assert_allclose(own, [0.0, -5.0, -100 * decay - 50, -2000 * decay], rtol=1e-6)
    np.testing.assert_allclose(sim.state.own_false, [0, 0, -20 * decay - 50, 0], rtol=1e-6)
    # association from yesterday's ledgers: 0 sees own_1 = 0; 1 sees mean(0, -100) = -50
    np.testing.assert_allclose(sim.state.assoc, [0.0, -10.0, 0.0, 0.0], atol=1e-6)
    np.testing.assert_allclose(
        sim.state.score, [1000, 1000 - 5 - 10, 1000 - 100 * decay - 50, 0], rtol=1e-6
    )
    assert sim.state.tier.tolist() == [TIER_A, TIER_A, TIER_B, TIER_D]
    assert sim.day.pen.tolist() == [0, 1, 4, 0]  # public for 1, speech for 2


def test_score_misidentified_event_is_false_for_its_target():
    sim = tiny(n=3, sets=QUIET)
    sim.day.false_target = np.array([2], np.int32)
    sim.day.false_type = np.array([3], np.uint8)
    sim.day.false_source = np.array([0], np.int32)
    phase(sim, "score").run(0)
    assert sim.state.own.tolist() == [0.0, 0.0, -5.0]
    assert sim.state.own_false.tolist() == [0.0, 0.0, -5.0]
    assert sim.day.pen.tolist() == [0, 0, 1]


def test_association_symmetric_variant_and_inactive_edges():
    sim = tiny(n=3, edges=[(0, 1), (0, 2)], sets=QUIET + ["score.association_symmetric=true"])
    sim.state.own[:] = [0.0, 100.0, -50.0]
    sim.sync_friend_sums()
    phase(sim, "score").run(0)
    assert sim.state.assoc[0] == pytest.approx(0.2 * 25.0)
    # cut the 0-2 edge (both directions): only friend 1 remains
    from credsim.phases.respond import clear_edges

    g = sim.graph
    st = sim.state
    clear_edges(
        np.array([0]), np.array([2]), g.indptr, g.nbr, g.active, st.scored, st.own, st.fsum, st.fcnt
    )
    phase(sim, "score").run(1)
    decay = 0.5 ** (1 / 365)
    assert sim.state.assoc[0] == pytest.approx(0.2 * 100.0 * decay)  # yesterday's ledger
    assert st.fcnt.tolist() == [1, 1, 0]


def test_friend_sums_kept_up_to_date_equal_a_fresh_count(mid_run):
    """The maintained sums (pushes, decay, cuts, strikes) equal a recount at the end."""
    sim, _, _ = mid_run
    st = sim.state
    kept, cnt = st.fsum.copy(), st.fcnt.copy()
    sim.sync_friend_sums()
    assert np.array_equal(cnt, st.fcnt)
    # float32 sums, updated a few times a day for 250 days: within 1e-5 of a recount
    np.testing.assert_allclose(kept, st.fsum, rtol=1e-5, atol=1e-3)
    assert np.abs(kept).max() > 100


def test_list_score_listing_flags_and_court_events():
    sim = tiny(n=6, days=20, sets=QUIET)
    st = sim.state
    # A rightful, B wrongful (false events put it there), C by association
    st.own[:3] = [-450, -420, -350]
    st.own_false[:3] = [0, -30, 0]
    st.assoc[:3] = [0, 0, -100]
    st.score[:] = 1000
    st.score[:3] = [550, 580, 550]
    # D: a court listing that ends today; E: a fraud judgment lands today
    st.lflags[3] = LF_COURT | LF_EVER
    st.case[3] = 1 << 4  # court reason: debt
    st.court_until[3] = 10
    sim.day.court[4] = DC_FIN_JUDGED
    sim.day.obs[4] = 64
    phase(sim, "list").run(10)
    lf = st.lflags
    assert lf[0] & LF_SCORE and not lf[0] & (LF_SCORE_WRONGFUL | LF_SCORE_ASSOC)
    assert lf[1] & LF_SCORE and lf[1] & LF_SCORE_WRONGFUL and not lf[1] & LF_SCORE_ASSOC
    assert lf[2] & LF_SCORE and lf[2] & LF_SCORE_ASSOC and not lf[2] & LF_SCORE_WRONGFUL
    assert sim.day.lst[1] & DL_ENTRY_WRONGFUL and sim.day.lst[2] & DL_ENTRY_ASSOC
    assert not lf[3] & LF_COURT and sim.day.lst[3] & DL_EXIT_EXPIRY
    assert lf[4] & LF_COURT and st.court_reason[4] == 2 and st.court_until[4] == 740
    assert lf[5] == 0
    assert all(sim.day.lst[:3] & DL_SCORE_ENTRY)


def test_list_score_recovery_and_appeal_strikes_false_events():
    sim = tiny(
        n=2,
        days=10,
        sets=QUIET
        + ["listing.due_process=true", "listing.p_appeal=1", "listing.p_overturn_wrongful=1"],
    )
    st = sim.state
    st.lflags[:] = [LF_SCORE | LF_EVER, LF_SCORE | LF_SCORE_WRONGFUL | LF_EVER]
    st.score[:] = [650, 580]
    st.own[:] = [-350, -420]
    st.own_false[:] = [0, -30]
    phase(sim, "list").run(5)
    assert st.lflags[0] == LF_EVER  # recovered: score back above 600
    assert not st.lflags[1] & LF_SCORE  # overturned on appeal
    assert st.own[1] == -390 and st.own_false[1] == 0 and st.score[1] == 610


def test_services_policies_as_reported():
    sim = tiny(
        n=4, days=250, age=[1, 1, 1, 0], sets=QUIET + [f"services.{s}.p_urban=1" for s in SERVICES]
    )
    sim.pop.adult_start[0], sim.pop.adult_count[0] = 1, 1  # the only parent: agent 1
    assert sim.pop.parent.tolist() == [-1, -1, -1, 1]
    st = sim.state
    st.lflags[1] = LF_COURT | LF_EVER
    st.score[:] = [1040, 1000, 800, 1000]
    st.tier[:] = [TIER_AA, TIER_A, TIER_C, TIER_A]
    phase(sim, "services").run(243)
    out = sim.day.svc_out

    def oc(i, name):
        return (int(out[i]) >> (2 * SERVICES.index(name))) & 3

    assert oc(0, "flight") == PERK and oc(1, "flight") == DENIED and oc(2, "flight") == GRANTED
    assert oc(1, "train") == DENIED and oc(0, "train") == GRANTED
    assert oc(2, "hotel") == DEPOSIT and oc(2, "umbrella_rental") == DENIED
    assert oc(1, "property_purchase") == DENIED and oc(0, "visa") == PERK
    assert oc(3, "private_school") == DENIED  # the parent (agent 1) is listed
    assert sim.day.svc_req[3] == 1 << SERVICES.index("private_school")
    assert st.rode_train.tolist() == [True, False, True, False]
    phase(sim, "services").run(244)  # private school only on day 243 of the year
    assert sim.day.svc_req[3] == 0


def test_respond_deterrence_chilling_unfriending():
    # 0 good (A), 1 listed (B), 2 good, 3 listed for speech today; edges 0-1, 0-2, 2-3, 1-3
    sim = tiny(n=4, edges=[(0, 1), (0, 2), (2, 3), (1, 3)], sets=QUIET + ["respond.p_unfriend=1"])
    st = sim.state
    st.score[:] = [1000, 900, 1000, 500]
    st.lflags[:] = [0, LF_COURT | LF_EVER, 0, LF_COURT | LF_EVER]
    sim.day.marks[:] = np.array([1, 2, 4, 0]) << 2  # penalised: public, financial, speech
    sim.day.lst[3] = DL_SPEECH_ENTRY
    phase(sim, "respond").run(0)
    np.testing.assert_allclose(
        mult_values(st.deter), [[0.9, 1, 1, 1], [1, 0.9, 1, 1], [1, 1, 0.9, 1]], rtol=1e-4
    )
    np.testing.assert_allclose(
        mult_values(st.chill),
        [1, 0.9, 0.9, 1],  # friends of 3
        rtol=1e-4,
    )
    g = sim.graph
    act = g.active_mask()
    pairs = {
        (i, int(g.nbr[e])) for i in range(4) for e in range(g.indptr[i], g.indptr[i + 1]) if act[e]
    }
    # 0-1 and 2-3 cut by the good end; 0-2 (both good) and 1-3 (both bad) stay
    assert pairs == {(0, 2), (2, 0), (1, 3), (3, 1)}
    assert sorted(sim.day.cut_cutter.tolist()) == [0, 2]


def test_record_counts_match_day_arrays():
    sim = tiny(n=6, sets=QUIET)
    sim.day.true_ev[:] = [8, 0, 4, 0, 1, 0]
    sim.day.obs[:] = [8, 0, 0, 0, 1, 512]
    sim.day.posts[:] = [1, 2, 3, 0, 0, 5]
    phase(sim, "record").run(0)
    from credsim.schema import METRICS

    tot = sim.recorder.cells[0].sum(axis=0)
    m = dict(zip(METRICS, tot.tolist()))
    assert m["true_traffic_violation"] == 1 and m["true_smoking_in_public"] == 1
    assert m["observed_traffic_violation"] == 1 and m["observed_community_service"] == 1
    assert m["observed_rumour"] == 1 and m["false_flag_rumour"] == 1
    assert m["posts"] == 11 and m["agents"] == 6 and m["tier_A"] == 6


def test_friend_sums_after_struck_appeals():
    from conftest import MID_SETS

    from credsim import Sim

    sim = Sim(
        "as-reported",
        agents=20_000,
        days=150,
        seed=6,
        overrides=MID_SETS
        + ["listing.due_process=true", "listing.p_appeal=0.2", "observe.misid=0.3"],
    )
    sim.run()
    st = sim.state
    from credsim.schema import METRICS

    assert sim.recorder.cells[:, :, METRICS.index("exits_appeal")].sum() > 0
    kept = st.fsum.copy()
    sim.sync_friend_sums()
    np.testing.assert_allclose(kept, st.fsum, rtol=1e-6, atol=1e-3)


def test_ledger_rows_same_whether_listed_or_scanned(monkeypatch):
    """The record kernel lists the agents with ledger rows while each chunk's list has
    room; chunks that overflow are scanned whole. Both give the same rows in the same
    order (here: room for none, and room for every agent)."""
    from conftest import MID_SETS

    from credsim import Sim, recorder

    ledgers = []
    for share in (10**9, 1):
        monkeypatch.setattr(recorder, "ACTIVE_SHARE", share)
        sim = Sim("as-reported", agents=5_000, days=20, seed=3, overrides=MID_SETS)
        sim.build()
        while sim.day_done < sim.days:
            sim.step()
        ledgers.append(sim.ledger(np.ones(sim.n, bool)))
    assert len(ledgers[0]) > 1000
    assert ledgers[0].tobytes() == ledgers[1].tobytes()


def test_respond_lists_grow_when_a_chunk_has_no_room():
    """Respond lists the bad ends and speech listings of each chunk in a buffer that grows
    when a chunk overflows it: starting from room for one gives the same days as the
    default room."""
    from conftest import MID_SETS

    from credsim import Sim
    from credsim.schema import METRICS

    sims = []
    for room in (None, 1):
        sim = Sim("as-reported", agents=5_000, days=40, seed=3, overrides=MID_SETS)
        sim.build()
        if room is not None:
            phase(sim, "respond")._cap = room
        while sim.day_done < sim.days:
            sim.step()
        sims.append(sim)
    base, small = sims
    assert base.recorder.cells[:, :, METRICS.index("edges_cut")].sum() > 10
    assert phase(small, "respond")._cap > 1
    assert (base.recorder.cells == small.recorder.cells).all()
    assert (base.state.deter == small.state.deter).all()
    assert (base.graph.active == small.graph.active).all()
