"""Sweeps: one scenario run at many points of its parameters, each point with the same
replicate seeds (common random numbers), on a pool of worker processes or MPI ranks.

A sweep directory holds ``sweep.json`` (the design, the command, the state) and
``sweep.parquet`` (one row per finished run, rewritten atomically after each run), so an
interrupted sweep resumes where it stopped: the same command skips every run whose row
says ``ok``."""

from __future__ import annotations

import copy
import itertools
import math
import os
import shutil
import time
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import FIRST_COMPLETED, Executor, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from . import rundir
from .errors import CredsimError
from .report import HEADLINE
from .results import __version__
from .scenario import ScenarioError, Schedule, _field_at, build_scenario, resolve
from .sim import cores, use_threads

SWEEP_JSON = "sweep.json"
SWEEP_PARQUET = "sweep.parquet"
RUNS_DIR = "runs"
SWEEP_FILES = (SWEEP_JSON, SWEEP_PARQUET)
DESIGNS = ("grid", "lhs", "morris", "sobol")
MEASURES = list(HEADLINE)
MORRIS_LEVELS = 4
ATTEMPTS = 2  # a run whose worker died or that raised is tried once more
WORKER_RUNS = 20  # runs a worker process makes before a fresh one takes over (bounds any
# memory a long series of runs would keep)


# ------------------------------------------------------------------------------------
# Factors: KEY=SPEC


@dataclass
class Factor:
    """One varied parameter. ``key`` is a scenario key (``score.association_weight``)
    or one value of a schedule (``listing.court.case_prob[2]``: the third of its
    values). A grid factor has ``values``; a sampled one ``lo``, ``hi`` and ``log``."""

    key: str
    spec: str
    values: list[float] | None = None
    lo: float = math.nan
    hi: float = math.nan
    log: bool = False
    integer: bool = False
    boolean: bool = False  # a switch: 0 (false) or 1 (true), on a grid only

    @property
    def path(self) -> list[str]:
        return self.key.split("[", 1)[0].split(".")

    @property
    def index(self) -> int | None:
        """The schedule value's position, for ``KEY[I]``."""
        if "[" not in self.key:
            return None
        return int(self.key.split("[", 1)[1].rstrip("]"))

    def value(self, v: float) -> float | int:
        return int(round(v)) if self.integer else float(v)

    def setting(self, v: float) -> float | int | bool:
        """The value as the scenario takes it (a switch's 0/1 as false/true)."""
        return bool(v) if self.boolean else self.value(v)

    def to_json(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "spec": self.spec,
            "lo": self.lo,
            "hi": self.hi,
            "log": self.log,
            "integer": self.integer,
            "boolean": self.boolean,
            **({"values": self.values} if self.values is not None else {}),
        }


def _num(text: str, what: str, switch: bool = False) -> float:
    if switch:
        t = text.strip().lower()
        if t not in ("true", "false", "0", "1"):
            raise CredsimError(f"{what}: {text!r}: a switch takes true, false, 1 or 0")
        return float(t in ("true", "1"))
    try:
        v = float(text)
    except ValueError:
        raise CredsimError(f"{what}: {text!r} is not a number") from None
    if not math.isfinite(v):
        raise CredsimError(f"{what}: {text!r} must be a finite number")
    return v


