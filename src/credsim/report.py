"""The run report: one self-contained ``report.html`` (interactive charts, plotly.js
inline, opens offline) and the same figures as PNG, built from a run directory only."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from . import charts as C
from .constants import AGE_GROUPS, SERVICES, SEXES, TIERS
from .errors import CredsimError

if TYPE_CHECKING:
    from .results import Result

# Headline measures: summary() key -> (label, unit); also the rows of a comparison.
HEADLINE: dict[str, tuple[str, str]] = {
    "listing_entries": ("listing entries", "entries"),
    "ever_listed": ("agents ever listed", "agents"),
    "listed_end": ("agents listed on the last day", "agents"),
    "wrongful_entries": ("wrongful listing entries", "entries"),
    "wrongful_share_of_entries": ("wrongful share of listing entries", "share"),
    "association_entries": ("listing entries by association", "entries"),
    "score_entries": ("listing entries by score", "entries"),
    "wrongful_listed_days": ("agent-days listed wrongfully", "agent-days"),
    "false_flags": ("falsely flagged posts (observed)", "events"),
    "misidentified_events": ("misidentified camera events", "events"),
    "rumours_observed": ("rumours observed", "events"),
    "flags_per_speaker_year": ("rumour flags per speaker-year", "per speaker-year"),
    "flights_denied": ("flights denied", "requests"),
    "trains_denied": ("trains denied", "requests"),
    "denials_total": ("service denials, all services", "requests"),
    "edges_cut": ("friendships cut", "friendships"),
    "active_edges_end": ("active friendships on the last day", "friendships"),
    "posts_last_day": ("posts on the last day", "posts"),
    "posts_change": ("change in posts, first to last day", "share"),
    "score_mean_end": ("mean score on the last day", "points"),
    "score_gini_end": ("Gini of scores on the last day", "index"),
}
# counts that are scaled to national estimates (x represented / agents)
SCALED = (
    "listed_end",
    "ever_listed",
    "listing_entries",
    "wrongful_entries",
    "association_entries",
    "score_entries",
    "wrongful_listed_days",
    "misidentified_events",
    "false_flags",
    "flights_denied",
    "trains_denied",
    "denials_total",
    "edges_cut",
)
REASONS = ("debt_default", "fraud", "tax_evasion", "speech", "score")
STATUS_LABELS = {
    "not_listed": "not listed",
    "listed_rightful": "listed rightfully",
    "listed_wrongful": "listed wrongfully",
}


def _start(d: pd.DataFrame) -> dt.date | None:
    """The calendar date of day 0 of a table that carries dates (a run with
    ``run.start_date``), else None."""
    if "date" not in d.columns or not len(d):
        return None
    first = pd.Timestamp(d["date"].iloc[0]).date()
    return first - dt.timedelta(days=int(d["day"].iloc[0]))


def _days(d: pd.DataFrame) -> np.ndarray:
    """The x values of a time chart: dates with a calendar, else days."""
    return C.day_axis(d["day"].to_numpy(), _start(d))


def _xlabel(d: pd.DataFrame) -> str:
    return "date" if _start(d) is not None else "day"


def _day_name(day: int, start: dt.date | None) -> str:
    """A day as a chart names it: 'day 40', or '2013-11-10 (day 40)' with a calendar."""
    if start is None:
        return f"day {day}"
    return f"{(start + dt.timedelta(days=day)).isoformat()} (day {day})"


def _bin_width(days: int) -> int:
    return 7 if days > 90 else 1


def _binned(d: pd.DataFrame, cols: list[str], width: int) -> pd.DataFrame:
    b = d[["day", *cols]].copy()
    b["bin"] = b["day"] // width
    out = b.groupby("bin")[cols].sum()
    out.index = out.index * width + (width - 1) / 2
    return out


def _drawn(series: list[C.Series], caption: str, none: str, none_name: str) -> dict[str, Any]:
    """A chart's series that are not zero throughout (a flat line on 0 would hide under
    the others) and its caption naming those left out, as keywords of :class:`Chart`;
    when every one is zero, one series named ``none_name`` for all of them, with ``none``
    as the caption's last sentence."""
    nonzero = [bool(np.nansum(np.abs(np.asarray(s.y, dtype=np.float64))) > 0) for s in series]
    keep = [s for s, nz in zip(series, nonzero) if nz]
    zero = [s.name for s, nz in zip(series, nonzero) if not nz]
    if not keep:
        return {
            "series": [replace(series[0], name=none_name, color="#7f7f7f", dash=False)],
            "caption": f"{caption} {none}",
            "legend": True,
        }
    if zero:
        caption += f" Zero throughout, not drawn: {', '.join(zero)}."
    return {"series": keep, "caption": caption, "legend": bool(zero)}


