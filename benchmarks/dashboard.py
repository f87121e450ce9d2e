"""How long the dashboard takes from a click on Run to the last chart drawn in the
browser (not part of the test run): a fresh server on a free port, Debian's chromium
through Playwright, as-reported at the given size.

    python -m benchmarks.dashboard                      # 100,000 agents, 365 days
    python -m benchmarks.dashboard --agents 20000 --days 90"""

from __future__ import annotations

import argparse
import socket
import threading
import time

CHROMIUM = "/usr/bin/chromium"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--agents", type=int, default=100_000)
    ap.add_argument("--days", type=int, default=365)
    args = ap.parse_args()
    import logging

    from playwright.sync_api import sync_playwright
    from werkzeug.serving import make_server

    from credsim.dashboard import make_app
    from credsim.dashboard.app import AGENTS
    from credsim.dashboard.jobs import Jobs

    if args.agents not in AGENTS:
        ap.error(f"--agents must be one of the page's sizes: {', '.join(map(str, AGENTS))}")
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # not a line a request
    jobs = Jobs()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    srv = make_server("127.0.0.1", port, make_app(None, jobs).server, threaded=True)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path=CHROMIUM, args=["--headless", "--no-sandbox"], headless=True
            )
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(f"http://127.0.0.1:{port}/", wait_until="networkidle")
            page.click("#agents")
            page.click(f"text={args.agents:,}")
            page.fill("#days", str(args.days))
            t = time.perf_counter()
            page.click("#run")
            page.wait_for_function(
                "() => document.querySelector('#x-status').innerText.startsWith('Done')",
                timeout=3_600_000,
            )
            page.wait_for_function(
                "() => document.querySelectorAll('#x-figures .js-plotly-plot .main-svg')"
                ".length >= 12"
            )
            took = time.perf_counter() - t
            print(
                f"{args.agents:,} agents, {args.days} days: {took:.1f} s from the click on Run "
                f"to the charts ({jobs.threads} thread(s) a run); the page: "
                f"{page.inner_text('#x-status')}"
            )
            browser.close()
    finally:
        srv.shutdown()
        jobs.close()


if __name__ == "__main__":
    main()
