"""The run directory: ``run.json`` and the Parquet tables, written from a finished
simulation and read back as DataFrames (or queried with DuckDB)."""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from .constants import (
    AGE_GROUPS,
    CASE_FALSE_BIT,
    CATEGORIES,
    COURT_REASONS,
    EVENT_TYPES,
    LF_COURT,
    LF_COURT_WRONGFUL,
    LF_EVER,
    LF_RODE_TRAIN,
    LF_SCORE,
    LF_SCORE_ASSOC,
    LF_SCORE_EXEMPT,
    LF_SCORE_WRONGFUL,
    OUTCOMES,
    SERVICES,
    SEXES,
    STATUSES,
    TIERS,
    TRUTHS,
)
from .errors import RunDirError
from .population import PROPENSITIES
from .rundir import CHECKPOINT, RUN_JSON, TABLES, atomic_write, sha256
from .scenario import parse_date, run_period
from .schema import EXIT_REASONS, KINDS, METRICS, N_GROUPS
from .state import mult_values

if TYPE_CHECKING:
    from .sim import Sim

# metrics that are a stock (a state on the day), not a flow (a count of what happened)
STOCKS = frozenset(
    [
        "listed",
        "listed_court",
        "listed_score",
        "listed_wrongful",
        "listed_association",
        "ever_listed",
        "scored",
        "speakers",
        "agents",
    ]
    + [f"tier_{t}" for t in TIERS]
)
PERCENTILES = (1, 10, 50, 90, 99)
__version__ = "0.1.0"


# ------------------------------------------------------------------------------------
# Score statistics from 1-point histograms


def hist_percentiles(h: np.ndarray, lo: float, qs=PERCENTILES) -> np.ndarray:
    """Percentiles (floor to the point) of histograms ``h[..., bin]``; nan where empty."""
    c = np.cumsum(h, axis=-1)
    n = c[..., -1:]
    out = np.full(h.shape[:-1] + (len(qs),), np.nan)
    for k, q in enumerate(qs):
        target = np.ceil(q / 100 * n)
        idx = (c < np.maximum(target, 1)).sum(axis=-1)
        out[..., k] = np.where(n[..., 0] > 0, lo + idx, np.nan)
    return out


def hist_gini(h: np.ndarray, lo: float) -> np.ndarray:
    """Gini coefficient of the scores in histograms ``h[..., bin]`` (bin value lo + k)."""
    v = lo + np.arange(h.shape[-1], dtype=np.float64)
    h = h.astype(np.float64)
    n = h.sum(axis=-1)
    s = (h * v).sum(axis=-1)
    before = np.cumsum(h, axis=-1) - h
    num = (v * h * (2 * before + h - n[..., None])).sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where((n > 0) & (s > 0), num / (n * s), np.nan)


# ------------------------------------------------------------------------------------


def _stats_frame(
    counts: np.ndarray, ssum: np.ndarray, hist: np.ndarray | None, lo: float
) -> dict[str, np.ndarray]:
    """Metric columns plus score mean, percentiles and Gini for aggregated rows."""
    cols = {m: counts[..., k].astype(np.int64) for k, m in enumerate(METRICS)}
    scored = counts[..., METRICS.index("scored")]
    with np.errstate(invalid="ignore", divide="ignore"):
        cols["score_mean"] = np.where(scored > 0, ssum / np.maximum(scored, 1), np.nan)
    if hist is not None:
        pct = hist_percentiles(hist, lo)
        for k, q in enumerate(PERCENTILES):
            cols[f"score_p{q}"] = pct[..., k]
        cols["score_gini"] = hist_gini(hist, lo)
    return cols


def _dict_array(indices: Any, names: Sequence[str]) -> pa.DictionaryArray:
    """A dictionary-encoded column: integer codes (an array, or a pyarrow array with
    nulls) into ``names``."""
    idx = indices if isinstance(indices, pa.Array) else pa.array(indices)
    return pa.DictionaryArray.from_arrays(idx, pa.array(list(names), pa.string()))


