"""Calibration: fit a scenario's parameters to dated targets (published figures) with
Optuna.

Each trial sets the parameters, runs the scenario with the same ``seeds`` as every other
trial (common random numbers) and scores the mean of the runs' simulated values against
the targets on their definitions (:mod:`credsim.validation`). The error is

    E = Σ_i w_i (ln(1 + sim_i) − ln(1 + published_i))² / Σ_i w_i

over the target rows dated up to ``until`` (weights ``w_i`` from a ``weight`` column of
the target file, else 1): a squared error of log ratios, so that a series of thousands
and one of millions weigh alike, and exp(√E) − 1 is a typical relative error. The study
lives in ``OUT/study.db`` (SQLite): a calibration resumes after an interruption, and its
trials run on worker processes, several at once."""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from . import rundir
from .errors import CredsimError
from .scenario import build_scenario, resolve
from .sim import cores
from .sweep import Factor, _watch_parent, collect, parse_vary, set_value
from .validation import (
    check_period,
    load_targets,
    series,
    target_values,
    validate,
)

STUDY = "study.db"
WORKER_RUNS = 8  # runs a worker process makes before a fresh one takes over
CALIBRATION_FILES = ("study.db", "calibration.json", "best.toml", "fit.csv", "trials.csv")


def error(sim: np.ndarray, published: np.ndarray, weights: np.ndarray) -> float:
    """The weighted mean squared log ratio of simulated to published values."""
    d = np.log1p(np.maximum(sim, 0.0)) - np.log1p(published)
    return float(np.sum(weights * d * d) / np.sum(weights))


def evaluate(task: dict[str, Any]) -> list[float]:
    """In a worker: run ``task["scenario"]`` and return each target row's simulated
    value (the rows of ``task["targets"]``)."""
    from .sim import Sim, use_threads

    use_threads(task["threads"])
    sim = Sim(task["scenario"], record_ledger=False)
    res = sim.run()
    tg = pd.DataFrame(task["targets"])
    tg["date"] = [dt.date.fromisoformat(d) for d in tg["date"]]
    start = dt.date.fromisoformat(str(task["start"]))
    sims = {f: series(res, f) for f in set(tg["figure"])}
    out = [float(v) for v in target_values(tg, sims, start, int(res.meta["days"]))]
    del sim, res
    collect()
    return out


@dataclass
class Calibration:
    """The outcome of :func:`calibrate`: the best parameters and their error, the fit
    table of the best trial (every target, ``fitted`` marking those up to ``until``),
    every trial, and Optuna's parameter importances."""

    best: dict[str, float]
    error: float
    table: pd.DataFrame
    trials: pd.DataFrame
    importances: dict[str, float]
    out: Path
    meta: dict[str, Any] = field(default_factory=dict)

    def __repr__(self) -> str:
        best = ", ".join(f"{k}={v:.6g}" for k, v in self.best.items())
        return (
            f"Calibration(best {best}; error {self.error:.4g} over "
            f"{len(self.trials)} trials)\n"
            + self.table[
                ["date", "figure", "published", "simulated", "rel_error", "fitted"]
            ].to_string(index=False)
        )


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, (dt.date, str)):
        return json.dumps(str(v)) if isinstance(v, str) else v.isoformat()
    if isinstance(v, list):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{k} = {_toml_value(x)}" for k, x in v.items()) + " }"
    raise TypeError(f"cannot write {v!r} as TOML")


def to_toml(data: dict[str, Any], prefix: str = "", defaults: Any = None) -> str:
    """A scenario dict as TOML (tables for sections, inline tables for schedules). A
    value of None is left out where the default is None too, else written ``false``
    (a rule switched off)."""
    if defaults is None and not prefix:
        from .scenario import Scenario

        defaults = Scenario().model_dump(mode="json")
    defaults = defaults if isinstance(defaults, dict) else {}
    scalars, tables = [], []
    for k, v in data.items():
        if isinstance(v, dict) and set(v) != {"days", "values"}:
            tables.append((k, v))
        elif v is None:
            if defaults.get(k) is not None:
                scalars.append(f"{k} = false")
        else:
            scalars.append(f"{k} = {_toml_value(v)}")
    out = ""
    if scalars:
        out += (f"[{prefix}]\n" if prefix else "") + "\n".join(scalars) + "\n\n"
    for k, v in tables:
        out += to_toml(v, f"{prefix}.{k}" if prefix else k, defaults.get(k))
    return out


def _distribution(f: Factor) -> Any:
    import optuna

    if f.integer:
        return optuna.distributions.IntDistribution(int(f.lo), int(f.hi), log=f.log)
    return optuna.distributions.FloatDistribution(f.lo, f.hi, log=f.log)


Progress = Callable[[int, int, float], None]


