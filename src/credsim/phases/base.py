"""What every phase holds: the simulation it belongs to."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..sim import Sim
    from ..state import Column


class Phase:
    """A phase of the day: holds its parameters and calls its kernels. Each phase declares
    what it owns: its scenario section and the columns it writes (persistent state and
    the day's columns); the simulation allocates, budgets and checkpoints them from these
    declarations."""

    name = "phase"
    section = ""  # the scenario section of its parameters
    state_columns: tuple[Column, ...] = ()
    day_columns: tuple[Column, ...] = ()

    def __init__(self, sim: Sim):
        self.sim = sim

    def run(self, day: int) -> None:  # pragma: no cover - interface
        raise NotImplementedError
