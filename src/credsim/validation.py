"""Published figures as targets, on the simulation's own definitions, and the fit of a
run (or of several runs of one design with different seeds) to them.

A target file is a CSV with columns ``date, figure, value, unit, source`` (the format of
the shipped ``published_figures.csv``). Each figure names what it counts; FIGURES maps
it to the simulated count that means the same thing. Cumulative figures are summed from
the run's first day to the target's date (inclusive); annual ones over the calendar year
of the target's date (annualised, and said so, where the run covers part of it). Every
simulated count is scaled to the population represented (x ``meta["scale"]``)."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np
import pandas as pd

from . import charts as C
from . import rundir
from .errors import CredsimError

if TYPE_CHECKING:
    from .results import Result


class Figure(NamedTuple):
    """What a published figure counts, in the simulation's daily table."""

    label: str
    unit: str
    kind: str  # "cumulative" (since the run's first day) or "annual" (calendar year)
    columns: tuple[str, ...]  # daily columns summed (a leading "-" subtracts)
    last: bool = False  # the column's value on the day (a running count), not a sum


FIGURES: dict[str, Figure] = {
    "list_entries_cumulative": Figure(
        "listing entries, cumulative",
        "entries",
        "cumulative",
        (
            "entries_debt_default",
            "entries_fraud",
            "entries_tax_evasion",
            "entries_speech",
            "entries_score",
        ),
    ),
    "people_listed_cumulative": Figure(
        "people ever listed", "people", "cumulative", ("ever_listed",), last=True
    ),
    "flight_purchases_blocked_cumulative": Figure(
        "flight purchases blocked, cumulative",
        "attempts",
        "cumulative",
        ("flight_denied", "flight_retries"),
    ),
    "train_purchases_blocked_cumulative": Figure(
        "train purchases blocked, cumulative",
        "attempts",
        "cumulative",
        ("train_denied", "train_retries"),
    ),
    "exits_by_paying_cumulative": Figure(
        "exits from the list by paying, cumulative", "people", "cumulative", ("exits_paid",)
    ),
    "air_passenger_trips": Figure(
        "air passenger trips in the year", "trips", "annual", ("flight_requests", "-flight_denied")
    ),
    "high_speed_rail_trips": Figure(
        "high-speed rail trips in the year", "trips", "annual", ("train_requests", "-train_denied")
    ),
}
TARGET_COLUMNS = ("date", "figure", "value", "unit", "source")
VALIDATION_FILES = ("validation.csv", "validation.html")
FIGURE_PREFIX = "validation-"


def _bad(where: str, what: str) -> CredsimError:
    return CredsimError(f"{where}: {what}")


def default_targets() -> pd.DataFrame:
    """The shipped target set: the published figures on the courts' list (to the end of
    2018) and the national air and high-speed rail trips, as one table."""
    data = resources.files("credsim") / "data"
    with resources.as_file(data / "published_figures.csv") as p:
        pub = read_targets(p)
    with resources.as_file(data / "travel_volumes.csv") as p:
        tv = pd.read_csv(p)
    tv = pd.DataFrame(
        {
            "date": [dt.date(int(y), 12, 31) for y in tv["year"]],
            "figure": tv["figure"],
            "value": tv["value"].astype(np.float64),
            "unit": tv["unit"],
            "source": tv["source"],
        }
    )
    return pd.concat([pub, tv], ignore_index=True)