def _pct(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(b > 0, 100.0 * a / np.maximum(b, 1), np.nan)


# ------------------------------------------------------------------------------------
# Charts


def _closed_steps(h: pd.DataFrame, width: float = 10.0) -> tuple[np.ndarray, np.ndarray]:
    """Bin edges and counts of a histogram drawn as a step line (the last bin closed)."""
    x = h["bin_lo"].to_numpy(np.float64)
    y = h["count"].to_numpy(np.float64)
    if not len(x):
        return x, y
    return np.append(x, x[-1] + width), np.append(y, y[-1])


def score_charts(d: pd.DataFrame, sh: pd.DataFrame) -> list[C.Chart]:
    x = _days(d)
    out = [
        C.Chart(
            "scores",
            "Score distribution over time",
            "Median and mean score of scored agents "
            "each day, with the bands that hold the middle 80 % (p10-p90) and 98 % (p1-p99).",
            _xlabel(d),
            "score (points)",
            [
                C.Series("p1-p99", x, d.score_p1, "band", upper=d.score_p99, color="#90caf9"),
                C.Series("p10-p90", x, d.score_p10, "band", upper=d.score_p90, color="#1e88e5"),
                C.Series("median (p50)", x, d.score_p50, color="#0d47a1"),
                C.Series("mean", x, d.score_mean, color="#d62728", dash=True),
            ],
        )
    ]
    tiers = [t for t in TIERS if d[f"tier_{t}"].sum() > 0]
    out.append(
        C.Chart(
            "tiers",
            "Agents by tier",
            "Number of agents in each score tier at the end of each "
            "day (log scale; unscored agents carry no tier).",
            _xlabel(d),
            "agents (log scale)",
            [C.Series(t, x, d[f"tier_{t}"]) for t in tiers],
            logy=True,
        )
    )
    last = int(d["day"].max())
    picks = sorted({0, last // 2, last})
    h = sh[sh["day"].isin(picks)]
    nz = h[h["count"] > 0]["bin_lo"]
    if len(nz):
        lo, hi = float(nz.min()) - 10, float(nz.max()) + 10
        h = h[(h["bin_lo"] >= lo) & (h["bin_lo"] <= hi)]
    out.append(
        C.Chart(
            "histogram",
            "Score histogram",
            "Scored agents per 10-point score bin on the first, "
            "middle and last day (log scale: the low tail is the listed and penalised).",
            "score bin, lower edge (points)",
            "agents per 10-point bin (log scale)",
            [
                C.Series(_day_name(p, _start(d)), *_closed_steps(h[h["day"] == p]), "step")
                for p in picks
            ],
            logy=True,
        )
    )
    out.append(
        C.Chart(
            "gini",
            "Inequality of scores (Gini)",
            "Gini coefficient of the scores of scored "
            "agents each day (0: everyone has the same score).",
            _xlabel(d),
            "Gini coefficient",
            [C.Series("Gini", x, d.score_gini)],
        )
    )
    return out


def list_charts(d: pd.DataFrame) -> list[C.Chart]:
    x = _days(d)
    w = _bin_width(len(d))
    unit = "week" if w == 7 else "day"
    b = _binned(d, [f"entries_{r}" for r in REASONS], w)
    drawn = _drawn(
        [
            C.Series(
                r.replace("_", " "),
                C.day_axis(b.index.to_numpy(), _start(d)),
                b[f"entries_{r}"].to_numpy(),
                "bar",
                color=C.PALETTE[k],
            )
            for k, r in enumerate(REASONS)
        ],
        f"New listings per {unit} by reason: court judgments (debt default, fraud, tax "
        "evasion), insincere apologies (speech), and a score below the threshold.",
        "Nobody was listed in this run.",
        "entries, all reasons (none)",
    )
    out = [
        C.Chart(
            "entries",
            "List entries by reason",
            xlabel=_xlabel(d),
            ylabel=f"entries per {unit}",
            stacked=True,
            **drawn,
        )
    ]
    drawn = _drawn(
        [
            C.Series("listed (any)", x, d.listed, color="#90caf9", width=6),
            C.Series("court listing", x, d.listed_court, color=C.PALETTE[1]),
            C.Series("score listing", x, d.listed_score, color=C.PALETTE[2]),
            C.Series("wrongfully listed", x, d.listed_wrongful, color=C.PALETTE[3]),
            C.Series("listed by association", x, d.listed_association, color=C.PALETTE[4]),
            C.Series("ever listed", x, d.ever_listed, dash=True, color=C.PALETTE[5]),
        ],
        "Agents on the list at the end of each day, by kind of listing, and agents ever "
        "listed so far (dashed).",
        "Nobody was listed in this run.",
        "listed (nobody)",
    )
    out.append(C.Chart("listed", "The list over time", xlabel=_xlabel(d), ylabel="agents", **drawn))
    ent = sum(d[f"entries_{r}"].to_numpy() for r in REASONS)
    ce = np.cumsum(ent)
    drawn = _drawn(
        [
            C.Series(
                "wrongful, % of entries so far",
                x,
                _pct(np.cumsum(d.entries_wrongful.to_numpy()), ce),
                color=C.PALETTE[1],
            ),
            C.Series(
                "by association, % of entries so far",
                x,
                _pct(np.cumsum(d.entries_association.to_numpy()), ce),
                color=C.PALETTE[4],
            ),
            C.Series(
                "wrongful, % of listed",
                x,
                _pct(d.listed_wrongful.to_numpy(), d.listed.to_numpy()),
                color=C.PALETTE[1],
                dash=True,
            ),
            C.Series(
                "by association, % of listed",
                x,
                _pct(d.listed_association.to_numpy(), d.listed.to_numpy()),
                color=C.PALETTE[4],
                dash=True,
            ),
        ],
        "Share of all list entries so far that were wrongful or by association (solid), "
        "and share of the standing list on each day (dashed).",
        "No entry was wrongful or by association in this run (0 %)."
        if ce[-1:].sum()
        else "Nobody was listed in this run.",
        "wrongful and by-association shares (none)",
    )
    out.append(
        C.Chart(
            "shares",
            "Wrongful and by-association shares",
            xlabel=_xlabel(d),
            ylabel="% of entries / % of listed agents",
            **drawn,
        )
    )
    drawn = _drawn(
        [
            C.Series("expired", x, np.cumsum(d.exits_expiry), color=C.PALETTE[0]),
            C.Series("paid", x, np.cumsum(d.exits_paid), color=C.PALETTE[1]),
            C.Series("score recovered", x, np.cumsum(d.exits_recovered), color=C.PALETTE[2]),
            C.Series("overturned on appeal", x, np.cumsum(d.exits_appeal), color=C.PALETTE[3]),
            C.Series("appeals lodged", x, np.cumsum(d.appeals), dash=True, color=C.PALETTE[4]),
        ],
        "Cumulative exits by reason (term expired, debt paid, score recovered, overturned "
        "on appeal) and appeals lodged.",
        "No exit from the list and no appeal in this run.",
        "exits and appeals (none)",
    )
    out.append(
        C.Chart(
            "exits",
            "Exits from the list and appeals",
            xlabel=_xlabel(d),
            ylabel="exits / appeals so far",
            **drawn,
        )
    )
    return out


def service_frames(d: pd.DataFrame, sv: pd.DataFrame) -> dict[str, pd.DataFrame]:
    rows = []
    for s in SERVICES:
        req = int(d[f"{s}_requests"].sum())
        rows.append(
            {
                "service": s,
                "requests": req,
                **{o: int(d[f"{s}_{o}"].sum()) for o in ("denied", "deposit", "perk")},
            }
        )
    by_service = pd.DataFrame(rows)
    st = sv.copy()
    st["status"] = st["status"].astype(str)
    st["outcome"] = st["outcome"].astype(str)
    st["service"] = st["service"].astype(str)
    piv = st.pivot_table(
        index=["service", "status"],
        columns="outcome",
        values="count",
        aggfunc="sum",
        fill_value=0,
        observed=True,
    )
    for o in ("granted", "denied", "deposit", "perk"):
        if o not in piv:
            piv[o] = 0
    piv["requests"] = piv[["granted", "denied", "deposit", "perk"]].sum(axis=1)
    by_status = piv.reset_index()
    return {"by_service": by_service, "by_status": by_status}


def service_charts(frames: dict[str, pd.DataFrame], groups: pd.DataFrame) -> list[C.Chart]:
    bs = frames["by_service"]
    some = bs[["denied", "deposit", "perk"]].sum(axis=1) > 0
    names = [x.replace("_", " ") for x in bs["service"]]
    caption = (
        "Requests denied, asked for a deposit, or given a perk over the whole run, by "
        "service (log scale; granted requests not shown)."
    )
    if some.any():
        idle = [n for n, s in zip(names, some) if not s]
        if idle:
            caption += f" No denial, deposit or perk: {', '.join(idle)}."
        bs, names = bs[some], [n for n, s in zip(names, some) if s]
    else:
        caption += " Every request was granted."
    out = [
        C.Chart(
            "services",
            "Requests denied, with a deposit or with a perk, by service",
            caption,
            "requests denied / with a deposit / with a perk, over the run (log scale)",
            "service",
            [
                C.Series(
                    o,
                    names,
                    bs[o].to_numpy(),
                    "bar",
                    color={"denied": C.PALETTE[1], "deposit": C.PALETTE[3], "perk": C.PALETTE[2]}[
                        o
                    ],
                )
                for o in ("denied", "deposit", "perk")
            ],
            horizontal=True,
            logx=True,
        )
    ]
    st = frames["by_status"].groupby("status")[["requests", "denied", "deposit", "perk"]].sum()
    st = st.reindex(list(STATUS_LABELS)).fillna(0)
    cats = [STATUS_LABELS[s] for s in st.index]
    out.append(
        C.Chart(
            "status",
            "Outcomes by listing status",
            "Share of requests denied, with a deposit, "
            "or with a perk, for agents not listed, listed rightfully and listed wrongfully "
            "(ground truth; private school by the parent's status).",
            "listing status",
            "% of requests",
            [
                C.Series(
                    o,
                    cats,
                    _pct(st[o].to_numpy(), st["requests"].to_numpy()),
                    "bar",
                    color={"denied": C.PALETTE[1], "deposit": C.PALETTE[3], "perk": C.PALETTE[2]}[
                        o
                    ],
                )
                for o in ("denied", "deposit", "perk")
            ],
        )
    )
    g = groups[groups["dimension"] != "region"]
    labels: list[str] = []
    rates: dict[str, list[float]] = {o: [] for o in ("denied", "deposit", "perk")}
    for (dim, grp), sub in _ordered_groups(g):
        req = sum(sub[f"{s}_requests"].sum() for s in SERVICES)
        labels.append(f"{dim.replace('_', ' ')}: {grp}")
        for o in rates:
            n = sum(sub[f"{s}_{o}"].sum() for s in SERVICES)
            rates[o].append(1000.0 * n / req if req else np.nan)
    out.append(
        C.Chart(
            "service_groups",
            "Service outcomes by group",
            "Denials, deposits and perks per "
            "1,000 requests (all services) by urban/rural, age group and sex; children ask only "
            "for private school, decided by the parent's listing.",
            "per 1,000 requests",
            "group",
            [
                C.Series(
                    o,
                    labels,
                    rates[o],
                    "bar",
                    color={"denied": C.PALETTE[1], "deposit": C.PALETTE[3], "perk": C.PALETTE[2]}[
                        o
                    ],
                )
                for o in rates
            ],
            horizontal=True,
        )
    )
    return out


def _ordered_groups(g: pd.DataFrame) -> Iterator[tuple[tuple[str, str], pd.DataFrame]]:
    order = {"urban": ("urban", "rural"), "age_group": AGE_GROUPS, "sex": SEXES}
    for dim, names in order.items():
        for name in names:
            sub = g[(g["dimension"] == dim) & (g["group"].astype(str) == name)]
            if len(sub):
                yield (dim, name), sub


def speech_network_charts(d: pd.DataFrame) -> list[C.Chart]:
    x = _days(d)
    posts = d.posts.to_numpy().astype(np.float64)
    roll = pd.Series(posts).rolling(7, min_periods=1).mean().to_numpy()
    p0, p1 = posts[0], posts[-1]
    change = f"{100 * (p1 - p0) / p0:+.1f} %" if p0 else "n/a"
    out = [
        C.Chart(
            "speech",
            "Speech volume",
            f"Posts on public affairs per day, all agents, with the "
            f"7-day mean; a fall is the chilling effect (last day vs day 0: {change}).",
            _xlabel(d),
            "posts per day",
            [
                C.Series("posts", x, posts, color="#90a4ae", width=1),
                C.Series("7-day mean", x, roll, color=C.PALETTE[0], width=3),
            ],
        )
    ]
    out.append(
        C.Chart(
            "friendships",
            "Active friendships",
            "Friendships still active at the end of each "
            "day; unfriending removes them and none are added.",
            _xlabel(d),
            "active friendships",
            [C.Series("active friendships", x, d.active_edges)],
        )
    )
    cuts = d.edges_cut.to_numpy().astype(np.float64)
    total = int(d.edges_cut_total.iloc[-1])
    out.append(
        C.Chart(
            "cuts",
            "Friendships cut",
            "Friendships cut each day by agents of good standing "
            f"from listed or low-tier friends, with the 7-day mean ({total:,} cut in all).",
            _xlabel(d),
            "friendships cut per day",
            [
                C.Series("cut that day", x, cuts, "bar", color="#ef9a9a"),
                C.Series(
                    "7-day mean",
                    x,
                    pd.Series(cuts).rolling(7, min_periods=1).mean(),
                    color=C.PALETTE[1],
                    width=3,
                ),
            ],
        )
    )
    return out


def disparate_impact(groups: pd.DataFrame) -> pd.DataFrame:
    """Listing and denial rates by group, with their ratio to the population's rate."""
    req_cols = [f"{s}_requests" for s in SERVICES]
    den_cols = [f"{s}_denied" for s in SERVICES]
    rows = []
    for dim in ("urban", "age_group", "sex", "region"):
        g = groups[groups["dimension"] == dim]
        if not len(g):
            continue
        last = g["day"].max()
        for name in pd.unique(g["group"].astype(str)):
            sub = g[g["group"].astype(str) == name]
            end = sub[sub["day"] == last]
            rows.append(
                {
                    "dimension": dim,
                    "group": name,
                    "agents": int(end["agents"].sum()),
                    "ever_listed": int(end["ever_listed"].sum()),
                    "entries": int(sum(sub[f"entries_{r}"].sum() for r in REASONS)),
                    "requests": int(sub[req_cols].to_numpy().sum()),
                    "denials": int(sub[den_cols].to_numpy().sum()),
                }
            )
    t = pd.DataFrame(rows)
    if not len(t):
        return t
    pop = t[t["dimension"] == t["dimension"].iloc[0]]
    pop_list = pop["ever_listed"].sum() / max(pop["agents"].sum(), 1)
    pop_den = pop["denials"].sum() / max(pop["requests"].sum(), 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        t["listed_per_1000"] = 1000 * t["ever_listed"] / t["agents"].where(t["agents"] > 0)
        t["listing_ratio"] = (t["listed_per_1000"] / (1000 * pop_list)) if pop_list else np.nan
        t["denials_per_1000_requests"] = (
            1000 * t["denials"] / t["requests"].where(t["requests"] > 0)
        )
        t["denial_ratio"] = t["denials_per_1000_requests"] / (1000 * pop_den) if pop_den else np.nan
    t.attrs["population_listed_per_1000"] = 1000 * pop_list
    t.attrs["population_denials_per_1000"] = 1000 * pop_den
    return t


def disparate_charts(di: pd.DataFrame) -> list[C.Chart]:
    out: list[C.Chart] = []
    if not len(di):
        return out
    nonreg = di[di["dimension"] != "region"]
    labels = [f"{a.replace('_', ' ')}: {b}" for a, b in zip(nonreg.dimension, nonreg.group)]
    out.append(
        C.Chart(
            "impact_groups",
            "Disparate impact by group",
            "Rate of being listed (ever listed per "
            "agent) and of service denial (per request), each divided by the population's rate; "
            "1 = parity.",
            "ratio to the population rate",
            "group",
            [
                C.Series("listing rate ratio", labels, nonreg.listing_ratio.to_numpy(), "bar"),
                C.Series(
                    "denial rate ratio",
                    labels,
                    nonreg.denial_ratio.to_numpy(),
                    "bar",
                    color=C.PALETTE[1],
                ),
            ],
            horizontal=True,
            ref=1.0,
        )
    )
    reg = di[di["dimension"] == "region"]
    if len(reg):
        out.append(
            C.Chart(
                "impact_regions",
                "Disparate impact by region",
                "Listing and denial rates of "
                "each province divided by the national rate (1 = parity); small provinces are "
                "noisy.",
                "ratio to the population rate",
                "province",
                [
                    C.Series(
                        "listing rate ratio",
                        reg.group.tolist(),
                        reg.listing_ratio.to_numpy(),
                        "bar",
                    ),
                    C.Series(
                        "denial rate ratio",
                        reg.group.tolist(),
                        reg.denial_ratio.to_numpy(),
                        "bar",
                        color=C.PALETTE[1],
                    ),
                ],
                horizontal=True,
                ref=1.0,
            )
        )
    return out


def all_charts(res: Result) -> tuple[list[tuple[str, str, list[C.Chart]]], dict[str, Any]]:
    """The report's sections (anchor, title, charts) and the frames behind its tables."""
    d, g, sv, sh = res.df("daily"), res.df("groups"), res.df("services"), res.df("score_hist")
    frames = service_frames(d, sv)
    di = disparate_impact(g)
    sections = [
        ("scores", "Scores", score_charts(d, sh)),
        ("list", "The list", list_charts(d)),
        ("services", "Services", service_charts(frames, g)),
        ("speech", "Speech and friendships", speech_network_charts(d)),
        ("impact", "Disparate impact", disparate_charts(di)),
    ]
    return sections, {"services": frames, "impact": di, "daily": d}


# ------------------------------------------------------------------------------------
# Tables


def _headline_html(res: Result, s: dict[str, Any]) -> str:
    rows: list[tuple[str, Any, str]] = [
        (
            label,
            f"{100 * s[k]:.2f} %" if unit == "share" else s[k],
            "% of entries" if unit == "share" else unit,
        )
        for k, (label, unit) in HEADLINE.items()
        if k in s
    ]
    rows.insert(0, ("posts on day 0", s.get("posts_day0"), "posts"))
    return C.table_html(
        ["measure", "value (simulation)", "unit"],
        rows,
        numeric=[False, True, False],
        caption="Counts of agents and events in the simulated population.",
    )


def _national_html(res: Result, s: dict[str, Any]) -> str:
    scale = float(res.meta["scale"])
    rows = [(HEADLINE[k][0], s[k], s[k] * scale) for k in SCALED if k in s]
    return (
        '<p class="note">National-scaled estimates: each agent stands for '
        f"{C.fmt(scale)} people (represented {C.fmt(float(res.meta['represented']))} / "
        f"{C.fmt(int(res.meta['agents']))} agents). These are model estimates for a "
        "synthetic population, not observations.</p>"
        + C.table_html(
            ["measure", "count in the simulation", f"national-scaled estimate (x {C.fmt(scale)})"],
            rows,
            cls="estimate",
        )
    )


def _services_html(frames: dict[str, pd.DataFrame]) -> str:
    bs = frames["by_service"]
    rows: list[list[Any]] = []
    for r in bs.itertuples():
        rq = r.requests
        rows.append(
            [
                str(r.service).replace("_", " "),
                rq,
                r.denied,
                r.deposit,
                r.perk,
                *(
                    100 * C.num(v) / C.num(rq) if rq else np.nan
                    for v in (r.denied, r.deposit, r.perk)
                ),
            ]
        )
    t1 = C.table_html(
        ["service", "requests", "denied", "deposit", "perk", "% denied", "% deposit", "% perk"],
        rows,
        caption="Service outcomes over the run.",
    )
    st = frames["by_status"]
    rows = []
    for svc in SERVICES:
        row: list[Any] = [svc.replace("_", " ")]
        for status in STATUS_LABELS:
            sub = st[(st["service"] == svc) & (st["status"] == status)]
            rq = int(sub["requests"].sum())
            den = int(sub["denied"].sum())
            row += [rq, 100 * den / rq if rq else np.nan]
        rows.append(row)
    heads = ["service"]
    for label in STATUS_LABELS.values():
        heads += [f"requests, {label}", f"% denied, {label}"]
    t2 = C.table_html(
        heads,
        rows,
        caption="Requests and denial rates by the requesting "
        "agent's listing status (ground truth: wrongful listings are known).",
    )
    return t1 + t2


def _impact_html(di: pd.DataFrame) -> str:
    if not len(di):
        return "<p>No group table in this run.</p>"
    rows = [
        (
            str(r.dimension).replace("_", " "),
            r.group,
            r.agents,
            r.ever_listed,
            r.listed_per_1000,
            r.listing_ratio,
            r.requests,
            r.denials,
            r.denials_per_1000_requests,
            r.denial_ratio,
        )
        for r in di.itertuples()
    ]
    cap = (
        f"Population: {C.fmt(di.attrs['population_listed_per_1000'])} ever listed per "
        f"1,000 agents, {C.fmt(di.attrs['population_denials_per_1000'])} denials per "
        "1,000 requests. Ratio = the group's rate / the population's rate."
    )
    return C.table_html(
        [
            "dimension",
            "group",
            "agents",
            "ever listed",
            "per 1,000 agents",
            "ratio",
            "requests",
            "denials",
            "per 1,000 requests",
            "ratio",
        ],
        rows,
        caption=cap,
    )


def _params_html(res: Result) -> str:
    rows = C.flatten(res.meta.get("scenario", {}))
    when = f" It runs from {res.period}." if res.period else ""
    return C.table_html(
        ["parameter", "value"],
        rows,
        cls="params",
        caption=f"Every parameter of the scenario as resolved for this run.{when}",
    )


# ------------------------------------------------------------------------------------


def write_report(res: Result, out: str | Path | None = None, png: bool = True) -> Path:
    """Write ``report.html`` and ``figures/*.png`` into ``out`` (default: the run
    directory); return the path of the HTML file."""
    if out is None:
        if res.path is None:
            raise CredsimError("report: this result has no run directory; give out=...")
        out = res.path
    out = Path(out)
    try:
        out.mkdir(parents=True, exist_ok=True)
        (out / "figures").mkdir(exist_ok=True)
    except OSError as e:
        raise CredsimError(f"report: cannot write to {out} ({e.strerror})") from None
    t0 = time.perf_counter()
    sections, frames = all_charts(res)
    s = res.summary()
    meta = res.meta
    body = [
        '<p class="note">A simulation of a synthetic population: no real person is '
        "scored. Counts are of simulated agents; national-scaled estimates are labelled "
        "as such.</p>",
        '<h2 id="headline">Headline</h2>',
        _headline_html(res, s),
    ]
    nav = [("headline", "Headline")]
    for anchor, title, chs in sections:
        nav.append((anchor, title))
        body.append(f'<h2 id="{anchor}">{C.esc(title)}</h2>')
        for ch in chs:
            name = f"figures/{ch.key}.png"
            if png:
                C.save_png(ch, out / name)
            body.append(C.figure_html(ch, png=name if png else None))
        if anchor == "services":
            body.append(_services_html(frames["services"]))
        if anchor == "impact":
            body.append(_impact_html(frames["impact"]))
    nav += [("national", "National estimates"), ("parameters", "Parameters")]
    body += [
        '<h2 id="national">National-scaled estimates</h2>',
        _national_html(res, s),
        '<h2 id="parameters">Scenario parameters</h2>',
        _params_html(res),
    ]
    elapsed = time.perf_counter() - t0
    body.append(
        f'<p class="small">credsim {C.esc(meta.get("credsim_version", ""))}; report '
        f"built in {elapsed:.1f} s from {C.esc(res.path or 'an in-memory run')}.</p>"
    )
    when = f" ({res.period})" if res.period else ""
    sub = [
        f"scenario {meta.get('preset')} · {C.fmt(int(meta['agents']))} agents · "
        f"{meta['days']} days{when} · seed {meta['seed']} · each agent stands for "
        f"{C.fmt(float(meta['scale']))} people",
        f"run created {meta.get('created', '?')}",
    ]
    text = C.page(f"credsim report: {meta.get('preset')}", sub, body, nav=nav)
    return C.write_page(out / "report.html", text)


def chart_keys(res: Result) -> list[str]:
    """The keys of the report's charts (one PNG and one interactive chart each)."""
    return [ch.key for _, _, chs in all_charts(res)[0] for ch in chs]
