"""Comparisons: paired differences over common random numbers, their t intervals, and
the command line."""

from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import credsim
from credsim import Sim
from credsim.cli import app
from credsim.compare import fmt_diff, paired_interval, rich_table, t975, welch_interval
from credsim.errors import CredsimError

runner = CliRunner()
RAISED = [
    "behave.p_traffic_violation=0.3",
    "score.deltas.traffic_violation=-100",
    "observe.coverage_rural=0.6",
]


def test_t_quantiles():
    # printed tables, and fractional degrees of freedom (Welch): 6.017 at 1.5
    for df, q in ((1, 12.706), (4, 2.776), (10, 2.228), (11, 2.201), (50, 2.009), (1.5, 6.017)):
        assert abs(t975(df) - q) < 1e-3, df
    assert abs(t975(1e9) - 1.960) < 1e-3
    ks = [1, 1.5, 2, 3, 7.3, 11, 19, 33, 80, 500]
    assert all(t975(a) > t975(b) for a, b in zip(ks, ks[1:]))
    assert math.isnan(t975(0))


def test_intervals_by_hand():
    a = np.array([10.0, 12.0, 11.0, 13.0])
    b = a + np.array([1.0, 2.0, 1.0, 2.0])
    d, h = paired_interval(a, b)
    assert d == 1.5 and abs(h - 3.1824 * np.std([1, 2, 1, 2], ddof=1) / 2) < 1e-4
    d2, hu = welch_interval(a, b)
    assert d2 == 1.5 and hu > h  # the shared part of the noise cancels only when paired


def test_identical_scenarios_give_zero_difference_and_zero_width(tmp_path):
    cmp = credsim.compare("as-reported", "as-reported", replicates=3, agents=3000, days=20)
    t = cmp.table
    assert cmp.k == 3
    assert (t["diff"] == 0).all()
    assert (t["ci_low"] == 0).all() and (t["ci_high"] == 0).all()
    assert (t["half_width"] == 0).all()
    seeds = cmp.replicates.groupby("side")["seed"].apply(list).to_dict()
    assert seeds["A"] == seeds["B"] == [1, 2, 3]
    # zero is printed as zero, without a sign
    text = _rendered(rich_table(cmp))
    assert "±" not in text, text
    assert re.search(r"listing entries +│ +0 │ +0 │ +0 │ +\[0, 0\] │", text), text
    html = (cmp.to_html(tmp_path)).read_text()
    assert "±" not in html
    # the run's size is shown once when A and B share it, as numbers, not lists
    assert "agents 3,000" in html and "days 20" in html and "seeds 1, 2, 3" in html
    assert "[3000, 3000]" not in html and "[[1, 2, 3]" not in html


def _rendered(table) -> str:
    from rich.console import Console

    con = Console(record=True, width=200)
    con.print(table)
    return con.export_text()


def test_formatting_of_differences():
    assert fmt_diff(0.0, "entries") == "0" and fmt_diff(0, "share") == "0"
    assert fmt_diff(-2.6, "entries") == "−2.6" and fmt_diff(3.0, "agents") == "+3"
    assert fmt_diff(0.0021, "share") == "+0.21 pp"
    assert fmt_diff(float("nan"), "entries") == "–"


def test_page_shows_differing_sizes_per_side(two_runs, tmp_path):
    a, _ = two_runs
    other = tmp_path / "small"
    Sim("court-list", agents=1500, days=10, seed=5).run(out=other)
    html = credsim.compare(a, other).to_html(tmp_path / "cmp").read_text()
    assert "agents A: 2,000, B: 1,500" in html and "days 10" in html
    assert "seeds A: 4, B: 5" in html


@pytest.fixture(scope="module")
def misid_change():
    """observe.misid 0 (A) versus 0.01 (B), with camera offences raised so that false
    events matter in a small run."""
    return credsim.compare(
        "as-reported",
        "as-reported",
        replicates=3,
        agents=8000,
        days=80,
        seed=1,
        overrides=RAISED,
        overrides_a=["observe.misid=0"],
        overrides_b=["observe.misid=0.01"],
    )


def test_known_change_moves_wrongful_listings_up(misid_change):
    t = misid_change.table.set_index("metric")
    assert t.loc["misidentified_events", "a_mean"] == 0
    assert t.loc["misidentified_events", "ci_low"] > 0
    w = t.loc["wrongful_entries"]
    assert w["diff"] > 0 and w["ci_low"] > 0, w
    assert t.loc["wrongful_share_of_entries", "ci_low"] > 0
    # speech is untouched by the cameras: the same posts, flags and rumours in A and B
    for m in ("posts_last_day", "rumours_observed", "false_flags"):
        assert t.loc[m, "half_width"] == 0 and t.loc[m, "diff"] == 0, m


def test_comparison_page(misid_change, tmp_path):
    path = misid_change.to_html(tmp_path)
    html = path.read_text()
    assert path.name == "compare.html"
    for needle in (
        "chart-relative",
        "chart-widths",
        "chart-daily_listed",
        "95 % interval, paired",
        "unpaired (Welch)",
        "observe.misid=0.01",
    ):
        assert needle in html
    assert "<script src=" not in html


