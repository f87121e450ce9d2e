"""A calendar for runs: ``run.start_date`` labels day d with the date start + d in every
table with a day, in the charts and on the pages, and changes nothing else."""

from __future__ import annotations

import datetime as dt
import json
import shutil

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import assert_one_line
from typer.testing import CliRunner

import credsim
from credsim import Sim, load_run
from credsim import charts as C
from credsim.cli import app
from credsim.compare import comparison_charts
from credsim.errors import ScenarioError
from credsim.explain import explain, pick
from credsim.report import all_charts
from credsim.results import TABLES
from credsim.scenario import load_scenario, run_period

runner = CliRunner()
START = dt.date(2013, 10, 1)
DAYS = 30
KW = {"agents": 3000, "days": DAYS, "seed": 3}
SETS = [
    "behave.p_debt_default=0.01",
    "behave.p_traffic_violation=0.2",
    "score.deltas.traffic_violation=-40",
    "observe.court_delay=5",
    "observe.misid=0.05",
    "record.tracked=300",
]
DATED_TABLES = ("daily", "groups", "services", "score_hist", "ledger")


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """The same run with and without a calendar, written to run directories."""
    base = tmp_path_factory.mktemp("calendar")
    Sim("as-reported", overrides=SETS + ["run.start_date=2013-10-01"], **KW).run(out=base / "dated")
    Sim("as-reported", overrides=SETS, **KW).run(out=base / "plain")
    return load_run(base / "dated"), load_run(base / "plain")


def test_every_daily_table_carries_its_date_after_the_day(runs):
    dated, plain = runs
    for name in TABLES:
        t, p = dated.table(name), plain.table(name)
        assert "date" not in p.column_names, name
        if "day" not in t.column_names:
            assert "date" not in t.column_names, name
            continue
        assert name in DATED_TABLES
        i = t.column_names.index("day")
        assert t.column_names[i + 1] == "date" and t.schema.field("date").type == pa.date32()
        days = t.column("day").to_pylist()
        assert len(days) > 0, name
        want = [START + dt.timedelta(days=d) for d in days]
        assert t.column("date").to_pylist() == want, name
    assert set(DATED_TABLES) <= set(TABLES)
    assert dated.meta["scenario"]["run"]["start_date"] == "2013-10-01"
    assert plain.meta["scenario"]["run"]["start_date"] is None
    assert dated.period == "2013-10-01 to 2013-10-30" and plain.period == ""
    # the SQL views are over the Parquet files: they see it
    q = dated.sql("select min(date) as a, max(date) as b, count(*) as n from daily")
    assert (q.a[0].date(), q.b[0].date(), q.n[0]) == (START, dt.date(2013, 10, 30), DAYS)


def test_the_calendar_changes_no_aggregate(runs):
    dated, plain = runs
    for name in TABLES:
        t = dated.table(name)
        if "date" in t.column_names:
            t = t.drop_columns(["date"])
        assert t.equals(plain.table(name)), name
    assert dated.summary() == plain.summary()
    assert dated.summary()["listing_entries"] > 0  # the run has something to show


def test_resume_keeps_the_start_date(runs, tmp_path):
    dated, _ = runs
    sim = Sim("as-reported", overrides=SETS + ["run.start_date=2013-10-01"], **KW)
    sim.out = tmp_path / "cut"
    sim.build()
    for _ in range(11):
        sim.step()
    sim.checkpoint(tmp_path / "cut")
    again = Sim.resume(tmp_path / "cut")
    assert again.scenario.run.start_date == START
    res = again.run(out=tmp_path / "cut")
    assert res.meta["scenario"]["run"]["start_date"] == "2013-10-01"
    for name in TABLES:
        assert pq.read_table(tmp_path / "cut" / f"{name}.parquet").equals(dated.table(name))


def test_a_run_written_before_the_calendar_still_loads(runs, tmp_path):
    _, plain = runs
    old = shutil.copytree(plain.path, tmp_path / "old")
    meta = json.loads((old / "run.json").read_text())
    del meta["scenario"]["run"]["start_date"]
    (old / "run.json").write_text(json.dumps(meta))
    res = load_run(old)
    assert res.start_date is None and res.period == ""
    (scores, *_), *_ = [chs for _, _, chs in all_charts(res)[0]]
    assert scores.xlabel == "day" and not C.is_dates(scores.series[0].x)
    assert "date" not in explain(res, pick(res, "listed")).events.columns


def test_court_list_runs_from_the_lists_start_to_the_end_of_2019():
    s = load_scenario("court-list")
    assert s.run.start_date == dt.date(2013, 10, 1)
    assert run_period(s.run.start_date, s.run.days) == (dt.date(2013, 10, 1), dt.date(2019, 12, 31))
    assert s.run.days == 2283
    assert load_scenario("court-list", ["run.start_date=false"]).run.start_date is None
    assert load_scenario("as-reported").run.start_date is None