def parse_vary(text: str, design: str, base: dict[str, Any], option: str = "--vary") -> Factor:
    """``KEY=0,0.2,0.5`` (values) or ``KEY=lo:hi:n[:log]`` (n points) for a grid;
    ``KEY=lo:hi[:log]`` for a sampled design. Checks the key against the scenario
    ``base`` (a resolved scenario dict); errors name the command's ``option``."""
    if "=" not in text:
        raise CredsimError(
            f"{option} {text}: expected KEY=SPEC (for example score.association_weight=0:1:5)"
        )
    key, spec = (s.strip() for s in text.split("=", 1))
    what = f"{option} {key}"
    f = Factor(key=key, spec=spec)
    _check_key(f, base, what)
    f.integer = _is_integer(f)
    f.boolean = _is_switch(f, base)
    parts = spec.split(":")
    if f.boolean and (design != "grid" or len(parts) != 1):
        raise CredsimError(f"{what}={spec}: a switch is varied on a grid only, as true,false")
    if design == "grid":
        if len(parts) == 1:
            vals = [_num(p.strip(), what, f.boolean) for p in spec.split(",") if p.strip()]
            if not vals:
                raise CredsimError(f"{what}: no values (give a,b,c or lo:hi:n[:log])")
        elif len(parts) in (3, 4) and (len(parts) == 3 or parts[3] == "log"):
            lo, hi = _num(parts[0], what), _num(parts[1], what)
            try:
                n = int(parts[2])
            except ValueError:
                raise CredsimError(f"{what}: n = {parts[2]!r} must be a whole number") from None
            if n < 1:
                raise CredsimError(f"{what}: n = {n} must be at least 1")
            f.log = len(parts) == 4
            if f.log and (lo <= 0 or hi <= 0):
                raise CredsimError(f"{what}: a log range needs lo and hi above 0")
            vals = list(np.geomspace(lo, hi, n) if f.log else np.linspace(lo, hi, n))
        else:
            raise CredsimError(
                f"{what}={spec}: a grid takes values a,b,c or a range lo:hi:n or lo:hi:n:log"
            )
        f.values = [f.value(v) for v in vals]
        f.lo, f.hi = float(min(f.values)), float(max(f.values))
    else:
        if len(parts) not in (2, 3) or (len(parts) == 3 and parts[2] != "log"):
            raise CredsimError(f"{what}={spec}: --design {design} takes a range lo:hi or lo:hi:log")
        f.lo, f.hi = _num(parts[0], what), _num(parts[1], what)
        f.log = len(parts) == 3
        if not f.lo < f.hi:
            raise CredsimError(f"{what}={spec}: lo must be below hi")
        if f.log and f.lo <= 0:
            raise CredsimError(f"{what}={spec}: a log range needs lo above 0")
    return f


def _check_key(f: Factor, base: dict[str, Any], what: str) -> None:
    d: Any = base
    for p in f.path:
        if not isinstance(d, dict) or p not in d:
            raise CredsimError(f"{what}: not a scenario parameter (see credsim presets)")
        d = d[p]
    if isinstance(d, dict) and set(d) == {"days", "values"}:
        i = f.index
        if i is None:
            return  # the whole schedule becomes a constant
        if not 0 <= i < len(d["values"]):
            raise CredsimError(
                f"{what}: the schedule has {len(d['values'])} values (index 0 to "
                f"{len(d['values']) - 1})"
            )
        return
    if f.index is not None:
        raise CredsimError(f"{what}: {'.'.join(f.path)} is not a schedule")
    if not isinstance(d, (int, float)):
        raise CredsimError(f"{what}: not a numeric parameter or a switch (it is {d!r})")


def _is_switch(f: Factor, base: dict[str, Any]) -> bool:
    d: Any = base
    for p in f.path:
        d = d[p]
    return isinstance(d, bool)


def _is_integer(f: Factor) -> bool:
    fld = _field_at(tuple(f.path))
    return fld is not None and fld.annotation is int


def set_value(data: dict[str, Any], f: Factor, v: float) -> None:
    """Set factor ``f`` to ``v`` in the scenario dict ``data``."""
    d = data
    for p in f.path[:-1]:
        d = d[p]
    last = f.path[-1]
    i = f.index
    if i is None:
        d[last] = f.setting(v)
    else:
        sched = d[last]
        if isinstance(sched, Schedule):
            sched = sched.model_dump()
        sched = {"days": list(sched["days"]), "values": list(sched["values"])}
        sched["values"][i] = float(v)
        d[last] = sched


# ------------------------------------------------------------------------------------
# Designs


def problem(factors: Sequence[Factor]) -> dict[str, Any]:
    """SALib's problem: log factors sampled uniformly in log10 space."""
    return {
        "num_vars": len(factors),
        "names": [f.key for f in factors],
        "bounds": [
            [math.log10(f.lo), math.log10(f.hi)] if f.log else [f.lo, f.hi] for f in factors
        ],
    }


def design_points(
    factors: Sequence[Factor], design: str, samples: int | None, seed: int
) -> list[list[float | int]]:
    """The design matrix in natural units: the grid's cartesian product, or SALib's
    sample (Latin hypercube, Morris trajectories, Sobol/Saltelli) in its own order."""
    if design == "grid":
        return [list(p) for p in itertools.product(*[f.values or [] for f in factors])]
    if samples is None or samples < 1:
        raise CredsimError(f"--design {design} needs --samples N (N at least 1)")
    prob = problem(factors)
    if design == "lhs":
        from SALib.sample import latin

        x = latin.sample(prob, samples, seed=seed)
    elif design == "morris":
        from SALib.sample import morris

        x = morris.sample(prob, N=samples, num_levels=MORRIS_LEVELS, seed=seed)
    else:
        from SALib.sample import sobol

        if samples & (samples - 1):
            raise CredsimError(f"--samples {samples}: Sobol sampling needs a power of 2")
        x = sobol.sample(prob, samples, calc_second_order=False, seed=seed)
    return [
        [f.value(10.0**v if f.log else v) for f, v in zip(factors, row)]
        for row in np.asarray(x, np.float64)
    ]


