"""How long a court listing lasts by its ground, and the list's backlog on day 0."""

from __future__ import annotations

import math

import numpy as np
from conftest import phase, tiny

from credsim.constants import DC_FIN_JUDGED, DC_INSINCERE, DL_COURT_ENTRY, LF_COURT
from credsim.phases.listing import NO_END

QUIET = [
    f"behave.{k}=0"
    for k in ("p_debt_default", "p_fraud", "p_tax_evasion", "post_rate", "post_rate_speaker")
]


def test_each_ground_has_its_own_term_and_zero_means_until_paid():
    sim = tiny(
        n=5,
        days=400,
        sets=QUIET
        + [
            "listing.term_debt_default=0",
            "listing.term_fraud=100",
            "listing.court_term=300",
            "listing.p_pay=0",
        ],
    )
    d, st = sim.day, sim.state
    d.court[:4] = DC_FIN_JUDGED
    d.court[4] = DC_INSINCERE
    d.obs[:4] = [32, 64, 0, 0]  # debt default, fraud, tax evasion, tax evasion
    phase(sim, "list").run(10)
    assert (st.lflags & LF_COURT).all() and (d.lst & DL_COURT_ENTRY).all()
    # debt: no end; fraud: its own term; tax and speech: court_term
    assert st.court_until.tolist() == [NO_END, 110, 310, 310, 310]
    d.court[:] = 0
    phase(sim, "list").run(310)  # the court-term listings end; debt and fraud stand or ended
    assert st.lflags[0] & LF_COURT and not st.lflags[2] & LF_COURT
    assert not st.lflags[1] & LF_COURT  # its term (day 110) has passed


def test_without_terms_every_ground_takes_the_court_term():
    sim = tiny(n=2, days=5, sets=QUIET + ["listing.court_term=200"])
    sim.day.court[:] = DC_FIN_JUDGED
    sim.day.obs[:] = [32, 64]
    phase(sim, "list").run(3)
    assert sim.state.court_until.tolist() == [203, 203]


def test_the_backlog_lists_a_share_of_grown_ups_for_debt_on_day_0_only():
    n, share = 20_000, 0.05
    age = np.where(np.arange(n) % 5 == 0, 0, 1).astype(np.uint8)  # a fifth are children
    sim = tiny(n=n, days=5, age=age, sets=QUIET + [f"listing.backlog={share}"])
    phase(sim, "list").run(0)
    listed = (sim.state.lflags & LF_COURT) != 0
    grown = age != 0
    k = grown.sum()
    assert abs(listed[grown].sum() - share * k) < 5 * math.sqrt(share * (1 - share) * k)
    assert not listed[~grown].any()
    assert ((sim.day.lst & DL_COURT_ENTRY) != 0).sum() == listed.sum()
    assert (sim.state.case[listed] >> 4 == 1).all()  # the reason: debt default
    before = listed.sum()
    phase(sim, "list").run(1)
    assert ((sim.state.lflags & LF_COURT) != 0).sum() <= before  # no new backlog after day 0
    assert not (sim.day.lst & DL_COURT_ENTRY).any()
