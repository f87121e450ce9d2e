"""Published figures as targets: the mapping to simulated counts, the checks of a target
file, and the fit's files."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from credsim.errors import CredsimError
from credsim.results import Result
from credsim.validation import FIGURES, default_targets, read_targets, validate

START = dt.date(2017, 12, 30)
DAYS = 400  # to 2019-02-02


def hand_built(scale: float = 10.0, extra: int = 0) -> Result:
    """A run of known daily counts: day d has d + 1 debt entries, 2 speech entries,
    3 flights denied, 1 train denied, 1 exit by paying; 100 + extra flights asked, 50
    trains; ever_listed = 5 d."""
    d = np.arange(DAYS)
    cols = {c: np.zeros(DAYS, np.int64) for f in FIGURES.values() for c in f.columns}
    cols = {k.lstrip("-"): v for k, v in cols.items()}
    cols.update(
        entries_debt_default=d + 1,
        entries_speech=np.full(DAYS, 2),
        flight_denied=np.full(DAYS, 3),
        train_denied=np.full(DAYS, 1),
        exits_paid=np.ones(DAYS, np.int64),
        flight_requests=np.full(DAYS, 100 + extra),
        train_requests=np.full(DAYS, 50),
        ever_listed=5 * d,
    )
    daily = pa.table({"day": d, **cols})
    meta = {
        "scenario": {"run": {"start_date": START.isoformat()}},
        "days": DAYS,
        "scale": scale,
    }
    return Result(meta, {"daily": daily})


def targets(rows: list[tuple[str, str, float]]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "date": [dt.date.fromisoformat(a) for a, _, _ in rows],
            "figure": [f for _, f, _ in rows],
            "value": [float(v) for _, _, v in rows],
            "unit": ["x"] * len(rows),
            "source": ["test"] * len(rows),
        }
    )


def test_a_hand_built_run_gives_the_known_table():
    tg = targets(
        [
            ("2017-12-31", "list_entries_cumulative", 100),  # day 1
            ("2018-12-31", "flight_purchases_blocked_cumulative", 100),  # day 366
            ("2018-12-31", "train_purchases_blocked_cumulative", 100),
            ("2018-12-31", "exits_by_paying_cumulative", 1000),
            ("2018-06-30", "people_listed_cumulative", 1000),  # day 182
            ("2018-12-31", "air_passenger_trips", 1000),  # the whole of 2018
            ("2017-12-31", "high_speed_rail_trips", 1000),  # 2 days of 2017
        ]
    )
    t = validate(hand_built(), tg).table.set_index("figure")
    # (1 + 2) + (2 + 2) entries on days 0 and 1, x 10
    assert t.loc["list_entries_cumulative", "simulated"] == 70
    assert t.loc["list_entries_cumulative", "rel_error"] == pytest.approx(-0.3)
    assert t.loc["flight_purchases_blocked_cumulative", "simulated"] == 3 * 367 * 10
    assert t.loc["train_purchases_blocked_cumulative", "simulated"] == 367 * 10
    assert t.loc["exits_by_paying_cumulative", "simulated"] == 367 * 10
    assert t.loc["people_listed_cumulative", "simulated"] == 5 * 182 * 10  # a running count
    assert t.loc["air_passenger_trips", "simulated"] == (100 - 3) * 365 * 10
    assert t.loc["air_passenger_trips", "note"] == ""
    # two days of 2017, annualised
    assert t.loc["high_speed_rail_trips", "simulated"] == pytest.approx((50 - 1) * 10 * 365)
    assert "annualised from 2 days" in t.loc["high_speed_rail_trips", "note"]


def test_several_seeds_give_the_mean_and_the_range():
    tg = targets([("2018-12-31", "air_passenger_trips", 1000)])
    t = validate([hand_built(extra=0), hand_built(extra=2)], tg).table.iloc[0]
    assert t["sim_min"] == 97 * 3650 and t["sim_max"] == 99 * 3650
    assert t["simulated"] == 98 * 3650 and t["seeds"] == 2


def test_targets_outside_the_run_or_without_a_calendar_are_one_line():
    tg = targets([("2019-06-30", "list_entries_cumulative", 1)])
    with pytest.raises(CredsimError) as e:
        validate(hand_built(), tg)
    msg = str(e.value)
    assert "1 target row(s) lie outside the run's period 2017-12-30 to 2019-02-02" in msg
    assert "\n" not in msg
    res = hand_built()
    res.meta["scenario"]["run"] = {}
    with pytest.raises(CredsimError, match="has no start date"):
        validate(res, targets([("2018-01-01", "list_entries_cumulative", 1)]))


@pytest.mark.parametrize(
    "text, msg",
    [
        ("date,figure,value\n", "missing column(s) unit, source"),
        (
            "date,figure,value,unit,source\n2018-13-01,list_entries_cumulative,1,x,y\n",
            "line 2: date '2018-13-01' is not a date",
        ),
        (
            "date,figure,value,unit,source\n2018-01-01,list_people,1,x,y\n",
            "line 2: figure 'list_people' is not one of",
        ),
        (
            "date,figure,value,unit,source\n2018-01-01,list_entries_cumulative,many,x,y\n",
            "line 2: value 'many' must be a number",
        ),
        ("date,figure,value,unit,source\n", "no target rows"),
        (
            "date,figure,value,unit,source,weight\n2018-01-01,list_entries_cumulative,1,x,y,-1\n",
            "column 'weight' must hold numbers at least 0",
        ),
    ],
)
def test_a_bad_target_file_is_one_line(tmp_path, text, msg):
    p = tmp_path / "t.csv"
    p.write_text(text)
    with pytest.raises(CredsimError) as e:
        read_targets(p)
    assert msg in str(e.value) and str(p) in str(e.value) and "\n" not in str(e.value)


def test_a_weight_column_is_read_with_the_targets(tmp_path):
    p = tmp_path / "t.csv"
    p.write_text(
        "date,figure,value,unit,source,weight\n2018-01-01,list_entries_cumulative,1,x,y,2.5\n"
    )
    assert read_targets(p)["weight"].tolist() == [2.5]


def test_the_shipped_targets_end_in_2018():
    t = default_targets()
    assert set(t["figure"]) <= set(FIGURES)
    assert max(t["date"]) == dt.date(2018, 12, 31)
    assert len(t) == 19
    row = t[(t["figure"] == "list_entries_cumulative")].iloc[-1]
    assert row["value"] == 13_000_000


def test_the_fit_is_saved(tmp_path):
    tg = targets(
        [("2018-06-30", "list_entries_cumulative", 1e6), ("2018-12-31", "air_passenger_trips", 1e6)]
    )
    v = validate([hand_built(), hand_built(extra=1)], tg)
    page = v.save(tmp_path)
    assert (tmp_path / "validation.csv").is_file() and page.name == "validation.html"
    pngs = sorted(p.name for p in (tmp_path / "figures").glob("*.png"))
    assert pngs == ["validation-list_entries_cumulative.png", "validation-travel.png"]
    back = pd.read_csv(tmp_path / "validation.csv")
    assert list(back["figure"]) == ["list_entries_cumulative", "air_passenger_trips"]
    with pytest.raises(CredsimError, match="exists: use --force"):
        v.save(tmp_path, csv=tmp_path / "validation.csv")


def test_the_command_prints_writes_and_refuses_in_one_line(tmp_path):
    from typer.testing import CliRunner

    from credsim import Sim
    from credsim.cli import app

    run = tmp_path / "run"
    Sim("court-list", agents=2000, days=200, seed=1, overrides=["run.start_date=2018-01-01"]).run(
        out=run
    )
    tg = tmp_path / "t.csv"
    tg.write_text("date,figure,value,unit,source\n2018-06-01,list_entries_cumulative,1000,x,y\n")
    r = CliRunner().invoke(app, ["validate", str(run), "--targets", str(tg)])
    assert r.exit_code == 0, r.output
    assert "2018-06-01" in r.output and (run / "validation.csv").is_file()
    assert (run / "validation.html").is_file()
    tg.write_text("date,figure,value,unit,source\n2019-06-01,list_entries_cumulative,1000,x,y\n")
    r = CliRunner().invoke(app, ["validate", str(run), "--targets", str(tg)])
    assert r.exit_code == 2 and "lie outside the run's period 2018-01-01 to 2018-07-19" in r.output
