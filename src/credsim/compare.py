"""Two designs side by side: each headline measure for A and B, the paired difference
B - A over replicates run with common random numbers (seeds seed, seed+1, ...), and its
95 % t interval; also the unpaired (Welch) interval from the same replicates."""

from __future__ import annotations

import datetime as dt
import math
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np
import pandas as pd
import scipy.stats

from . import charts as C
from .errors import CredsimError
from .report import HEADLINE

if TYPE_CHECKING:
    from .results import Result

# the files a comparison writes: the only ones --force overwrites
COMPARISON_FILES = ("compare.html", "compare.csv", "replicates.csv")
DAILY_COLUMNS = [
    "day",
    "date",  # with a calendar (run.start_date) only
    "listed",
    "ever_listed",
    "entries_wrongful",
    "posts",
    "active_edges",
    "edges_cut",
    "score_mean",
]


def t975(df: float) -> float:
    """The 0.975 quantile of Student's t with ``df`` (any positive real) degrees of
    freedom: the factor of a two-sided 95 % interval."""
    if not df > 0 or math.isnan(df):
        return math.nan
    return float(scipy.stats.t.ppf(0.975, df))


def paired_interval(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """Mean of the paired differences b - a and the half-width of its 95 % interval."""
    d = np.asarray(b, np.float64) - np.asarray(a, np.float64)
    k = d.size
    if k < 2:
        return float(d.mean()) if k else math.nan, math.nan
    return float(d.mean()), t975(k - 1) * float(d.std(ddof=1)) / math.sqrt(k)


def welch_interval(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """Difference of means b - a and the half-width of its Welch 95 % interval."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    na, nb = a.size, b.size
    diff = float(b.mean() - a.mean())
    if na < 2 or nb < 2:
        return diff, math.nan
    va, vb = a.var(ddof=1) / na, b.var(ddof=1) / nb
    if va + vb == 0:
        return diff, 0.0
    df = (va + vb) ** 2 / (va**2 / (na - 1) + vb**2 / (nb - 1))
    return diff, t975(df) * math.sqrt(va + vb)


@dataclass
class Comparison:
    """The outcome of :func:`compare`: ``table`` (one row per measure), ``replicates``
    (one row per run) and the daily trajectories behind the charts."""

    a_label: str
    b_label: str
    table: pd.DataFrame
    replicates: pd.DataFrame
    daily: dict[str, list[pd.DataFrame]]
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def k(self) -> int:
        return int(self.meta.get("replicates", 1))

    def __repr__(self) -> str:
        cols = ["label", "a_mean", "b_mean", "diff", "ci_low", "ci_high"]
        return (
            f"Comparison({self.a_label!r} vs {self.b_label!r}, {self.k} replicate(s))\n"
            + self.table[cols].to_string(index=False)
        )

    def _repr_html_(self) -> str:
        return self.table.to_html(index=False)

    def to_html(self, out: str | Path, force: bool = False) -> Path:
        """Write ``compare.html`` into the directory ``out``; return its path. A directory
        that holds a comparison already is refused unless ``force``."""
        return write_html(self, out, force)

    def save(self, out: str | Path, force: bool = False) -> Path:
        """Write ``compare.html``, ``compare.csv`` (the table) and ``replicates.csv`` (every
        run) into the directory ``out``; return the path of the HTML page. A directory
        that holds a comparison already is refused unless ``force`` (which overwrites
        those three files and touches nothing else)."""
        check_out(out, force)
        path = write_html(self, out, force=True)
        self.table.to_csv(path.parent / "compare.csv", index=False)
        self.replicates.to_csv(path.parent / "replicates.csv", index=False)
        return path


# ------------------------------------------------------------------------------------


def check_out(out: str | Path, force: bool = False) -> None:
    """Refuse, in one line, an output directory that holds a comparison already (one of
    :data:`COMPARISON_FILES`) unless ``force``."""
    found = [f for f in COMPARISON_FILES if (Path(out) / f).is_file()]
    if found and not force:
        raise CredsimError(
            f"compare: {out} already holds a comparison ({', '.join(found)}): "
            "use --force to overwrite it, or --out DIR"
        )


def _given(v: Any) -> bool:
    return v is not None and not (isinstance(v, (list, tuple)) and not v)


def _is_run_dir(x: Any) -> bool:
    return isinstance(x, (str, Path)) and Path(x).is_dir()


def _label(src: Any, sets: Sequence[str], name: str | None = None) -> str:
    base = name or (Path(src).name if isinstance(src, (str, Path)) else str(src))
    return base + (f" ({', '.join(sets)})" if sets else "")


def _stats(rep: pd.DataFrame, metrics: list[str]) -> pd.DataFrame:
    a = rep[rep["side"] == "A"].sort_values("replicate")
    b = rep[rep["side"] == "B"].sort_values("replicate")
    rows = []
    for m in metrics:
        va, vb = a[m].to_numpy(np.float64), b[m].to_numpy(np.float64)
        diff, half = paired_interval(va, vb)
        _, uhalf = welch_interval(va, vb)
        ma, mb = float(va.mean()), float(vb.mean())
        label, unit = HEADLINE.get(m, (m, ""))
        rows.append(
            {
                "metric": m,
                "label": label,
                "unit": unit,
                "a_mean": ma,
                "b_mean": mb,
                "diff": diff,
                "ci_low": diff - half,
                "ci_high": diff + half,
                "half_width": half,
                "welch_low": diff - uhalf,
                "welch_high": diff + uhalf,
                "welch_half_width": uhalf,
                "sd_a": float(va.std(ddof=1)) if va.size > 1 else math.nan,
                "sd_b": float(vb.std(ddof=1)) if vb.size > 1 else math.nan,
                "sd_diff": float((vb - va).std(ddof=1)) if va.size > 1 else math.nan,
                "rel_diff": diff / abs(ma) if ma else math.nan,
                "excludes_zero": bool(half == half and (diff - half > 0 or diff + half < 0)),
                "n": int(va.size),
            }
        )
    return pd.DataFrame(rows)


def _iso(d: dt.date | None) -> str | None:
    return d.isoformat() if d is not None else None


def _row(side: str, k: int, seed: int, res: Result, metrics: list[str]) -> dict[str, Any]:
    s = res.summary()
    return {"side": side, "replicate": k, "seed": seed, **{m: s[m] for m in metrics}}


def _daily(res: Result) -> pd.DataFrame:
    t = res.table("daily")
    return t.select([c for c in DAILY_COLUMNS if c in t.column_names]).to_pandas()


def compare(
    a: Any,
    b: Any,
    replicates: int | None = None,
    agents: int | None = None,
    days: int | None = None,
    seed: int | None = None,
    overrides: Sequence[str] | None = None,
    overrides_a: Sequence[str] | None = None,
    overrides_b: Sequence[str] | None = None,
    progress: Callable[[int, int, str], None] | None = None,
) -> Comparison:
    """Compare A and B: presets, scenario files (run ``replicates`` times each with seeds
    ``seed, seed+1, ...``: common random numbers) or two run directories (compared as
    they are, one replicate, no interval)."""
    from .results import load_run
    from .sim import Sim

    metrics = list(HEADLINE)
    if _is_run_dir(a) or _is_run_dir(b):
        if not (_is_run_dir(a) and _is_run_dir(b)):
            raise CredsimError(
                "compare: A and B must both be run directories, or both presets or scenario files"
            )
        given = [
            n
            for n, v in (
                ("--replicates", replicates),
                ("--agents", agents),
                ("--days", days),
                ("--seed", seed),
                ("--set", overrides),
                ("--set-a", overrides_a),
                ("--set-b", overrides_b),
            )
            if _given(v)
        ]
        if given:
            raise CredsimError(
                f"compare: {', '.join(given)} "
                f"{'applies' if len(given) == 1 else 'apply'} to presets and "
                "scenario files only: two run directories are compared as "
                "they are (one run each)"
            )
        ra, rb = load_run(a), load_run(b)
        rep = pd.DataFrame(
            [
                _row("A", 0, int(ra.meta["seed"]), ra, metrics),
                _row("B", 0, int(rb.meta["seed"]), rb, metrics),
            ]
        )
        la = _label(a, [], None)
        lb = _label(b, [], None)
        if la == lb:
            la, lb = str(a), str(b)
        notes = []
        if ra.meta["seed"] != rb.meta["seed"] or ra.meta["agents"] != rb.meta["agents"]:
            notes.append(
                "the two runs differ in seed or size: their difference includes "
                "sampling noise that common random numbers would remove"
            )
        meta = {
            "mode": "run directories",
            "replicates": 1,
            "a": str(a),
            "b": str(b),
            "agents": [ra.meta["agents"], rb.meta["agents"]],
            "days": [ra.meta["days"], rb.meta["days"]],
            "seeds": [[ra.meta["seed"]], [rb.meta["seed"]]],
            "start_dates": [_iso(ra.start_date), _iso(rb.start_date)],
            "notes": notes,
            "scale": [ra.meta["scale"], rb.meta["scale"]],
        }
        return Comparison(
            la, lb, _stats(rep, metrics), rep, {"A": [_daily(ra)], "B": [_daily(rb)]}, meta
        )

    k = 5 if replicates is None else int(replicates)
    if k < 1:
        raise CredsimError(f"compare: --replicates = {k}: must be at least 1")
    sets_a = list(overrides or []) + list(overrides_a or [])
    sets_b = list(overrides or []) + list(overrides_b or [])
    sims = {
        "A": Sim(a, agents=agents, days=days, seed=seed, overrides=sets_a, record_ledger=False),
        "B": Sim(b, agents=agents, days=days, seed=seed, overrides=sets_b, record_ledger=False),
    }
    base = sims["A"].seed if seed is None else int(seed)
    seeds = [base + r for r in range(k)]
    total = k * (sims["A"].days + sims["B"].days)
    done = 0
    rows: list[dict[str, Any]] = []
    daily: dict[str, list[pd.DataFrame]] = {"A": [], "B": []}
    t0 = time.perf_counter()
    for r, s in enumerate(seeds):
        for side, src, sets in (("A", a, sets_a), ("B", b, sets_b)):
            sim = Sim(src, agents=agents, days=days, seed=s, overrides=sets, record_ledger=False)
            label = f"{side}: {sim.scenario.name}, seed {s}"
            start = done

            def tick(d: int, n: int, start: int = start, label: str = label) -> None:
                if progress is not None:
                    progress(start + d, total, label)

            res = sim.run(progress=tick)
            done += sim.days
            rows.append(_row(side, r, s, res, metrics))
            daily[side].append(_daily(res))
            del sim, res
    rep = pd.DataFrame(rows)
    la = _label(a, sets_a, sims["A"].scenario.name)
    lb = _label(b, sets_b, sims["B"].scenario.name)
    if la == lb:
        la, lb = la + " [A]", lb + " [B]"
    notes = []
    if sims["A"].n != sims["B"].n:
        notes.append(
            f"A has {sims['A'].n:,} agents and B {sims['B'].n:,}: agents are not "
            "paired one to one (give --agents)"
        )
    meta = {
        "mode": "simulated",
        "replicates": k,
        "a": str(a),
        "b": str(b),
        "agents": [sims["A"].n, sims["B"].n],
        "days": [sims["A"].days, sims["B"].days],
        "seeds": [seeds, seeds],
        "start_dates": [
            _iso(sims["A"].scenario.run.start_date),
            _iso(sims["B"].scenario.run.start_date),
        ],
        "overrides_a": sets_a,
        "overrides_b": sets_b,
        "notes": notes,
        "wall_s": round(time.perf_counter() - t0, 1),
        "scale": [
            sims["A"].scenario.population.represented / sims["A"].n,
            sims["B"].scenario.population.represented / sims["B"].n,
        ],
    }
    return Comparison(la, lb, _stats(rep, metrics), rep, daily, meta)


# ------------------------------------------------------------------------------------
# Presentation


class _Measure(NamedTuple):
    """The columns of a row of :attr:`Comparison.table` that the presentation shows."""

    label: str
    unit: str
    a_mean: float
    b_mean: float
    diff: float
    ci_low: float
    ci_high: float
    excludes_zero: bool
    welch_low: float
    welch_high: float
    half_width: float
    welch_half_width: float


def measures(t: pd.DataFrame) -> Iterator[_Measure]:
    for r in t.itertuples():
        yield _Measure(
            str(r.label),
            str(r.unit),
            C.num(r.a_mean),
            C.num(r.b_mean),
            C.num(r.diff),
            C.num(r.ci_low),
            C.num(r.ci_high),
            bool(r.excludes_zero),
            C.num(r.welch_low),
            C.num(r.welch_high),
            C.num(r.half_width),
            C.num(r.welch_half_width),
        )


def fmt_value(v: float | None, unit: str) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "–"
    if unit == "share":
        return f"{100 * v:.2f} %"
    if unit in ("points", "index", "per speaker-year"):
        return f"{v:,.4g}" if abs(v) < 1000 else f"{v:,.1f}"
    return f"{v:,.0f}" if float(v) == int(v) else f"{v:,.1f}"


def fmt_diff(v: float | None, unit: str) -> str:
    """A difference with its sign (shares in percentage points); zero is plain 0."""
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "–"
    if v == 0:
        return "0"
    s = fmt_value(abs(v), unit)
    if unit == "share":
        s = s.replace(" %", " pp")
    return ("+" if v > 0 else "−") + s


def fmt_pair(name: str, pair: Any, fmt: Callable[[Any], str] = C.fmt) -> str:
    """``name value`` when A and B share the value, ``name A: x, B: y`` otherwise."""
    if not isinstance(pair, (list, tuple)) or len(pair) != 2:
        return f"{name} {fmt(pair)}"
    a, b = pair
    if a == b:
        return f"{name} {fmt(a)}"
    return f"{name} A: {fmt(a)}, B: {fmt(b)}"


def _seeds(v: Any) -> str:
    return ", ".join(C.fmt(int(x)) for x in v) if isinstance(v, (list, tuple)) else C.fmt(v)


def rich_table(cmp: Comparison) -> Any:
    from rich.table import Table

    k = cmp.k
    how = "common random numbers" if cmp.meta.get("mode") == "simulated" else "runs as given"
    t = Table(
        title=f"A = {cmp.a_label}   B = {cmp.b_label}   "
        f"({k} replicate{'s' if k > 1 else ''}, {how})"
    )
    t.add_column("measure")
    t.add_column("A", justify="right")
    t.add_column("B", justify="right")
    t.add_column("B − A", justify="right", style="bold")
    if k > 1:
        t.add_column("95 % interval (paired)", justify="right")
    for r in measures(cmp.table):
        row = [
            r.label,
            fmt_value(r.a_mean, r.unit),
            fmt_value(r.b_mean, r.unit),
            fmt_diff(r.diff, r.unit),
        ]
        if k > 1:
            ci = f"[{fmt_diff(r.ci_low, r.unit)}, {fmt_diff(r.ci_high, r.unit)}]"
            row.append(f"[green]{ci}[/]" if r.excludes_zero else ci)
        t.add_row(*row)
    return t


def _start(frames: list[pd.DataFrame]) -> dt.date | None:
    """The calendar date of day 0 of one side's daily frames (None without a calendar)."""
    if not frames or "date" not in frames[0] or not len(frames[0]):
        return None
    f = frames[0]
    return pd.Timestamp(f["date"].iloc[0]).date() - dt.timedelta(days=int(f["day"].iloc[0]))


def common_start(cmp: Comparison) -> dt.date | None:
    """The start date A and B share, which dates the daily charts; None when either has
    no calendar or they start on different dates (the charts then count days)."""
    a, b = _start(cmp.daily.get("A", [])), _start(cmp.daily.get("B", []))
    return a if a is not None and a == b else None


def comparison_charts(cmp: Comparison) -> list[C.Chart]:
    t = cmp.table
    k = cmp.k
    ok = t[(t["a_mean"] != 0) & t["a_mean"].notna()]
    scale = 100.0 / ok["a_mean"].abs()
    lo = (ok["ci_low"] if k > 1 else ok["diff"]) * scale
    hi = (ok["ci_high"] if k > 1 else ok["diff"]) * scale
    what = (
        f"mean of {k} paired differences with its 95 % interval (t, {k - 1} df)"
        if k > 1
        else "difference of the two runs (one replicate, no interval)"
    )
    out = [
        C.Chart(
            "relative",
            "Difference B − A, relative to A",
            f"For each measure, {what}, as a "
            "percentage of A's mean (measures with A = 0 left out).",
            "B − A (% of A's mean)",
            "measure",
            [
                C.Series(
                    "B − A",
                    (ok["diff"] * scale).to_numpy(),
                    ok["label"].tolist(),
                    "interval",
                    lo=lo.to_numpy(),
                    hi=hi.to_numpy(),
                )
            ],
            ref=0.0,
        )
    ]
    if k > 1:
        w = t[(t["a_mean"] != 0) & (t["welch_half_width"] > 0)]
        sc = 100.0 / w["a_mean"].abs()
        out.append(
            C.Chart(
                "widths",
                "Paired versus unpaired intervals",
                "Half-width of the 95 % interval "
                "on B − A from the same replicates: paired (common random numbers) and unpaired "
                "(Welch), as % of A's mean (log scale).",
                "half-width (% of A's mean, log scale)",
                "measure",
                [
                    C.Series(
                        "paired",
                        w["label"].tolist(),
                        (w["half_width"] * sc).to_numpy(),
                        "bar",
                        color=C.PALETTE[2],
                    ),
                    C.Series(
                        "unpaired (Welch)",
                        w["label"].tolist(),
                        (w["welch_half_width"] * sc).to_numpy(),
                        "bar",
                        color=C.PALETTE[7],
                    ),
                ],
                horizontal=True,
                logx=True,
            )
        )
    series = [
        ("listed", "Agents on the list", "agents listed at the end of the day", False),
        ("entries_wrongful", "Wrongful list entries so far", "wrongful entries so far", True),
        ("posts", "Speech volume", "posts per day", False),
        ("active_edges", "Active friendships", "active friendships", False),
        ("score_mean", "Mean score", "mean score (points)", False),
    ]
    start = common_start(cmp)
    for col, title, ylab, cum in series:
        ss = []
        for side, color, label in (
            ("A", C.PALETTE[0], cmp.a_label),
            ("B", C.PALETTE[1], cmp.b_label),
        ):
            frames = cmp.daily.get(side, [])
            if not frames or col not in frames[0]:
                continue
            n = min(len(f) for f in frames)
            m = np.vstack([f[col].to_numpy(np.float64)[:n] for f in frames])
            if cum:
                m = np.cumsum(m, axis=1)
            x = C.day_axis(frames[0]["day"].to_numpy()[:n], start)
            if len(frames) > 1:
                ss.append(
                    C.Series(
                        f"{side} range", x, m.min(axis=0), "band", upper=m.max(axis=0), color=color
                    )
                )
            ss.append(C.Series(f"{side}: {label}", x, m.mean(axis=0), color=color))
        if ss:
            rng = " (line: mean of the replicates; band: their range)" if k > 1 else ""
            if start is None and any(cmp.meta.get("start_dates") or []):
                rng += (
                    ". A and B do not start on the same date, so the x axis counts the "
                    "days of each run"
                )
            out.append(
                C.Chart(
                    f"daily_{col}",
                    title,
                    f"{title} each day under A and B{rng}.",
                    "date" if start is not None else "day",
                    ylab,
                    ss,
                )
            )
    return out


def write_html(cmp: Comparison, out: str | Path, force: bool = False) -> Path:
    check_out(out, force)
    out = Path(out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise CredsimError(f"compare: cannot write to {out} ({e.strerror})") from None
    k = cmp.k
    t = cmp.table
    rows = []
    for r in measures(t):
        row = [
            r.label,
            fmt_value(r.a_mean, r.unit),
            fmt_value(r.b_mean, r.unit),
            fmt_diff(r.diff, r.unit),
        ]
        if k > 1:
            row += [
                f"[{fmt_diff(r.ci_low, r.unit)}, {fmt_diff(r.ci_high, r.unit)}]",
                "yes" if r.excludes_zero else "no",
                f"[{fmt_diff(r.welch_low, r.unit)}, {fmt_diff(r.welch_high, r.unit)}]",
                (
                    f"{r.welch_half_width / r.half_width:.1f}"
                    if r.half_width > 0
                    else ("–" if r.welch_half_width == 0 else "∞")
                ),
            ]
        rows.append(row)
    heads = ["measure", "A", "B", "B − A"]
    if k > 1:
        heads += [
            "95 % interval, paired",
            "excludes 0",
            "95 % interval, unpaired (Welch)",
            "unpaired / paired width",
        ]
    numeric = [False] + [True] * (len(heads) - 1)
    body = [
        '<p class="note">Synthetic populations: no real person is scored. Each measure '
        "is a count in the simulation (not a national estimate) unless its unit says "
        "otherwise.</p>",
        '<h2 id="table">Measures</h2>',
        C.table_html(
            heads,
            rows,
            numeric=numeric,
            caption=(
                f"Means over {k} replicates; B − A is the mean paired "
                "difference; intervals are 95 % t intervals."
                if k > 1
                else "One run each; no interval."
            ),
        ),
    ]
    for n in cmp.meta.get("notes", []):
        body.append(f'<p class="note">Note: {C.esc(n)}.</p>')
    body.append('<h2 id="charts">Charts</h2>')
    for ch in comparison_charts(cmp):
        body.append(C.figure_html(ch))
    rep = cmp.replicates
    body.append('<h2 id="replicates">Replicates</h2>')
    body.append(
        C.table_html(
            list(rep.columns),
            rep.itertuples(index=False),
            caption="Every run behind the table (side, replicate, seed, measures).",
        )
    )
    m = cmp.meta
    sub = [
        f"A = {cmp.a_label}",
        f"B = {cmp.b_label}",
        f"{m.get('mode')}: {k} replicate{'s' if k != 1 else ''}; "
        + "; ".join(
            [
                fmt_pair("agents", m.get("agents")),
                fmt_pair("days", m.get("days")),
                fmt_pair("seeds", m.get("seeds"), _seeds),
            ]
            + (
                [fmt_pair("from", m["start_dates"], lambda v: v or "day 0, no calendar")]
                if any(m.get("start_dates") or [])
                else []
            )
        ),
    ]
    text = C.page(
        "credsim comparison",
        sub,
        body,
        nav=[("table", "Measures"), ("charts", "Charts"), ("replicates", "Replicates")],
    )
    return C.write_page(out / "compare.html", text)
