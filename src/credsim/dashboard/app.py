"""The page: explore one design, compare two, open a finished run. Built with Dash on the
report's own charts (charts.py), served with every asset from this machine."""

from __future__ import annotations

import pickle
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .. import charts as C
from ..errors import CredsimError
from ..scenario import PRESETS, load_scenario
from .controls import CONTROLS, preset_values
from .jobs import Busy, Job, Jobs

POLL_MS = 500
START = {"a": "as-reported", "b": "accountable"}  # the designs Compare opens with
AGENTS = (10_000, 20_000, 50_000, 100_000, 200_000, 500_000, 1_000_000)
SECTION_TITLES = {
    "scores": "Scores",
    "list": "The list: entries by reason, wrongful and by association",
    "services": "Denials by service and group",
    "speech": "Speech and friendships",
    "impact": "Disparate impact",
}
STYLE = """
body { font-family: system-ui, sans-serif; margin: 0; color: #222; }
header { background: #23395b; color: white; padding: 10px 20px; }
header h1 { margin: 0; font-size: 1.3em; }
header p { margin: 2px 0 0; font-size: 0.85em; opacity: 0.85; }
main { padding: 10px 20px; }
.controls { display: grid; grid-template-columns: repeat(auto-fill, minmax(330px, 1fr));
            gap: 8px 24px; }
.control { border-left: 3px solid #d8dee9; padding: 2px 8px; }
.control label { font-weight: 600; font-size: 0.92em; }
.control .unit { font-size: 0.8em; color: #555; }
.control .evidence { font-size: 0.75em; color: #7a5c00; }
.row { display: flex; gap: 16px; align-items: center; flex-wrap: wrap; margin: 10px 0; }
.status { font-size: 0.9em; }
.error { color: #b00020; font-weight: 600; }
.side { flex: 1 1 480px; min-width: 360px; }
table.cmp { border-collapse: collapse; font-size: 0.88em; }
table.cmp td, table.cmp th { border-bottom: 1px solid #ddd; padding: 3px 8px; text-align: right; }
table.cmp td:first-child, table.cmp th:first-child { text-align: left; }
.excl { color: #1b7f3b; font-weight: 600; }
.graphs { display: grid; grid-template-columns: repeat(auto-fill, minmax(520px, 1fr)); gap: 8px; }
"""


def _controls(prefix: str, values: dict[str, Any]) -> list[Any]:
    from dash import dcc, html

    out = []
    for c in CONTROLS:
        cid = f"{prefix}{c.id}"
        widget: Any
        if c.switch:
            widget = dcc.Checklist(
                id=cid, options=[{"label": " on", "value": "on"}],
                value=["on"] if values[c.id] else [], inline=True,
            )  # fmt: skip
        else:
            widget = dcc.Slider(
                id=cid, min=c.lo, max=c.hi, step=c.step, value=values[c.id],
                marks=None,
            )  # fmt: skip
        out.append(
            html.Div(
                [
                    html.Label(c.label, htmlFor=cid),
                    html.Div(f"{c.key} · {c.unit}", className="unit"),
                    widget,
                    html.Div(c.evidence, className="evidence"),
                ],
                className="control",
            )
        )
    return out


def _overrides(preset: str, values: list[Any]) -> list[str]:
    """The ``--set`` overrides of the controls that differ from the preset."""
    base = preset_values(preset)
    out = []
    for c, v in zip(CONTROLS, values):
        v = bool(v) if c.switch else float(v)
        if v != base[c.id]:
            out.append(c.override(v))
    return out


def _check(preset: str, sets: list[str], agents: Any, days: Any, seed: Any = 1) -> None:
    """The scenario's own one-line error for a bad combination (sizes included)."""
    size = [f"population.agents={agents}", f"run.days={days}", f"run.seed={seed}"]
    load_scenario(preset, sets + size)


def _sizes(prefix: str = "") -> Any:
    """Agents and days (ids ``{prefix}agents``, ``{prefix}days``)."""
    from dash import dcc, html

    return [
        html.Label("Agents "),
        dcc.Dropdown(
            id=f"{prefix}agents",
            options=[{"label": f"{a:,}", "value": a} for a in AGENTS],
            value=20_000,
            clearable=False,
            style={"width": "140px"},
        ),
        html.Label("Days "),
        dcc.Input(
            id=f"{prefix}days",
            type="number",
            min=1,
            max=3650,
            step=1,
            value=90,
            style={"width": "80px"},
        ),  # fmt: skip
    ]


