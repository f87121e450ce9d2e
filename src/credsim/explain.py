"""One agent's story, from its run directory: attributes and final state, friends, every
observed event with its ground truth and delta, listings, appeals and denials, and the
score rebuilt from the ledger (decay, struck false events, association) so that the
story adds up to the final score."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from . import charts as C
from .errors import CredsimError
from .scenario import decay_factor, value_at

if TYPE_CHECKING:
    from .results import Result

PICKS = ("wrongful", "association", "speaker", "listed")
COURT_WHATS = ("debt_default", "fraud", "tax_evasion", "speech")
ATTRIBUTES = (
    "region",
    "urban",
    "age_group",
    "sex",
    "parent",
    "platform_user",
    "speaker",
    "smoker",
    "traveller",
    "honesty",
    "civility",
    "civic",
    "scored",
    "tracked",
)
STATE = (
    "score",
    "tier",
    "own",
    "own_false",
    "assoc",
    "listed",
    "listed_court",
    "court_reason",
    "court_until",
    "listed_score",
    "wrongful",
    "by_association",
    "ever_listed",
    "deter_public",
    "deter_financial",
    "deter_speech",
    "chill",
    "pending_case_day",
    "pending_case_kind",
    "pending_case_false_flag",
)
TRUTH_LABELS = {"true": "true", "misidentified": "misidentified", "false_flag": "false flag"}


class ExplainError(CredsimError):
    """An agent that cannot be explained (no such agent, nothing to pick)."""


def decay_factors(meta: dict[str, Any]) -> np.ndarray:
    """The daily decay factor 0.5 ** (1 / half_life) of each day of the run."""
    hl = meta["scenario"]["score"]["half_life"]
    return np.array([decay_factor(value_at(hl, d)) for d in range(int(meta["days"]))])


def strike_days(rows: pd.DataFrame) -> list[int]:
    """Days on which an appeal overturned a wrongful listing (its false events struck).

    Replays the agent's listings in the order of the list phase: exits and appeals of
    the listings standing in the morning, then the day's new listings."""
    court_wr = score_wr = False
    out = []
    lst = rows[rows["kind"].isin(["listing", "exit"])]
    for day, sub in lst.groupby("day", sort=True):
        struck = False
        for r in sub[sub["kind"] == "exit"].itertuples():
            if r.what == "appeal_court":
                struck |= court_wr
            if r.what == "appeal_score":
                struck |= score_wr
            if r.what in ("expiry", "paid", "appeal_court"):
                court_wr = False
            if r.what in ("recovered", "appeal_score"):
                score_wr = False
        if struck:
            out.append(C.whole(day))
        for r in sub[sub["kind"] == "listing"].itertuples():
            if r.what == "score":
                score_wr = bool(r.truth == "wrongful")
            else:
                court_wr = bool(r.truth == "wrongful")
    return out