def _table(cols: Mapping[str, Any]) -> pa.Table:
    """A table from named columns (NumPy arrays or pyarrow arrays)."""
    return pa.table(dict(cols))


EPOCH = dt.date(1970, 1, 1)  # day 0 of Arrow's date32


def with_dates(t: pa.Table, start: dt.date | None) -> pa.Table:
    """``t`` with a ``date`` column (Arrow date32, ``start`` + ``day``) right after its
    ``day`` column; ``t`` itself without a start date or a ``day`` column."""
    if start is None or "day" not in t.column_names or "date" in t.column_names:
        return t
    i = t.column_names.index("day")
    offset = pa.scalar((start - EPOCH).days, pa.int32())
    dates = pc.add(t.column("day").cast(pa.int32()), offset).cast(pa.date32())
    return t.add_column(i + 1, pa.field("date", pa.date32()), dates)


def start_date(meta: Mapping[str, Any]) -> dt.date | None:
    """The calendar date of day 0 of a run (its ``run.start_date``), or None: a run
    without a calendar, or one written before credsim had one."""
    run = meta.get("scenario", {}).get("run", {})
    try:
        return parse_date(run.get("start_date"))
    except ValueError:
        return None


def period(meta: Mapping[str, Any]) -> str:
    """A dated run's first and last date, "2013-10-01 to 2019-12-31"; '' without a
    calendar."""
    p = run_period(start_date(meta), int(meta.get("days", 1)))
    return f"{p[0].isoformat()} to {p[1].isoformat()}" if p else ""


