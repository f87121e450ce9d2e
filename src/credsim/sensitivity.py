"""Sensitivity of the headline measures to the parameters varied by a sweep.

A sweep directory (``sweep.json``: the design; ``sweep.parquet``: one row per run) is
read and, for each measure, the parameters ("factors") are ranked by an index that
fits the design: Morris's mu* (``morris``), Sobol's total and first-order indices
(``sobol``), RBD-FAST first-order indices on a Latin hypercube (``lhs``) or the
main-effect share of a full grid (``grid``). Each point of a sampled design is run with
the same seeds (common random numbers); the indices use the mean over those replicates
at each point, and the noise share says how much of the spread across runs lies
between replicates rather than between points. Response curves (a grid's partial
dependence, or the binned response of a sampled design) come with 95 % t intervals
across replicates."""

from __future__ import annotations

import json
import math
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from . import charts as C
from .compare import t975
from .errors import CredsimError
from .report import HEADLINE

# the files a sensitivity analysis writes: the only ones ``force`` overwrites (with
# figures/sensitivity-*.png)
SENSITIVITY_FILES = ("sensitivity.html", "indices.csv", "curves.csv")
FIGURE_PREFIX = "sensitivity-"
DESIGNS = ("grid", "lhs", "morris", "sobol")
METHODS = {"morris": "morris", "sobol": "sobol", "lhs": "rbd_fast", "grid": "grid main effect"}
# the index each method ranks the factors by
IMPORTANCE = {"morris": "mu_star", "sobol": "ST", "lhs": "S1", "grid": "S1"}
INDEX_COLUMNS = [
    "measure",
    "factor",
    "method",
    "importance",
    "rank",
    "mu",
    "mu_star",
    "mu_star_conf",
    "sigma",
    "S1",
    "S1_conf",
    "ST",
    "ST_conf",
    "noise_share",
    "note",
]
CURVE_COLUMNS = ["measure", "factor", "value", "mean", "lo", "hi", "n_points", "replicates"]
CONSTANT = "constant over the design"
NOISY = 0.5  # noise shares above this are flagged
BINS = 5  # quantile bins of a sampled design's response curves
MAX_DRAWN = 15  # measures with figures (two each: importance and response)
MORRIS_RESAMPLES = 1000
RBD_FEW = 30  # Latin hypercubes with fewer points give unreliable RBD-FAST indices


@dataclass
class Sensitivity:
    """The outcome of :func:`sensitivity`: ``indices`` (one row per measure and factor,
    columns :data:`INDEX_COLUMNS`) and ``curves`` (one row per measure, factor and
    value, columns :data:`CURVE_COLUMNS`); ``meta`` is the sweep's ``sweep.json``."""

    meta: dict[str, Any]
    indices: pd.DataFrame
    curves: pd.DataFrame
    path: Path | None = None  # the sweep directory, when read from one
    notes: list[str] = field(default_factory=list)

    @property
    def design(self) -> str:
        return str(self.meta["design"])

    @property
    def method(self) -> str:
        return METHODS[self.design]

    @property
    def measures(self) -> list[str]:
        return list(dict.fromkeys(self.indices["measure"]))

    @property
    def factors(self) -> list[str]:
        return [str(f["key"]) for f in self.meta["factors"]]

    def table(self) -> pd.DataFrame:
        """The ranking index (``importance``) as a table: one row per measure, one
        column per factor."""
        t = self.indices.pivot(index="measure", columns="factor", values="importance")
        return t.loc[self.measures, self.factors]

    def __repr__(self) -> str:
        head = (
            f"Sensitivity({self.design} design, {len(self.factors)} factors, "
            f"{len(self.measures)} measures, {self.meta.get('replicates', 1)} replicate(s); "
            f"{IMPORTANCE[self.design]} by measure and factor)"
        )
        t = self.table().map(lambda v: _index(v, IMPORTANCE[self.design]))
        t.columns = [_short(str(c)) for c in t.columns]
        t.index.name = None
        return head + "\n" + t.to_string()

    def _repr_html_(self) -> str:
        return self.table().to_html()

    def charts(self) -> list[C.Chart]:
        """The page's charts: per measure (up to :data:`MAX_DRAWN` that are not
        constant), the factors' importance and their response curves."""
        return [ch for pair in _chart_pairs(self) for ch in pair]

    def save(self, out: str | Path | None = None, force: bool = False) -> Path:
        """Write ``sensitivity.html``, ``indices.csv``, ``curves.csv`` and
        ``figures/sensitivity-*.png`` into ``out`` (default: the sweep directory);
        return the path of the HTML page. A directory that holds an analysis already is
        refused unless ``force`` (which replaces those files and touches nothing
        else)."""
        if out is None:
            if self.path is None:
                raise CredsimError("sensitivity: this analysis has no sweep directory; give out=")
            out = self.path
        out = Path(out)
        check_out(out, force)
        try:
            (out / "figures").mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise CredsimError(f"sensitivity: cannot write to {out} ({e.strerror})") from None
        for old in (out / "figures").glob(f"{FIGURE_PREFIX}*.png"):
            old.unlink()  # a previous analysis's figures (force)
        path = write_html(self, out)
        self.indices.to_csv(out / "indices.csv", index=False)
        self.curves.to_csv(out / "curves.csv", index=False)
        return path


