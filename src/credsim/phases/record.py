"""Phase 7, record: the day's aggregates by cell (region x urban x age group x sex), the
score histogram by group, service outcomes by tier and listing status, and the ledger
rows of the day. The phase declares what only it counts; the counting kernels are the
recorder's (recorder.py)."""

from __future__ import annotations

from .base import Phase


class Record(Phase):
    """Counts the day into preallocated arrays held by the simulation's recorder."""

    name = "record"
    section = "record"
    state_columns = ()
    day_columns = ()
    metrics = ("speakers", "rumours_of_speakers", "agents")

    def run(self, day: int) -> None:
        self.sim.recorder.record(day)
