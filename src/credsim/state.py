"""The dynamic state of every agent (persistent columns) and the day columns that the
phases of one day hand to each other and to the recorder."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numba as nb
import numpy as np

from .constants import LF_RODE_TRAIN
from .rng import zeros

# Multipliers that only ever shrink (deterrence, chilling) are kept as 16-bit codes of
# their base-2 logarithm: the multiplier is 2 ** (-code / MULT_UNIT); code 0 is 1 and
# MULT_ZERO is 0 (a code that would pass 2**-16 saturates there). Multiplying by f adds
# round(-log2(f) * MULT_UNIT) to the code, the same integer step for every agent.
MULT_UNIT = 4096.0
MULT_ZERO = 65535


def mult_step(f: float) -> int:
    """The code step of a multiplication by f in [0, 1]."""
    if f <= 0.0:
        return MULT_ZERO
    return min(MULT_ZERO, int(round(-math.log2(f) * MULT_UNIT)))


@nb.njit(inline="always")
def mult_of(code):
    """The multiplier of a code."""
    if code == 0:
        return 1.0
    if code >= MULT_ZERO:
        return 0.0
    return math.exp(-float(code) * (math.log(2.0) / MULT_UNIT))


@nb.njit(inline="always")
def mult_times(code, step):
    """The code of (multiplier of code) x (multiplier of step)."""
    return min(np.int64(code) + step, MULT_ZERO)


def mult_values(codes: np.ndarray) -> np.ndarray:
    """Multipliers of an array of codes, as float32."""
    out = np.exp2(-codes.astype(np.float64) / MULT_UNIT)
    out[codes >= MULT_ZERO] = 0.0
    return out.astype(np.float32)


@dataclass(frozen=True)
class Column:
    """One column of the simulation, declared once by the phase that owns it (writes it):
    its name, dtype, starting value and meaning. The declarations drive allocation, the
    byte budget (and so the memory estimate) and what a checkpoint holds."""

    name: str
    dtype: str
    doc: str
    fill: float | str = 0  # the starting value, or the scenario key that gives it
    rows: int = 1  # more than 1: a [rows, agents] column
    per_agent: bool = True  # False: a list of the day's few events, empty at the start

    def allocate(self, n: int, fills: dict[str, float]) -> np.ndarray:
        v = fills[self.fill] if isinstance(self.fill, str) else self.fill
        if not self.per_agent:
            return np.zeros(0, self.dtype)
        shape = (self.rows, n) if self.rows > 1 else (n,)
        a = zeros(shape, self.dtype)  # (first written on every thread)
        if v != 0:
            a.fill(v)
        return a

    @property
    def bytes_per_agent(self) -> int:
        return np.dtype(self.dtype).itemsize * self.rows if self.per_agent else 0


class Columns:
    """Named columns (attributes), allocated from their declarations."""

    def __init__(self, decls: Sequence[Column], n: int, fills: dict[str, float] | None = None):
        names = [c.name for c in decls]
        if len(set(names)) != len(names):
            raise ValueError(f"columns declared twice: {sorted(set(names))}")
        self._decls = tuple(decls)
        for c in decls:
            setattr(self, c.name, c.allocate(n, fills or {}))

    def __getattr__(self, name: str) -> np.ndarray:  # for the type checker: columns
        raise AttributeError(f"{type(self).__name__} has no column '{name}'")

    def __setattr__(self, name: str, value: Any) -> None:  # a day's event lists are replaced
        object.__setattr__(self, name, value)

    @property
    def declarations(self) -> tuple[Column, ...]:
        return self._decls

    def arrays(self) -> dict[str, np.ndarray]:
        return {c.name: getattr(self, c.name) for c in self._decls}

    def nbytes(self) -> int:
        return sum(a.nbytes for a in self.arrays().values())


class State(Columns):
    """Persistent per-agent state, carried from day to day (the phases' state columns)."""

    @property
    def rode_train(self) -> np.ndarray:
        """bool: rode a train yesterday (a bit of lflags)."""
        return (self.lflags & LF_RODE_TRAIN) != 0

    @property
    def pend_kind(self) -> np.ndarray:
        """uint8: the pending case, CASE_* | CASE_FALSE_BIT (0: none)."""
        return self.case & 15

    @property
    def court_reason(self) -> np.ndarray:
        """uint8: the reason of the court listing, an index into COURT_REASONS."""
        return self.case >> 4


class Day(Columns):
    """What happened to each agent today (the phases' day columns); reset every day."""

    @property
    def misid(self) -> np.ndarray:
        """uint8: bit 0/1 = the agent's smoking/traffic offence was pinned on another."""
        return self.marks & 3

    @property
    def pen(self) -> np.ndarray:
        """uint8: bit c = penalised today in category c."""
        return self.marks >> 2
