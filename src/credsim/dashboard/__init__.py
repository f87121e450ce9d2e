"""credsim's web page (Dash): explore a design with sliders, compare two designs with
common random numbers, open a finished run and one agent's story."""

from .app import make_app as make_app
from .app import serve as serve

__all__ = ["make_app", "serve"]