def read_targets(path: str | Path) -> pd.DataFrame:
    """A target file, checked: every row a date, a known figure and a number."""
    path = Path(path)
    try:
        t = pd.read_csv(path, dtype=str, keep_default_na=False)
    except FileNotFoundError:
        raise _bad(str(path), "no such target file") from None
    except (OSError, ValueError, pd.errors.ParserError) as e:
        raise _bad(str(path), f"not a readable CSV ({str(e).splitlines()[0]})") from None
    missing = [c for c in TARGET_COLUMNS if c not in t.columns]
    if missing:
        raise _bad(
            str(path),
            f"missing column(s) {', '.join(missing)}; a target file has the columns "
            f"{', '.join(TARGET_COLUMNS)}",
        )
    if t.empty:
        raise _bad(str(path), "no target rows")
    dates, values = [], []
    for i, r in enumerate(t.to_dict("records"), start=2):  # line 1 is the header
        where = f"{path}, line {i}"
        try:
            dates.append(dt.date.fromisoformat(r["date"].strip()))
        except ValueError:
            raise _bad(where, f"date {r['date']!r} is not a date YYYY-MM-DD") from None
        if r["figure"] not in FIGURES:
            raise _bad(where, f"figure {r['figure']!r} is not one of {', '.join(FIGURES)}")
        try:
            v = float(r["value"])
        except ValueError:
            v = math.nan
        if not math.isfinite(v) or v < 0:
            raise _bad(where, f"value {r['value']!r} must be a number at least 0")
        values.append(v)
    out = pd.DataFrame(
        {
            "date": dates,
            "figure": t["figure"],
            "value": np.asarray(values, np.float64),
            "unit": t["unit"],
            "source": t["source"],
        }
    )
    if "weight" in t.columns:  # optional: the row's weight in a calibration
        w = pd.to_numeric(t["weight"], errors="coerce").to_numpy(np.float64)
        if not (np.isfinite(w).all() and (w >= 0).all() and w.sum() > 0):
            raise _bad(str(path), "column 'weight' must hold numbers at least 0, not all 0")
        out["weight"] = w
    return out


def load_targets(targets: str | Path | pd.DataFrame | None) -> tuple[pd.DataFrame, str]:
    """Targets from a file, a table, or the shipped set (None), and how to name them."""
    if targets is None:
        return default_targets(), "the shipped targets"
    if isinstance(targets, pd.DataFrame):
        return targets, "the given targets"
    return read_targets(targets), str(targets)


def series(res: Result, figure: str) -> np.ndarray:
    """The figure's simulated value on each day (cumulative figures) or its daily
    increments (annual ones), scaled to the population represented."""
    f = FIGURES[figure]
    d = res.table("daily")
    names = set(d.column_names)
    y = np.zeros(d.num_rows, np.float64)
    for c in f.columns:
        name = c.lstrip("-")
        if name not in names:
            raise CredsimError(f"{res.path or 'run'}: its daily table has no column {name!r}")
        v = d.column(name).to_numpy().astype(np.float64)
        y += -v if c.startswith("-") else v
    if f.kind == "cumulative" and not f.last:
        y = np.cumsum(y)
    return y * float(res.meta["scale"])


@dataclass
class Validation:
    """The fit of one design (``runs``: one or several seeds) to ``targets``: ``table``
    has one row per target (date, figure, published, simulated, relative error, the
    band across seeds), ``trajectories`` each figure's simulated series by date."""

    table: pd.DataFrame
    trajectories: dict[str, pd.DataFrame]
    meta: dict[str, Any] = field(default_factory=dict)

    def __repr__(self) -> str:
        cols = ["date", "figure", "published", "simulated", "rel_error"]
        return "Validation\n" + self.table[cols].to_string(index=False)

    def save(self, out: str | Path, csv: str | Path | None = None, force: bool = False) -> Path:
        """Write ``validation.csv`` (or ``csv``), ``validation.html`` and
        ``figures/validation-*.png`` into ``out``; return the page's path. Existing
        ones are replaced only with ``force``."""
        out = Path(out)
        csv_path = Path(csv) if csv is not None else out / "validation.csv"
        if csv is not None and csv_path.exists() and not force:
            raise CredsimError(
                f"validate: {csv_path} exists: use --force to overwrite it, or another --out"
            )
        (out / "figures").mkdir(parents=True, exist_ok=True)
        rundir.atomic_write(csv_path, lambda fh: self.table.to_csv(fh, index=False))
        charts = fit_charts(self)
        body = [
            "<section><h2>Fit</h2>"
            + C.table_html(
                ["date", "figure", "published", "simulated", "relative error", "band"],
                [
                    [
                        str(r["date"]),
                        FIGURES[r["figure"]].label,
                        float(r["published"]),
                        float(r["simulated"]),
                        f"{100 * r['rel_error']:+.1f} %",
                        _band(r),
                    ]
                    for r in self.table.to_dict("records")
                ],
                caption="Each published figure against the simulated count on the same "
                "definition, scaled to the population represented; relative error = "
                "simulated / published − 1.",
            )
            + "</section>"
        ]
        for c in charts:
            png = out / "figures" / f"{c.key}.png"
            C.save_png(c, png)
            body.append(C.figure_html(c, f"figures/{png.name}"))
        runs = self.meta.get("runs", [])
        return C.write_page(
            out / "validation.html",
            C.page(
                "Validation against published figures",
                [
                    f"{len(runs)} run(s): {', '.join(runs)}",
                    f"targets: {self.meta.get('targets', 'the shipped set')}",
                ],
                body,
            ),
        )


