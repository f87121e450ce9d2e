"""The phases of a day, one module each, in the model's order (docs/model.md)."""

from .behave import Behave
from .listing import List
from .observe import Observe
from .record import Record
from .respond import Respond
from .score import Score
from .services import Services

ORDER = (Behave, Observe, Score, List, Services, Respond, Record)

__all__ = ["ORDER", "Behave", "Observe", "Score", "List", "Services", "Respond", "Record"]
