"""credsim: a simulator of social credit systems on synthetic populations.

credsim never scores real people: it has no interface for real identities, biometrics
or enforcement. Everything it simulates is a synthetic population."""

from .compare import compare as compare
from .results import Result, __version__, load_run
from .scenario import PRESETS, Scenario, load_scenario
from .sensitivity import sensitivity as sensitivity
from .sim import Sim
from .sweep import sweep as sweep

__all__ = [
    "Sim",
    "Scenario",
    "Result",
    "load_run",
    "load_scenario",
    "PRESETS",
    "compare",
    "sweep",
    "sensitivity",
    "__version__",
]
