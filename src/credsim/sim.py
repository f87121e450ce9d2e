"""Sim: builds the population and network, runs the day loop phase by phase, keeps the
wall time of each phase, and hands the result to results.py."""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from . import resources
from .constants import CHILD
from .errors import CredsimError, RunDirError
from .network import FriendGraph, build_network
from .phases import ORDER
from .phases.base import Phase
from .population import Population, build_population
from .recorder import Recorder
from .scenario import DayParams, Scenario, load_scenario
from .state import Day, State

CHECKPOINT = "checkpoint.npz"
DEFAULT_CHECKPOINT_EVERY = 30  # days, when a run writes a run directory


class Interrupted(CredsimError):
    """The run stopped at the end of a day on request; a checkpoint was written."""

    exit_code = 130


def prepare_out(out: Path, force: bool) -> None:
    """Refuse to overwrite an existing run directory unless forced (then clear it)."""
    if out.exists() and not out.is_dir():
        raise RunDirError(f"{out}: exists and is not a directory")
    if out.exists() and any(out.iterdir()):
        if not force:
            if (out / CHECKPOINT).exists():
                raise RunDirError(f"{out}: holds an interrupted run: resume it with "
                                  f"'credsim run --resume {out}', or use --force to start over")
            raise RunDirError(f"{out}: run directory exists and is not empty "
                              f"(use --force to overwrite, or --out another directory)")
        shutil.rmtree(out)


def _atomic_write(path: Path, write: Callable[[Any], None]) -> None:
    """Write through a temporary file, sync it, then rename it into place."""
    tmp = path.with_name("." + path.name + ".tmp")
    with open(tmp, "wb") as fh:
        write(fh)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    _fsync_dir(path.parent)