# ------------------------------------------------------------------------------------
# One run (in a worker)


def collect() -> None:
    """Free finished simulations now (call it once they are deleted). A Sim and its
    phases refer to each other, so their arrays wait for the garbage collector, which
    counts objects, not bytes: a worker running run after run grew by about a run's
    state each time (12 GB after 40 runs of 100,000 agents x 2,283 days)."""
    import gc

    gc.collect()


def run_one(task: dict[str, Any]) -> dict[str, Any]:
    """Run one point at one seed in this process and return its row (the measures and
    the wall time, or the error). ``task``: ``scenario`` (a resolved scenario dict),
    ``threads``, ``keep`` (a run directory to write, or None) and the row's keys."""
    from .sim import Sim

    use_threads(task["threads"])
    t0 = time.perf_counter()
    row = dict(task["row"])
    try:
        sim = Sim(task["scenario"], record_ledger=task["keep"] is not None)
        if task["keep"] is not None:
            res = sim.run(out=task["keep"], force=True, checkpoint_every=0)
        else:
            res = sim.run()
        s = res.summary()
        row.update({m: float(s[m]) for m in MEASURES})
        row.update(status="ok", error="")
        del sim, res
        collect()
    except Exception as e:  # the run failed, the sweep goes on
        row.update({m: math.nan for m in MEASURES})
        row.update(status="failed", error=f"{type(e).__name__}: {e}".splitlines()[0])
    row["wall_s"] = time.perf_counter() - t0
    return row


# ------------------------------------------------------------------------------------
# Executors


def _watch_parent() -> None:
    """In a worker: end when the sweep's process is gone (killed), not run on alone."""
    import threading

    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(1)

    threading.Thread(target=watch, daemon=True).start()


class _Slots:
    """A process pool of single-worker executors: a worker that dies breaks only its own
    executor, so the run it held is known; that slot is started again."""

    def __init__(self, workers: int):
        import multiprocessing as mp

        self.ctx = mp.get_context("spawn")
        self.pools: list[ProcessPoolExecutor | None] = [None] * workers
        self.size = workers

    def submit(self, slot: int, fn: Callable[..., Any], arg: Any) -> Future[Any]:
        pool = self.pools[slot]
        if pool is None:
            pool = self.pools[slot] = ProcessPoolExecutor(
                1, mp_context=self.ctx, initializer=_watch_parent, max_tasks_per_child=WORKER_RUNS
            )
        return pool.submit(fn, arg)

    def broken(self, slot: int) -> None:
        pool = self.pools[slot]
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)
        self.pools[slot] = None

    def shutdown(self, kill: bool = False) -> None:
        for i, pool in enumerate(self.pools):
            if pool is None:
                continue
            if kill:  # stop the runs in flight now (Ctrl-C)
                for p in list(getattr(pool, "_processes", {}).values()):
                    p.terminate()
            pool.shutdown(wait=not kill, cancel_futures=True)
            self.pools[i] = None


class _Shared:
    """Any executor (mpi4py.futures): every slot submits to it."""

    def __init__(self, ex: Executor, workers: int):
        self.ex = ex
        self.size = workers

    def submit(self, slot: int, fn: Callable[..., Any], arg: Any) -> Future[Any]:
        return self.ex.submit(fn, arg)

    def broken(self, slot: int) -> None:
        pass

    def shutdown(self, kill: bool = False) -> None:
        pass


# ------------------------------------------------------------------------------------
# The sweep


ROW_KEYS = ("point", "replicate", "seed")


def _table(rows: Iterable[dict[Any, Any]], factors: Sequence[Factor]) -> pd.DataFrame:
    cols = (
        list(ROW_KEYS)
        + [f.key for f in factors]
        + MEASURES
        + ["wall_s", "status", "error", "attempts", "run_dir"]
    )
    df = pd.DataFrame(list(rows), columns=cols)
    df = df.sort_values(["point", "replicate"], kind="stable").reset_index(drop=True)
    for c in ("point", "replicate", "seed", "attempts"):
        df[c] = df[c].astype(np.int64)
    for c in [f.key for f in factors] + MEASURES + ["wall_s"]:
        df[c] = df[c].astype(np.float64)
    for c in ("status", "error", "run_dir"):
        df[c] = df[c].fillna("").astype(str)
    return df


