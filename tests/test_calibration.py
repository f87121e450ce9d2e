"""Calibration: the error, the best scenario as TOML, resumption, and a small fit that
recovers a known parameter from targets made by a run with that parameter."""

from __future__ import annotations

import datetime as dt
import json
import tomllib

import numpy as np
import pandas as pd
import pytest

from credsim import Sim
from credsim.calibrate import calibrate, error, to_toml
from credsim.errors import CredsimError
from credsim.scenario import build_scenario, load_scenario
from credsim.validation import validate

SIZE = {"agents": 3000, "days": 150}
# court-list moved to 2018, its courts at one rate and its debtors paying (a listing
# until paid): entries and exits that a small population shows in 150 days
DATED = ["run.start_date=2018-01-01", "observe.p_case=0.5", "listing.p_pay=0.005"]
TRUTH = 0.002


def test_the_error_is_a_weighted_mean_of_squared_log_ratios():
    sim = np.array([np.e - 1, 0.0])
    pub = np.array([0.0, 0.0])
    assert error(sim, pub, np.array([1.0, 1.0])) == pytest.approx(0.5)
    assert error(sim, pub, np.array([1.0, 0.0])) == pytest.approx(1.0)


def test_a_scenario_written_as_toml_reads_back_the_same():
    scn = load_scenario("court-list", ["observe.p_case={days=[0, 30], values=[0.2, 0.4]}"] + DATED)
    data = scn.model_dump(mode="json")
    back = build_scenario(tomllib.loads(to_toml(data)), "back")
    assert back.model_dump(mode="json") == data


@pytest.fixture(scope="module")
def known_targets(tmp_path_factory):
    """Targets made by a run of court-list with p_debt_default = TRUTH."""
    res = Sim(
        "court-list", seed=1, overrides=DATED + [f"behave.p_debt_default={TRUTH}"], **SIZE
    ).run()
    rows = [
        ("2018-03-10", "list_entries_cumulative"),
        ("2018-04-01", "list_entries_cumulative"),
        ("2018-05-30", "list_entries_cumulative"),
        ("2018-05-30", "exits_by_paying_cumulative"),
    ]
    tg = pd.DataFrame(
        {
            "date": [dt.date.fromisoformat(d) for d, _ in rows],
            "figure": [f for _, f in rows],
            "value": 1.0,
            "unit": "x",
            "source": "a run",
        }
    )
    tg["value"] = validate(res, tg).table["simulated"].to_numpy()
    assert (tg["value"] > 0).all()
    path = tmp_path_factory.mktemp("targets") / "targets.csv"
    tg.to_csv(path, index=False)
    return path


def test_a_small_calibration_recovers_a_known_parameter(tmp_path, known_targets):
    cal = calibrate(
        "court-list",
        ["behave.p_debt_default=0.0005:0.008:log"],
        targets=known_targets,
        trials=16,
        seeds=1,
        seed=1,
        overrides=DATED,
        out=tmp_path / "c",
        workers=1,
        **SIZE,
    )
    best = cal.best["behave.p_debt_default"]
    assert abs(best / TRUTH - 1) < 0.25, best
    assert (tmp_path / "c" / "best.toml").is_file() and len(cal.trials) == 16
    # best.toml is a scenario credsim runs, with the best value
    scn = load_scenario(str(tmp_path / "c" / "best.toml"))
    assert scn.behave.p_debt_default == pytest.approx(best)
    assert scn.run.start_date == dt.date(2018, 1, 1) and scn.population.agents == 3000
    fit = pd.read_csv(tmp_path / "c" / "fit.csv")
    assert len(fit) == 4 and fit["fitted"].all()
    assert abs(fit["rel_error"]).max() < 0.3


def test_a_calibration_resumes_and_refuses_another(tmp_path, known_targets):
    kw = dict(
        targets=known_targets,
        seeds=1,
        seed=1,
        overrides=DATED,
        out=tmp_path / "c",
        workers=2,
        until="2018-04-01",
        **SIZE,
    )
    first = calibrate("court-list", ["behave.p_debt_default=0.0005:0.008:log"], trials=3, **kw)
    assert len(first.trials) == 3
    assert first.table["fitted"].tolist() == [True, True, False, False]
    again = calibrate("court-list", ["behave.p_debt_default=0.0005:0.008:log"], trials=5, **kw)
    assert len(again.trials) == 5
    assert again.trials["value"].iloc[:3].tolist() == first.trials["value"].tolist()
    with pytest.raises(CredsimError, match="holds another calibration"):
        calibrate("court-list", ["behave.p_debt_default=0.001:0.008:log"], trials=5, **kw)
    meta = json.loads((tmp_path / "c" / "calibration.json").read_text())
    assert meta["trials"] == 5


def test_bad_input_is_one_line(known_targets, tmp_path):
    with pytest.raises(CredsimError, match="has no start date"):
        calibrate(
            "court-list",
            ["behave.p_debt_default=0.001:0.01"],
            targets=known_targets,
            overrides=["run.start_date=false"],
            out=tmp_path / "a",
            **SIZE,
        )
    with pytest.raises(CredsimError, match="lie outside the run's period"):
        calibrate(
            "court-list",
            ["behave.p_debt_default=0.001:0.01"],
            targets=known_targets,
            overrides=DATED,
            out=tmp_path / "b",
            agents=3000,
            days=30,
        )
    with pytest.raises(CredsimError, match="--until 2017-01-01: no target"):
        calibrate(
            "court-list",
            ["behave.p_debt_default=0.001:0.01"],
            targets=known_targets,
            overrides=DATED,
            out=tmp_path / "c",
            until="2017-01-01",
            **SIZE,
        )


def test_the_command_fits_and_writes_a_scenario_credsim_runs(tmp_path, known_targets):
    from typer.testing import CliRunner

    from credsim.cli import app

    out = tmp_path / "c"
    r = CliRunner().invoke(
        app,
        [
            "calibrate",
            "court-list",
            "--param",
            "behave.p_debt_default=0.0005:0.008:log",
            "--targets",
            str(known_targets),
            "--trials",
            "2",
            "--seeds",
            "1",
            "--agents",
            "3000",
            "--days",
            "150",
            "--set",
            "run.start_date=2018-01-01",
            "--workers",
            "1",
            "--out",
            str(out),
            "--quiet",
        ],
    )
    assert r.exit_code == 0, r.output
    assert "behave.p_debt_default" in r.output and (out / "validation.html").is_file()
    r = CliRunner().invoke(
        app, ["run", str(out / "best.toml"), "--out", str(tmp_path / "r"), "--quiet"]
    )
    assert r.exit_code == 0, r.output