def _progress(prefix: str) -> Any:
    """A job's progress bar and status line (``{prefix}-progress``, ``{prefix}-status``)."""
    from dash import html

    return html.Div(
        [
            html.Progress(id=f"{prefix}-progress", value="0", max="100", style={"width": "320px"}),
            html.Span(id=f"{prefix}-status", className="status"),
        ],
        className="row",
    )


def _figures(charts: list[C.Chart]) -> list[Any]:
    from dash import dcc

    return [
        dcc.Graph(id=f"fig-{ch.key}", figure=C.to_plotly(ch), config={"displaylogo": False})
        for ch in charts
    ]


def run_figures(run_dir: Path) -> list[Any]:
    """The report's charts of a run directory, by section."""
    from dash import html

    from ..report import all_charts
    from ..results import load_run

    res = load_run(run_dir)
    sections, _ = all_charts(res)
    out: list[Any] = []
    for anchor, title, chs in sections:
        out.append(html.H3(SECTION_TITLES.get(anchor, title)))
        out.append(html.Div(_figures(chs), className="graphs"))
    return out


def comparison_view(cmp: Any) -> list[Any]:
    from dash import html

    from ..compare import comparison_charts, fmt_diff, fmt_value, measures

    head = ["measure", "A", "B", "B − A", "95 % interval (paired)"]
    rows = []
    for r in measures(cmp.table):
        ci = f"[{fmt_diff(r.ci_low, r.unit)}, {fmt_diff(r.ci_high, r.unit)}]"
        rows.append(
            html.Tr(
                [
                    html.Td(r.label),
                    html.Td(fmt_value(r.a_mean, r.unit)),
                    html.Td(fmt_value(r.b_mean, r.unit)),
                    html.Td(fmt_diff(r.diff, r.unit)),
                    html.Td(ci, className="excl" if r.excludes_zero else ""),
                ]
            )
        )
    table = html.Table(
        [html.Thead(html.Tr([html.Th(h) for h in head])), html.Tbody(rows)],
        className="cmp", id="cmp-table",
    )  # fmt: skip
    note = html.P(
        f"A = {cmp.a_label}; B = {cmp.b_label}; {cmp.k} replicates with common random "
        "numbers (the same seeds on both sides). Green: the interval excludes zero."
    )
    return [note, table, html.Div(_figures(comparison_charts(cmp)), className="graphs")]


def _status(jobs: Jobs, job: Job | None, what: str) -> tuple[Any, float, bool]:
    """(status line, progress in %, whether to keep polling)."""
    from dash import html

    if job is None:
        return "", 0.0, False
    if job.state == "queued":
        return (
            f"Waiting: {jobs.position(job)} in the queue "
            f"(at most {jobs.max_running} simulations run at once).",
            0.0,
            True,
        )
    if job.state == "running":
        p = jobs.progress(job)
        return f"Running {what}: {100 * p:.0f} % ({time.time() - job.started:.0f} s)", 100 * p, True
    if job.state == "failed":
        return html.Span(f"The run failed: {job.error}", className="error"), 0.0, False
    if job.state == "cancelled":
        return "Cancelled.", 0.0, False
    return f"Done in {job.ended - job.submitted:.1f} s.", 100.0, False


def _finished_runs(root: Path | None) -> list[dict[str, str]]:
    """Run directories under ``root`` (those with a complete run.json), at most 3 deep."""
    import json

    if root is None or not root.is_dir():
        return []
    found = []
    for depth in range(4):
        for p in sorted(root.glob("/".join(["*"] * depth + ["run.json"]))):
            try:
                meta = json.loads(p.read_text())
            except (OSError, ValueError):
                continue
            if meta.get("complete") is True:
                rel = p.parent.relative_to(root)
                found.append({"label": str(rel) if str(rel) != "." else root.name,
                              "value": str(rel)})  # fmt: skip
    return found


