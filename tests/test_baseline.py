"""A small committed baseline of aggregates that changes only on purpose.

When a change to the model is intended, regenerate it:
CREDSIM_UPDATE_BASELINE=1 python -m pytest tests/test_baseline.py"""

from __future__ import annotations

import json
import os
from pathlib import Path

from credsim import Sim

BASELINE = Path(__file__).with_name("baseline.json")
# court-list with its courts at one rate from day 0 (its calibrated enforcement is low in
# the list's first months), so that its 120 days list, deny and give up
RUNS = {"as-reported": [], "accountable": [], "court-list": ["observe.p_case=0.5"]}


def current() -> dict:
    out = {}
    for preset, sets in RUNS.items():
        res = Sim(
            preset,
            agents=20_000,
            days=120,
            seed=1,
            overrides=sets + ["behave.p_debt_default=0.002"],
        ).run()
        s = res.summary()
        out[preset] = {k: v for k, v in s.items() if isinstance(v, int)}
        out[preset]["score_mean_end"] = round(s["score_mean_end"], 3)
    return out


def test_aggregates_match_the_committed_baseline():
    now = current()
    if os.environ.get("CREDSIM_UPDATE_BASELINE"):
        BASELINE.write_text(json.dumps(now, indent=1, sort_keys=True) + "\n")
    base = json.loads(BASELINE.read_text())
    assert now == base, "aggregates changed: if intended, regenerate the baseline"
