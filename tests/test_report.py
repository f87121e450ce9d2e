"""The run report: a self-contained page that loads offline in a browser and shows every
chart, and the same figures as PNG."""

from __future__ import annotations

import json
import os
import re

import pytest
from conftest import MID_SETS
from typer.testing import CliRunner

from credsim import Sim, load_run
from credsim.cli import app
from credsim.report import chart_keys

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    """A 20,000-agent run with lists that fill quickly, and its report."""
    base = tmp_path_factory.mktemp("report")
    Sim("as-reported", agents=20_000, days=120, seed=2, overrides=MID_SETS).run(out=base / "run")
    res = load_run(base / "run")
    path = res.report(out=base / "rep")
    return res, path, chart_keys(res)


def test_report_files(report):
    res, path, keys = report
    assert path.name == "report.html" and path.exists()
    assert len(keys) >= 12 and len(set(keys)) == len(keys)
    for k in keys:
        png = path.parent / "figures" / f"{k}.png"
        assert png.exists() and png.stat().st_size > 5000, k
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    html = path.read_text()
    for k in keys:
        assert f'id="chart-{k}"' in html
    # self-contained: plotly.js inline once, nothing loaded from the network
    assert html.count("plotly.js v") <= 2 and len(html) > 1_000_000
    assert re.search(r"<script[^>]*\ssrc=", html) is None
    assert re.search(r"<link[^>]*\shref=\"?https?:", html) is None
    for needle in (
        "National-scaled estimates",
        "not observations",
        "Disparate impact",
        "Scenario parameters",
        "observe.misid",
        "listed wrongfully",
    ):
        assert needle in html


@pytest.mark.skipif(
    not os.path.exists(CHROMIUM),
    reason=f"Debian's chromium is not installed at {CHROMIUM} (.ci/run installs it with apt-get)",
)
def test_report_loads_in_chromium_without_errors(report):
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="playwright is not installed (pip install -e '.[test]')"
    )
    _, path, keys = report
    errors: list[str] = []
    external: list[str] = []

    def route(r):
        if r.request.url.startswith("file:"):
            r.continue_()
        else:
            external.append(r.request.url)
            r.abort()

    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.route("**/*", route)
            page.goto(path.as_uri(), wait_until="load")
            page.wait_for_function(
                "n => [...document.querySelectorAll('.js-plotly-plot')]"
                ".filter(d => d.querySelector('.main-svg')).length >= n",
                arg=len(keys),
                timeout=60_000,
            )
            for k in keys:
                box = page.locator(f"#chart-{k}").bounding_box()
                assert box is not None and box["height"] > 200 and box["width"] > 400, k
                # every chart drew its traces
                assert (
                    page.locator(
                        f"#chart-{k} .scatterlayer .trace, #chart-{k} .barlayer .trace"
                    ).count()
                    > 0
                ), k
        finally:
            browser.close()
    assert errors == []
    assert external == []


def test_report_command(report, tmp_path):
    res, _, keys = report
    r = CliRunner().invoke(app, ["report", str(res.path), "--out", str(tmp_path)])
    assert r.exit_code == 0, r.output
    assert (tmp_path / "report.html").exists()
    assert len(list((tmp_path / "figures").glob("*.png"))) == len(keys)
    bad = CliRunner().invoke(app, ["report", str(tmp_path / "nosuch")])
    assert bad.exit_code == 2 and "not a run directory" in bad.output


def _summary_text(monkeypatch, meta) -> str:
    from rich.console import Console

    import credsim.cli as cli

    con = Console(record=True, width=200)
    monkeypatch.setattr(cli, "console", con)
    cli._summary_table(meta, 1.0)
    return con.export_text()


@pytest.mark.parametrize(
    "agents,represented,region,heading",
    [
        (20_000, 1.4e9, "", "national estimate for 1.4 billion people (x70,000)"),
        (20_000, 670_000, "Rongcheng", "estimate for 670,000 people (x33.5)"),
    ],
)
def test_summary_names_what_the_estimate_represents(
    report, monkeypatch, agents, represented, region, heading
):
    res, _, _ = report
    scn = json.loads(json.dumps(res.meta["scenario"]))
    scn["population"]["single_region"] = region
    meta = dict(
        res.meta, agents=agents, represented=represented, scale=represented / agents, scenario=scn
    )
    text = _summary_text(monkeypatch, meta)
    assert heading in text, text
    if region:  # a city is not a nation
        assert "national" not in text.lower(), text


