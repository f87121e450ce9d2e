"""Charts and pages shared by the report, the comparison and the agent story.

A chart is described once (:class:`Chart`, a list of :class:`Series`) and drawn twice
from that description: interactive with plotly (embedded in a self-contained HTML page,
plotly.js inline, nothing fetched from the network) and static with matplotlib (PNG or
inline SVG). Both drawings therefore show the same data, titles, units and captions."""

from __future__ import annotations

import datetime as dt
import html
import io
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from . import rundir

Values = Any  # a sequence or an array of numbers (or category names)
PALETTE = [
    "#1f77b4",
    "#d62728",
    "#2ca02c",
    "#ff7f0e",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
    "#17becf",
]


@dataclass
class Series:
    """One trace. ``kind``: ``line``, ``step``, ``markers``, ``band`` (between ``y`` and
    ``upper``), ``bar`` or ``interval`` (a point ``x`` on category ``y`` with the
    interval ``lo``..``hi``)."""

    name: str
    x: Values
    y: Values
    kind: str = "line"
    upper: Values | None = None
    lo: Values | None = None
    hi: Values | None = None
    color: str | None = None
    dash: bool = False
    width: float = 2.0


@dataclass
class Chart:
    """A titled chart with axis labels (units included) and a one-line caption."""

    key: str
    title: str
    caption: str
    xlabel: str
    ylabel: str
    series: list[Series] = field(default_factory=list)
    logy: bool = False
    logx: bool = False
    stacked: bool = False
    horizontal: bool = False
    spans: list[tuple[Any, Any, str]] = field(default_factory=list)  # x from, x to, label
    ref: float | None = None  # a reference line (x for horizontal charts, else y)
    height: int = 420
    legend: bool = False  # a legend even for a single series (to name it)


def day_axis(days: Values, start: dt.date | None) -> np.ndarray:
    """The x values of a time axis: the dates ``start`` + day (``datetime64[D]``) for a
    run with a calendar, else the days themselves."""
    d = np.asarray(days)
    if start is None:
        return d
    return np.datetime64(start, "D") + d.astype(np.int64).astype("timedelta64[D]")


def is_dates(x: Values) -> bool:
    """Values that are calendar dates (``datetime64`` or ``datetime.date``)."""
    if isinstance(x, np.ndarray):
        return x.size > 0 and np.issubdtype(x.dtype, np.datetime64)
    if isinstance(x, str):
        return False
    try:
        first = next(iter(x))
    except (StopIteration, TypeError):
        return False
    return isinstance(first, (dt.date, np.datetime64))


def _dated(chart: Chart) -> bool:
    """A chart whose x axis is a calendar (the time charts of a run with a start date)."""
    return not _sideways(chart) and any(is_dates(s.x) for s in chart.series)


def _as_dates(x: Values) -> list[dt.date]:
    """Dates as ``datetime.date`` objects (what plotly writes as ISO dates)."""
    return list(np.asarray(x, dtype="datetime64[D]").astype(object))


def _mpl_x(x: Values) -> Any:
    """x values as matplotlib draws them: dates as its day numbers, others as given."""
    if is_dates(x):
        from matplotlib import dates as mdates

        return mdates.date2num(np.asarray(x, dtype="datetime64[D]"))
    return list(x)


def _span_x(v: Any) -> Any:
    """One end of a span, as matplotlib draws it (a date as its day number)."""
    return _mpl_x([v])[0] if is_dates([v]) else v


def _colors(chart: Chart) -> list[str]:
    return [s.color or PALETTE[k % len(PALETTE)] for k, s in enumerate(chart.series)]


def _log_ok(chart: Chart) -> bool:
    """A log axis needs a positive value to show; without one the axis stays linear."""
    vals = [s.y for s in chart.series if s.kind != "interval"]
    vals += [s.upper for s in chart.series if s.upper is not None]
    return any(np.nanmax(np.asarray(v, np.float64), initial=0.0) > 0 for v in vals if len(v))


def _sideways(chart: Chart) -> bool:
    """Categories on the y axis (horizontal bars, intervals)."""
    return chart.horizontal or any(s.kind == "interval" for s in chart.series)