def _write_parquet(path: Path, df: pd.DataFrame) -> None:
    table = pa.Table.from_pandas(df, preserve_index=False)
    rundir.atomic_write(path, lambda fh: pq.write_table(table, fh))


def _write_json(path: Path, meta: dict[str, Any]) -> None:
    import json

    text = json.dumps(meta, indent=1, default=str).encode()
    rundir.atomic_write(path, lambda fh: fh.write(text))


def load_sweep(out: str | Path) -> tuple[dict[str, Any], pd.DataFrame]:
    """A sweep directory's ``sweep.json`` and ``sweep.parquet`` (rows so far)."""
    import json

    out = Path(out)
    meta_path = out / SWEEP_JSON
    if not meta_path.is_file():
        raise CredsimError(f"{out}: not a sweep directory (no {SWEEP_JSON})")
    try:
        meta = json.loads(meta_path.read_text())
    except (OSError, ValueError) as e:
        raise CredsimError(f"{meta_path}: unreadable ({e})") from None
    if meta.get("kind") != "credsim sweep":
        raise CredsimError(f"{meta_path}: not a credsim sweep")
    p = out / SWEEP_PARQUET
    df = pd.read_parquet(p) if p.is_file() else pd.DataFrame()
    return meta, df


@dataclass
class Plan:
    """A sweep ready to run: what ``sweep.json`` records, and one task per run."""

    meta: dict[str, Any]
    factors: list[Factor]
    tasks: list[dict[str, Any]]


def plan(
    scenario: Any,
    vary: Sequence[str] | dict[str, Any],
    replicates: int = 1,
    design: str = "grid",
    samples: int | None = None,
    agents: int | None = None,
    days: int | None = None,
    seed: int | None = None,
    overrides: Sequence[str] | None = None,
    command: str = "",
) -> Plan:
    """Check the input and lay out every run; raises a one-line error for bad input,
    including any point whose scenario is invalid (naming the key and value)."""
    if design not in DESIGNS:
        raise CredsimError(f"--design {design}: must be one of {', '.join(DESIGNS)}")
    if replicates < 1:
        raise CredsimError(f"--replicates {replicates}: must be at least 1")
    if design == "grid" and samples is not None:
        raise CredsimError("--samples applies to --design lhs, morris or sobol, not to a grid")
    scn = resolve(scenario, list(overrides or []), agents, days, seed)
    base = scn.model_dump()
    specs = [f"{k}={v}" for k, v in vary.items()] if isinstance(vary, dict) else list(vary)
    if not specs:
        raise CredsimError("sweep: nothing to vary (give --vary KEY=SPEC)")
    factors = [parse_vary(s, design, base) for s in specs]
    keys = [f.key for f in factors]
    dup = sorted({k for k in keys if keys.count(k) > 1})
    if dup:
        raise CredsimError(f"--vary {dup[0]}: given twice")
    base_seed = scn.run.seed
    points = design_points(factors, design, samples, base_seed)
    seeds = [base_seed + r for r in range(replicates)]
    tasks = []
    for i, point in enumerate(points):
        data = copy.deepcopy(base)
        for f, v in zip(factors, point):
            set_value(data, f, v)
        try:
            build_scenario(data, scn.origin)  # a bad point fails now, not in a worker
        except ScenarioError as e:
            shown = ", ".join(f"{f.key}={v}" for f, v in zip(factors, point))
            raise CredsimError(f"sweep point {i} ({shown}): {e}") from None
        for r, s in enumerate(seeds):
            d = copy.deepcopy(data)
            d["run"]["seed"] = s
            row: dict[str, Any] = {"point": i, "replicate": r, "seed": s}
            row.update({f.key: float(v) for f, v in zip(factors, point)})
            tasks.append({"scenario": d, "row": row})
    meta = {
        "kind": "credsim sweep",
        "version": __version__,
        "command": command,
        "scenario": scn.name,
        "source": str(scenario) if isinstance(scenario, (str, Path)) else scn.name,
        "overrides": list(overrides or []),
        "agents": scn.population.agents,
        "days": scn.run.days,
        "seed": base_seed,
        "replicates": replicates,
        "seeds": seeds,
        "design": design,
        "samples": samples,
        "levels": MORRIS_LEVELS if design == "morris" else None,
        "factors": [f.to_json() for f in factors],
        "points": points,
        "measures": MEASURES,
        "runs": len(tasks),
        "base": base,
    }
    return Plan(meta, factors, tasks)