def test_summary_of_a_city_at_full_scale_has_no_estimate_column(report, monkeypatch):
    res, _, _ = report
    meta = dict(res.meta, preset="rongcheng", agents=670_000, represented=670_000, scale=1.0)
    text = _summary_text(monkeypatch, meta)
    assert "estimate for" not in text and "(x1" not in text, text
    assert "each agent stands for one of the 670,000 people" in text, text


@pytest.fixture(scope="module")
def sesame(tmp_path_factory):
    """A commercial score: no list; deposits for low scores, perks for high ones."""
    out = tmp_path_factory.mktemp("sesame") / "run"
    Sim("sesame", agents=3000, days=30, seed=1).run(out=out)
    return load_run(out)


def test_summary_counts_every_service_outcome_and_tier(sesame):
    from credsim.constants import SERVICES, TIERS

    s = sesame.meta["summary"]
    assert s == json.loads((sesame.path / "run.json").read_text())["summary"]
    d = sesame.daily
    for svc in SERVICES:
        for o in ("requests", "granted", "denied", "deposit", "perk"):
            assert s["services"][svc][o] == int(d[f"{svc}_{o}"].sum()), (svc, o)
    for o in ("requests", "granted", "denied", "deposit", "perk"):
        assert s["services"]["all"][o] == sum(s["services"][svc][o] for svc in SERVICES), o
    assert s["services"]["all"]["denied"] == s["denials_total"]
    assert list(s["tiers_end"]) == list(TIERS)
    for t in TIERS:
        assert s["tiers_end"][t] == int(d[f"tier_{t}"].iloc[-1]), t
    # sesame asks a deposit of every low score: every hotel request pays one
    assert s["services"]["hotel"]["deposit"] == s["services"]["hotel"]["requests"] > 0


def test_summary_of_a_commercial_score_shows_what_it_does(sesame, monkeypatch):
    text = _summary_text(monkeypatch, sesame.meta)
    s = sesame.meta["summary"]
    rows = {line.split("│")[1].strip(): line for line in text.splitlines() if line.startswith("│")}
    svc = s["services"]
    assert "with a deposit" in rows and f"{svc['all']['deposit']:,}" in rows["with a deposit"]
    assert "service requests" in rows
    assert "tier A" in rows and f"{s['tiers_end']['A']:,}" in rows["tier A"]
    assert "unscored" in rows
    # the per-service table: hotel deposits, all of its requests
    hotel = rows["hotel"]
    assert f"{svc['hotel']['deposit']:,} (100%)" in hotel, hotel
    # no list in this preset: no list rows, all zero
    assert "listed at the end" not in rows and "friendships cut" not in rows, text


def test_summary_of_the_press_account_keeps_its_list_rows(report, monkeypatch):
    res, _, _ = report
    text = _summary_text(monkeypatch, res.meta)
    for needle in (
        "listed at the end",
        "of them wrongful",
        "flights denied",
        "trains denied",
        "friendships cut",
        "rumour flags per speaker-year",
        "tier A",
    ):
        assert needle in text, (needle, text)


# ------------------------------------------------------------------------------------
# Figures


def _chart(res, key):
    from credsim.report import all_charts

    return next(ch for _, _, chs in all_charts(res)[0] for ch in chs if ch.key == key)


def test_exits_chart_draws_no_series_flat_on_zero(report):
    res, _, _ = report
    ch = _chart(res, "exits")
    d = res.daily
    cols = {
        "expired": "exits_expiry",
        "paid": "exits_paid",
        "score recovered": "exits_recovered",
        "overturned on appeal": "exits_appeal",
        "appeals lodged": "appeals",
    }
    zero = [name for name, c in cols.items() if d[c].sum() == 0]
    assert zero and len(zero) < len(cols)  # the run has both kinds
    drawn = [s.name for s in ch.series]
    assert all(max(s.y) > 0 for s in ch.series), drawn
    assert set(drawn) == set(cols) - set(zero)
    for name in zero:
        assert name in ch.caption, (name, ch.caption)


def test_exits_chart_without_any_exit_says_so():
    import numpy as np
    import pandas as pd

    from credsim.report import REASONS, list_charts

    cols = [
        "listed",
        "listed_court",
        "listed_score",
        "listed_wrongful",
        "listed_association",
        "ever_listed",
        "entries_wrongful",
        "entries_association",
        "exits_expiry",
        "exits_paid",
        "exits_recovered",
        "exits_appeal",
        "appeals",
    ]
    d = pd.DataFrame(
        {
            "day": np.arange(30),
            **{c: np.zeros(30, int) for c in cols},
            **{f"entries_{r}": np.zeros(30, int) for r in REASONS},
        }
    )
    ch = next(c for c in list_charts(d) if c.key == "exits")
    assert len(ch.series) == 1 and "no exit" in ch.caption.lower(), ch.caption


