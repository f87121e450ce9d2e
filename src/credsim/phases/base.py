"""What every phase holds: the simulation it belongs to."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..sim import Sim


class Phase:
    """A phase of the day: holds its parameters and calls its kernels."""

    name = "phase"

    def __init__(self, sim: Sim):
        self.sim = sim

    def run(self, day: int) -> None:  # pragma: no cover - interface
        raise NotImplementedError