def replay(
    events: pd.DataFrame, strikes: list[int], decays: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """End-of-day ``own`` and ``own_false`` of every day, rebuilt from the observed events
    in float32 exactly as the score phase does it (decay, then the day's deltas; a strike
    after the list phase removes the false part)."""
    days = decays.size
    own = np.zeros(days, np.float32)
    own_false = np.zeros(days, np.float32)
    o, f = np.float32(0.0), np.float32(0.0)
    by_day: dict[int, list[tuple[float, bool]]] = {}
    for r in events.itertuples():
        by_day.setdefault(C.whole(r.day), []).append(
            (C.num(r.exact_delta), bool(r.truth != "true"))
        )
    sset = set(strikes)
    for d in range(days):
        o = np.float32(float(o) * decays[d])
        f = np.float32(float(f) * decays[d])
        for dv, false in by_day.get(d, ()):
            o = np.float32(float(o) + dv)
            if false:
                f = np.float32(float(f) + dv)
        if d in sset:
            o = np.float32(o - f)
            f = np.float32(0.0)
        own[d], own_false[d] = o, f
    return own, own_false


@dataclass
class Story:
    """One agent's story: see :func:`explain`."""

    agent: int
    attributes: dict[str, Any]
    state: dict[str, Any]
    friends: dict[str, int]
    kept: bool
    events: pd.DataFrame
    record: pd.DataFrame
    denials: pd.DataFrame
    trajectory: pd.DataFrame
    reconciliation: dict[str, Any]
    elsewhere: pd.DataFrame
    meta: dict[str, Any] = field(default_factory=dict)

    # -------------------------------------------------------------------------------
    @property
    def start_date(self) -> dt.date | None:
        """The calendar date of day 0 of the run (``run.start_date``), or None."""
        v = self.meta.get("start_date")
        return dt.date.fromisoformat(v) if v else None

    @property
    def headline(self) -> str:
        a = self.attributes
        kind = "speaker, " if a.get("speaker") else ""
        return (
            f"agent {self.agent}: {kind}{a['age_group']}, {a['sex']}, "
            f"{'urban' if a['urban'] else 'rural'}, {a['region']}"
        )

    def summary_lines(self) -> list[str]:
        s, r = self.state, self.reconciliation
        lines = [
            self.headline,
            f"final score {C.fmt(s['score'])} (tier {s['tier']}): base "
            f"{C.fmt(r['base'])} + own ledger {C.fmt(r['own_recorded'])} + "
            f"association {C.fmt(r['assoc'])}",
            f"friends: {self.friends['friends']} ({self.friends['active']} still active, "
            f"{self.friends['cut']} cut)",
        ]
        if not self.kept:
            lines.append(self.not_recorded)
        return lines

    @property
    def not_recorded(self) -> str:
        """Why this agent has no history, and which agents have one (empty when kept)."""
        if self.kept:
            return ""
        m = self.meta
        kept_by = f"the ledger keeps the {C.fmt(m.get('n_tracked', 0))} tracked agents" + (
            " and every agent ever listed" if m.get("ledger_listed", True) else ""
        )
        why = f"agent {self.agent} is not in the tracked sample"
        if self.state.get("ever_listed") and not m.get("ledger_listed", True):
            why += " (and this run did not keep the ledgers of listed agents)"
        near = m.get("suggest") or []
        names = [str(a) for a in near]
        if not names:
            choose = "no agent's ledger was kept in this run."
        else:
            some = names[0] if len(names) == 1 else f"{', '.join(names[:-1])} or {names[-1]}"
            choose = (
                f"for a full story choose a tracked agent such as {some} (--agent ID), "
                "or --pick listed|wrongful|association|speaker."
            )
        return (
            f"its events were not recorded: {why} ({kept_by}). There is no history to "
            "show and no reconciliation from events; its attributes and final state are "
            f"complete. {choose[0].upper() + choose[1:]}"
        )

    def __repr__(self) -> str:
        return "Story(" + "; ".join(self.summary_lines()) + ")"

    # -------------------------------------------------------------------------------
    def chart(self) -> C.Chart:
        t = self.trajectory
        start = self.start_date
        x = C.day_axis(t["day"].to_numpy(), start)
        series = [
            C.Series(
                "base + own ledger (rebuilt from the ledger)",
                x,
                t["personal"].to_numpy(),
                "step",
                color=C.PALETTE[0],
            )
        ]
        rec = t.dropna(subset=["recorded"])
        if len(rec):
            series.append(
                C.Series(
                    "recorded end-of-day score (with association)",
                    C.day_axis(rec["day"].to_numpy(), start),
                    rec["recorded"].to_numpy(),
                    "markers",
                    color=C.PALETTE[1],
                )
            )
        last = int(t["day"].iloc[-1]) if len(t) else 0
        series.append(
            C.Series(
                "final score",
                C.day_axis([last], start),
                [self.state["score"]],
                "markers",
                color="#000000",
            )
        )
        spans: list[tuple[Any, Any, str]] = [
            (float(a), float(b), lbl) if start is None else (*C.day_axis([a, b], start), lbl)
            for a, b, lbl in self.meta.get("spans", [])
        ]
        return C.Chart(
            f"agent{self.agent}",
            f"Score of agent {self.agent} over time",
            "Base plus the agent's own ledger each day, rebuilt from its observed events "
            "(decay included); dots: recorded scores, which add the association term; shaded: "
            "days on the list.",
            "day" if start is None else "date",
            "score (points)",
            series,
            spans=spans,
            height=380,
        )

    def to_html(self) -> str:
        body = [
            '<p class="note">A synthetic agent: no real person is scored.</p>',
            "<h2>Who</h2>",
            C.table_html(
                ["attribute", "value"], [(k, _show(v)) for k, v in self.attributes.items()]
            ),
            "<h2>Friends</h2>",
            C.table_html(
                ["friends", "still active", "cut"],
                [(self.friends["friends"], self.friends["active"], self.friends["cut"])],
            ),
            "<h2>Final state</h2>",
            C.table_html(["state", "value"], [(k, _show(v)) for k, v in self.state.items()]),
        ]
        if not self.kept:
            text = self.not_recorded
            body.append(f'<p class="note">{C.esc(text[0].upper() + text[1:])}</p>')
        else:
            body += [
                "<h2>Score over time</h2>",
                C.figure_html(self.chart(), interactive=False),
                "<h2>Observed events</h2>",
                _events_html(self.events),
                "<h2>Cases, listings, exits and appeals</h2>",
                _frame_html(self.record, "No case, listing or appeal."),
                "<h2>Services denied</h2>",
                _frame_html(self.denials, "No service denied."),
            ]
            if len(self.elsewhere):
                body += ["<h2>Seen elsewhere in the ledger</h2>", _frame_html(self.elsewhere, "")]
        body += [
            f"<h2>{C.esc(_recon_title(self.reconciliation).capitalize())}</h2>",
            _recon_html(self.reconciliation),
        ]
        m = self.meta
        when = f" ({m['period']})" if m.get("period") else ""
        sub = [
            self.headline,
            f"run: scenario {m.get('preset')}, {C.fmt(m.get('agents'))} "
            f"agents, {m.get('days')} days{when}, seed {m.get('seed')}",
        ]
        return C.page(f"credsim: agent {self.agent}", sub, body, plotly=False)

    def save(self, out: str | Path) -> Path:
        out = Path(out)
        try:
            out.mkdir(parents=True, exist_ok=True)
            return C.write_page(out / f"explain-{self.agent}.html", self.to_html())
        except OSError as e:
            raise ExplainError(f"explain: cannot write to {out} ({e.strerror})") from None

    def _repr_html_(self) -> str:
        return "<br>".join(C.esc(s) for s in self.summary_lines())

    def print(self, console: Any, max_rows: int = 40) -> None:
        """Print the story to a rich console."""
        from rich.panel import Panel
        from rich.table import Table

        console.print(Panel("\n".join(self.summary_lines()), title="credsim explain", expand=False))
        t = Table(title="who and final state", show_header=False)
        t.add_column("key", style="dim")
        t.add_column("value")
        t.add_column("key", style="dim")
        t.add_column("value")
        a = list(self.attributes.items())
        s = list(self.state.items())
        for k in range(max(len(a), len(s))):
            left = a[k] if k < len(a) else ("", "")
            right = s[k] if k < len(s) else ("", "")
            t.add_row(left[0], _show(left[1]), right[0], _show(right[1]))
        console.print(t)
        if self.kept:
            _rich_frame(
                console,
                self.events,
                "observed events: ground truth, delta, and what is left of it at the end (decay)",
                max_rows,
            )
            _rich_frame(console, self.record, "cases, listings, exits, appeals", max_rows)
            _rich_frame(console, self.denials, "services denied", max_rows)
            if len(self.elsewhere):
                _rich_frame(console, self.elsewhere, "seen elsewhere in the ledger", max_rows)
        r = Table(title=_recon_title(self.reconciliation))
        r.add_column("term")
        r.add_column("points", justify="right")
        for label, v in _recon_rows(self.reconciliation):
            r.add_row(label, v)
        console.print(r)


def _show(v: Any) -> str:
    if isinstance(v, (float, np.floating)):
        return C.fmt(float(v), 6)
    return C.fmt(v)


def _rich_frame(console: Any, df: pd.DataFrame, title: str, max_rows: int) -> None:
    from rich.table import Table

    if not len(df):
        return
    df = _shown(df)
    t = Table(title=title)
    for c in df.columns:
        t.add_column(str(c), justify="right" if pd.api.types.is_numeric_dtype(df[c]) else "left")
    for row in df.head(max_rows).itertuples(index=False):
        t.add_row(*[_show(v) for v in row])
    console.print(t)
    if len(df) > max_rows:
        console.print(f"[dim]... {len(df) - max_rows} more rows (all of them in the HTML page)[/]")


def _shown(df: pd.DataFrame) -> pd.DataFrame:
    """Without the text columns that are empty in every row."""
    drop = [
        c
        for c in df.columns
        if not pd.api.types.is_numeric_dtype(df[c]) and len(df) and (df[c].astype(str) == "").all()
    ]
    return df.drop(columns=drop)


def _frame_html(df: pd.DataFrame, empty: str) -> str:
    df = _shown(df)
    if not len(df):
        return f"<p>{C.esc(empty)}</p>"
    return C.table_html(
        list(df.columns),
        [
            [_show(v) if not isinstance(v, str) else v for v in row]
            for row in df.itertuples(index=False)
        ],
        numeric=[pd.api.types.is_numeric_dtype(df[c]) for c in df.columns],
    )


def _events_html(ev: pd.DataFrame) -> str:
    return _frame_html(ev, "No observed event.")


def _recon_rows(r: dict[str, Any]) -> list[tuple[str, str]]:
    rows = [
        ("sum of event deltas, each decayed to the last day", C.fmt(r["events_decayed"], 7)),
        (
            "  of which false events struck on appeal (removed)",
            C.fmt(-r["struck"], 7) if r["struck"] else "0",
        ),
        ("own ledger, rebuilt from the events", C.fmt(r["own_rebuilt"], 7)),
        ("own ledger, recorded", C.fmt(r["own_recorded"], 7)),
        ("  of which false (own_false), recorded", C.fmt(r["own_false_recorded"], 7)),
        ("association (w x mean own of active friends, last day)", C.fmt(r["assoc"], 7)),
        ("base", C.fmt(r["base"], 7)),
        (
            f"score = clip(base + own + association, {C.fmt(r['min'])}, {C.fmt(r['max'])})",
            C.fmt(r["score_rebuilt"], 7),
        ),
        ("score, recorded", C.fmt(r["score_recorded"], 7)),
        ("adds up (to float32 precision)", "yes" if r["adds_up"] else "NO"),
    ]
    if not r["kept"]:
        rows = [
            x
            for x in rows
            if "event" not in x[0]
            and "rebuilt" not in x[0]
            and not x[0].startswith("adds up")
            or x[0].startswith("score =")
        ]
        rows.append(("adds up from its events", "not checked: its events were not recorded"))
    return rows


def _recon_title(r: dict[str, Any]) -> str:
    if r["kept"]:
        return "how the story adds up"
    return "its final score, from its final state (no events to rebuild it from)"


def _recon_html(r: dict[str, Any]) -> str:
    return C.table_html(["term", "points"], _recon_rows(r), numeric=[False, True])


# ------------------------------------------------------------------------------------


def _agent_row(res: Result, agent: int) -> dict[str, Any]:
    n = int(res.meta["agents"])
    if not 0 <= agent < n:
        raise ExplainError(f"explain: no agent {agent} in this run (agents are 0 to {n - 1})")
    if "agents" not in res._tables and res.path is not None:
        t = pq.read_table(res.path / "agents.parquet", filters=[("agent", "=", agent)])
    else:
        t = res.table("agents")
        t = t.filter(pc.equal(t["agent"], pa.scalar(agent, pa.int32())))
    if t.num_rows != 1:
        raise ExplainError(f"explain: agent {agent} is missing from the agents table")
    return {k: v[0] for k, v in t.to_pydict().items()}


def _ledger_rows(res: Result, agent: int) -> pd.DataFrame:
    t = res.table("ledger")
    sub = t.filter(pc.equal(t["agent"], pa.scalar(agent, pa.int32())))
    df = sub.to_pandas()
    for c in ("kind", "what", "truth"):
        df[c] = df[c].astype(object).where(df[c].notna(), None)
    return df


def pick(res: Result, which: str) -> int:
    """An agent worth explaining: the one with the longest ledger among those listed
    wrongfully / by association / ever, or among the speakers whose ledger is kept."""
    if which not in PICKS:
        raise ExplainError(f"explain: --pick {which!r}: must be one of {', '.join(PICKS)}")
    led = res.table("ledger").select(["agent", "kind", "truth", "by_association"]).to_pandas()
    for c in ("kind", "truth"):
        led[c] = led[c].astype(object)
    lst = led[led["kind"] == "listing"]
    if which == "wrongful":
        cand = set(lst.loc[lst["truth"] == "wrongful", "agent"])
    elif which == "association":
        cand = set(lst.loc[lst["by_association"], "agent"])
    elif which == "listed":
        cand = set(lst["agent"])
    else:
        ag = res.table("agents").select(["agent", "speaker", "tracked", "ever_listed"])
        keep = pc.and_(ag["speaker"], pc.or_(ag["tracked"], ag["ever_listed"]))
        cand = set(ag.filter(keep)["agent"].to_pylist())
    if not cand:
        what = {
            "wrongful": "was listed wrongfully",
            "association": "was listed by association",
            "listed": "was ever listed",
            "speaker": "is a speaker whose ledger is kept",
        }[which]
        raise ExplainError(f"explain: no agent in this run {what} (try --agent ID)")
    counts = led[led["agent"].isin(cand)].groupby("agent").size()
    if len(counts):
        best = counts[counts == counts.max()].index.min()
    else:
        best = min(cand)
    return int(best)


def explain(res: Result, agent: int) -> Story:
    """The story of ``agent`` (an index of the run's agents table)."""
    agent = int(agent)
    meta = res.meta
    row = _agent_row(res, agent)
    scn = meta["scenario"]
    sc = scn["score"]
    days = int(meta["days"])
    base, lo, hi = float(sc["base"]), float(sc["min"]), float(sc["max"])
    ledger_listed = bool(scn.get("record", {}).get("ledger_listed", True))
    kept = bool(row["tracked"]) or (bool(row["ever_listed"]) and ledger_listed)
    attributes = {k: row[k] for k in ATTRIBUTES if k in row}
    attributes["parent"] = int(row["parent"]) if row["parent"] is not None else -1
    state = {k: row[k] for k in STATE if k in row}
    friends = {
        "friends": int(row["degree"]),
        "active": int(row["active_degree"]),
        "cut": int(row["degree"]) - int(row["active_degree"]),
    }
    decays = decay_factors(meta)
    rows = _ledger_rows(res, agent) if kept else _ledger_rows(res, -1)
    ev = rows[rows["kind"] == "event"].copy()
    # the exact delta the score phase applied (the ledger stores it as float32)
    deltas = sc["deltas"]
    ev["exact_delta"] = [
        (value_at(deltas[w], d) if dv != 0 else 0.0) if w in deltas else dv
        for w, d, dv in zip(ev["what"], ev["day"], ev["delta"])
    ]
    strikes = strike_days(rows)
    own_t, own_false_t = replay(ev, strikes, decays)
    # each event's share of the final ledger: delta x the decay of the days after it
    suffix = np.ones(days + 1)
    for d in range(days - 1, -1, -1):
        suffix[d] = suffix[d + 1] * decays[d]
    keep_factor = suffix[1:]  # product of decays of days d+1 .. days-1
    struck_on = []
    for d, truth in zip(ev["day"], ev["truth"]):
        s = next((x for x in strikes if x >= d), None) if truth != "true" else None
        struck_on.append(s)
    contrib = np.array([dv * keep_factor[int(d)] for dv, d in zip(ev["exact_delta"], ev["day"])])
    struck_mask = np.array([s is not None for s in struck_on], bool)
    events = pd.DataFrame(
        {
            "day": ev["day"].to_numpy(),
            "event": ev["what"].to_numpy(),
            "truth": [TRUTH_LABELS.get(t, t) for t in ev["truth"]],
            "delta": ev["delta"].to_numpy(),
            "left at the end": np.where(struck_mask, 0.0, contrib),
            "struck on day": [("" if s is None else str(s)) for s in struck_on],
            "score that day": ev["score"].to_numpy(),
            "true offender": [
                ("" if (o is None or o < 0) else str(int(o))) for o in ev["other_agent"]
            ],
        }
    )
    rec = rows[
        rows["kind"].isin(["case_opened", "case_dropped", "judgment", "listing", "exit", "appeal"])
    ]
    record = pd.DataFrame(
        {
            "day": rec["day"].to_numpy(),
            "what": [_record_label(r) for r in rec.itertuples()],
            "score that day": rec["score"].to_numpy(),
        }
    )
    den = rows[rows["kind"] == "denial"]
    denials = pd.DataFrame(
        {
            "day": den["day"].to_numpy(),
            "service denied": den["what"].to_numpy(),
            "because of": [
                "the parent's listing (agent " + str(int(o)) + ")"
                if w == "private_school"
                else "own listing or score"
                for w, o in zip(den["what"], den["other_agent"])
            ],
        }
    )
    elsewhere = _elsewhere(res, agent)
    start = res.start_date
    for frame in (events, record, denials, elsewhere):
        _add_dates(frame, start)
    # trajectory: own rebuilt each day; recorded score on the days with a ledger row
    recorded = rows.groupby("day")["score"].last() if len(rows) else pd.Series(dtype=float)
    traj = pd.DataFrame({"day": np.arange(days), "own": own_t, "own_false": own_false_t})
    traj["personal"] = np.clip(base + own_t.astype(np.float64), lo, hi) if row["scored"] else base
    traj["recorded"] = traj["day"].map(recorded).astype(np.float64)
    # reconciliation
    own_rec, assoc = float(row["own"]), float(row["assoc"])
    if row["scored"]:
        score_rebuilt = float(np.float32(min(max(base + float(own_t[-1]) + assoc, lo), hi)))
    else:
        score_rebuilt = base
    struck = float(contrib[struck_mask].sum()) if struck_mask.any() else 0.0
    tol_own = 1e-3 + 1e-6 * abs(own_rec)
    tol_score = 1e-3 + 1e-6 * abs(float(row["score"]))
    recon: dict[str, Any] = {
        "kept": kept,
        "events_decayed": float(contrib.sum()) if len(contrib) else 0.0,
        "struck": struck,
        "own_rebuilt": float(own_t[-1]) if days else 0.0,
        "own_recorded": own_rec,
        "own_false_rebuilt": float(own_false_t[-1]) if days else 0.0,
        "own_false_recorded": float(row["own_false"]),
        "assoc": assoc,
        "base": base,
        "min": lo,
        "max": hi,
        "score_rebuilt": score_rebuilt,
        "score_recorded": float(row["score"]),
        "strike_days": strikes,
    }
    m: dict[str, Any] = {k: meta.get(k) for k in ("preset", "agents", "days", "seed")}
    m["start_date"] = start.isoformat() if start is not None else None
    m["period"] = res.period
    if kept:
        recon["adds_up"] = bool(
            abs(recon["own_rebuilt"] - own_rec) <= tol_own
            and abs(score_rebuilt - recon["score_recorded"]) <= tol_score
        )
    else:
        # the final score from the final state only: nothing recorded to check it against
        recon["score_rebuilt"] = (
            float(np.float32(min(max(base + own_rec + assoc, lo), hi))) if row["scored"] else base
        )
        recon["adds_up"] = None
        m["n_tracked"], m["suggest"] = _kept_near(res, agent, ledger_listed)
        m["ledger_listed"] = ledger_listed
    m["spans"] = _listed_spans(rows, days)
    return Story(
        agent, attributes, state, friends, kept, events, record, denials, traj, recon, elsewhere, m
    )


def _add_dates(df: pd.DataFrame, start: dt.date | None) -> None:
    """With a calendar, a ``date`` column (ISO text) beside the ``day`` column of ``df``."""
    if start is None or "day" not in df.columns or "date" in df.columns:
        return
    dates = [(start + dt.timedelta(days=int(d))).isoformat() for d in df["day"]]
    df.insert(
        list(df.columns).index("day") + 1, "date", pd.Series(dates, index=df.index, dtype=object)
    )


def _kept_near(res: Result, agent: int, ledger_listed: bool, k: int = 3) -> tuple[int, list[int]]:
    """The number of tracked agents, and the ``k`` agents nearest to ``agent`` (by index)
    whose ledger is kept."""
    if "agents" not in res._tables and res.path is not None:
        t = pq.read_table(res.path / "agents.parquet", columns=["agent", "tracked", "ever_listed"])
    else:
        t = res.table("agents").select(["agent", "tracked", "ever_listed"])
    ids = t["agent"].to_numpy()
    tracked = t["tracked"].to_numpy(zero_copy_only=False)
    kept = tracked | (t["ever_listed"].to_numpy(zero_copy_only=False) & ledger_listed)
    cand = ids[kept]
    near = cand[np.argsort(np.abs(cand.astype(np.int64) - agent), kind="stable")[:k]]
    return int(tracked.sum()), sorted(int(a) for a in near)


def _record_label(r: Any) -> str:
    kind, what = r.kind, r.what
    if kind == "case_opened":
        return f"{what} case opened (judgment due after the court delay)"
    if kind == "case_dropped":
        return f"{what} case dropped (another case was pending)"
    if kind == "judgment":
        extra = "insincere apology" if r.insincere else "apology accepted"
        truth = " - the case began with a false flag" if r.truth == "wrongful" else ""
        return f"defamation judgment: {extra}{truth}"
    if kind == "listing":
        why = "score below the threshold" if what == "score" else f"court: {what}"
        flags = [r.truth or "rightful"]
        if r.by_association:
            flags.append("by association")
        return f"LISTED ({why}; {', '.join(flags)})"
    if kind == "exit":
        label = {
            "expiry": "term expired",
            "paid": "paid",
            "recovered": "score recovered",
            "appeal_court": "court listing overturned on appeal",
            "appeal_score": "score listing overturned on appeal",
        }.get(what, what)
        return f"left the list: {label}"
    if kind == "appeal":
        return f"appeal {what}"
    return f"{kind} {what}"


def _listed_spans(rows: pd.DataFrame, days: int) -> list[tuple[int, int, str]]:
    """Periods on the list (any listing), from the listing and exit rows."""
    court = score = False
    start: int | None = None
    spans = []
    lst = rows[rows["kind"].isin(["listing", "exit"])]
    for day, sub in lst.groupby("day", sort=True):
        for r in sub[sub["kind"] == "exit"].itertuples():
            if r.what in ("expiry", "paid", "appeal_court"):
                court = False
            else:
                score = False
        for r in sub[sub["kind"] == "listing"].itertuples():
            if r.what == "score":
                score = True
            else:
                court = True
        on = court or score
        if on and start is None:
            start = C.whole(day)
        elif not on and start is not None:
            spans.append((start, C.whole(day), "listed"))
            start = None
    if start is not None:
        spans.append((start, days, "listed"))
    return spans


def _elsewhere(res: Result, agent: int) -> pd.DataFrame:
    """Rows of other agents that name this one: its offences pinned on someone else by a
    camera, and its children denied private school because of its listing."""
    t = res.table("ledger")
    sub = t.filter(
        pc.and_(
            pc.equal(t["other_agent"], pa.scalar(agent, pa.int32())),
            pc.not_equal(t["agent"], pa.scalar(agent, pa.int32())),
        )
    ).to_pandas()
    if not len(sub):
        return pd.DataFrame(columns=["day", "what", "agent"])
    lines = []
    for r in sub.itertuples():
        if r.kind == "event":
            lines.append(
                (
                    C.whole(r.day),
                    f"its {r.what} was pinned on another agent by a camera misidentification",
                    C.whole(r.agent),
                )
            )
        elif r.kind == "denial":
            lines.append(
                (
                    C.whole(r.day),
                    "its child was denied private school because of its listing",
                    C.whole(r.agent),
                )
            )
    return pd.DataFrame(lines, columns=["day", "what", "agent"])