def _numeric(x: Sequence[Any]) -> bool:
    return len(x) > 0 and all(
        isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, (bool, np.bool_))
        for v in x
    )


def _clean(v: Values, log: bool) -> np.ndarray:
    a = np.asarray(v, dtype=np.float64)
    if log:
        a = np.where(a > 0, a, np.nan)
    return a


def _bar_slots(chart: Chart) -> tuple[dict[int, np.ndarray], float] | None:
    """Grouped (not stacked) bars on categories: the offset from its category of each bar
    series' bar (by the series' index), and the bars' width. In each category only the
    series with a value there (not 0, not missing) take a place, centred on the
    category, so that a lone bar sits on its label. None for other charts."""
    bars = [k for k, s in enumerate(chart.series) if s.kind == "bar"]
    if (
        len(bars) < 2
        or chart.stacked
        or any(_numeric(chart.series[k].x) or is_dates(chart.series[k].x) for k in bars)
    ):
        return None
    cats = [str(c) for c in chart.series[bars[0]].x]
    if any([str(c) for c in chart.series[k].x] != cats for k in bars):
        return None
    vals = np.array([np.asarray(chart.series[k].y, dtype=np.float64) for k in bars])
    present = np.isfinite(vals) & (vals != 0)
    wd = 0.8 / len(bars)
    offs = np.zeros(vals.shape)
    for c in range(len(cats)):
        idx = np.flatnonzero(present[:, c])
        offs[idx, c] = (np.arange(idx.size) - (idx.size - 1) / 2) * wd
    return {k: offs[i] for i, k in enumerate(bars)}, wd


def _rgba(hex_color: str, alpha: float) -> str:
    h = hex_color.lstrip("#")
    r, g, b = (int(h[k : k + 2], 16) for k in (0, 2, 4))
    return f"rgba({r},{g},{b},{alpha})"


# ------------------------------------------------------------------------------------
# plotly


