"""The dynamic state of every agent (persistent columns) and the day columns that the
phases of one day hand to each other and to the recorder."""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

import numba as nb
import numpy as np

from .constants import LF_RODE_TRAIN

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


@dataclass
class State:
    """Persistent per-agent state, carried from day to day."""

    own: np.ndarray  # float32: personal ledger (decays)
    own_false: np.ndarray  # float32: the part of own due to false events
    assoc: np.ndarray  # float32: association term of today's score
    fsum: np.ndarray  # float32: sum of own over active scored friends (kept up to date)
    fcnt: np.ndarray  # uint16: number of active scored friends
    score: np.ndarray  # float32
    tier: np.ndarray  # uint8 (TIER_* codes; TIER_NONE for the unscored)
    scored: np.ndarray  # bool
    deter: np.ndarray  # uint16 [3, N]: public, financial, speech multipliers (codes)
    chill: np.ndarray  # uint16: speech-rate multiplier from friends' speech listings (code)
    pend_day: np.ndarray  # int16: day a pending judgment lands (-1: none)
    case: np.ndarray  # uint8: bits 0-3 the pending case (CASE_* | CASE_FALSE_BIT), 4-6 the
    # reason of the court listing (index into COURT_REASONS)
    court_until: np.ndarray  # int16: last day of the court listing (-1: none)
    lflags: np.ndarray  # uint8: LF_* bits

    @classmethod
    def new(cls, n: int, base: float, scored: np.ndarray) -> State:
        return cls(
            own=np.zeros(n, np.float32), own_false=np.zeros(n, np.float32),
            assoc=np.zeros(n, np.float32), fsum=np.zeros(n, np.float32),
            fcnt=np.zeros(n, np.uint16), score=np.full(n, base, np.float32),
            tier=np.zeros(n, np.uint8), scored=scored,
            deter=np.zeros((3, n), np.uint16), chill=np.zeros(n, np.uint16),
            pend_day=np.full(n, -1, np.int16),
            case=np.zeros(n, np.uint8), court_until=np.full(n, -1, np.int16),
            lflags=np.zeros(n, np.uint8))

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

    def arrays(self) -> dict[str, np.ndarray]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def nbytes(self) -> int:
        return sum(a.nbytes for a in self.arrays().values())


@dataclass
class Day:
    """What happened to each agent today; reset at the start of every day."""

    true_ev: np.ndarray  # uint16: bit t = a true event of type t (bit 9: false-flagged post)
    obs: np.ndarray  # uint16: observed events attributed to the agent rightly (bit 9: false flag)
    marks: np.ndarray  # uint8: bits 0/1 = the agent's smoking/traffic offence was pinned on
    # another (set by observe); bits 2-4 = penalised today in category 0-2 (set by score)
    court: np.ndarray  # uint8: DC_* bits
    delta: np.ndarray  # float32: today's change of own beyond decay (pushed to friends)
    lst: np.ndarray  # uint16: DL_* bits
    svc_req: np.ndarray  # uint16: bit s = requested service s
    svc_out: np.ndarray  # uint32: 2 bits per service, the outcome code
    posts: np.ndarray  # uint16
    # False events received (the few misidentified camera events), filled by observe
    false_target: np.ndarray  # int32
    false_type: np.ndarray  # uint8
    false_source: np.ndarray  # int32: the true offender

    @classmethod
    def new(cls, n: int) -> Day:
        return cls(true_ev=np.zeros(n, np.uint16), obs=np.zeros(n, np.uint16),
                   marks=np.zeros(n, np.uint8), court=np.zeros(n, np.uint8),
                   delta=np.zeros(n, np.float32), lst=np.zeros(n, np.uint16),
                   svc_req=np.zeros(n, np.uint16), svc_out=np.zeros(n, np.uint32),
                   posts=np.zeros(n, np.uint16), false_target=np.zeros(0, np.int32),
                   false_type=np.zeros(0, np.uint8), false_source=np.zeros(0, np.int32))

    @property
    def misid(self) -> np.ndarray:
        """uint8: bit 0/1 = the agent's smoking/traffic offence was pinned on another."""
        return self.marks & 3

    @property
    def pen(self) -> np.ndarray:
        """uint8: bit c = penalised today in category c."""
        return self.marks >> 2

    def nbytes(self) -> int:
        return sum(getattr(self, f.name).nbytes for f in fields(self))