def check_out(out: str | Path, force: bool = False) -> None:
    """Refuse, in one line, a directory that holds an analysis already (one of
    :data:`SENSITIVITY_FILES` or its figures) unless ``force``."""
    out = Path(out)
    found = [f for f in SENSITIVITY_FILES if (out / f).is_file()]
    if (out / "figures").is_dir() and any((out / "figures").glob(f"{FIGURE_PREFIX}*.png")):
        found.append(f"figures/{FIGURE_PREFIX}*.png")
    if found and not force:
        raise CredsimError(
            f"sensitivity: {out} already holds an analysis ({', '.join(found)}): "
            "use force=True (--force) to overwrite it, or another out directory"
        )


# ------------------------------------------------------------------------------------
# Reading a sweep


def _where(path: Path | None) -> str:
    return str(path) if path is not None else "the given sweep"


def load_sweep(source: Any) -> tuple[dict[str, Any], pd.DataFrame, Path | None]:
    """``sweep.json`` and ``sweep.parquet`` of a sweep directory (or the pair
    ``(meta, runs)`` as given) and the directory."""
    if isinstance(source, tuple):
        if len(source) != 2 or not isinstance(source[0], dict):
            raise CredsimError("sensitivity: give a sweep directory or a pair (meta, runs)")
        return dict(source[0]), pd.DataFrame(source[1]), None
    path = Path(source)
    if path.is_file() and path.name in ("sweep.json", "sweep.parquet"):
        path = path.parent
    if not path.is_dir():
        raise CredsimError(f"sensitivity: {path} is not a sweep directory")
    for name in ("sweep.json", "sweep.parquet"):
        if not (path / name).is_file():
            raise CredsimError(f"sensitivity: {path} has no {name}: not a sweep directory")
    try:
        meta = json.loads((path / "sweep.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise CredsimError(f"sensitivity: {path / 'sweep.json'} cannot be read ({e})") from None
    try:
        runs = pd.read_parquet(path / "sweep.parquet")
    except Exception as e:  # pyarrow raises several kinds
        msg = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise CredsimError(
            f"sensitivity: {path / 'sweep.parquet'} cannot be read ({msg})"
        ) from None
    if not isinstance(meta, dict):
        raise CredsimError(f"sensitivity: {path / 'sweep.json'} is not a sweep description")
    return meta, runs, path


@dataclass
class _Sweep:
    """A sweep checked and arranged for the analysis."""

    meta: dict[str, Any]
    where: str
    design: str
    keys: list[str]
    points: np.ndarray  # (P, D) natural units
    X: np.ndarray  # (P, D) as analysed: log10 of log factors
    problem: dict[str, Any]
    logs: list[bool]
    measures: list[str]
    Y: np.ndarray  # (P, R, M): NaN where a run is missing or failed
    missing: int
    failed: int

    @property
    def R(self) -> int:
        return int(self.Y.shape[1])

    @property
    def seed(self) -> int:
        return int(self.meta.get("seed") or 0)


def _bad(where: str, what: str) -> CredsimError:
    return CredsimError(f"sensitivity: {where}: {what}")


def _prepare(
    meta: dict[str, Any],
    runs: pd.DataFrame,
    path: Path | None,
    measures: str | Sequence[str] | None,
) -> _Sweep:
    where = _where(path)
    design = meta.get("design")
    if design not in DESIGNS:
        raise _bad(where, f"design {design!r} is not one of {', '.join(DESIGNS)}")
    factors = meta.get("factors") or []
    if not factors:
        raise _bad(where, "the sweep varies no factor")
    keys = [str(f["key"]) for f in factors]
    pts = np.asarray(meta.get("points") or [], dtype=np.float64)
    if pts.ndim != 2 or pts.shape[1] != len(keys) or not len(pts):
        raise _bad(where, f"points must be a list of rows of {len(keys)} values (one a factor)")
    logs = [bool(f.get("log")) for f in factors]
    X = pts.copy()
    bounds: list[list[float]] = []
    for j, f in enumerate(factors):
        lo = float(f.get("lo", np.min(pts[:, j])))
        hi = float(f.get("hi", np.max(pts[:, j])))
        if logs[j]:
            if lo <= 0 or np.any(pts[:, j] <= 0):
                raise _bad(where, f"factor {keys[j]} is on a log scale but not positive")
            X[:, j] = np.log10(pts[:, j])
            lo, hi = math.log10(lo), math.log10(hi)
        bounds.append([lo, hi])
    problem = {"num_vars": len(keys), "names": keys, "bounds": bounds}
    P, D = pts.shape
    if design == "morris" and P % (D + 1):
        raise _bad(where, f"a Morris design has a multiple of {D + 1} points, not {P}")
    if design == "sobol" and P % (D + 2):
        raise _bad(where, f"a Sobol design (no second order) has a multiple of {D + 2} points")

    listed = [str(m) for m in meta.get("measures") or []]
    if measures is None:
        chosen = listed
    else:
        chosen = [measures] if isinstance(measures, str) else [str(m) for m in measures]
        unknown = [m for m in chosen if m not in listed]
        if unknown:
            raise _bad(
                where, f"no measure {', '.join(unknown)} in the sweep (it has {', '.join(listed)})"
            )
    if not chosen:
        raise _bad(where, "the sweep records no measure")
    need = ["point", "replicate", "status", *chosen]
    absent = [c for c in need if c not in runs.columns]
    if absent:
        raise _bad(where, f"sweep.parquet has no column {', '.join(absent)}")

    R = int(meta.get("replicates") or 0)
    if R < 1:
        R = int(runs["replicate"].max()) + 1 if len(runs) else 1
    pt = runs["point"].to_numpy(np.int64)
    rp = runs["replicate"].to_numpy(np.int64)
    if np.any((pt < 0) | (pt >= P)) or np.any((rp < 0) | (rp >= R)):
        raise _bad(where, f"sweep.parquet has rows outside the {P} points x {R} replicates")
    # one row per (point, replicate): a successful attempt wins over a failed one
    r = runs.assign(_ok=runs["status"].eq("ok")).sort_values("_ok", kind="stable")
    r = r.drop_duplicates(["point", "replicate"], keep="last")
    ok = r[r["_ok"]]
    failed = int((~r["_ok"]).sum())
    missing = P * R - len(r)
    Y = np.full((P, R, len(chosen)), np.nan)
    vals = ok[chosen].to_numpy(np.float64)
    Y[ok["point"].to_numpy(np.int64), ok["replicate"].to_numpy(np.int64), :] = vals
    return _Sweep(meta, where, str(design), keys, pts, X, problem, logs, chosen, Y, missing, failed)


# ------------------------------------------------------------------------------------
# Analysis


def noise_share(y: np.ndarray) -> float:
    """The share of the variance of single runs that is noise: the variance between
    replicates of one point over that plus the variance of the points' expected values
    (the components of a one-way analysis of variance of ``y``, points x replicates,
    NaN for runs that are not there). About 1 for a measure the factors do not move, 0
    for one the seeds do not move; NaN without two replicates of some point."""
    fin = np.isfinite(y)
    n = fin.sum(axis=1)
    have = n > 0
    y, fin, n = y[have], fin[have], n[have]
    N, P = int(n.sum()), int(have.sum())
    if N - P < 1 or P < 1:
        return math.nan
    means = np.where(fin, y, 0.0).sum(axis=1) / n
    grand = float(np.where(fin, y, 0.0).sum()) / N
    ms_within = float(np.sum(np.where(fin, y - means[:, None], 0.0) ** 2)) / (N - P)
    if P < 2:
        return 1.0 if ms_within > 0 else 0.0
    ms_between = float(np.sum(n * (means - grand) ** 2)) / (P - 1)
    n0 = (N - float(np.sum(n**2)) / N) / (P - 1)  # replicates per point, unbalanced
    between = max(0.0, (ms_between - ms_within) / n0)
    total = ms_within + between
    return ms_within / total if total > 0 else 0.0


def _constant(y: np.ndarray) -> bool:
    """Point means ``y`` that do not vary (up to rounding)."""
    lo, hi = float(np.min(y)), float(np.max(y))
    return hi - lo <= 1e-12 * max(1.0, abs(lo), abs(hi))


def _rbd_harmonics(n: int) -> int:
    """RBD-FAST's number of harmonics M: SALib's 10 from 100 points, fewer below so that
    its bias correction (which needs 4M under the points of a bootstrap half) holds."""
    return int(min(10, max(1, n // 10)))


OWN = {
    "morris": ("mu", "mu_star", "mu_star_conf", "sigma"),
    "sobol": ("S1", "S1_conf", "ST", "ST_conf"),
    "lhs": ("S1", "S1_conf"),
    "grid": ("S1",),
}
ALL_INDICES = ("mu", "mu_star", "mu_star_conf", "sigma", "S1", "S1_conf", "ST", "ST_conf")


def _filled(design: str, n: int, value: float) -> dict[str, np.ndarray]:
    """Indices of ``n`` factors that are all ``value`` (those the design gives; the
    others NaN)."""
    return {k: np.full(n, value if k in OWN[design] else math.nan) for k in ALL_INDICES}


def _sampled_indices(sw: _Sweep, y: np.ndarray) -> dict[str, np.ndarray]:
    """SALib's indices for point means ``y`` of a sampled design."""
    from SALib.analyze import morris, rbd_fast, sobol

    D = len(sw.keys)
    nan = np.full(D, np.nan)
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        if sw.design == "morris":
            si = morris.analyze(
                sw.problem,
                sw.X,
                y,
                conf_level=0.95,
                num_resamples=MORRIS_RESAMPLES,
                num_levels=int(sw.meta.get("levels") or 4),
                seed=sw.seed,
            )
            keys = ("mu", "mu_star", "mu_star_conf", "sigma")
            out = {k: np.asarray(np.ma.filled(si[k], np.nan), np.float64) for k in keys}
            return {**out, "S1": nan, "S1_conf": nan, "ST": nan, "ST_conf": nan}
        if sw.design == "sobol":
            si = sobol.analyze(
                sw.problem, y, calc_second_order=False, conf_level=0.95, seed=sw.seed
            )
            out = {k: np.asarray(si[k], np.float64) for k in ("S1", "S1_conf", "ST", "ST_conf")}
        else:
            si = rbd_fast.analyze(sw.problem, sw.X, y, M=_rbd_harmonics(len(y)), seed=sw.seed)
            out = {
                "S1": np.asarray(si["S1"], np.float64),
                "S1_conf": np.asarray(si["S1_conf"], np.float64),
                "ST": nan,
                "ST_conf": nan,
            }
    return {"mu": nan, "mu_star": nan, "mu_star_conf": nan, "sigma": nan, **out}


def _levels(sw: _Sweep, j: int) -> tuple[np.ndarray, np.ndarray]:
    """The level of each point for factor ``j`` and the levels' values: a grid's values;
    for a sampled design the distinct values when there are at most :data:`BINS`, else
    :data:`BINS` quantile bins (valued at their points' mean, geometric for log
    factors)."""
    x = sw.points[:, j]
    if sw.design == "grid":
        values = np.asarray(sw.meta["factors"][j].get("values") or np.unique(x), np.float64)
        return np.argmin(np.abs(x[:, None] - values[None, :]), axis=1), values
    uniq = np.unique(x)
    if uniq.size <= BINS:
        return np.searchsorted(uniq, x), uniq
    codes = pd.qcut(x, BINS, labels=False, duplicates="drop")
    idx = np.asarray(codes, dtype=np.int64)
    t = sw.X[:, j]
    values = np.array([t[idx == k].mean() for k in range(int(idx.max()) + 1)])
    return idx, (10**values if sw.logs[j] else values)


def _curve(level: np.ndarray, n_levels: int, y: np.ndarray) -> list[dict[str, Any]]:
    """For each level: the mean of ``y`` (points x replicates) over the points at that
    level, replicate by replicate; the mean over replicates and its 95 % t interval."""
    rows = []
    for k in range(n_levels):
        at = y[level == k]
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            per_rep = np.nanmean(at, axis=0) if at.size else np.zeros(0)
        per_rep = per_rep[np.isfinite(per_rep)]
        n = per_rep.size
        mean = float(per_rep.mean()) if n else math.nan
        half = t975(n - 1) * float(per_rep.std(ddof=1)) / math.sqrt(n) if n > 1 else math.nan
        rows.append(
            {
                "mean": mean,
                "lo": mean - half,
                "hi": mean + half,
                "n_points": int(np.isfinite(at).any(axis=1).sum()),
                "replicates": n,
            }
        )
    return rows


def _main_effect(level: np.ndarray, n_levels: int, y: np.ndarray) -> float:
    """The variance of the level means of the point means ``y`` (each level weighted by
    its points) over the variance of ``y``: on a full grid, the first-order share."""
    total = float(np.sum((y - y.mean()) ** 2))
    if total <= 0:
        return 0.0
    between = 0.0
    for k in range(n_levels):
        at = y[level == k]
        if at.size:
            between += at.size * (float(at.mean()) - float(y.mean())) ** 2
    return between / total


def sensitivity(
    source: str | Path | tuple[dict[str, Any], pd.DataFrame],
    measures: str | Sequence[str] | None = None,
) -> Sensitivity:
    """The sensitivity of each measure of a sweep to each factor it varies. ``source``
    is a sweep directory (``sweep.json`` and ``sweep.parquet``) or a pair
    ``(meta, runs)`` in their format; ``measures`` a subset of the sweep's measures
    (default: all). Morris, Sobol and Latin-hypercube designs need every run; a grid
    uses the runs that are there (and says so)."""
    meta, runs, path = load_sweep(source)
    sw = _prepare(meta, runs, path, measures)
    P, R = sw.Y.shape[0], sw.R
    notes: list[str] = []
    incomplete = sw.missing + sw.failed
    if incomplete and sw.design != "grid":
        raise _bad(
            sw.where,
            f"{sw.missing} of {P * R} runs missing and {sw.failed} failed: a {sw.design} "
            "design needs every point (Morris, Sobol and RBD-FAST indices use the whole "
            "design; only a grid's partial dependence can use what is there); complete "
            "the sweep first",
        )
    grid_note = ""
    if incomplete:
        grid_note = (
            f"incomplete grid ({sw.missing} runs missing, {sw.failed} failed of {P * R}): "
            "curves and shares use the runs there are"
        )
        notes.append(grid_note)
    levels = [_levels(sw, j) for j in range(len(sw.keys))]
    rows: list[dict[str, Any]] = []
    curves: list[dict[str, Any]] = []
    for m, name in enumerate(sw.measures):
        y = sw.Y[:, :, m]
        ns = noise_share(y)
        have = np.isfinite(y).any(axis=1)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ybar = np.nanmean(y[have], axis=1)
        blank = np.isfinite(sw.Y).any(axis=2) & ~np.isfinite(y)  # ok runs without a value
        n_blank = int(blank.sum())
        gap = f"no value in {n_blank} run{'s' if n_blank != 1 else ''}"
        idx: dict[str, np.ndarray]
        if not ybar.size or (n_blank and sw.design != "grid"):
            idx = _filled(sw.design, len(sw.keys), math.nan)
            note = f"{gap}: not analysed"
        else:
            parts = [grid_note, f"{gap}: curves and shares use the others" if n_blank else ""]
            if _constant(ybar):
                idx = _filled(sw.design, len(sw.keys), 0.0)
                parts.insert(0, CONSTANT)
            elif sw.design == "grid":
                s1 = [_main_effect(lv[have], len(vals), ybar) for lv, vals in levels]
                idx = _filled(sw.design, len(sw.keys), math.nan)
                idx["S1"] = np.asarray(s1, np.float64)
            else:
                idx = _sampled_indices(sw, ybar)
            note = "; ".join(p for p in parts if p)
        for j, key in enumerate(sw.keys):
            row: dict[str, Any] = {"measure": name, "factor": key, "method": METHODS[sw.design]}
            row.update({k: float(v[j]) for k, v in idx.items()})
            row.update({"noise_share": ns, "note": note})
            rows.append(row)
            lv, vals = levels[j]
            for k, c in enumerate(_curve(lv, len(vals), y)):
                curves.append({"measure": name, "factor": key, "value": float(vals[k]), **c})
    ind = pd.DataFrame(rows)
    ind["importance"] = ind[IMPORTANCE[sw.design]]
    const = ind["note"].str.contains(CONSTANT, regex=False)
    rank = ind.groupby("measure", sort=False)["importance"].rank(ascending=False, method="min")
    ind["rank"] = rank.where(~const).astype("Int64")
    if R < 2:
        notes.append("one replicate: the noise share and the curves' intervals are not measured")
    if sw.design == "morris" and any(f.get("integer") for f in meta["factors"]):
        notes.append(
            "whole-number factors: elementary effects use the design's nominal step, "
            "not the rounded one"
        )
    if sw.design == "lhs" and _rbd_harmonics(P) < 10:
        notes.append(
            f"RBD-FAST with M = {_rbd_harmonics(P)} harmonics, not SALib's default of 10 "
            "(which needs 100 points or more)"
            + (f"; with {P} points its indices are unreliable" if P < RBD_FEW else "")
        )
    return Sensitivity(
        meta,
        ind[INDEX_COLUMNS],
        pd.DataFrame(curves, columns=CURVE_COLUMNS),
        path,
        notes,
    )


# ------------------------------------------------------------------------------------
# Presentation


def _short(key: str) -> str:
    """A factor's key for a chart: a long one loses its leading sections
    (``score.deltas.traffic_violation`` -> ``deltas.traffic_violation``)."""
    parts = key.split(".")
    while len(".".join(parts)) > 28 and len(parts) > 1:
        parts = parts[1:]
    short = ".".join(parts)
    return short if len(short) <= 28 else "…" + short[-27:]


def label(measure: str) -> tuple[str, str]:
    """A measure's label and unit (its name and no unit when it is not a headline)."""
    return HEADLINE.get(measure, (measure, ""))


def _unit_text(unit: str) -> str:
    return {"share": "share, 0–1", "": "value"}.get(unit, unit)


def _factor_range(f: dict[str, Any]) -> str:
    if f.get("values") is not None:
        vals = ", ".join(C.fmt(float(v)) for v in f["values"])
        return f"{f['key']} ∈ {{{vals}}}"
    scale = ", log scale" if f.get("log") else ""
    whole = ", whole numbers" if f.get("integer") else ""
    return f"{f['key']} {C.fmt(float(f['lo']))} to {C.fmt(float(f['hi']))}{scale}{whole}"


def _position(sens: Sensitivity, key: str, values: np.ndarray) -> np.ndarray:
    """Values of a factor as positions in its range (0: low end, 1: high end; log10
    for log factors)."""
    f = next(f for f in sens.meta["factors"] if f["key"] == key)
    vals = np.asarray(f.get("values") or [], np.float64)
    lo = float(f["lo"]) if f.get("lo") is not None else float(vals.min())
    hi = float(f["hi"]) if f.get("hi") is not None else float(vals.max())
    v = np.asarray(values, np.float64)
    if f.get("log"):
        lo, hi, v = math.log10(lo), math.log10(hi), np.log10(v)
    return (v - lo) / (hi - lo) if hi > lo else np.full(v.shape, 0.5)


def drawn_measures(sens: Sensitivity) -> list[str]:
    """The measures with figures: those not constant (and with values), the first
    :data:`MAX_DRAWN` in the sweep's order."""
    t = sens.indices
    ok = t.groupby("measure", sort=False)["importance"].apply(lambda s: bool(s.notna().any()))
    const = t.groupby("measure", sort=False)["note"].apply(
        lambda s: bool(s.str.contains(CONSTANT, regex=False).any())
    )
    return [m for m in sens.measures if ok[m] and not const[m]][:MAX_DRAWN]


def _key(measure: str, what: str) -> str:
    return f"{FIGURE_PREFIX}{measure}-{what}".replace(".", "_").replace("/", "_")


def importance_chart(sens: Sensitivity, measure: str) -> C.Chart:
    """Horizontal bars of the factors' indices for ``measure``, most important on top."""
    t = sens.indices[sens.indices["measure"] == measure].sort_values(
        "importance", ascending=False, na_position="last"
    )
    name, unit = label(measure)
    cats = t["factor"].map(_short).tolist()
    design = sens.design
    R = int(sens.meta.get("replicates") or 1)
    if design == "morris":
        mu = t["mu_star"].to_numpy(np.float64)
        conf = t["mu_star_conf"].to_numpy(np.float64)
        series = [
            C.Series("μ*", cats, mu, "bar"),
            C.Series("95 % bootstrap interval", mu, cats, "interval", lo=mu - conf, hi=mu + conf),
        ]
        per = "per log10 range" if any(f.get("log") for f in sens.meta["factors"]) else ""
        xlabel = f"μ*: mean absolute elementary effect ({_unit_text(unit)} per factor range)"
        cap = (
            f"Morris screening of {name}: mean absolute change over one step of each factor, "
            f"scaled to its whole range{' (' + per + ' for log factors)' if per else ''}, "
            f"on the means of {R} replicates, with 95 % bootstrap intervals."
        )
    elif design == "sobol":
        series = [
            C.Series("ST (total)", cats, t["ST"].to_numpy(np.float64), "bar"),
            C.Series("S1 (alone)", cats, t["S1"].to_numpy(np.float64), "bar", color=C.PALETTE[2]),
        ]
        xlabel = "share of the variance (Sobol index, 0–1)"
        cap = (
            f"Sobol indices of {name}: share of its variance over the design due to each "
            "factor in all (ST) and alone (S1); 95 % intervals in the table."
        )
    else:
        s1 = t["S1"].to_numpy(np.float64)
        series = [C.Series("S1", cats, s1, "bar")]
        if design == "lhs":
            conf = t["S1_conf"].to_numpy(np.float64)
            series.append(
                C.Series(
                    "95 % bootstrap interval", s1, cats, "interval", lo=s1 - conf, hi=s1 + conf
                )
            )
            xlabel = "first-order share of the variance (RBD-FAST, 0–1)"
            cap = (
                f"RBD-FAST first-order indices of {name} on the Latin hypercube: share of its "
                "variance due to each factor alone, with 95 % bootstrap intervals."
            )
        else:
            xlabel = "main-effect share of the variance of the point means (0–1)"
            cap = (
                f"Main effects of {name} on the grid: variance of each factor's partial-"
                "dependence curve over the variance of the point means."
            )
    return C.Chart(
        _key(measure, "importance"),
        f"Which factors move {name}",
        cap,
        xlabel,
        "factor",
        series,
        horizontal=True,
        ref=0.0,
        height=300,
        legend=len(series) > 1,
    )


def response_chart(sens: Sensitivity, measure: str) -> C.Chart:
    """Every factor's response curve for ``measure`` against its position in its range."""
    name, unit = label(measure)
    cv = sens.curves[sens.curves["measure"] == measure]
    series: list[C.Series] = []
    for j, key in enumerate(sens.factors):
        c = cv[cv["factor"] == key]
        if not len(c):
            continue
        x = _position(sens, key, c["value"].to_numpy(np.float64))
        color = C.PALETTE[j % len(C.PALETTE)]
        lo, hi = c["lo"].to_numpy(np.float64), c["hi"].to_numpy(np.float64)
        if np.isfinite(lo).any():
            # unnamed: one legend entry a factor (the caption says what the bands are)
            series.append(C.Series("", x, lo, "band", upper=hi, color=color))
        series.append(C.Series(_short(key), x, c["mean"].to_numpy(np.float64), color=color))
    R = int(sens.meta.get("replicates") or 1)
    band = f"; bands: 95 % t intervals across the {R} replicates" if R > 1 else ""
    if sens.design == "grid":
        title = f"Partial dependence of {name}"
        cap = (
            f"Mean of {name} over all grid points at each value of a factor (the others "
            f"varying over the grid){band}."
        )
    else:
        title = f"Response of {name}, binned"
        cap = (
            f"Mean of {name} over the design's points in up to {BINS} quantile bins of each "
            f"factor (the others varying too){band}."
        )
    logs = "; log10 for log factors" if any(f.get("log") for f in sens.meta["factors"]) else ""
    return C.Chart(
        _key(measure, "response"),
        title,
        cap,
        f"position in the factor's range (0 = low end, 1 = high end{logs})",
        f"{name} ({_unit_text(unit)})",
        series,
        legend=True,
    )


def _chart_pairs(sens: Sensitivity) -> list[tuple[C.Chart, C.Chart]]:
    return [(importance_chart(sens, m), response_chart(sens, m)) for m in drawn_measures(sens)]


def _pct(v: Any) -> str:
    x = C.num(v)
    if math.isnan(x):
        return "–"
    return "< 1 %" if 0 < x < 0.005 else f"{100 * x:.0f} %"


def _share(v: Any) -> str:
    """A share of variance (Sobol, RBD-FAST, a grid's main effect) to 3 decimals."""
    x = C.num(v)
    return "–" if math.isnan(x) else f"{x:.3f}".replace("-0.000", "0.000")


def _index(v: Any, column: str) -> str:
    """An index as a table shows it: shares to 3 decimals, mu and sigma as numbers."""
    return _share(v) if column in ("S1", "ST") else C.fmt(C.num(v), 3)


def _pm(v: Any) -> str:
    x = C.num(v)
    return "–" if math.isnan(x) else "± " + C.fmt(x, 3)


def _detail_html(sens: Sensitivity) -> str:
    design = sens.design
    t = sens.indices.sort_values(["measure", "rank"], key=_measure_order(sens))
    heads = {
        "morris": ["μ*", "95 % interval (μ*)", "μ", "σ"],
        "sobol": ["ST", "95 % interval (ST)", "S1", "95 % interval (S1)"],
        "lhs": ["S1 (RBD-FAST)", "95 % interval (S1)"],
        "grid": ["main-effect share"],
    }[design]
    cols = {
        "morris": ["mu_star", "mu_star_conf", "mu", "sigma"],
        "sobol": ["ST", "ST_conf", "S1", "S1_conf"],
        "lhs": ["S1", "S1_conf"],
        "grid": ["S1"],
    }[design]
    rows = []
    for r in t.to_dict("records"):
        vals = [_pm(r[c]) if c.endswith("_conf") else _index(r[c], c) for c in cols]
        rank = "–" if r["rank"] is None or r["rank"] is pd.NA else str(r["rank"])
        rows.append(
            [
                label(str(r["measure"]))[0],
                r["factor"],
                *vals,
                rank,
                _pct(r["noise_share"]),
                r["note"],
            ]
        )
    all_heads = ["measure", "factor", *heads, "rank", "noise share", "note"]
    numeric = [False, False] + [True] * (len(heads) + 2) + [False]
    return C.table_html(
        all_heads,
        rows,
        numeric=numeric,
        caption="Every index, by measure (factors by rank, 1 = most influential). The noise "
        "share is the part of a run's variance that lies between replicates of one point.",
    )


def _measure_order(sens: Sensitivity) -> Any:
    order = {m: k for k, m in enumerate(sens.measures)}

    def key(s: pd.Series) -> pd.Series:
        return s.map(order) if s.name == "measure" else s

    return key


def _overview_html(sens: Sensitivity) -> str:
    t = sens.table()
    index = IMPORTANCE[sens.design]
    what = {
        "mu_star": "Morris μ* (in the measure's unit per factor range)",
        "ST": "Sobol total index ST (share of variance)",
        "S1": "first-order share of variance"
        + (" (RBD-FAST)" if sens.design == "lhs" else " (grid main effect)"),
    }[index]
    ns = sens.indices.groupby("measure", sort=False)["noise_share"].first()
    rows = []
    for m in sens.measures:
        name, unit = label(m)
        rows.append([name, unit, *[_index(v, index) for v in t.loc[m]], _pct(ns[m])])
    heads = ["measure", "unit", *[_short(k) for k in sens.factors], "noise share"]
    return C.table_html(
        heads,
        rows,
        numeric=[False, False] + [True] * (len(sens.factors) + 1),
        caption=f"{what} of each factor for each measure.",
    )


def _meanings(design: str) -> list[str]:
    out = {
        "morris": [
            "μ* (mu_star) is the mean absolute change of the measure when a factor moves "
            "one Morris step, scaled to the factor's whole range and in the measure's unit: "
            "a screening measure of overall influence, comparable across factors of one "
            "measure (not across measures).",
            "μ (mu) is the same mean with signs: well below μ*, the factor's effect changes "
            "sign across the design.",
            "σ (sigma) is the standard deviation of the elementary effects: large against "
            "μ*, the factor acts non-linearly or in interaction with others.",
        ],
        "sobol": [
            "S1 is the share of the measure's variance over the design that a factor "
            "explains alone.",
            "ST is the share that involves the factor at all, alone or with others; "
            "ST − S1 is its part in interactions.",
        ],
        "lhs": [
            "S1 (RBD-FAST) is the share of the measure's variance over the design that a "
            "factor explains alone, estimated from the Latin hypercube by a Fourier method; "
            "with few points it is rough and may come out a little below 0.",
        ],
        "grid": [
            "The main-effect share is the variance of a factor's partial-dependence curve "
            "(weighted by its points) over the variance of the point means: on a full grid, "
            "the share of the variance the factor explains alone.",
        ],
    }[design]
    ci = {
        "grid": "",
        "morris": "Intervals on μ* are 95 % bootstrap intervals over the elementary effects. ",
    }.get(design, "Intervals are 95 % bootstrap intervals. ")
    out.append(
        f"{ci}The noise share is the share of one run's variance that is noise: the "
        "variance between the replicates (seeds) of a point over that plus the variance of "
        "the points' expected values (a one-way analysis of variance); above 50 %, "
        "differences between the factors are mostly simulation noise."
    )
    return out


def write_html(sens: Sensitivity, out: Path) -> Path:
    """Write ``sensitivity.html`` and its PNGs into ``out``; return the page's path."""
    t0 = time.perf_counter()
    meta = sens.meta
    design = sens.design
    t = sens.indices
    body = [
        '<p class="note">Synthetic populations: no real person is scored. Each measure '
        "is a count in the simulation (not a national estimate) unless its unit says "
        "otherwise.</p>",
        '<h2 id="indices">Indices</h2>',
        _overview_html(sens),
        _detail_html(sens),
    ]
    drawn = drawn_measures(sens)
    pairs = _chart_pairs(sens)
    sections = [
        ("importance", "Importance of the factors", [p[0] for p in pairs]),
        ("response", "Response curves", [p[1] for p in pairs]),
    ]
    for anchor, title, chs in sections:
        body.append(f'<h2 id="{anchor}">{C.esc(title)}</h2>')
        if not chs:
            body.append("<p>No measure varies over the design: nothing to draw.</p>")
        for ch in chs:
            name = f"figures/{ch.key}.png"
            C.save_png(ch, out / name)
            body.append(C.figure_html(ch, png=name))

    notes = list(sens.notes)
    const = [m for m in sens.measures if t[t["measure"] == m]["note"].str.contains(CONSTANT).any()]
    if const:
        notes.append(
            "constant over the design (every index 0, no figure): "
            + ", ".join(label(m)[0] for m in const)
        )
    blank = t[t["note"].str.contains("not analysed")]["measure"].unique().tolist()
    if blank:
        notes.append("not analysed (runs without a value): " + ", ".join(map(str, blank)))
    ns = t.groupby("measure", sort=False)["noise_share"].first()
    for m in sens.measures:
        if C.num(ns[m]) > NOISY and m not in const:
            notes.append(
                f"{label(m)[0]}: {_pct(ns[m])} of the variance across runs is between "
                "replicates of the same point: its indices are mostly noise (add "
                "replicates or widen the ranges)"
            )
    left = [m for m in sens.measures if m not in drawn and m not in const and m not in blank]
    drawn_note = (
        f"figures for the {len(drawn)} measures that vary (one importance chart and one "
        "response chart each)"
    )
    if left:
        drawn_note = (
            f"figures for the first {MAX_DRAWN} measures that vary, in the sweep's order (one "
            "importance chart and one response chart each); without figures: "
            + ", ".join(label(m)[0] for m in left)
        )
    notes.append(drawn_note + "; every curve is in curves.csv")
    body.append('<h2 id="notes">Notes</h2>')
    body.append("<ul>" + "".join(f"<li>{C.esc(n)}.</li>" for n in notes) + "</ul>")
    body.append("<ul>" + "".join(f"<li>{C.esc(n)}</li>" for n in _meanings(design)) + "</ul>")
    elapsed = time.perf_counter() - t0
    body.append(
        f'<p class="small">credsim {C.esc(meta.get("version", ""))}; analysis page built in '
        f"{elapsed:.1f} s from {C.esc(sens.path or 'an in-memory sweep')}"
        + (f"; sweep command: {C.esc(meta['command'])}" if meta.get("command") else "")
        + ".</p>"
    )
    P = len(meta.get("points") or [])
    R = int(meta.get("replicates") or 1)
    how = {
        "grid": "full grid",
        "lhs": f"Latin hypercube, {meta.get('samples')} samples",
        "morris": f"Morris, {meta.get('samples')} trajectories, {meta.get('levels')} levels",
        "sobol": f"Sobol (Saltelli), N = {meta.get('samples')}",
    }[design]
    seeds = ", ".join(C.fmt(int(s)) for s in meta.get("seeds") or [])
    runs = int(meta.get("runs") or P * R)
    sub = [
        f"design: {how}; {C.fmt(P)} points × {R} replicate{'s' if R != 1 else ''} = "
        f"{C.fmt(runs)} runs ({C.fmt(int(meta.get('failed') or 0))} failed)"
        + (f"; seeds {seeds} (common random numbers)" if seeds else ""),
        "factors: " + "; ".join(_factor_range(f) for f in meta["factors"]),
        f"{C.fmt(meta.get('agents'))} agents × {C.fmt(meta.get('days'))} days"
        + (f"; set: {', '.join(meta['overrides'])}" if meta.get("overrides") else ""),
    ]
    text = C.page(
        f"Sensitivity of {meta.get('scenario', 'a sweep')}",
        sub,
        body,
        nav=[
            ("indices", "Indices"),
            ("importance", "Importance"),
            ("response", "Response curves"),
            ("notes", "Notes"),
        ],
    )
    return C.write_page(out / "sensitivity.html", text)