def to_plotly(chart: Chart) -> Any:
    import plotly.graph_objects as go

    fig = go.Figure()
    slots = _bar_slots(chart)
    for k, (s, color) in enumerate(zip(chart.series, _colors(chart))):
        dash = "dash" if s.dash else "solid"
        xs = _as_dates(s.x) if is_dates(s.x) else list(s.x)
        if s.kind in ("line", "step", "markers"):
            mode = "markers" if s.kind == "markers" else "lines"
            fig.add_trace(
                go.Scatter(
                    x=xs,
                    y=_clean(s.y, chart.logy),
                    name=s.name,
                    mode=mode,
                    line={
                        "color": color,
                        "width": s.width,
                        "dash": dash,
                        "shape": "hv" if s.kind == "step" else "linear",
                    },
                    marker={"color": color, "size": 7},
                )
            )
        elif s.kind == "band":
            assert s.upper is not None
            fig.add_trace(
                go.Scatter(
                    x=xs,
                    y=_clean(s.y, chart.logy),
                    mode="lines",
                    line={"width": 0, "color": color},
                    showlegend=False,
                    hoverinfo="skip",
                    name=s.name,
                )
            )
            fig.add_trace(
                go.Scatter(
                    x=xs,
                    y=_clean(s.upper, chart.logy),
                    mode="lines",
                    line={"width": 0, "color": color},
                    fill="tonexty",
                    fillcolor=_rgba(color, 0.25),
                    name=s.name,
                )
            )
        elif s.kind == "bar":
            ys = _clean(s.y, chart.logy or chart.logx)
            # grouped bars on categories: each sits on its label (see _bar_slots)
            place: dict[str, Any] = {}
            if slots is not None:
                off, wd = slots[0][k], slots[1]
                place = {"offset": list(off - wd / 2), "width": [wd] * len(xs)}
            if chart.horizontal:
                fig.add_trace(
                    go.Bar(x=ys, y=xs, name=s.name, orientation="h", marker_color=color, **place)
                )
            else:
                fig.add_trace(go.Bar(x=xs, y=ys, name=s.name, marker_color=color, **place))
        elif s.kind == "interval":
            x = np.asarray(s.x, dtype=np.float64)
            lo = np.asarray(s.lo, dtype=np.float64)
            hi = np.asarray(s.hi, dtype=np.float64)
            fig.add_trace(
                go.Scatter(
                    x=x,
                    y=list(s.y),
                    mode="markers",
                    name=s.name,
                    marker={"color": color, "size": 9},
                    error_x={
                        "type": "data",
                        "symmetric": False,
                        "array": hi - x,
                        "arrayminus": x - lo,
                        "color": color,
                        "thickness": 2,
                    },
                )
            )
        else:  # pragma: no cover - a programming error
            raise ValueError(f"unknown series kind {s.kind!r}")
    for a, b, label in chart.spans:
        fig.add_vrect(
            x0=_as_dates([a])[0] if is_dates([a]) else a,
            x1=_as_dates([b])[0] if is_dates([b]) else b,
            fillcolor="#d62728",
            opacity=0.12,
            line_width=0,
            annotation_text=label,
            annotation_position="top left",
        )
    if chart.ref is not None:
        if _sideways(chart):
            fig.add_vline(x=chart.ref, line_color="#444", line_width=1)
        else:
            fig.add_hline(y=chart.ref, line_color="#444", line_width=1)
    height = chart.height
    if _sideways(chart):
        n_cat = max((len(s.y if s.kind == "interval" else s.x) for s in chart.series), default=0)
        n_bars = max(1, sum(1 for s in chart.series if s.kind == "bar"))
        height = max(height, 170 + n_cat * (12 + 9 * n_bars))
    fig.update_layout(
        title={"text": chart.title, "x": 0.0, "xanchor": "left"},
        xaxis_title=chart.xlabel,
        yaxis_title=chart.ylabel,
        height=height,
        barmode="stack" if chart.stacked else "group",
        template="plotly_white",
        legend={"orientation": "h", "yanchor": "top", "y": -0.18, "x": 0},
        margin={"l": 70, "r": 20, "t": 50, "b": 90},
    )
    if chart.legend:
        fig.update_layout(showlegend=True)
    if chart.logy and _log_ok(chart):
        fig.update_yaxes(type="log")
    if chart.logx and _log_ok(chart):
        fig.update_xaxes(type="log")
    if _sideways(chart):
        fig.update_yaxes(autorange="reversed")
    if _dated(chart):
        fig.update_xaxes(type="date", hoverformat="%Y-%m-%d")
    return fig


def plotly_div(chart: Chart) -> str:
    fig = to_plotly(chart)
    return fig.to_html(
        full_html=False,
        include_plotlyjs=False,
        div_id=f"chart-{chart.key}",
        config={"displaylogo": False, "responsive": True},
    )


def plotly_js() -> str:
    """The full plotly.js bundle, to be inlined once per page."""
    from plotly.offline import get_plotlyjs

    return get_plotlyjs()


# ------------------------------------------------------------------------------------
# matplotlib


def _readable_ticks(ax: Any) -> None:
    """Tick labels a reader takes in at once: plain numbers with thousands separators
    (no offset such as 1e7, no scientific notation) on linear axes, 1, 10, 1,000 on log
    axes. Category axes keep their labels."""
    from matplotlib import ticker

    class Plain(ticker.Formatter):
        """Thousands separators and as many decimals as the ticks need."""

        decimals = 0

        def set_locs(self, locs: Any) -> None:
            vals = [float(v) for v in locs if np.isfinite(v)]
            self.decimals = next(
                (
                    d
                    for d in range(7)
                    if all(abs(round(v, d) - v) <= 1e-9 * max(1.0, abs(v)) for v in vals)
                ),
                6,
            )

        def __call__(self, x: float, pos: Any = None) -> str:
            text = f"{x:,.{self.decimals}f}"
            if text.lstrip("-").strip("0.,") == "":
                text = text.lstrip("-")  # no "-0"
            return text.replace("-", "\u2212")

    class LogPlain(ticker.Formatter):
        """Labels where matplotlib's log formatter puts one, as 1, 10, 20,000."""

        def __init__(self, inner: Any):
            self.inner = inner

        def set_axis(self, axis: Any) -> None:
            super().set_axis(axis)
            self.inner.set_axis(axis)

        def set_locs(self, locs: Any) -> None:
            self.inner.set_locs(locs)

        def __call__(self, x: float, pos: Any = None) -> str:
            if not self.inner(x, pos):
                return ""
            return f"{x:,.0f}" if x >= 1 else f"{x:g}"

    for axis in (ax.xaxis, ax.yaxis):
        fmt = axis.get_major_formatter()
        if isinstance(fmt, ticker.LogFormatter):
            axis.set_major_formatter(LogPlain(fmt))
            if isinstance(axis.get_minor_formatter(), ticker.LogFormatter):
                axis.set_minor_formatter(LogPlain(axis.get_minor_formatter()))
        elif isinstance(fmt, ticker.ScalarFormatter):
            axis.set_major_formatter(Plain())