def _bar_centres(fig, horizontal: bool):
    from matplotlib.patches import Rectangle

    ax = fig.axes[0]
    out = []
    for p in ax.patches:
        if isinstance(p, Rectangle) and (p.get_width() if horizontal else p.get_height()) > 0:
            out.append(
                p.get_y() + p.get_height() / 2 if horizontal else p.get_x() + p.get_width() / 2
            )
    return out


@pytest.mark.parametrize("horizontal", [True, False])
def test_grouped_bars_sit_on_their_labels(horizontal):
    from credsim import charts as C

    cats = ["flight", "train", "hotel", "visa"]
    ch = C.Chart(
        "t",
        "t",
        "caption",
        "x",
        "y",
        [
            C.Series("denied", cats, [5, 7, 0, 0], "bar"),
            C.Series("deposit", cats, [0, 0, 9, 0], "bar"),
            C.Series("perk", cats, [0, 3, 0, float("nan")], "bar"),
        ],
        horizontal=horizontal,
    )
    fig = C._mpl_figure(ch)
    centres = sorted(_bar_centres(fig, horizontal))
    # flight and hotel have one bar each: on the tick; train has two: either side of it
    assert centres[0] == pytest.approx(0.0) and centres[-1] == pytest.approx(2.0)
    assert centres[1] + centres[2] == pytest.approx(2.0) and centres[1] < 1 < centres[2]
    fig2 = C.to_plotly(ch)
    for tr in fig2.data:  # the interactive chart places its bars alike
        for k, v in enumerate(tr.y if not horizontal else tr.x):
            if v and v == v:
                pos = cats.index((tr.x if not horizontal else tr.y)[k])
                centre = pos + tr.offset[k] + tr.width[k] / 2
                assert centre == pytest.approx({0: 0.0, 2: 2.0}.get(pos, centre))


def test_services_chart_says_what_it_plots(report):
    res, _, _ = report
    ch = _chart(res, "services")
    assert "requests over the run" not in ch.xlabel
    for o in ("denied", "deposit", "perk"):
        assert o in ch.xlabel and o in ch.title, (ch.title, ch.xlabel)


def test_large_counts_have_plain_tick_labels():
    import numpy as np

    from credsim import charts as C

    x = np.arange(365)
    ch = C.Chart(
        "friendships",
        "Active friendships",
        "caption",
        "day",
        "active friendships",
        [C.Series("active friendships", x, 10_000_000 - 160 * x)],
    )
    fig = C._mpl_figure(ch)
    fig.canvas.draw()
    ax = fig.axes[0]
    assert ax.yaxis.get_offset_text().get_text() == ""
    labels = [t.get_text() for t in ax.get_yticklabels() if t.get_text()]
    assert labels and all("e" not in t and "," in t for t in labels), labels
    assert any(t.startswith("9,9") for t in labels), labels


def test_pngs_carry_the_caption(report):
    res, _, _ = report
    from credsim import charts as C

    ch = _chart(res, "speech")
    fig = C._mpl_figure(ch)
    text = " ".join(t.get_text() for t in fig.texts).replace("\n", " ")
    assert ch.caption in text, text


def test_a_figure_or_page_interrupted_mid_write_leaves_the_one_before(tmp_path, monkeypatch):
    """Figures and pages are written through a temporary file renamed into place: a
    writer that fails half-way leaves the previous file whole and no temporary file."""
    import numpy as np
    from matplotlib.figure import Figure

    from credsim import charts as C

    x = np.arange(10)
    ch = C.Chart("t", "Title", "caption", "day", "y", [C.Series("y", x, x)])
    png = C.save_png(ch, tmp_path / "t.png")
    page = C.write_page(tmp_path / "p.html", "<p>before</p>")
    before = png.read_bytes()
    assert before.startswith(b"\x89PNG")

    def half(self, fh, **kw):
        fh.write(b"\x89PNG half")
        raise KeyboardInterrupt

    monkeypatch.setattr(Figure, "savefig", half)
    with pytest.raises(KeyboardInterrupt):
        C.save_png(ch, png)
    with pytest.raises(KeyboardInterrupt):
        C.write_page(page, _Interrupting())
    assert png.read_bytes() == before
    assert page.read_text() == "<p>before</p>"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p.html", "t.png"]


class _Interrupting(str):
    def encode(self, *a, **kw):  # type: ignore[override]
        raise KeyboardInterrupt
