"""The dashboard, driven in a real headless Chromium: explore (a slider moves the charts
the way it should), compare two designs, open a finished run and one agent's story; no
console errors and no request that leaves the machine. Also its job queue on its own."""

from __future__ import annotations

import os
import socket
import threading
import time

import pytest
from test_report import CHROMIUM, CHROMIUM_ARGS

from credsim import Sim

pytest.importorskip("dash", reason="Dash is not installed (pip install -e '.[test]')")

from credsim.dashboard import make_app  # noqa: E402
from credsim.dashboard.jobs import Busy, Jobs  # noqa: E402

LISTED_SETS = ["behave.p_debt_default=0.003", "observe.court_delay=20", "record.tracked=2000"]
needs_chromium = pytest.mark.skipif(
    not os.path.exists(CHROMIUM),
    reason=f"Debian's chromium is not installed at {CHROMIUM} (.ci/run installs it with apt-get)",
)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    Sim("as-reported", agents=10_000, days=60, seed=2, overrides=LISTED_SETS).run(
        out=root / "debtors"
    )
    return root


@pytest.fixture(scope="module")
def server(runs):
    from werkzeug.serving import make_server

    jobs = Jobs(max_running=2)
    app = make_app(runs, jobs)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    srv = make_server("127.0.0.1", port, app.server, threaded=True)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{port}/"
    srv.shutdown()
    jobs.close()


@pytest.fixture()
def page(server):
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="playwright is not installed (pip install -e '.[test]')"
    )
    errors: list[str] = []
    external: list[str] = []
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            pg = browser.new_page(viewport={"width": 1400, "height": 1000})
            pg.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            pg.on("pageerror", lambda e: errors.append(str(e)))
            pg.on(
                "request",
                lambda r: None if r.url.startswith(server) else external.append(r.url),
            )
            pg.goto(server, wait_until="networkidle")
            pg.wait_for_selector("#run")
            yield pg
        finally:
            browser.close()
    assert errors == []
    assert external == []


def _total(page, key: str) -> float:
    """The sum of every y value of chart ``key`` as the browser drew it."""
    return page.evaluate(
        """k => document.querySelector('#fig-' + k + ' .js-plotly-plot')._fullData
               .flatMap(t => Array.from(t.y || [])).reduce((a, b) => a + (+b || 0), 0)""",
        key,
    )


def _explore(page) -> float:
    page.click("#run")
    # the status of an earlier run gives way to this one's before it says Done again
    page.wait_for_function(
        "() => !document.querySelector('#x-status').innerText.startsWith('Done')"
    )
    page.wait_for_function(
        "() => document.querySelector('#x-status').innerText.startsWith('Done')",
        timeout=180_000,
    )
    page.wait_for_selector("#fig-entries .js-plotly-plot .main-svg", timeout=60_000)
    return _total(page, "entries")


@needs_chromium
def test_explore_a_slider_moves_the_charts(page):
    page.fill("#days", "90")
    before = _explore(page)
    # the listing threshold to its top: scores start at 1000, so most agents are listed
    page.locator("#x-listing-score_threshold [role=slider]").press("End")
    after = _explore(page)
    assert page.locator("#x-figures .js-plotly-plot").count() >= 12
    assert after > 100 * max(before, 1.0), (before, after)


@needs_chromium
def test_cancel_ends_a_run(page):
    page.fill("#days", "3650")
    page.click("#run")
    page.wait_for_function(
        "() => document.querySelector('#x-status').innerText.startsWith('Running')",
        timeout=60_000,
    )
    page.click("#cancel")
    page.wait_for_function(
        "() => document.querySelector('#x-status').innerText.startsWith('Cancelled')",
        timeout=30_000,
    )
    assert page.locator("#x-figures .js-plotly-plot").count() == 0
    # the page can run again at once: one simulation a page, and that one has ended
    page.fill("#days", "5")
    page.click("#run")
    page.wait_for_function(
        "() => document.querySelector('#x-status').innerText.startsWith('Done')",
        timeout=120_000,
    )


@needs_chromium
def test_a_bad_combination_is_the_scenarios_own_line(page):
    # 0 days is refused by the scenario, on the page, and nothing runs
    page.fill("#days", "0")
    page.click("#run")
    page.wait_for_selector("#x-status .error")
    assert "days" in page.inner_text("#x-status")
    assert page.locator("#x-figures .js-plotly-plot").count() == 0


@needs_chromium
def test_compare_shows_paired_differences(page):
    page.click("text=Compare A and B")
    page.fill("#c-days", "30")
    page.fill("#c-replicates", "2")
    page.click("#c-run")
    page.wait_for_selector("#cmp-table", timeout=180_000)
    text = page.inner_text("#cmp-table")
    assert "B − A" in text and "95 % interval" in text
    assert page.locator("#cmp-table tbody tr").count() >= 5
    page.wait_for_selector("#c-result .js-plotly-plot .main-svg")


@needs_chromium
def test_open_a_run_and_explain_an_agent(page):
    page.click("text=Open a run")
    page.click("#o-run")
    page.click("text=debtors")
    page.wait_for_selector("#o-figures .js-plotly-plot .main-svg", timeout=60_000)
    assert page.locator("#o-figures .js-plotly-plot").count() >= 12
    page.click("text=Parameters")
    assert "observe.misid" in page.inner_text("#o-params")
    page.check("#o-which input[value=listed]")
    page.click("#o-explain")
    page.wait_for_selector("#story .js-plotly-plot .main-svg, #o-story .error", timeout=60_000)
    assert page.locator("#o-story .error").count() == 0, page.inner_text("#o-story")
    assert page.inner_text("#story h3").startswith("agent ")


def test_jobs_one_per_session_queue_and_cancel(tmp_path):
    jobs = Jobs(max_running=1)
    try:
        spec = {"preset": "as-reported", "agents": 5_000, "days": 3_000, "seed": 1,
                "overrides": []}  # fmt: skip
        a = jobs.submit("s1", "run", spec)
        with pytest.raises(Busy):
            jobs.submit("s1", "run", spec)  # one simulation a session
        b = jobs.submit("s2", "run", spec)
        assert jobs.get("s2", b.id).state == "queued" and jobs.position(b) == 1
        assert jobs.get("s2", a.id) is None  # another session's job is not visible
        jobs.cancel("s1", a.id)
        assert jobs.get("s1", a.id).state == "cancelled"
        deadline = time.time() + 30
        while jobs.get("s2", b.id).state == "queued" and time.time() < deadline:
            time.sleep(0.1)
        assert jobs.get("s2", b.id).state == "running"  # the queue moved on
        jobs.cancel("s2", b.id)
        # a run that fails shows its error, and the next one runs
        bad = jobs.submit("s3", "run", dict(spec, preset="no-such-preset", days=5))
        while jobs.get("s3", bad.id).state in ("queued", "running") and time.time() < deadline:
            time.sleep(0.1)
        job = jobs.get("s3", bad.id)
        assert job.state == "failed" and "no-such-preset" in job.error
    finally:
        jobs.close()


def test_dashboard_command_refuses_bad_options_in_one_line(tmp_path):
    from typer.testing import CliRunner

    from credsim.cli import app

    r = CliRunner().invoke(app, ["dashboard", "--no-browser", "--runs", str(tmp_path / "none")])
    assert r.exit_code == 2 and "--runs" in r.output and "not a directory" in r.output
    r = CliRunner().invoke(app, ["dashboard", "--no-browser", "--port", "0"])
    assert r.exit_code == 2 and "--port 0" in r.output