def _band(r: dict[Any, Any]) -> str:
    lo, hi = r.get("sim_min"), r.get("sim_max")
    if lo is None or hi is None or lo == hi:
        return "–"
    return f"{C.fmt(float(lo))} to {C.fmt(float(hi))}"


def validate(
    runs: Sequence[str | Path | Result] | str | Path | Result,
    targets: str | Path | pd.DataFrame | None = None,
) -> Validation:
    """The fit of a run, or of several runs of one design with different seeds (the
    simulated value is their mean and the band their range), to a target file (default:
    the shipped published figures and travel volumes)."""
    from .results import Result, load_run

    if isinstance(runs, (str, Path, Result)):
        runs = [runs]
    results = [r if isinstance(r, Result) else load_run(r) for r in runs]
    if not results:
        raise CredsimError("validate: no run given")
    tg, where = load_targets(targets)
    starts = {r.start_date for r in results}
    days = {int(r.meta["days"]) for r in results}
    if len(starts) > 1 or len(days) > 1:
        raise CredsimError(
            "validate: the runs differ in start date or days; give runs of one design"
        )
    start = starts.pop()
    if start is None:
        raise CredsimError(
            f"validate: {results[0].path or 'the run'} has no start date (run.start_date): "
            "published figures are dated, so the run needs a calendar "
            "(--set run.start_date=YYYY-MM-DD)"
        )
    n = days.pop()
    end = check_period(tg, start, n, where)
    sims = {f: np.stack([series(r, f) for r in results]) for f in sorted(set(tg["figure"]))}
    values = np.stack(
        [
            target_values(tg, {f: y[k] for f, y in sims.items()}, start, n)
            for k in range(len(results))
        ]
    )
    dates = np.array([start + dt.timedelta(days=k) for k in range(n)])
    rows = []
    for i, r in enumerate(tg.to_dict("records")):
        v = values[:, i]
        sim = float(v.mean())
        pub = float(r["value"])
        rows.append(
            {
                "date": r["date"],
                "figure": r["figure"],
                "unit": r["unit"],
                "published": pub,
                "simulated": sim,
                "rel_error": sim / pub - 1 if pub else math.nan,
                "sim_min": float(v.min()),
                "sim_max": float(v.max()),
                "seeds": len(results),
                "note": _annualised(r["figure"], r["date"], start, end),
                "source": r["source"],
            }
        )
    table = pd.DataFrame(rows)
    traj = {}
    for fig, y in sims.items():
        if FIGURES[fig].kind != "cumulative":
            continue
        traj[fig] = pd.DataFrame(
            {"date": dates, "mean": y.mean(axis=0), "min": y.min(axis=0), "max": y.max(axis=0)}
        )
    meta = {
        "runs": [str(r.path) for r in results],
        "targets": where,
        "start": str(start),
        "end": str(end),
    }
    return Validation(table, traj, meta)


def check_period(tg: pd.DataFrame, start: dt.date, days: int, where: str) -> dt.date:
    """The run's last date; refuses, in one line, targets outside the run's period
    (annual figures need only overlap it)."""
    end = start + dt.timedelta(days=days - 1)
    outside = tg[
        [
            not (start <= d <= end) and not _annual_overlaps(f, d, start, end)
            for d, f in zip(tg["date"], tg["figure"])
        ]
    ]
    if len(outside):
        first = outside.iloc[0]
        raise CredsimError(
            f"validate: {where}: {len(outside)} target row(s) lie outside the run's period "
            f"{start} to {end} (the first: {first['date']} {first['figure']}); run longer "
            "or give targets within it"
        )
    return end


