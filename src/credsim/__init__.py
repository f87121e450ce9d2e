"""credsim: a simulator of social credit systems on synthetic populations.

credsim never scores real people: it has no interface for real identities, biometrics
or enforcement. Everything it simulates is a synthetic population."""

from . import _cache  # noqa: F401  (first: Numba's cache directory, before any kernel)
from .calibrate import calibrate as calibrate
from .compare import compare as compare
from .results import Result, __version__, load_run
from .scenario import PRESETS, Scenario, load_scenario
from .sensitivity import sensitivity as sensitivity
from .sim import Sim
from .sweep import sweep as sweep
from .validation import validate as validate

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
    "validate",
    "calibrate",
    "__version__",
]