def _date_ticks(ax: Any) -> None:
    """Calendar ticks on the x axis that read at a glance: years on a run of years,
    months (with the year where it changes) on a shorter one, days on a few weeks."""
    from matplotlib import dates as mdates

    loc = mdates.AutoDateLocator(minticks=4, maxticks=9)
    fmt = mdates.ConciseDateFormatter(loc, show_offset=True)
    ax.xaxis.set_major_locator(loc)
    ax.xaxis.set_major_formatter(fmt)


def _empty_axes(ax: Any, chart: Chart) -> None:
    """A chart whose values are all 0 (or missing): a 0-to-1 value axis with whole ticks
    instead of matplotlib's -0.05 to 0.05 (x for horizontal bars), and the x range of
    the data when nothing could be drawn."""
    from matplotlib import ticker

    if chart.logy and not _sideways(chart):
        return
    ys = [np.asarray(s.y, dtype=np.float64) for s in chart.series if s.kind != "interval"]
    ys += [np.asarray(s.upper, dtype=np.float64) for s in chart.series if s.upper is not None]
    finite = np.concatenate([y[np.isfinite(y)] for y in ys]) if ys else np.zeros(0)
    if np.any(finite != 0):
        return
    if _sideways(chart):  # horizontal bars: the value axis is x
        ax.set_xlim(-0.05, 1.0)
        ax.xaxis.set_major_locator(ticker.MaxNLocator(integer=True))
        return
    ax.set_ylim(-0.05, 1.0)
    ax.yaxis.set_major_locator(ticker.MaxNLocator(integer=True))
    xs = [
        np.asarray(_mpl_x(s.x), dtype=np.float64)
        for s in chart.series
        if _numeric(s.x) or is_dates(s.x)
    ]
    if not finite.size and xs:
        lo, hi = min(float(x.min()) for x in xs), max(float(x.max()) for x in xs)
        pad = 0.02 * (hi - lo) if hi > lo else 0.5
        ax.set_xlim(lo - pad, hi + pad)


CAPTION_WRAP = 135  # characters per caption line under a 10-inch PNG