SAME_DESIGN = ("scenario", "base", "factors", "points", "seeds", "design", "samples")


def _prepare(out: Path, p: Plan, force: bool) -> pd.DataFrame:
    """The rows of the runs already done (resumption), after checking that ``out`` holds
    this same sweep; or an empty table for a new sweep (``force`` clears an old one)."""
    if out.exists() and not out.is_dir():
        raise CredsimError(f"{out}: exists and is not a directory")
    out.mkdir(parents=True, exist_ok=True)
    if not (out / SWEEP_JSON).is_file():
        if (out / SWEEP_PARQUET).exists():
            raise CredsimError(f"{out}: holds {SWEEP_PARQUET} but no {SWEEP_JSON}; use --out DIR")
        return _table([], p.factors)
    if force:  # the sweep's own files, and an analysis of it
        from .sensitivity import FIGURE_PREFIX, SENSITIVITY_FILES

        for name in SWEEP_FILES + SENSITIVITY_FILES:
            (out / name).unlink(missing_ok=True)
        for png in (out / "figures").glob(f"{FIGURE_PREFIX}*.png"):
            png.unlink()
        shutil.rmtree(out / RUNS_DIR, ignore_errors=True)
        return _table([], p.factors)
    old, rows = load_sweep(out)
    differs = [k for k in SAME_DESIGN if _jsonable(old.get(k)) != _jsonable(p.meta.get(k))]
    if differs:
        raise CredsimError(
            f"sweep: {out} holds another sweep (its {', '.join(differs)} differ): use "
            "--force to replace it, or --out DIR"
        )
    if old.get("status") == "complete":
        raise CredsimError(
            f"sweep: {out} holds this sweep, finished: use --force to run it again, or --out DIR"
        )
    if rows.empty:
        return _table([], p.factors)
    return _table(rows.to_dict("records"), p.factors)


def _jsonable(v: Any) -> Any:
    import json

    return json.loads(json.dumps(v, default=str))


Progress = Callable[[int, int, float], None]


