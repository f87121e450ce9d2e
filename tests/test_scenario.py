"""The scenario model: presets, files, overrides, schedules and clear errors."""

from __future__ import annotations

import numpy as np
import pytest

from credsim.errors import ScenarioError
from credsim.scenario import PRESETS, DayParams, Schedule, describe_parameters, load_scenario


def test_presets_load_and_differ_as_model_says():
    s = {p: load_scenario(p) for p in PRESETS}
    assert s["as-reported"].model_dump(exclude={"name", "description"}) == load_scenario(
        {}
    ).model_dump(exclude={"name", "description"})
    acc = s["accountable"]
    assert acc.respond.deterrence == 0.4 and acc.listing.due_process
    assert acc.listing.p_appeal == 0.05 and acc.score.association_weight == 0
    assert not acc.respond.unfriending and acc.observe.misid == 0.001
    cl = s["court-list"]
    assert not cl.listing.score_listing and cl.score.deltas.debt_default == 0
    assert cl.services.hotel.deposit_below is None and cl.services.flight.deny_listed
    rc = s["rongcheng"]
    assert rc.population.agents == 670_000 and rc.score.deltas.tax_evasion == -50
    assert not rc.observe.speech_monitor
    se = s["sesame"]
    assert se.score.base == 600 and se.services.visa.perk_from == 750


def test_file_names_preset_and_overrides(tmp_path):
    f = tmp_path / "mine.toml"
    f.write_text(
        'preset = "accountable"\n[observe]\nmisid = 0.02\n[services.flight]\np_urban = 0.01\n'
    )
    s = load_scenario(f, ["respond.deterrence=0.3"])
    assert s.observe.misid == 0.02 and s.respond.deterrence == 0.3
    assert s.listing.due_process  # from the preset
    assert s.services.flight.p_urban == 0.01 and s.services.flight.deny_listed  # merged
    assert s.name == "mine"


def test_schedule_steps_on_its_days():
    s = load_scenario("as-reported", ["observe.misid={days=[0, 10], values=[0.01, 0.001]}"])
    assert isinstance(s.observe.misid, Schedule)
    p = DayParams(s, 20)
    assert p.at("observe.misid", 9) == 0.01 and p.at("observe.misid", 10) == 0.001
    tiers = load_scenario("as-reported", ["score.tier_c={days=[0,5], values=[600, 700]}"])
    assert DayParams(tiers, 10).tier_bounds[6, 0] == 700


@pytest.mark.parametrize(
    "sets,needle",
    [
        (["observe.misid=1.5"], "key 'observe.misid' = 1.5: must be a number in [0, 1]"),
        (["observe.misidd=0.1"], "unknown key 'observe.misidd'; did you mean 'observe.misid'?"),
        (["behave.post_rate=-1"], "must be a number in [0, 1000]"),
        (["score.tier_b=1000"], "tier thresholds must increase"),
        (["observe.misid={days=[0, 5, 1], values=[0.1, 0.2, 0.3]}"], "strictly increasing"),
        (["observe.misid='high'"], "'high'"),
        (["services.flight.perk_from='Z'"], "tier name"),
        (["nokey"], "expected key=value"),
    ],
)
def test_bad_overrides_are_one_line(sets, needle):
    with pytest.raises(ScenarioError) as e:
        load_scenario("as-reported", sets)
    msg = str(e.value)
    assert needle in msg and "\n" not in msg


def test_bad_files(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[observe\nmisid = 1")
    with pytest.raises(ScenarioError, match="bad.toml: malformed TOML"):
        load_scenario(bad)
    nopreset = tmp_path / "np.toml"
    nopreset.write_text('preset = "as-reportd"\n')
    with pytest.raises(ScenarioError, match="did you mean 'as-reported'"):
        load_scenario(nopreset)
    with pytest.raises(ScenarioError, match="not a preset or a scenario file"):
        load_scenario("court_list")


def test_schedule_outside_horizon_is_refused():
    from credsim import Sim

    with pytest.raises(ScenarioError, match="within the horizon"):
        Sim(
            "as-reported",
            agents=100,
            days=10,
            overrides=["observe.misid={days=[0, 30], values=[0.1, 0.2]}"],
        )


def test_every_parameter_is_described():
    rows = describe_parameters()
    keys = {r["key"] for r in rows}
    assert {
        "observe.misid",
        "score.deltas.rumour",
        "services.flight.p_urban",
        "respond.p_unfriend",
        "listing.p_pay",
    } <= keys
    num = [r for r in rows if isinstance(r["default"], float)]
    assert all(r["unit"] for r in num)
    assert np.isfinite(len(rows))


def test_docs_parameter_table_is_current():
    from pathlib import Path

    from credsim.scenario import parameters_markdown

    doc = (Path(__file__).parents[1] / "docs" / "model.md").read_text()
    assert parameters_markdown() in doc, "regenerate the table in docs/model.md"
