"""The phases of a day, one module each, in the model's order (docs/model.md)."""

from ..state import Column
from .behave import Behave
from .listing import List
from .observe import Observe
from .record import Record
from .respond import Respond
from .score import Score
from .services import Services

ORDER = (Behave, Observe, Score, List, Services, Respond, Record)


def state_columns() -> list[Column]:
    """The persistent columns the phases declare, in the day's order."""
    return [c for ph in ORDER for c in ph.state_columns]


def day_columns() -> list[Column]:
    """The day columns the phases declare, in the day's order."""
    return [c for ph in ORDER for c in ph.day_columns]


def column_bytes() -> tuple[int, int]:
    """Bytes an agent of the declared state and day columns."""
    return (
        sum(c.bytes_per_agent for c in state_columns()),
        sum(c.bytes_per_agent for c in day_columns()),
    )


__all__ = [
    "ORDER",
    "column_bytes",
    "day_columns",
    "state_columns",
    "Behave",
    "Observe",
    "Score",
    "List",
    "Services",
    "Respond",
    "Record",
]