def run_sweep(
    p: Plan,
    out: str | Path,
    workers: int | None = None,
    threads: int | None = None,
    keep_runs: bool = False,
    force: bool = False,
    executor: Executor | None = None,
    progress: Progress | None = None,
    work: Callable[[dict[str, Any]], dict[str, Any]] = run_one,
    on_start: Callable[[int, int], None] | None = None,
) -> pd.DataFrame:
    """Run every run of ``p`` not yet done in ``out``; return the sweep table.

    Runs go to ``workers`` processes (default: the cores over ``threads``, each run on
    ``threads`` Numba threads, default 1), or to ``executor`` (an ``MPIPoolExecutor``
    or ``MPICommExecutor`` of mpi4py.futures) with ``workers`` runs in flight. A run
    that fails or whose worker dies is tried once more, then recorded as failed.
    ``progress(done, total, runs_per_minute)`` is called after each run."""
    out = Path(out)
    n_cores = cores()
    if threads is not None and threads < 1:
        raise CredsimError(f"--threads {threads}: must be at least 1")
    if workers is not None and workers < 1:
        raise CredsimError(f"--workers {workers}: must be at least 1")
    if threads is None:
        threads = 1 if workers is None else max(1, n_cores // workers)
    if workers is None:
        workers = max(1, n_cores // threads)
    lock = _lock(out)
    try:
        done = _prepare(out, p, force)
        good = done[done["status"] == "ok"]
        ok = set(zip(good["point"].tolist(), good["replicate"].tolist()))
        keep = {(int(r["point"]), int(r["replicate"])): r for r in done.to_dict("records")}
        meta = dict(p.meta)
        meta.update(status="running", workers=workers, threads=threads, keep_runs=keep_runs)
        meta.update(executor="mpi" if executor is not None else "processes")
        _write_json(out / SWEEP_JSON, meta)
        todo: deque[dict[str, Any]] = deque()
        for t in p.tasks:
            key = (t["row"]["point"], t["row"]["replicate"])
            if key in ok:
                continue
            task = dict(t, threads=threads, attempt=1)
            task["keep"] = None
            if keep_runs:
                name = f"p{key[0]:04d}-r{key[1]}"
                task["keep"] = str(out / RUNS_DIR / name)
            todo.append(task)
        total = len(p.tasks)
        if on_start is not None:
            on_start(len(ok), total)
        if keep_runs:
            (out / RUNS_DIR).mkdir(exist_ok=True)
        slots: _Slots | _Shared = (
            _Slots(workers) if executor is None else _Shared(executor, workers)
        )
        t0 = time.perf_counter()
        n_new = 0
        running: dict[Future[Any], tuple[int, dict[str, Any]]] = {}
        free = list(range(slots.size))[::-1]
        try:
            while todo or running:
                while todo and free:
                    slot = free.pop()
                    task = todo.popleft()
                    running[slots.submit(slot, work, task)] = (slot, task)
                finished, _ = wait(list(running), return_when=FIRST_COMPLETED)
                for fut in finished:
                    slot, task = running.pop(fut)
                    free.append(slot)
                    try:
                        row = fut.result()
                    except BrokenProcessPool:
                        slots.broken(slot)
                        row = _failed(task, "the worker process died (killed or out of memory)")
                    except Exception as e:
                        row = _failed(task, f"{type(e).__name__}: {e}".splitlines()[0])
                    if row["status"] != "ok" and task["attempt"] < ATTEMPTS:
                        todo.appendleft(dict(task, attempt=task["attempt"] + 1))
                        continue
                    row["attempts"] = task["attempt"]
                    row["run_dir"] = (
                        str(Path(task["keep"]).relative_to(out)) if task["keep"] else ""
                    )
                    keep[(row["point"], row["replicate"])] = row
                    _write_parquet(out / SWEEP_PARQUET, _table(keep.values(), p.factors))
                    n_new += 1
                    if progress is not None:
                        el = time.perf_counter() - t0
                        progress(len(ok) + n_new, total, 60.0 * n_new / el if el else 0.0)
        except BaseException:
            slots.shutdown(kill=True)
            raise
        slots.shutdown()
        df = _table(keep.values(), p.factors)
        _write_parquet(out / SWEEP_PARQUET, df)
        failed = int((df["status"] != "ok").sum())
        meta.update(
            status="complete" if failed == 0 else "failed runs",
            done=int((df["status"] == "ok").sum()),
            failed=failed,
            wall_s=round(float(df["wall_s"].sum()), 3),
            elapsed_s=round(time.perf_counter() - t0, 3),
        )
        _write_json(out / SWEEP_JSON, meta)
        return df
    finally:
        lock.release()


def _failed(task: dict[str, Any], error: str) -> dict[str, Any]:
    row = dict(task["row"])
    row.update({m: math.nan for m in MEASURES})
    row.update(status="failed", error=error, wall_s=math.nan)
    return row


def _lock(out: Path) -> rundir.RunLock:
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise CredsimError(f"{out}: {e.strerror or e}") from None
    try:
        return rundir.RunLock(out)
    except rundir.RunDirError as e:
        raise CredsimError(str(e).replace("run directory", "sweep directory")) from None


def sweep(
    scenario: Any = "as-reported",
    vary: Sequence[str] | dict[str, Any] = (),
    replicates: int = 1,
    design: str = "grid",
    samples: int | None = None,
    agents: int | None = None,
    days: int | None = None,
    seed: int | None = None,
    overrides: Sequence[str] | None = None,
    out: str | Path | None = None,
    workers: int | None = None,
    threads: int | None = None,
    keep_runs: bool = False,
    force: bool = False,
) -> pd.DataFrame:
    """Run ``scenario`` at every point of a design and return one row per run.

    ``vary`` maps scenario keys to specs (``{"score.association_weight": "0:1:5"}`` or a
    list of values) or is a list of ``KEY=SPEC`` strings, as ``credsim sweep --vary``
    takes them. Every point runs with seeds ``seed, seed+1, ...`` (``replicates`` of
    them). With ``out`` the sweep is written there (and resumes there after an
    interruption); without, in a temporary directory that is removed."""
    if isinstance(vary, dict):
        vary = [
            f"{k}={','.join(str(x) for x in v) if isinstance(v, (list, tuple)) else v}"
            for k, v in vary.items()
        ]
    p = plan(scenario, vary, replicates, design, samples, agents, days, seed, overrides)
    if out is not None:
        return run_sweep(p, out, workers, threads, keep_runs, force)
    import tempfile

    with tempfile.TemporaryDirectory(prefix="credsim-sweep-") as tmp:
        df = run_sweep(p, tmp, workers, threads, keep_runs=False)
    df.attrs["sweep"] = {k: v for k, v in p.meta.items() if k != "base"}
    return df