@pytest.mark.parametrize(
    "text", ["start_date = 2013-10-01", 'start_date = "2013-10-01"', "start_date = '2013-10-01'"]
)
def test_a_toml_date_and_a_string_both_work(tmp_path, text):
    f = tmp_path / "dated.toml"
    f.write_text(f'preset = "as-reported"\n[run]\n{text}\n')
    assert load_scenario(f).run.start_date == START
    for value in ("2013-10-01", '"2013-10-01"'):
        assert load_scenario("as-reported", [f"run.start_date={value}"]).run.start_date == START


@pytest.mark.parametrize(
    "value",
    ["2013-02-30", "2013-13-01", "13-10-01", '"20131001"', '"1 Oct 2013"', "2013-10-01T08:00:00"]
    + ["true", "20131001", "[2013, 10, 1]", "1899-12-31", "2101-01-01"],
)
def test_a_bad_date_is_one_line(value, tmp_path):
    with pytest.raises(ScenarioError) as e:
        load_scenario("as-reported", [f"run.start_date={value}"])
    msg = str(e.value)
    assert "\n" not in msg and "key 'run.start_date' = " in msg, msg
    assert "must be a date YYYY-MM-DD in [1900-01-01, 2100-12-31]" in msg, msg
    f = tmp_path / "bad.toml"
    f.write_text(f"[run]\nstart_date = {value}\n")
    r = runner.invoke(
        app, ["run", str(f), "--agents", "50", "--days", "5", "--quiet", "--out", str(tmp_path)]
    )
    assert_one_line(r.exit_code, r.stderr, str(f), "key 'run.start_date'", "must be a date")


def test_the_report_of_a_dated_run_draws_dates(runs, tmp_path):
    dated, _ = runs
    path = dated.report(out=tmp_path / "rep")
    html = path.read_text()
    assert "30 days (2013-10-01 to 2013-10-30)" in html
    sections, _ = all_charts(dated)
    timed = [ch for _, _, chs in sections for ch in chs if ch.xlabel == "date"]
    assert {"scores", "tiers", "gini", "entries", "listed", "speech", "cuts"} <= {
        ch.key for ch in timed
    }
    assert not any(ch.xlabel == "day" for _, _, chs in sections for ch in chs)
    for ch in timed:
        fig = C.to_plotly(ch)
        assert fig.layout.xaxis.type == "date", ch.key
        x0 = fig.data[0].x[0]
        assert isinstance(x0, dt.date) and START <= x0 <= dt.date(2013, 10, 30), ch.key
        png = path.parent / "figures" / f"{ch.key}.png"
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 5000
    # the PNGs' x ticks are calendar labels (months, days, the year), not day numbers
    fig = C._mpl_figure(timed[0])
    fig.canvas.draw()
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_xticklabels() if t.get_text()]
    assert "Oct" in labels and "2013-Oct" in ax.xaxis.get_offset_text().get_text(), labels
    assert all(not lab.isdigit() or int(lab) <= 31 for lab in labels), labels


def test_comparison_dates_its_charts_only_for_a_shared_start(runs, tmp_path):
    dated, plain = runs
    same = credsim.compare(dated.path, dated.path)
    daily = [ch for ch in comparison_charts(same) if ch.key.startswith("daily_")]
    assert daily and all(ch.xlabel == "date" and C.is_dates(ch.series[0].x) for ch in daily)
    mixed = credsim.compare(dated.path, plain.path)
    daily = [ch for ch in comparison_charts(mixed) if ch.key.startswith("daily_")]
    assert daily and all(ch.xlabel == "day" for ch in daily)
    assert "do not start on the same date" in daily[0].caption
    html = mixed.to_html(tmp_path / "cmp").read_text()
    assert "from A: 2013-10-01, B: day 0, no calendar" in html


def test_the_story_of_an_agent_shows_its_dates(runs, tmp_path):
    dated, _ = runs
    story = explain(dated, pick(dated, "listed"))
    for frame in (story.events, story.record, story.denials):
        if len(frame):
            assert list(frame.columns)[:2] == ["day", "date"]
            want = [(START + dt.timedelta(days=int(d))).isoformat() for d in frame["day"]]
            assert frame["date"].tolist() == want
    assert len(story.record)
    chart = story.chart()
    assert chart.xlabel == "date" and C.is_dates(chart.series[0].x)
    assert all(C.is_dates([a]) for a, _, _ in chart.spans)
    page = story.save(tmp_path).read_text()
    assert story.record["date"].iloc[0] in page and "2013-10-01 to 2013-10-30" in page
