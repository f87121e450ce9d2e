"""credsim: a simulator of social credit systems on synthetic populations.

credsim never scores real people: it has no interface for real identities, biometrics
or enforcement. Everything it simulates is a synthetic population."""

from importlib import import_module
from typing import TYPE_CHECKING, Any

from . import _cache  # noqa: F401  (first: Numba's cache directory, before any kernel)
from .results import Result, __version__, load_run
from .scenario import PRESETS, Scenario, load_scenario
from .sim import Sim

if TYPE_CHECKING:
    from .calibrate import calibrate
    from .compare import compare
    from .sensitivity import sensitivity
    from .sweep import sweep
    from .validation import validate

# the analyses import SciPy, pandas and more: loaded when first used, so that a run (and
# each process that compiles or runs one) starts without them
_LAZY = {
    "calibrate": "calibrate",
    "compare": "compare",
    "sensitivity": "sensitivity",
    "sweep": "sweep",
    "validate": "validation",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


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