def _fsync_dir(d: Path) -> None:
    try:
        fd = os.open(d, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


class Sim:
    """One simulation: ``Sim("as-reported", agents=100_000, days=365, seed=1).run()``.

    ``scenario`` is a preset name, a TOML file, a dict or a Scenario; ``overrides`` are
    ``key=value`` strings. ``agents``, ``days`` and ``seed`` default to the scenario's."""

    def __init__(self, scenario: str | Path | dict[str, Any] | Scenario = "as-reported",
                 agents: int | None = None, days: int | None = None, seed: int | None = None,
                 overrides: list[str] | None = None, record_ledger: bool = True):
        scn = load_scenario(scenario, overrides)
        # the resolved scenario carries the run's size, horizon and seed
        data = scn.model_dump()
        if agents is not None:
            data["population"]["agents"] = agents
        if days is not None:
            data["run"]["days"] = days
        if seed is not None:
            data["run"]["seed"] = seed
        from .scenario import build_scenario
        scn = build_scenario(data, scn.origin)
        self.scenario = scn
        self.n = scn.population.agents
        self.days = scn.run.days
        self.seed = scn.run.seed
        scn.check_horizon(self.days)
        self.record_ledger = record_ledger
        self.phases: list[Phase] = [cls(self) for cls in ORDER]
        self.timings: dict[str, float] = {"build_population": 0.0, "build_network": 0.0}
        self.timings.update({p.name: 0.0 for p in self.phases})
        self.day_done = 0
        self.built = False
        self.stop_requested = False
        self.out: Path | None = None
        self.cut_cutter = self.cut_other = np.zeros(0, np.int64)

    def estimate(self) -> resources.Estimate:
        """Memory and disk this run needs (before anything is allocated)."""
        scn = self.scenario
        n_regions = 1 if scn.population.single_region else 31
        return resources.estimate(self.n, scn.network.mean_degree, self.days,
                                  n_cells=12 * n_regions,
                                  score_bins=int(scn.score.max - scn.score.min) + 1,
                                  ledger=self.record_ledger)

    # --------------------------------------------------------------------------------
    def build(self) -> None:
        """Population, network, state and recorder; O(agents + edges)."""
        if self.built:
            return
        scn = self.scenario
        resources.check(self.estimate(), self.n, scn.network.mean_degree, self.out)
        t = time.perf_counter()
        self.pop: Population = build_population(scn.population, self.n, self.seed)
        self.timings["build_population"] = time.perf_counter() - t
        t = time.perf_counter()
        self.graph: FriendGraph = build_network(self.pop, scn.network, self.seed)
        self.timings["build_network"] = time.perf_counter() - t
        self.params = DayParams(scn, self.days)
        who = scn.score.scored
        if who == "everyone":
            scored = np.ones(self.n, np.bool_)
        elif who == "adults_elders":
            scored = self.pop.age != CHILD
        else:
            scored = self.pop.platform
        self.state = State.new(self.n, scn.score.base, scored)
        self.day = Day.new(self.n)
        self.tracked = np.zeros(self.n, np.bool_)
        k = min(scn.record.tracked, self.n)
        if k:
            self.tracked[np.unique(np.linspace(0, self.n - 1, k).astype(np.int64))] = True
        self.recorder = Recorder(self)
        # association is kept up to date only where a weight is ever positive
        self.association_on = bool((self.params["score.association_weight"] > 0).any())
        self.sync_friend_sums()
        # the first day's tiers from the starting scores (used before any score phase)
        from .phases.score import score_kernel
        score_kernel(self.state.scored, self.state.own, self.state.assoc, scn.score.base,
                     scn.score.min, scn.score.max, self.params.tier_bounds[0],
                     self.state.score, self.state.tier)
        self.built = True

    def sync_friend_sums(self) -> None:
        """Recompute each agent's sum and count of active scored friends' ledgers from
        scratch (done at build; call it after editing ledgers or edges by hand)."""
        from .phases.score import friend_sums_kernel
        g, st = self.graph, self.state
        friend_sums_kernel(g.indptr, g.nbr, g.active, st.scored, st.own, st.fsum, st.fcnt)

    def step(self) -> None:
        """Run one day, every phase in order."""
        day = self.day_done
        for ph in self.phases:
            t = time.perf_counter()
            ph.run(day)
            self.timings[ph.name] += time.perf_counter() - t
        self.day_done += 1

    def run(self, out: str | Path | None = None,
            progress: Callable[[int, int], None] | None = None, force: bool = False,
            checkpoint_every: int | None = None) -> Any:
        """Run the remaining days; return a Result, written to ``out`` if given.

        With ``out``, a checkpoint is written atomically every ``checkpoint_every`` days
        (default 30; 0 for none) and when a stop is requested (``stop_requested``, set by
        the CLI on Ctrl-C): the run then raises Interrupted and resumes with
        :meth:`resume`. An existing run directory is replaced only with ``force``."""
        from .results import Result

        if out is not None:
            out = Path(out)
            if self.out != out:  # a fresh run (a resumed one already owns its directory)
                prepare_out(out, force)
            self.out = out
        self.build()
        every = DEFAULT_CHECKPOINT_EVERY if checkpoint_every is None else checkpoint_every
        while self.day_done < self.days:
            self.step()
            if progress is not None:
                progress(self.day_done, self.days)
            if self.stop_requested and self.day_done < self.days:
                if self.out is None:
                    raise Interrupted(f"interrupted at the end of day {self.day_done - 1}")
                self.checkpoint(self.out)
                raise Interrupted(
                    f"interrupted at the end of day {self.day_done - 1} of {self.days}; "
                    f"checkpoint written: resume with 'credsim run --resume {self.out}'")
            if (self.out is not None and every and self.day_done % every == 0
                    and self.day_done < self.days):
                self.checkpoint(self.out)
        res = Result.from_sim(self)
        self.recorder.close()
        if self.out is not None:
            res.save(self.out, force=True)
            (self.out / CHECKPOINT).unlink(missing_ok=True)
        return res

    # --------------------------------------------------------------------------------
    # Checkpoints

    def checkpoint(self, out: str | Path) -> Path:
        """Write the whole dynamic state atomically to ``out/checkpoint.npz``. The
        population and network structure are rebuilt from the seed on resume."""
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        t = time.perf_counter()
        d = self.day_done
        rec = self.recorder
        arrays: dict[str, np.ndarray] = {f"state.{k}": v for k, v in self.state.arrays().items()}
        arrays["graph.active"] = self.graph.active
        for k in ("cells", "score_sum", "hist", "svc", "edges_active"):
            arrays[f"rec.{k}"] = getattr(rec, k)[:d]
        self.timings["checkpoint"] = self.timings.get("checkpoint", 0.0)
        meta = {"scenario": self.scenario.model_dump(mode="json"), "day_done": d,
                "ledger_rows": rec.sync(),
                "record_ledger": self.record_ledger, "timings": self.timings,
                "agents": self.n, "days": self.days, "seed": self.seed}
        arrays["meta"] = np.frombuffer(json.dumps(meta).encode(), np.uint8)
        path = out / CHECKPOINT
        _atomic_write(path, lambda fh: np.savez(fh, **arrays))
        self.timings["checkpoint"] += time.perf_counter() - t
        return path

    @classmethod
    def resume(cls, out: str | Path) -> Sim:
        """The simulation saved in ``out/checkpoint.npz``, ready to run on."""
        out = Path(out)
        path = out / CHECKPOINT
        if not path.exists():
            if (out / "run.json").exists():
                raise RunDirError(f"{out}: the run is complete; nothing to resume")
            raise RunDirError(f"{out}: no checkpoint to resume from ({CHECKPOINT} missing)")
        try:
            z = np.load(path)
            meta = json.loads(bytes(z["meta"]).decode())
            arrays = {k: z[k] for k in z.files if k != "meta"}
        except Exception as e:  # a damaged file: say so in one line
            raise RunDirError(f"{path}: corrupted checkpoint ({type(e).__name__}: {e})") from None
        sim = cls(meta["scenario"], record_ledger=meta["record_ledger"])
        sim.out = out
        sim.build()
        for k, v in sim.state.arrays().items():
            v[...] = arrays[f"state.{k}"]
        sim.graph.active[:] = arrays["graph.active"]
        d = int(meta["day_done"])
        rec = sim.recorder
        for k in ("cells", "score_sum", "hist", "svc", "edges_active"):
            getattr(rec, k)[:d] = arrays[f"rec.{k}"]
        rec.truncate(int(meta["ledger_rows"]))
        rec.active_edges = int(rec.edges_active[d - 1]) if d else rec.active_edges
        sim.day_done = d
        for k, v in meta["timings"].items():
            sim.timings[k] = v
        return sim

    @property
    def phase_names(self) -> list[str]:
        return [p.name for p in self.phases]

    def memory_bytes(self) -> dict[str, int]:
        """Bytes held by the simulation state (columns and network)."""
        return {"population": self.pop.nbytes(), "network": self.graph.nbytes(),
                "state": self.state.nbytes(), "day": self.day.nbytes()}