def _year(d: dt.date, start: dt.date, end: dt.date) -> tuple[dt.date, dt.date, int]:
    """The part of ``d``'s calendar year the run covers, and the year's length."""
    y0, y1 = dt.date(d.year, 1, 1), dt.date(d.year, 12, 31)
    return max(y0, start), min(y1, end), (y1 - y0).days + 1


def _annualised(figure: str, d: dt.date, start: dt.date, end: dt.date) -> str:
    if FIGURES[figure].kind != "annual":
        return ""
    a, b, whole = _year(d, start, end)
    covered = (b - a).days + 1
    return f"annualised from {covered} days ({a} to {b})" if covered < whole else ""


def target_values(
    tg: pd.DataFrame, sims: dict[str, np.ndarray], start: dt.date, days: int
) -> np.ndarray:
    """Each target row's simulated value from one run's series (:func:`series` of each
    figure): a cumulative figure on the target's date, an annual one summed over the
    covered part of the date's year and annualised."""
    end = start + dt.timedelta(days=days - 1)
    out = np.empty(len(tg), np.float64)
    for i, (d, fig) in enumerate(zip(tg["date"], tg["figure"])):
        y = sims[fig]
        if FIGURES[fig].kind == "cumulative":
            out[i] = y[(d - start).days]
        else:
            a, b, whole = _year(d, start, end)
            out[i] = y[(a - start).days : (b - start).days + 1].sum() * whole / ((b - a).days + 1)
    return out


def _annual_overlaps(figure: str, d: dt.date, start: dt.date, end: dt.date) -> bool:
    f = FIGURES.get(figure)
    return bool(
        f
        and f.kind == "annual"
        and dt.date(d.year, 12, 31) >= start
        and dt.date(d.year, 1, 1) <= end
    )


def fit_charts(v: Validation) -> list[C.Chart]:
    """For each cumulative figure, the simulated trajectory (its range across seeds as a
    band) against the published points; annual figures as simulated against published."""
    out = []
    for fig, t in v.trajectories.items():
        f = FIGURES[fig]
        pts = v.table[v.table["figure"] == fig]
        x = np.array(t["date"].tolist(), dtype="datetime64[D]")
        series = []
        if len(v.meta.get("runs", [])) > 1:
            series.append(
                C.Series(
                    "range across seeds",
                    x,
                    t["min"].to_numpy(),
                    "band",
                    upper=t["max"].to_numpy(),
                    color=C.PALETTE[0],
                )
            )
        series.append(C.Series("simulated", x, t["mean"].to_numpy(), "line", color=C.PALETTE[0]))
        series.append(
            C.Series(
                "published",
                np.array(pts["date"].tolist(), dtype="datetime64[D]"),
                pts["published"].to_numpy(),
                "markers",
                color=C.PALETTE[1],
            )
        )
        out.append(
            C.Chart(
                f"{FIGURE_PREFIX}{fig}",
                f.label.capitalize(),
                f"Simulated (scaled to the population represented) against the published "
                f"figures on the same definition ({f.unit}).",
                "date",
                f.unit,
                series,
                legend=True,
            )
        )
    annual = v.table[[FIGURES[f].kind == "annual" for f in v.table["figure"]]]
    if len(annual):
        cats = [
            f"{FIGURES[f].label.split(' in ')[0]} {d.year}"
            for f, d in zip(annual["figure"], annual["date"])
        ]
        out.append(
            C.Chart(
                f"{FIGURE_PREFIX}travel",
                "National travel: simulated against published",
                "Trips bought in the calendar year by the whole simulated population, scaled "
                "to the population represented (annualised where the run covers part of "
                "the year).",
                "",
                "trips",
                [
                    C.Series("simulated", cats, annual["simulated"].to_numpy(), "bar"),
                    C.Series(
                        "published", cats, annual["published"].to_numpy(), "bar", color=C.PALETTE[1]
                    ),
                ],
                legend=True,
            )
        )
    return out