def test_compare_command_presets(tmp_path):
    r = runner.invoke(
        app,
        [
            "compare",
            "as-reported",
            "accountable",
            "--replicates",
            "2",
            "--agents",
            "2000",
            "--days",
            "20",
            "--out",
            str(tmp_path),
            "--quiet",
        ],
    )
    assert r.exit_code == 0, r.output
    assert "B − A" in r.output and "interval" in r.output
    assert (tmp_path / "compare.html").exists()
    table = pd.read_csv(tmp_path / "compare.csv")
    assert {
        "metric",
        "a_mean",
        "b_mean",
        "diff",
        "ci_low",
        "ci_high",
        "welch_low",
        "welch_high",
    } <= set(table.columns)
    assert len(pd.read_csv(tmp_path / "replicates.csv")) == 4


def test_compare_command_run_directories(tmp_path):
    for name, preset in (("a", "as-reported"), ("b", "court-list")):
        Sim(preset, agents=3000, days=20, seed=4).run(out=tmp_path / name)
    r = runner.invoke(
        app, ["compare", str(tmp_path / "a"), str(tmp_path / "b"), "--out", str(tmp_path / "cmp")]
    )
    assert r.exit_code == 0, r.output
    assert "B − A" in r.output and "95 % interval" not in r.output
    assert (tmp_path / "cmp" / "compare.html").exists()
    cmp = credsim.compare(tmp_path / "a", tmp_path / "b")
    assert cmp.k == 1 and len(cmp.replicates) == 2


@pytest.mark.parametrize(
    "args,needle",
    [
        (["compare", "as-reported", "nosuch"], "not a preset or a scenario file"),
        (["compare", "as-reported", "accountable", "--replicates", "0"], "at least 1"),
        (["compare", "as-reported", "accountable", "--set", "observe.misid=2"], "[0, 1]"),
    ],
)
def test_compare_bad_input_is_one_line(args, needle, tmp_path):
    r = runner.invoke(app, args + ["--out", str(tmp_path), "--quiet"])
    assert r.exit_code == 2
    assert needle in r.output and len(r.output.strip().splitlines()) == 1, r.output


def test_compare_mixed_kinds_is_an_error(tmp_path):
    Sim("as-reported", agents=2000, days=5, seed=1).run(out=tmp_path / "run")
    r = runner.invoke(
        app, ["compare", str(tmp_path / "run"), "as-reported", "--out", str(tmp_path / "c")]
    )
    assert r.exit_code == 2 and "must both be run directories" in r.output
    assert len(r.output.strip().splitlines()) == 1, r.output  # no progress bar before it


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    base = tmp_path_factory.mktemp("two_runs")
    for name, preset in (("a", "as-reported"), ("b", "court-list")):
        Sim(preset, agents=2000, days=10, seed=4).run(out=base / name)
    return base / "a", base / "b"


def test_compare_refuses_to_overwrite_a_comparison(two_runs, tmp_path):
    a, b = two_runs
    out = tmp_path / "cmp"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    first = runner.invoke(app, ["compare", str(a), str(b), "--out", str(out)])
    assert first.exit_code == 0, first.output
    before = (out / "compare.csv").read_text()
    again = runner.invoke(app, ["compare", str(b), str(a), "--out", str(out)])
    assert again.exit_code == 2
    assert "--force" in again.output and len(again.output.strip().splitlines()) == 1, again.output
    assert (out / "compare.csv").read_text() == before  # untouched
    forced = runner.invoke(app, ["compare", str(b), str(a), "--out", str(out), "--force"])
    assert forced.exit_code == 0, forced.output
    assert (out / "compare.csv").read_text() != before
    assert (out / "notes.txt").read_text() == "mine"  # never touches other files
    assert sorted(p.name for p in out.iterdir()) == [
        "compare.csv",
        "compare.html",
        "notes.txt",
        "replicates.csv",
    ]


def test_compare_refuses_before_simulating(tmp_path):
    (tmp_path / "replicates.csv").write_text("side\n")
    r = runner.invoke(
        app,
        [
            "compare",
            "as-reported",
            "accountable",
            "--agents",
            "2000",
            "--days",
            "400",
            "--out",
            str(tmp_path),
            "--quiet",
        ],
    )
    assert r.exit_code == 2 and "already holds a comparison" in r.output, r.output


def test_comparison_save_refuses_unless_forced(two_runs, tmp_path):
    cmp = credsim.compare(*two_runs)
    cmp.save(tmp_path)
    with pytest.raises(CredsimError, match="force"):
        cmp.save(tmp_path)
    cmp.save(tmp_path, force=True)


@pytest.mark.parametrize(
    "opt",
    [
        ["--replicates", "3"],
        ["--seed", "0"],
        ["--agents", "10"],
        ["--days", "5"],
        ["--set", "observe.misid=0"],
        ["--set-b", "observe.misid=0"],
    ],
)
def test_run_directories_refuse_simulation_options(two_runs, tmp_path, opt):
    a, b = two_runs
    r = runner.invoke(app, ["compare", str(a), str(b), *opt, "--out", str(tmp_path)])
    assert r.exit_code == 2, r.output
    assert opt[0] in r.output and "compared as they are" in r.output, r.output
    assert len(r.output.strip().splitlines()) == 1, r.output
    assert not (tmp_path / "compare.html").exists()
