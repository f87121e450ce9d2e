"""Sim: builds the population and network, runs the day loop phase by phase, keeps the
wall time of each phase, and hands the result to results.py."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from .constants import ADULT, CHILD
from .network import FriendGraph, build_network
from .phases import ORDER
from .phases.base import Phase
from .population import Population, build_population
from .recorder import Recorder
from .scenario import DayParams, Scenario, load_scenario
from .state import Day, State


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
        scn = build_scenario(data, f"scenario '{scn.name}'")
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
        self.cut_cutter = self.cut_other = np.zeros(0, np.int64)

    # --------------------------------------------------------------------------------
    def build(self) -> None:
        """Population, network, state and recorder; O(agents + edges)."""
        if self.built:
            return
        scn = self.scenario
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
            scored = self.pop.platform.copy()
        self.state = State.new(self.n, scn.score.base, scored)
        self.day = Day.new(self.n)
        self.tracked = np.zeros(self.n, np.bool_)
        k = min(scn.record.tracked, self.n)
        if k:
            self.tracked[np.unique(np.linspace(0, self.n - 1, k).astype(np.int64))] = True
        self.recorder = Recorder(self)
        # the first day's tiers from the starting scores (used before any score phase)
        from .phases.score import score_kernel
        score_kernel(self.state.scored, self.state.own, self.state.assoc, scn.score.base,
                     scn.score.min, scn.score.max, self.params.tier_bounds[0],
                     self.state.score, self.state.tier)
        self.built = True

    def step(self) -> None:
        """Run one day, every phase in order."""
        day = self.day_done
        for ph in self.phases:
            t = time.perf_counter()
            ph.run(day)
            self.timings[ph.name] += time.perf_counter() - t
        self.day_done += 1

    def run(self, out: str | Path | None = None,
            progress: Callable[[int, int], None] | None = None, force: bool = False) -> Any:
        """Run every day; return a Result (written to ``out`` if given)."""
        from .results import Result

        self.build()
        while self.day_done < self.days:
            self.step()
            if progress is not None:
                progress(self.day_done, self.days)
        res = Result.from_sim(self)
        if out is not None:
            res.save(out, force=force)
        return res

    @property
    def phase_names(self) -> list[str]:
        return [p.name for p in self.phases]

    def memory_bytes(self) -> dict[str, int]:
        """Bytes held by the simulation state (columns and network)."""
        return {"population": self.pop.nbytes(), "network": self.graph.nbytes(),
                "state": self.state.nbytes(), "day": self.day.nbytes()}


__all__ = ["Sim", "ADULT"]