def build_tables(sim: Sim) -> dict[str, pa.Table | AgentsTable]:
    rec = sim.aggregates()
    pop = sim.pop
    days = np.arange(sim.days, dtype=np.int32)
    lo = rec.lo
    # sums over int32 cells accumulate in int64 without an int64 copy of the cells
    n_regions = len(pop.region_names)
    c4 = rec.cells.reshape(sim.days, n_regions, N_GROUPS, -1)
    by_group = c4.sum(axis=1, dtype=np.int64)  # [day, group, metric]
    by_region = c4.sum(axis=2, dtype=np.int64)  # [day, region, metric]
    lost = METRICS.index("friendships_lost")
    cum_lost = np.cumsum(rec.cells[..., lost], axis=0, dtype=np.int64)
    friend_ends = rec.friend_ends0[None, :] - cum_lost  # [day, cell]

    # daily, national
    cols = _stats_frame(
        by_group.sum(axis=1), rec.score_sum.sum(axis=1), rec.hist.sum(axis=1, dtype=np.int64), lo
    )
    daily = {"day": days, **cols}
    daily["active_edges"] = rec.edges_active
    daily["edges_cut_total"] = np.cumsum(daily["edges_cut"])
    tables: dict[str, pa.Table | AgentsTable] = {"daily": _table(daily)}

    # groups: urban, age group, sex daily; region every k days
    gidx = np.arange(N_GROUPS)
    dims = {
        "urban": (gidx // 6, ("rural", "urban")),
        "age_group": ((gidx // 2) % 3, AGE_GROUPS),
        "sex": (gidx % 2, SEXES),
    }
    s4 = rec.score_sum.reshape(sim.days, n_regions, N_GROUPS)
    f4 = friend_ends.reshape(sim.days, n_regions, N_GROUPS)
    frames = []
    for dim, (of, names) in dims.items():
        for gv, gname in enumerate(names):
            sel = np.flatnonzero(of == gv)
            hist = np.zeros((sim.days, rec.nbins), np.int64)
            for g in sel:
                hist += rec.hist[:, g]
            cols = _stats_frame(
                by_group[:, sel].sum(axis=1), s4[:, :, sel].sum(axis=(1, 2)), hist, lo
            )
            cols["friendships"] = f4[:, :, sel].sum(axis=(1, 2))
            frames.append(pd.DataFrame({"day": days, "dimension": dim, "group": gname, **cols}))
    # region rows every k days: stocks on that day, flows summed over the k days ending then
    k = sim.scenario.record.region_every
    rdays = days[k - 1 :: k] if k > 1 else days
    flows = np.array([m not in STOCKS for m in METRICS])
    for r, rname in enumerate(pop.region_names):
        creg = by_region[:, r]  # [day, metric]
        cum = np.cumsum(creg[:, flows], axis=0)
        per = np.diff(np.concatenate([np.zeros((1, cum.shape[1]), cum.dtype), cum[rdays]]), axis=0)
        rc = creg[rdays].copy()
        rc[:, flows] = per
        cols = _stats_frame(rc, s4[rdays, r].sum(axis=1), None, lo)
        cols["friendships"] = f4[rdays, r].sum(axis=1)
        frames.append(pd.DataFrame({"day": rdays, "dimension": "region", "group": rname, **cols}))
    tables["groups"] = pa.Table.from_pandas(
        pd.concat(frames, ignore_index=True), preserve_index=False
    )

    # services: day x service x tier x status x outcome (non-zero counts)
    idx = np.nonzero(rec.svc)
    tables["services"] = _table(
        {
            "day": idx[0].astype(np.int32),
            "service": _dict_array(idx[1].astype(np.int32), list(SERVICES)),
            "tier": _dict_array(idx[2].astype(np.int32), list(TIERS)),
            "status": _dict_array(idx[3].astype(np.int32), list(STATUSES)),
            "outcome": _dict_array(idx[4].astype(np.int32), list(OUTCOMES)),
            "count": rec.svc[idx].astype(np.int64),
        }
    )

    # score histogram, national, 10-point bins
    width = 10
    nb10 = (rec.nbins + width - 1) // width
    h = rec.hist.sum(axis=1)
    pad = np.zeros((sim.days, nb10 * width), np.int64)
    pad[:, : rec.nbins] = h
    h10 = pad.reshape(sim.days, nb10, width).sum(axis=2)
    dd, bb = np.meshgrid(days, np.arange(nb10), indexing="ij")
    tables["score_hist"] = _table(
        {
            "day": dd.ravel().astype(np.int32),
            "bin_lo": (lo + bb.ravel() * width).astype(np.float32),
            "count": h10.ravel(),
        }
    )

    # agents: the final state of every agent (produced in batches when written)
    tables["agents"] = AgentsTable(sim)

    # ledger: tracked agents and (if asked) every agent ever listed
    tables["ledger"] = ledger_table(sim.ledger(sim.ledger_keep()))
    # with a calendar, every table with a day carries its date (a label only)
    start = sim.scenario.run.start_date
    return {k: with_dates(t, start) if isinstance(t, pa.Table) else t for k, t in tables.items()}


class AgentsTable:
    """The agents table of a finished simulation, produced batch by batch from its final
    state (so that writing it never holds more than a batch beside the state)."""

    BATCH = 1 << 22

    def __init__(self, sim: Sim):
        self.sim = sim
        g = sim.graph
        self.degree = g.degree().astype(np.int32)
        self.active_degree = g.active_degree().astype(np.int32)
        self.parent = sim.pop.parent

    def batches(self):
        """The rows in batches; in a partitioned run (on rank 0), every rank's in turn,
        received from the others while they run :meth:`send`."""
        part = self.sim.part
        yield from self._own()
        if part is not None:
            for q in range(1, part.size):
                while (b := part.comm.recv(source=q, tag=7)) is not None:
                    yield pa.ipc.open_stream(b).read_next_batch()

    def _own(self):
        for lo in range(0, max(self.sim.n, 1), self.BATCH):
            yield self.batch(lo, min(self.sim.n, lo + self.BATCH))

    def send(self) -> None:
        """A partitioned run's rank other than 0: its batches to rank 0, then None."""
        part = self.sim.part
        assert part is not None
        for b in self._own():
            sink = pa.BufferOutputStream()
            with pa.ipc.new_stream(sink, b.schema) as w:
                w.write_batch(b)
            part.comm.send(sink.getvalue().to_pybytes(), dest=0, tag=7)
        part.comm.send(None, dest=0, tag=7)

    def batch(self, lo: int, hi: int) -> pa.RecordBatch:
        sim = self.sim
        pop, st = sim.pop, sim.state
        sl = slice(lo, hi)
        lf = st.lflags[sl]
        case = st.case[sl]
        base = sim.base  # a partitioned run's rank holds the agents from base on
        parent = self.parent[sl]
        return pa.RecordBatch.from_pydict(
            {
                "agent": np.arange(base + lo, base + hi, dtype=np.int32),
                "region": _dict_array(pop.region[sl].astype(np.int32), list(pop.region_names)),
                "urban": pop.column("urban", sl),
                "age_group": _dict_array(pop.column("age", sl).astype(np.int32), list(AGE_GROUPS)),
                "sex": _dict_array(pop.column("sex", sl).astype(np.int32), list(SEXES)),
                "parent": np.where(parent >= 0, parent + base, parent).astype(np.int32),
                "platform_user": pop.column("platform", sl),
                **{c: pop.column(c, sl) for c in ("speaker", "smoker", "traveller") + PROPENSITIES},
                "scored": st.scored[sl],
                "score": st.score[sl],
                "tier": _dict_array(st.tier[sl].astype(np.int32), list(TIERS)),
                "own": st.own[sl],
                "own_false": st.own_false[sl],
                "assoc": st.assoc[sl],
                **{f"deter_{c}": mult_values(st.deter[k, sl]) for k, c in enumerate(CATEGORIES)},
                "chill": mult_values(st.chill[sl]),
                "listed": (lf & (LF_COURT | LF_SCORE)) != 0,
                "listed_court": (lf & LF_COURT) != 0,
                "court_reason": _dict_array(
                    np.where(lf & LF_COURT, (case >> 4) & 7, 0).astype(np.int32),
                    list(COURT_REASONS),
                ),
                "court_until": np.where(lf & LF_COURT, st.court_until[sl], -1).astype(np.int32),
                "listed_score": (lf & LF_SCORE) != 0,
                "wrongful": (lf & (LF_COURT_WRONGFUL | LF_SCORE_WRONGFUL)) != 0,
                "by_association": (lf & LF_SCORE_ASSOC) != 0,
                "ever_listed": (lf & LF_EVER) != 0,
                "pending_case_day": st.pend_day[sl].astype(np.int32),
                "pending_case_kind": _dict_array(
                    (case & 7).astype(np.int32),
                    ["none", "debt_default", "fraud", "tax_evasion", "defamation"],
                ),
                "pending_case_false_flag": (case & CASE_FALSE_BIT) != 0,
                "score_listing_exempt": (lf & LF_SCORE_EXEMPT) != 0,
                "rode_train_today": (lf & LF_RODE_TRAIN) != 0,
                "degree": self.degree[sl],
                "active_degree": self.active_degree[sl],
                "tracked": sim.tracked[sl],
            }
        )

    def table(self) -> pa.Table:
        return pa.Table.from_batches(list(self.batches()))

    def write(self, fh) -> None:
        writer = None
        for b in self.batches():
            if writer is None:
                writer = pq.ParquetWriter(fh, b.schema, compression="zstd")
            writer.write_batch(b)
        if writer is not None:
            writer.close()


def ledger_table(rows: np.ndarray) -> pa.Table:
    kind = rows["kind"].astype(np.int32)
    code = rows["code"].astype(np.int32)
    labels = {
        0: EVENT_TYPES,
        1: ("financial", "defamation"),
        2: ("financial", "defamation"),
        3: ("financial", "defamation"),
        4: COURT_REASONS + ("score",),
        5: EXIT_REASONS,
        6: ("dismissed", "overturned"),
        7: SERVICES,
    }
    what_names: list[str] = []
    lut = np.zeros((len(KINDS), 256), np.int32)  # (kind, code) -> index into what_names
    for k, names in labels.items():
        for c, name in enumerate(names):
            if name not in what_names:
                what_names.append(name)
            lut[k, c] = what_names.index(name)
    what = lut[kind, code]
    truth = rows["truth"].astype(np.int32)
    is_event = kind == 0
    is_list = kind == 4
    truth_names = list(TRUTHS) + ["rightful", "wrongful"]
    tcode = np.where(is_event, truth, np.where(truth > 0, 4, 3))
    tmask = ~(is_event | is_list | (kind == 3))
    other = rows["other"].astype(np.int32)
    other = np.where((kind == 7) & (code != SERVICES.index("private_school")), -1, other)
    return _table(
        {
            "day": rows["day"].astype(np.int32),
            "agent": rows["agent"].astype(np.int32),
            "kind": _dict_array(kind, list(KINDS)),
            "what": _dict_array(what, what_names),
            "truth": _dict_array(pa.array(tcode, mask=tmask), truth_names),
            "by_association": is_list & ((rows["flags"] & 2) != 0),
            "insincere": (kind == 3) & ((rows["flags"] & 1) != 0),
            "delta": rows["delta"],
            "score": rows["score"],
            "other_agent": other,
        }
    )


# ------------------------------------------------------------------------------------


class Result:
    """A finished run: its metadata and tables (pandas DataFrames, loaded on demand)."""

    def __init__(
        self,
        meta: dict[str, Any],
        tables: dict[str, pa.Table | AgentsTable] | None = None,
        path: Path | None = None,
    ):
        self.meta = meta
        self._tables: dict[str, pa.Table | AgentsTable] = tables or {}
        self.path = path

    @classmethod
    def from_sim(cls, sim: Sim) -> Result:
        t = time.perf_counter()
        tables = build_tables(sim)
        timings = dict(sim.timings)
        timings["tables"] = time.perf_counter() - t
        scn = sim.scenario
        meta = {
            "credsim_version": __version__,
            "scenario": scn.model_dump(mode="json"),
            "preset": scn.name,
            "seed": sim.seed,
            "agents": sim.n_total,
            "days": sim.days,
            "scale": scn.population.represented / sim.n_total,
            "represented": scn.population.represented,
            "regions": list(sim.pop.region_names),
            "edges": sim.total_edges,
            "timings_s": {k: round(v, 4) for k, v in timings.items()},
            "phases": sim.phase_names,
            "memory_bytes": sim.memory_bytes(),
            **({"processes": sim.part.size} if sim.part is not None else {}),
            "machine": {
                "python": platform.python_version(),
                "platform": platform.platform(),
                "cpus": os.cpu_count(),
            },
            "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
        return cls(meta, tables)

    # tables --------------------------------------------------------------------------
    def table(self, name: str) -> pa.Table:
        if name not in TABLES:
            raise RunDirError(f"no table '{name}' (tables: {', '.join(TABLES)})")
        t = self._tables.get(name)
        if isinstance(t, AgentsTable):
            t = self._tables[name] = t.table()
        if t is None:
            assert self.path is not None
            try:
                t = self._tables[name] = pq.read_table(self.path / f"{name}.parquet")
            except (OSError, pa.ArrowException) as e:
                raise RunDirError(
                    f"{self.path / (name + '.parquet')}: cannot be read ({e})"
                ) from None
        return t

    def df(self, name: str) -> pd.DataFrame:
        return self.table(name).to_pandas()

    @property
    def daily(self) -> pd.DataFrame:
        return self.df("daily")

    @property
    def groups(self) -> pd.DataFrame:
        return self.df("groups")

    @property
    def services(self) -> pd.DataFrame:
        return self.df("services")

    @property
    def score_hist(self) -> pd.DataFrame:
        return self.df("score_hist")

    @property
    def agents(self) -> pd.DataFrame:
        return self.df("agents")

    @property
    def ledger(self) -> pd.DataFrame:
        return self.df("ledger")

    def summary(self) -> dict[str, Any]:
        return summarise(self)

    @property
    def start_date(self) -> dt.date | None:
        """The calendar date of day 0 (``run.start_date``), or None without a calendar."""
        return start_date(self.meta)

    @property
    def period(self) -> str:
        """The run's first and last date ("2013-10-01 to 2019-12-31"), or ''."""
        return period(self.meta)

    # answers: report.py, explain.py, query.py ----------------------------------------
    def report(self, out: str | Path | None = None) -> Path:
        """Write report.html and figures/*.png (into the run directory, or ``out``)."""
        from .report import write_report

        return write_report(self, out)

    def explain(self, agent: int) -> Any:
        """The story of one agent (a ``credsim.explain.Story``)."""
        from .explain import explain

        return explain(self, agent)

    def sql(self, query: str, **kw: Any) -> pd.DataFrame:
        """DuckDB SQL over the run's tables (daily, groups, services, score_hist, agents,
        ledger), answered as a DataFrame: one read-only query by default; ``unsafe=True``
        gives a full DuckDB shell (see :func:`credsim.query.sql`)."""
        from .query import sql

        return sql(self, query, **kw)

    # writing -------------------------------------------------------------------------
    def save(self, out: str | Path, force: bool = False) -> Path:
        """Write the run directory. Every table is written to a temporary file, synced
        and renamed into place; run.json, which marks the directory complete and records
        each table's size and SHA-256, comes last."""
        out = Path(out)
        if (out / RUN_JSON).exists() and not force:
            raise RunDirError(f"{out}: run directory exists (use --force to overwrite)")
        out.mkdir(parents=True, exist_ok=True)
        (out / RUN_JSON).unlink(missing_ok=True)  # incomplete until the end
        t = time.perf_counter()
        files = {}
        for name in TABLES:
            path = out / f"{name}.parquet"
            lazy = self._tables.get(name)
            if isinstance(lazy, AgentsTable):  # batch by batch, then read from the file
                atomic_write(path, lazy.write)
                del self._tables[name]
            else:
                table = self.table(name)

                def write(fh: Any, tb: pa.Table = table) -> None:
                    pq.write_table(tb, fh, compression="zstd")

                atomic_write(path, write)
            files[f"{name}.parquet"] = {"bytes": path.stat().st_size, "sha256": sha256(path)}
        self.meta["timings_s"]["write"] = round(time.perf_counter() - t, 4)
        self.meta["summary"] = summarise(self)
        self.meta["files"] = files
        self.meta["complete"] = True
        atomic_write(
            out / RUN_JSON,
            lambda fh: fh.write(json.dumps(self.meta, indent=1, allow_nan=False).encode()),
        )
        self.path = out
        return out


def load_run(path: str | Path, verify: bool = True) -> Result:
    """A complete run directory written by ``credsim run`` (or ``Result.save``); an
    incomplete or damaged one is refused in one line. With ``verify`` (the default) every
    table's size and SHA-256 are checked against those run.json records."""
    path = Path(path)
    meta_path = path / RUN_JSON
    if not path.is_dir():
        raise RunDirError(f"{path}: not a run directory (no such directory)")
    if not meta_path.exists():
        if (path / CHECKPOINT).exists():
            raise RunDirError(
                f"{path}: the run is incomplete (interrupted): resume it with "
                f"'credsim run --resume {path}'"
            )
        raise RunDirError(f"{path}: not a run directory (no run.json)")
    try:
        meta = json.loads(meta_path.read_bytes().decode(), parse_constant=_no_constant)
    except (json.JSONDecodeError, UnicodeDecodeError, ValueError, RecursionError) as e:
        msg = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise RunDirError(f"{meta_path}: corrupted run.json ({msg})") from None
    except OSError as e:
        raise RunDirError(f"{meta_path}: cannot be read ({e.strerror or e})") from None
    if not isinstance(meta, dict) or meta.get("complete") is not True:
        raise RunDirError(
            f"{path}: the run directory is incomplete (run.json does not say complete)"
        )
    files = meta.get("files")
    expected = {f"{t}.parquet" for t in TABLES}
    if not isinstance(files, dict) or set(files) != expected:
        raise RunDirError(
            f"{meta_path}: corrupted run.json (it must record the size and "
            f"SHA-256 of {', '.join(sorted(expected))})"
        )
    for name in TABLES:
        f = path / f"{name}.parquet"
        rec = files[f.name]
        if not f.exists():
            raise RunDirError(f"{path}: run directory is missing {f.name}")
        if (
            not isinstance(rec, dict)
            or not isinstance(rec.get("bytes"), int)
            or not isinstance(rec.get("sha256"), str)
        ):
            raise RunDirError(f"{meta_path}: corrupted run.json (no size and SHA-256 of {f.name})")
        size = f.stat().st_size
        if size != rec["bytes"]:
            raise RunDirError(f"{f}: corrupted ({size:,} bytes, run.json records {rec['bytes']:,})")
        if verify and sha256(f) != rec["sha256"]:
            raise RunDirError(f"{f}: corrupted (its SHA-256 differs from the one run.json records)")
    return Result(meta, path=path)


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


# ------------------------------------------------------------------------------------


def summarise(res: Result) -> dict[str, Any]:
    """Headline aggregates of a run (raw counts, and national-scaled where labelled);
    ``services`` (per service and ``all``: requests and each outcome) and ``tiers_end``
    (agents per tier on the last day) are dicts."""
    d = res.table("daily")
    col = lambda c: np.asarray(d.column(c).to_numpy())  # noqa: E731
    scale = float(res.meta["scale"])
    last = len(col("day")) - 1
    entries = sum(
        col(f"entries_{r}").sum()
        for r in ("debt_default", "fraud", "tax_evasion", "speech", "score")
    )
    ever = int(col("ever_listed")[last])
    agents = int(res.meta["agents"])
    days = int(res.meta["days"])
    out: dict[str, Any] = {
        "agents": agents,
        "days": days,
        "listed_end": int(col("listed")[last]),
        "ever_listed": ever,
        "listing_entries": int(entries),
        "wrongful_entries": int(col("entries_wrongful").sum()),
        "wrongful_share_of_entries": float(col("entries_wrongful").sum() / entries)
        if entries
        else 0.0,
        "association_entries": int(col("entries_association").sum()),
        "wrongful_listed_days": int(col("listed_wrongful").sum()),
        "score_entries": int(col("entries_score").sum()),
        "false_flags": int(col("false_flag_rumour").sum()),
        "misidentified_events": int(
            col("misidentified_smoking_in_public").sum()
            + col("misidentified_traffic_violation").sum()
        ),
        "flights_denied": int(col("flight_denied").sum()),
        "trains_denied": int(col("train_denied").sum()),
        "denials_total": int(sum(col(f"{s}_denied").sum() for s in SERVICES)),
        "edges_cut": int(col("edges_cut").sum()),
        "active_edges_end": int(col("active_edges")[last]),
        "posts_day0": int(col("posts")[0]),
        "posts_last_day": int(col("posts")[last]),
        "posts_change": float(col("posts")[last] / col("posts")[0] - 1) if col("posts")[0] else 0.0,
        "score_mean_end": float(col("score_mean")[last]),
        "score_gini_end": float(col("score_gini")[last]),
    }
    out["rumours_observed"] = int(col("observed_rumour").sum())
    speakers = int(col("speakers")[0])
    out["speakers"] = speakers
    out["flags_per_speaker_year"] = (
        (float(col("rumours_of_speakers").sum()) / speakers * 365 / days) if speakers else 0.0
    )
    # services: requests and each outcome, per service and for all of them
    svc_out = {
        svc: {o: int(col(f"{svc}_{o}").sum()) for o in ("requests",) + OUTCOMES} for svc in SERVICES
    }
    svc_out["all"] = {o: sum(v[o] for v in svc_out.values()) for o in ("requests",) + OUTCOMES}
    out["services"] = svc_out
    # grades: agents in each tier (and unscored) on the last day
    out["tiers_end"] = {t: int(col(f"tier_{t}")[last]) for t in TIERS}
    for k in (
        "listed_end",
        "ever_listed",
        "listing_entries",
        "wrongful_entries",
        "flights_denied",
        "trains_denied",
        "edges_cut",
    ):
        out[f"national_est_{k}"] = out[k] * scale
    return out