def calibrate(
    scenario: Any,
    params: Sequence[str],
    targets: str | Path | pd.DataFrame | None = None,
    trials: int = 50,
    seeds: int = 2,
    until: str | dt.date | None = None,
    agents: int | None = None,
    days: int | None = None,
    seed: int | None = None,
    overrides: Sequence[str] | None = None,
    out: str | Path = "calibrations/calibration",
    workers: int | None = None,
    force: bool = False,
    progress: Progress | None = None,
    command: str = "",
) -> Calibration:
    """Fit ``params`` (``KEY=lo:hi`` or ``KEY=lo:hi:log``; ``KEY[I]`` for a schedule's
    I-th value) of ``scenario`` to ``targets`` (default: the shipped published figures
    and travel volumes) with ``trials`` Optuna trials, each the mean of ``seeds`` runs
    (seeds seed, seed+1, ...). Only targets dated up to ``until`` count in the error.
    Writes ``out``: the study, ``best.toml`` (a scenario ``credsim run`` takes),
    ``fit.csv``, ``trials.csv``, ``calibration.json`` and the fit's page and figures
    (from the best parameters run again with the same seeds)."""
    import optuna

    out = Path(out)
    if trials < 1:
        raise CredsimError(f"--trials {trials}: must be at least 1")
    if seeds < 1:
        raise CredsimError(f"--seeds {seeds}: must be at least 1")
    scn = resolve(scenario, list(overrides or []), agents, days, seed)
    base = scn.model_dump(mode="json")
    start = scn.run.start_date
    if start is None:
        raise CredsimError(
            f"calibrate: {scn.origin} has no start date (run.start_date): targets are dated "
            "(--set run.start_date=YYYY-MM-DD)"
        )
    tg, where = load_targets(targets)
    w = (
        tg["weight"].to_numpy(np.float64)
        if "weight" in tg.columns
        else np.ones(len(tg), np.float64)
    )
    check_period(tg, start, scn.run.days, where)
    if until is not None:
        try:
            cut = until if isinstance(until, dt.date) else dt.date.fromisoformat(str(until))
        except ValueError:
            raise CredsimError(f"--until {until}: not a date YYYY-MM-DD") from None
        fitted = np.array([d <= cut for d in tg["date"]])
        if not fitted.any():
            raise CredsimError(f"--until {cut}: no target is dated on or before it")
    else:
        fitted = np.ones(len(tg), np.bool_)
    if not params:
        raise CredsimError("calibrate: nothing to fit (give --param KEY=lo:hi[:log])")
    factors = [parse_vary(p, "lhs", base, "--param") for p in params]
    for f in factors:
        if f.boolean:
            raise CredsimError(f"--param {f.key}: a switch cannot be fitted")
    seed0 = scn.run.seed
    seed_list = [seed0 + k for k in range(seeds)]
    spec = {
        "scenario": scn.name,
        "base": base,
        "params": [f.to_json() for f in factors],
        "targets": tg.assign(date=tg["date"].astype(str)).to_dict("records"),
        "weights": w.tolist(),
        "fitted": fitted.tolist(),
        "seeds": seed_list,
    }
    out.mkdir(parents=True, exist_ok=True)
    db = out / STUDY
    if force:
        for name in CALIBRATION_FILES:
            (out / name).unlink(missing_ok=True)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    storage = f"sqlite:///{db}"
    sampler = optuna.samplers.TPESampler(seed=seed0)
    fresh = not db.exists()
    study = optuna.create_study(
        study_name="calibration",
        storage=storage,
        load_if_exists=True,
        direction="minimize",
        sampler=sampler,
    )
    if fresh:
        study.set_user_attr("spec", json.loads(json.dumps(spec, default=str)))
    elif study.user_attrs.get("spec") != json.loads(json.dumps(spec, default=str)):
        raise CredsimError(
            f"calibrate: {out} holds another calibration (scenario, parameters, targets or "
            "seeds differ): use --force to start over, or --out DIR"
        )
    for t in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,)):
        study.tell(t.number, state=optuna.trial.TrialState.FAIL)  # cut short last time
    dists = {f.key: _distribution(f) for f in factors}
    done = len(study.get_trials(states=(optuna.trial.TrialState.COMPLETE,)))
    n_workers = workers or cores()
    threads = max(1, cores() // n_workers)
    import multiprocessing as mp

    pool = ProcessPoolExecutor(
        n_workers,
        mp_context=mp.get_context("spawn"),
        initializer=_watch_parent,
        max_tasks_per_child=WORKER_RUNS,
    )
    targets_rec = [{**r, "date": str(r["date"])} for r in tg.to_dict("records")]
    published = tg["value"].to_numpy(np.float64)
    running: dict[Future[Any], tuple[int, int]] = {}
    asked: dict[int, tuple[Any, list[list[float] | None]]] = {}
    failures = 0
    try:
        while done < trials:
            while len(asked) * seeds < n_workers + seeds and done + len(asked) < trials:
                trial = study.ask(dists)
                data = json.loads(json.dumps(base))
                for f in factors:
                    set_value(data, f, float(trial.params[f.key]))
                build_scenario(data, scn.origin)  # in range, by the distributions
                asked[trial.number] = (trial, [None] * seeds)
                for k, s in enumerate(seed_list):
                    d = json.loads(json.dumps(data))
                    d["run"]["seed"] = s
                    task = {
                        "scenario": d,
                        "targets": targets_rec,
                        "start": str(start),
                        "threads": threads,
                    }
                    running[pool.submit(evaluate, task)] = (trial.number, k)
            finished, _ = wait(list(running), return_when=FIRST_COMPLETED)
            for fut in finished:
                num, k = running.pop(fut)
                if num not in asked:
                    continue  # its trial failed already
                trial, vals = asked[num]
                try:
                    vals[k] = fut.result()
                except Exception as e:
                    failures += 1
                    trial.set_user_attr("error", f"{type(e).__name__}: {e}".splitlines()[0])
                    study.tell(trial, state=optuna.trial.TrialState.FAIL)
                    del asked[num]
                    if failures > max(3, trials // 2):
                        raise CredsimError(
                            f"calibrate: {failures} trials failed (the last: "
                            f"{type(e).__name__}: {e})".splitlines()[0]
                        ) from None
                    continue
                if all(v is not None for v in vals):
                    sim = np.mean(np.array(vals, np.float64), axis=0)
                    err = error(sim[fitted], published[fitted], w[fitted])
                    trial.set_user_attr("simulated", sim.tolist())
                    study.tell(trial, err)
                    del asked[num]
                    done += 1
                    if progress is not None:
                        progress(done, trials, study.best_value)
    except BaseException:
        for p in list((getattr(pool, "_processes", None) or {}).values()):
            p.terminate()  # the runs in flight end now (Ctrl-C, a failure)
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown()
    return _finish(study, out, scn, base, factors, tg, fitted, seed_list, command, start)


def _finish(
    study: Any,
    out: Path,
    scn: Any,
    base: dict[str, Any],
    factors: list[Factor],
    tg: pd.DataFrame,
    fitted: np.ndarray,
    seed_list: list[int],
    command: str,
    start: dt.date,
) -> Calibration:
    import optuna

    best = study.best_trial
    params = {f.key: float(best.params[f.key]) for f in factors}
    data = json.loads(json.dumps(base))
    for f in factors:
        set_value(data, f, params[f.key])
    data["name"] = f"{scn.name}-calibrated"
    data["description"] = (
        f"{scn.name} calibrated: {', '.join(f'{k} = {v:.6g}' for k, v in params.items())}"
    )[:500]
    head = (
        f"# {scn.name} with the best parameters of {len(study.trials)} trials (error "
        f"{best.value:.6g})\n# {command}\n"
    )
    toml = (head + to_toml(data)).encode()
    rundir.atomic_write(out / "best.toml", lambda fh: fh.write(toml))
    sim = np.array(best.user_attrs["simulated"], np.float64)
    pub = tg["value"].to_numpy(np.float64)
    table = pd.DataFrame(
        {
            "date": tg["date"],
            "figure": tg["figure"],
            "published": pub,
            "simulated": sim,
            "rel_error": np.where(pub > 0, sim / np.where(pub > 0, pub, 1) - 1, math.nan),
            "fitted": fitted,
        }
    )
    table.to_csv(out / "fit.csv", index=False)
    trials_df = study.trials_dataframe(attrs=("number", "value", "params", "state", "duration"))
    trials_df.to_csv(out / "trials.csv", index=False)
    complete = study.get_trials(states=(optuna.trial.TrialState.COMPLETE,))
    importances: dict[str, float] = {}
    if len(complete) >= 2 and len(factors) >= 2:
        try:
            importances = {
                k: float(v) for k, v in optuna.importance.get_param_importances(study).items()
            }
        except (RuntimeError, ValueError):
            importances = {}
    elif len(factors) == 1:
        importances = {factors[0].key: 1.0}
    meta = {
        "kind": "credsim calibration",
        "command": command,
        "scenario": scn.name,
        "start": str(start),
        "params": [f.to_json() for f in factors],
        "best": params,
        "error": best.value,
        "typical_relative_error": math.expm1(math.sqrt(best.value)),
        "trials": len(complete),
        "seeds": seed_list,
        "importances": importances,
    }
    text = json.dumps(meta, indent=1, default=str).encode()
    rundir.atomic_write(out / "calibration.json", lambda fh: fh.write(text))
    return Calibration(params, float(best.value), table, trials_df, importances, out, meta)


def fit_runs(cal: Calibration, targets: Any = None, workers: int | None = None) -> Path:
    """Run the best scenario with the calibration's seeds into ``OUT/runs/seed-S`` and
    write the fit's page and figures (``validation.html``) into ``OUT``."""
    from .sim import Sim

    paths = []
    for s in cal.meta["seeds"]:
        p = cal.out / "runs" / f"seed-{s}"
        Sim(str(cal.out / "best.toml"), seed=s, record_ledger=False).run(
            out=p, force=True, checkpoint_every=0
        )
        paths.append(p)
    v = validate(paths, targets)
    return v.save(cal.out, csv=cal.out / "validation.csv", force=True)
