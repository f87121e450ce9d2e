"""What every phase holds: the simulation it belongs to."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..sim import Sim
    from ..state import Column


class Phase:
    """A phase of the day: holds its parameters and calls its kernels. Each phase declares
    what it owns: its scenario section, the columns it writes (persistent state and the
    day's columns) and its metrics; the simulation allocates, budgets and checkpoints the
    columns, and the output schema is assembled from the metrics (schema.py)."""

    name = "phase"
    section = ""  # the scenario section of its parameters
    state_columns: tuple[Column, ...] = ()
    day_columns: tuple[Column, ...] = ()
    # the metrics it is counted by (int counts per cell and day, in the daily and groups
    # tables), and those of them the record phase counts by testing a bit of a column:
    # (column, mask, metric), counted once when (column & mask) != 0
    metrics: tuple[str, ...] = ()
    counts: tuple[tuple[str, int, str], ...] = ()

    def __init__(self, sim: Sim):
        self.sim = sim

    def run(self, day: int) -> None:  # pragma: no cover - interface
        raise NotImplementedError

    def warm_up(self) -> None:
        """Set this phase's inputs, on a throwaway simulation before its first day, so
        that ``run`` calls every kernel it has (the warm-up compiles them before a run
        needs them). Most phases call all of theirs on any day."""