def _mpl_figure(chart: Chart, caption: bool = True) -> Any:
    """The matplotlib drawing of ``chart``, with its caption under the plot unless the
    page around it (an HTML figcaption) shows it."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    n_cat = max((len(s.x) for s in chart.series if s.kind in ("bar", "interval")), default=0)
    h = chart.height / 100
    if _sideways(chart):
        h = max(h, 1.6 + 0.32 * n_cat)
    fig, ax = plt.subplots(figsize=(10, h), dpi=100)
    colors = _colors(chart)
    bars = [s for s in chart.series if s.kind == "bar"]
    nb = len(bars)
    slots = _bar_slots(chart)
    bottoms: np.ndarray | None = None
    bar_k = 0
    for k, (s, color) in enumerate(zip(chart.series, colors)):
        ls = "--" if s.dash else "-"
        if s.kind == "line":
            ax.plot(
                _mpl_x(s.x),
                _clean(s.y, chart.logy),
                color=color,
                lw=s.width * 0.75,
                ls=ls,
                label=s.name,
            )
        elif s.kind == "step":
            ax.step(
                _mpl_x(s.x),
                _clean(s.y, chart.logy),
                where="post",
                color=color,
                lw=s.width * 0.75,
                ls=ls,
                label=s.name,
            )
        elif s.kind == "markers":
            ax.plot(_mpl_x(s.x), _clean(s.y, chart.logy), "o", color=color, ms=5, label=s.name)
        elif s.kind == "band":
            ax.fill_between(
                _mpl_x(s.x),
                _clean(s.y, chart.logy),
                _clean(s.upper, chart.logy),
                color=color,
                alpha=0.25,
                lw=0,
                label=s.name,
            )
        elif s.kind == "bar" and (_numeric(s.x) or is_dates(s.x)) and not chart.horizontal:
            pos = np.asarray(_mpl_x(s.x), dtype=np.float64)
            vals = np.nan_to_num(np.asarray(s.y, dtype=np.float64))
            wd = float(np.min(np.diff(pos))) if pos.size > 1 else 1.0
            base = np.zeros(pos.size) if (bottoms is None or not chart.stacked) else bottoms
            if pos.size > 100 and nb == 1:  # many thin bars: one filled step, far faster
                ax.fill_between(pos, base, base + vals, step="mid", color=color, lw=0, label=s.name)
                continue
            ax.bar(
                pos,
                vals,
                width=wd * (0.9 if chart.stacked else 0.8 / nb),
                bottom=base,
                color=color,
                label=s.name,
            )
            if chart.stacked:
                bottoms = base + vals
        elif s.kind == "bar":
            cats = [str(c) for c in s.x]
            pos = np.arange(len(cats), dtype=np.float64)
            vals = np.nan_to_num(np.asarray(s.y, dtype=np.float64))
            if chart.stacked:
                base = np.zeros(len(cats)) if bottoms is None else bottoms
                if chart.horizontal:
                    ax.barh(pos, vals, left=base, color=color, label=s.name)
                else:
                    ax.bar(pos, vals, bottom=base, color=color, label=s.name)
                bottoms = base + vals
            else:
                wd = 0.8 / nb
                off: Any = (bar_k - (nb - 1) / 2) * wd
                if slots is not None:  # each bar on its label (see _bar_slots)
                    off, wd = slots[0][k], slots[1]
                if chart.horizontal:
                    ax.barh(pos + off, vals, height=wd, color=color, label=s.name)
                else:
                    ax.bar(pos + off, vals, width=wd, color=color, label=s.name)
            bar_k += 1
            if chart.horizontal:
                ax.set_yticks(pos, cats)
            else:
                ax.set_xticks(
                    pos,
                    cats,
                    rotation=30 if len(cats) > 6 else 0,
                    ha="right" if len(cats) > 6 else "center",
                )
        elif s.kind == "interval":
            cats = [str(c) for c in s.y]
            pos = np.arange(len(cats), dtype=np.float64)
            x = np.asarray(s.x, dtype=np.float64)
            err = np.vstack([x - np.asarray(s.lo, np.float64), np.asarray(s.hi, np.float64) - x])
            ax.errorbar(x, pos, xerr=err, fmt="o", color=color, capsize=3, label=s.name)
            ax.set_yticks(pos, cats)
    for a, b, label in chart.spans:
        a, b = _span_x(a), _span_x(b)
        ax.axvspan(a, b, color="#d62728", alpha=0.12, lw=0)
        ax.text(
            a,
            1.0,
            " " + label,
            transform=ax.get_xaxis_transform(),
            va="top",
            fontsize=8,
            color="#a00",
        )
    if chart.ref is not None:
        if _sideways(chart):
            ax.axvline(chart.ref, color="#444", lw=0.8)
        else:
            ax.axhline(chart.ref, color="#444", lw=0.8)
    nonpos = "clip" if bars else "mask"  # bars start at 0: clip them to the axis
    if chart.logy and _log_ok(chart):
        ax.set_yscale("log", nonpositive=nonpos)
    if chart.logx and _log_ok(chart):
        ax.set_xscale("log", nonpositive=nonpos)
    if _sideways(chart):
        ax.invert_yaxis()
    ax.set_title(chart.title, loc="left", fontsize=12)
    ax.set_xlabel(chart.xlabel)
    ax.set_ylabel(chart.ylabel)
    ax.grid(True, alpha=0.3)
    _empty_axes(ax, chart)
    if _dated(chart):
        _date_ticks(ax)
    _readable_ticks(ax)
    if sum(1 for s in chart.series if s.name) > 1 or chart.legend:
        ax.legend(fontsize=8, loc="best")
    if caption and chart.caption:
        import textwrap

        lines = textwrap.wrap(chart.caption, CAPTION_WRAP)
        width, height = fig.get_size_inches()
        extra = (len(lines) * 9 * 1.3 + 10) / 72  # inches: 9-point lines and a margin
        fig.set_size_inches(width, height + extra)
        fig.text(
            0.012,
            4 / 72 / (height + extra),
            "\n".join(lines),
            ha="left",
            va="bottom",
            fontsize=9,
            color="#555555",
        )
        fig.tight_layout(rect=(0, extra / (height + extra), 1, 1))
    else:
        fig.tight_layout()
    return fig


def save_png(chart: Chart, path: Path) -> Path:
    """The chart as a PNG, its caption under the plot."""
    import matplotlib.pyplot as plt

    fig = _mpl_figure(chart)
    try:
        rundir.atomic_write(path, lambda fh: fig.savefig(fh, format="png"))
    finally:
        plt.close(fig)
    return path


def write_page(path: Path, text: str) -> Path:
    """Write a page whole or not at all: through a temporary file renamed into place, so
    that an interrupted write leaves the page before it (or none), never a part of one."""
    rundir.atomic_write(path, lambda fh: fh.write(text.encode("utf-8")))
    return path


def svg(chart: Chart) -> str:
    """The chart as an inline SVG element (for small pages without plotly.js)."""
    import matplotlib.pyplot as plt

    fig = _mpl_figure(chart, caption=False)  # the page's figcaption shows it
    buf = io.StringIO()
    fig.savefig(buf, format="svg")
    plt.close(fig)
    text = buf.getvalue()
    return text[text.find("<svg") :]


# ------------------------------------------------------------------------------------
# HTML


def num(v: Any) -> float:
    """A cell of a pandas table (a number) as a float: pandas-stubs type a cell as any
    scalar (str, date, ...), which arithmetic and formatting do not accept."""
    return float(v)


def whole(v: Any) -> int:
    """A cell of a pandas table (a whole number) as an int (see :func:`num`)."""
    return int(v)


def esc(v: Any) -> str:
    return html.escape(str(v))


def fmt(v: Any, digits: int = 4) -> str:
    """A number for a table: integers with thousands separators, others to ``digits``
    significant figures; missing values as an en dash."""
    if v is None:
        return "–"
    if isinstance(v, (bool, np.bool_)):
        return "yes" if v else "no"
    if isinstance(v, (int, np.integer)):
        return f"{int(v):,}"
    if isinstance(v, (float, np.floating)):
        x = float(v)
        if math.isnan(x):
            return "–"
        if math.isinf(x):
            return "∞" if x > 0 else "−∞"
        if x == int(x) and abs(x) < 1e15:
            return f"{int(x):,}"
        if abs(x) >= 1e5:
            return f"{x:,.0f}"
        if abs(x) >= 1e3:
            return f"{x:,.1f}"
        return f"{x:.{digits}g}"
    return str(v)


def table_html(
    headers: Sequence[str],
    rows: Iterable[Sequence[Any]],
    caption: str = "",
    numeric: Sequence[bool] | None = None,
    cls: str = "",
) -> str:
    """A plain HTML table; cells that are numbers are formatted and right-aligned."""
    out = [f'<div class="scroll"><table class="{esc(cls)}">']
    if caption:
        out.append(f"<caption>{esc(caption)}</caption>")
    out.append(
        "<thead><tr>" + "".join(f"<th>{esc(h)}</th>" for h in headers) + "</tr></thead><tbody>"
    )
    for row in rows:
        cells = []
        for k, v in enumerate(row):
            num = (
                numeric[k]
                if numeric is not None
                else isinstance(v, (int, float, np.integer, np.floating))
                and not isinstance(v, (bool, np.bool_))
            )
            text = fmt(v) if not isinstance(v, str) else v
            cells.append(f'<td class="num">{esc(text)}</td>' if num else f"<td>{esc(text)}</td>")
        out.append("<tr>" + "".join(cells) + "</tr>")
    out.append("</tbody></table></div>")
    return "\n".join(out)


def figure_html(chart: Chart, png: str | None = None, interactive: bool = True) -> str:
    body = plotly_div(chart) if interactive else svg(chart)
    link = f' <a href="{esc(png)}">PNG</a>' if png else ""
    return (
        f'<figure class="chart" id="fig-{esc(chart.key)}">{body}'
        f"<figcaption>{esc(chart.caption)}{link}</figcaption></figure>"
    )


CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 0;
       color: #222; background: #fafafa; }
main { max-width: 1200px; margin: 0 auto; padding: 1rem 2rem 4rem; }
header { background: #263238; color: #fff; padding: 1.2rem 2rem; }
header h1 { margin: 0 0 .3rem; font-size: 1.6rem; }
header p { margin: .2rem 0; color: #cfd8dc; }
nav { margin: .6rem 0 0; font-size: .9rem; }
nav a { color: #80cbc4; margin-right: 1rem; }
h2 { border-bottom: 2px solid #cfd8dc; padding-bottom: .2rem; margin-top: 2.4rem; }
figure.chart { background: #fff; border: 1px solid #e0e0e0; margin: 1rem 0; padding: .5rem; }
figcaption { font-size: .9rem; color: #555; padding: .3rem .5rem; }
figure.chart svg { max-width: 100%; height: auto; }
table { border-collapse: collapse; margin: .8rem 0; background: #fff; font-size: .88rem; }
caption { text-align: left; font-size: .9rem; color: #555; padding: .3rem 0; }
th, td { border: 1px solid #e0e0e0; padding: .25rem .6rem; vertical-align: top; }
th { background: #eceff1; text-align: left; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.note { background: #fff8e1; border-left: 4px solid #ffb300; padding: .5rem 1rem; }
.estimate { background: #fbe9e7; }
.small { font-size: .85rem; color: #555; }
.scroll { overflow-x: auto; max-width: 100%; }
"""