def _job_callbacks(
    app: Any, jobs: Jobs, prefix: str, cancel: str, result: str, what: str,
    draw: Callable[[Job], tuple[Any, str]],
) -> None:  # fmt: skip
    """The callbacks of a view that runs jobs (``prefix``-job, -poll, -status, -progress,
    -done): polling is quick (state and progress only); the result is drawn once, by the
    callback that the finished job's id triggers (a slow poll would be overtaken by the
    next one and its answer dropped); cancel."""
    from dash import Input, Output, State, html, no_update

    @app.callback(
        Output(f"{prefix}-status", "children"),
        Output(f"{prefix}-progress", "value"),
        Output(f"{prefix}-poll", "disabled", allow_duplicate=True),
        Output(f"{prefix}-done", "data"),
        Input(f"{prefix}-poll", "n_intervals"),
        State("session", "data"),
        State(f"{prefix}-job", "data"),
        prevent_initial_call=True,
    )
    def _poll(_: int, session: str, job_id: str) -> Any:
        job = jobs.get(session, job_id)
        status, pct, more = _status(jobs, job, what)
        if job is not None and job.state == "done":
            return "Finished: drawing…", str(pct), True, job.id
        return status, str(pct), not more, no_update

    @app.callback(
        Output(result, "children"),
        Output(f"{prefix}-status", "children", allow_duplicate=True),
        Input(f"{prefix}-done", "data"),
        State("session", "data"),
        prevent_initial_call=True,
    )
    def _draw(job_id: str, session: str) -> Any:
        job = jobs.get(session, job_id)
        if job is None or job.state != "done":
            return no_update, no_update
        try:
            return draw(job)
        except Exception as e:  # a broken result shows its error, the app stays up
            return [], html.Span(f"Could not read the result: {e}", className="error")

    @app.callback(
        Output(f"{prefix}-status", "children", allow_duplicate=True),
        Input(cancel, "n_clicks"),
        State("session", "data"),
        State(f"{prefix}-job", "data"),
        prevent_initial_call=True,
    )
    def _cancel(_: int, session: str, job_id: str) -> Any:
        jobs.cancel(session, job_id)
        return "Cancelling…"