def page(
    title: str,
    subtitle: list[str],
    body: list[str],
    nav: list[tuple[str, str]] | None = None,
    plotly: bool = True,
) -> str:
    """A complete, self-contained HTML page (plotly.js inline when ``plotly``)."""
    head_js = f'<script type="text/javascript">{plotly_js()}</script>' if plotly else ""
    links = ""
    if nav:
        links = "<nav>" + "".join(f'<a href="#{esc(a)}">{esc(t)}</a>' for a, t in nav) + "</nav>"
    sub = "".join(f"<p>{esc(s)}</p>" for s in subtitle)
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{esc(title)}</title><style>{CSS}</style>{head_js}</head><body>"
        f"<header><h1>{esc(title)}</h1>{sub}{links}</header><main>"
        + "\n".join(body)
        + "</main></body></html>\n"
    )


def flatten(d: dict[str, Any], prefix: str = "") -> list[tuple[str, str]]:
    """``key = value`` pairs of a nested scenario dict (schedules shown as schedules)."""
    out: list[tuple[str, str]] = []
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict) and set(v) == {"days", "values"}:
            out.append((key, f"schedule: days {v['days']}, values {v['values']}"))
        elif isinstance(v, dict):
            out.extend(flatten(v, key + "."))
        elif isinstance(v, list):
            out.append((key, ", ".join(str(x) for x in v)))
        elif isinstance(v, float) and v != int(v):
            out.append((key, f"{v:.6g}"))
        else:
            out.append((key, "none" if v is None else str(v)))
    return out