def make_app(runs: Path | None = None, jobs: Jobs | None = None) -> Any:
    """The Dash app; ``runs``: the directory whose run directories the Open view lists."""
    from dash import Dash, Input, Output, State, dcc, html, no_update

    jobs = jobs or Jobs()
    runs = runs.resolve() if runs is not None else None
    app = Dash(__name__, title="credsim", serve_locally=True, update_title="")
    app.jobs = jobs  # type: ignore[attr-defined]
    base = preset_values("as-reported")
    presets = [{"label": p, "value": p} for p in PRESETS]
    ids = [c.id for c in CONTROLS]

    def layout() -> Any:
        session = uuid.uuid4().hex
        explore = html.Div(
            [
                html.Div(
                    [
                        html.Label("Design "),
                        dcc.Dropdown(
                            id="preset",
                            options=presets,
                            value="as-reported",
                            clearable=False,
                            style={"width": "200px"},
                        ),
                        *_sizes(),
                        html.Label("Seed "),
                        dcc.Input(
                            id="seed",
                            type="number",
                            min=0,
                            step=1,
                            value=1,
                            style={"width": "70px"},
                        ),
                        html.Button("Run", id="run", n_clicks=0),
                        html.Button("Cancel", id="cancel", n_clicks=0),
                    ],
                    className="row",
                ),  # fmt: skip
                html.Div(_controls("x-", base), className="controls", id="x-controls"),
                _progress("x"),
                dcc.Loading(html.Div(id="x-figures")),
            ]
        )
        compare = html.Div(
            [
                html.Div(
                    [
                        html.Label("Replicates "),
                        dcc.Input(
                            id="c-replicates",
                            type="number",
                            min=2,
                            max=20,
                            value=3,
                            style={"width": "60px"},
                        ),
                        *_sizes("c-"),
                        html.Button("Compare", id="c-run", n_clicks=0),
                        html.Button("Cancel", id="c-cancel", n_clicks=0),
                    ],
                    className="row",
                ),  # fmt: skip
                html.Div(
                    [
                        html.Div(
                            [
                                html.H3(f"Design {side.upper()}"),
                                dcc.Dropdown(
                                    id=f"{side}-preset",
                                    options=presets,
                                    value=START[side],
                                    clearable=False,
                                    style={"width": "200px"},
                                ),
                                html.Div(
                                    _controls(
                                        f"{side}-",
                                        preset_values(START[side]),
                                    ),
                                    className="controls",
                                    id=f"{side}-controls",
                                ),
                            ],
                            className="side",
                        )  # fmt: skip
                        for side in ("a", "b")
                    ],
                    className="row",
                ),
                _progress("c"),
                dcc.Loading(html.Div(id="c-result")),
            ]
        )
        opened = html.Div(
            [
                html.Div(
                    [
                        html.Label("Run "),
                        dcc.Dropdown(
                            id="o-run",
                            options=_finished_runs(runs),
                            placeholder="a run directory under --runs",
                            style={"width": "420px"},
                        ),
                        html.Button("Refresh", id="o-refresh", n_clicks=0),
                    ],
                    className="row",
                ),  # fmt: skip
                html.Div(id="o-error", className="error"),
                html.Div(id="o-params"),
                html.Div(
                    [
                        html.Label("One agent's story: "),
                        dcc.RadioItems(
                            id="o-which",
                            inline=True,
                            value="wrongful",
                            options=[
                                {"label": " wrongfully listed ", "value": "wrongful"},
                                {"label": " listed ", "value": "listed"},
                                {"label": " by id ", "value": "id"},
                            ],
                        ),
                        dcc.Input(
                            id="o-agent",
                            type="number",
                            min=0,
                            step=1,
                            placeholder="agent id",
                            style={"width": "110px"},
                        ),
                        html.Button("Explain", id="o-explain", n_clicks=0),
                    ],
                    className="row",
                ),  # fmt: skip
                dcc.Loading(html.Div(id="o-story")),
                dcc.Loading(html.Div(id="o-figures")),
            ]
        )
        return html.Div(
            [
                html.Header(
                    [
                        html.H1("credsim: social credit systems, simulated"),
                        html.P("A synthetic population only: credsim never scores real people."),
                    ]
                ),  # fmt: skip
                html.Main(
                    dcc.Tabs(
                        id="tabs",
                        value="explore",
                        children=[
                            dcc.Tab(explore, label="Explore", value="explore"),
                            dcc.Tab(compare, label="Compare A and B", value="compare"),
                            dcc.Tab(opened, label="Open a run", value="open"),
                        ],
                    )  # fmt: skip
                ),
                dcc.Store(id="session", data=session),
                dcc.Store(id="x-job"),
                dcc.Store(id="c-job"),
                dcc.Store(id="x-done"),
                dcc.Store(id="c-done"),
                dcc.Interval(id="x-poll", interval=POLL_MS, disabled=True),
                dcc.Interval(id="c-poll", interval=POLL_MS, disabled=True),
            ]
        )

    app.layout = layout
    app.index_string = app.index_string.replace("</head>", f"<style>{STYLE}</style></head>")

    # -- a preset sets every control to its value -------------------------------------
    for prefix, preset_id in (("x-", "preset"), ("a-", "a-preset"), ("b-", "b-preset")):

        @app.callback(
            [Output(f"{prefix}{i}", "value") for i in ids],
            Input(preset_id, "value"),
            prevent_initial_call=True,
        )
        def _set_preset(preset: str) -> list[Any]:
            v = preset_values(preset)
            return [(["on"] if v[c.id] else []) if c.switch else v[c.id] for c in CONTROLS]

    # -- explore ------------------------------------------------------------------------
    @app.callback(
        Output("x-job", "data"),
        Output("x-poll", "disabled"),
        Output("x-status", "children", allow_duplicate=True),
        Input("run", "n_clicks"),
        State("session", "data"),
        State("preset", "value"),
        State("agents", "value"),
        State("days", "value"),
        State("seed", "value"),
        [State(f"x-{i}", "value") for i in ids],
        prevent_initial_call=True,
    )
    def _run(_: int, session: str, preset: str, agents: int, days: int, seed: int,
             *values: Any) -> Any:  # fmt: skip
        values = tuple(_value(c, v) for c, v in zip(CONTROLS, values))
        sets = _overrides(preset, list(values))
        try:
            _check(preset, sets, agents, days, seed)
            spec = {"preset": preset, "agents": int(agents), "days": int(days),
                    "seed": int(seed), "overrides": sets}  # fmt: skip
            job = jobs.submit(session, "run", spec)
        except (CredsimError, Busy) as e:
            return no_update, no_update, html.Span(str(e), className="error")
        return job.id, False, "Starting…"

    def _draw_run(job: Job) -> tuple[Any, str]:
        took = time.time() - job.submitted
        return run_figures(job.dir / "run"), f"Done: the charts came {took:.1f} s after Run."

    _job_callbacks(app, jobs, "x", "cancel", "x-figures", "the simulation", _draw_run)

    # -- compare ------------------------------------------------------------------------
    @app.callback(
        Output("c-job", "data"),
        Output("c-poll", "disabled"),
        Output("c-status", "children", allow_duplicate=True),
        Input("c-run", "n_clicks"),
        State("session", "data"),
        State("c-replicates", "value"),
        State("c-agents", "value"),
        State("c-days", "value"),
        State("a-preset", "value"),
        State("b-preset", "value"),
        [State(f"a-{i}", "value") for i in ids],
        [State(f"b-{i}", "value") for i in ids],
        prevent_initial_call=True,
    )
    def _compare(_: int, session: str, k: int, agents: int, days: int, pa: str, pb: str,
                 *values: Any) -> Any:  # fmt: skip
        n = len(CONTROLS)
        va = [_value(c, v) for c, v in zip(CONTROLS, values[:n])]
        vb = [_value(c, v) for c, v in zip(CONTROLS, values[n:])]
        sa, sb = _overrides(pa, va), _overrides(pb, vb)
        try:
            _check(pa, sa, agents, days)
            _check(pb, sb, agents, days)
            if not isinstance(k, int) or not 2 <= k <= 20:
                raise CredsimError(f"replicates = {k}: must be a whole number in [2, 20]")
            spec = {"preset_a": pa, "preset_b": pb, "replicates": k,
                    "agents": int(agents), "days": int(days), "seed": 1,
                    "overrides_a": sa, "overrides_b": sb}  # fmt: skip
            job = jobs.submit(session, "compare", spec)
        except (CredsimError, Busy) as e:
            return no_update, no_update, html.Span(str(e), className="error")
        return job.id, False, "Starting…"

    def _draw_comparison(job: Job) -> tuple[Any, str]:
        cmp = pickle.loads((job.dir / "comparison.pkl").read_bytes())
        took = time.time() - job.submitted
        return comparison_view(cmp), f"Done: the comparison came {took:.1f} s after Compare."

    _job_callbacks(app, jobs, "c", "c-cancel", "c-result", "the comparison", _draw_comparison)

    # -- open ---------------------------------------------------------------------------
    def _run_dir(value: str | None) -> Path:
        """The run directory the dropdown named, only if it is one the page listed."""
        if runs is None or not value or value not in {r["value"] for r in _finished_runs(runs)}:
            raise CredsimError("choose a run directory from the list")
        return runs / value

    @app.callback(Output("o-run", "options"), Input("o-refresh", "n_clicks"))
    def _refresh(_: int) -> Any:
        return _finished_runs(runs)

    @app.callback(
        Output("o-figures", "children"),
        Output("o-params", "children"),
        Output("o-error", "children"),
        Input("o-run", "value"),
        prevent_initial_call=True,
    )
    def _open(value: str | None) -> Any:
        from ..results import load_run

        try:
            d = _run_dir(value)
            res = load_run(d)
            rows = C.flatten(res.meta.get("scenario", {}))
        except CredsimError as e:
            return [], [], str(e)
        params = html.Details(
            [html.Summary(f"Parameters ({len(rows)})"),
             html.Table([html.Tr([html.Td(k), html.Td(v)]) for k, v in rows], className="cmp")]
        )  # fmt: skip
        return run_figures(d), params, ""

    @app.callback(
        Output("o-story", "children"),
        Input("o-explain", "n_clicks"),
        State("o-run", "value"),
        State("o-which", "value"),
        State("o-agent", "value"),
        prevent_initial_call=True,
    )
    def _explain(_: int, value: str | None, which: str, agent: int | None) -> Any:
        from ..explain import explain, pick
        from ..results import load_run

        try:
            res = load_run(_run_dir(value))
            if which == "id":
                if agent is None:
                    raise CredsimError("give an agent id")
                who = int(agent)
            else:
                who = pick(res, which)
            story = explain(res, who)
        except CredsimError as e:
            return html.Div(str(e), className="error")
        return html.Div(
            [html.H3(story.headline),
             html.Ul([html.Li(line) for line in story.summary_lines()[1:]]),
             *_figures([story.chart()])],
            id="story",
        )  # fmt: skip

    return app


def _value(c: Any, v: Any) -> Any:
    """A control's value as the page sends it (a checklist's list for a switch)."""
    return bool(v) if c.switch else float(v if v is not None else 0.0)


def serve(
    host: str = "127.0.0.1",
    port: int = 8050,
    runs: Path | None = None,
    open_browser: bool = True,
    max_running: int | None = None,
) -> None:
    """Start the page and (unless told not to) open it in the browser."""
    import logging
    import threading
    import webbrowser

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # not a line a request
    jobs = Jobs(max_running)
    app = make_app(runs, jobs)
    if open_browser:
        url = f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else host}:{port}/"
        threading.Timer(1.0, webbrowser.open, args=(url,)).start()
    try:
        app.run(host=host, port=port, debug=False)
    finally:
        jobs.close()
