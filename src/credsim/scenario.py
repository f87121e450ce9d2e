"""The validated scenario: every parameter of the model (docs/model.md) with its default,
unit and valid range; presets shipped as TOML; scenario files that name a preset and override keys;
``key=value`` overrides; schedules (a numeric value that changes on given days)."""

from __future__ import annotations

import copy
import datetime as dt
import difflib
import math
import re
import tomllib
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Any, Literal, get_args, get_origin

import numpy as np
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_serializer,
    field_validator,
    model_validator,
)

from .constants import AGE_GROUPS, EVENT_TYPES, N_SERVICES, SERVICES, TIER_BOUNDS
from .errors import ScenarioError

PRESETS = ("as-reported", "court-list", "rongcheng", "sesame", "accountable")
MAX_DAYS = 20000  # the longest horizon (run.days); a schedule's days lie in [0, MAX_DAYS)
SCORE_LO, SCORE_HI = 0.0, 100000.0  # where score.min, score.max, tiers and thresholds lie
BETA_LO, BETA_HI = 0.05, 1000.0
BETA_MSG = f"must be two Beta shape parameters [a, b], each in [{BETA_LO:g}, {BETA_HI:g}]"
THRESHOLD_MSG = (
    f"must be a score in [{SCORE_LO:g}, {SCORE_HI:g}] (or a schedule of such "
    f"scores), a tier name ({', '.join(TIER_BOUNDS)}) or false"
)
NAME_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]{0,99}")
NAME_MSG = (
    "must be a plain name of 1 to 100 ASCII letters, digits, '.', '_' or '-', "
    "starting with a letter, digit or '_' (it names the run directory runs/<name>)"
)
DATE_LO, DATE_HI = dt.date(1900, 1, 1), dt.date(2100, 12, 31)  # where run.start_date lies
DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}")
DATE_MSG = (
    f"must be a date YYYY-MM-DD in [{DATE_LO}, {DATE_HI}] (a TOML date or a quoted "
    "string), or false for no calendar"
)
MAX_FILE_BYTES = 8 * 2**20  # a scenario file is a few kB; a schedule of every day ~ 200 kB
MAX_DEPTH = 16  # tables and lists nested in a scenario (the deepest valid one has 5)


class Schedule(BaseModel):
    """A step function of the day: ``values[k]`` holds from ``days[k]`` until the next day."""

    model_config = ConfigDict(extra="forbid")
    days: list[int]
    values: list[float]

    @model_validator(mode="before")
    @classmethod
    def _kinds(cls, data: Any) -> Any:
        """Days are whole numbers and values numbers: never true/false or a string."""
        if isinstance(data, dict):
            days, values = data.get("days"), data.get("values")
            if isinstance(days, list) and any(isinstance(d, (bool, str)) for d in days):
                raise ValueError("a schedule's days must be whole numbers")
            if isinstance(values, list) and any(isinstance(x, (bool, str)) for x in values):
                raise ValueError("a schedule's values must be numbers")
        return data

    @model_validator(mode="after")
    def _check(self) -> Schedule:
        if len(self.days) == 0 or len(self.days) != len(self.values):
            raise ValueError("a schedule needs as many 'days' as 'values', at least one")
        if self.days[0] != 0:
            raise ValueError(f"a schedule must start on day 0 (got days={_short(self.days)})")
        if any(b <= a for a, b in zip(self.days, self.days[1:])):
            raise ValueError(
                f"schedule days must be strictly increasing (got days={_short(self.days)})"
            )
        if self.days[-1] >= MAX_DAYS:
            raise ValueError(
                f"schedule days must lie in [0, {MAX_DAYS - 1}] (the longest "
                f"horizon), got day {_short(self.days[-1])}"
            )
        return self

    def at(self, day: int) -> float:
        k = int(np.searchsorted(self.days, day, side="right")) - 1
        return self.values[k]


Num = float | Schedule


def value_at(v: float | Schedule | dict[str, Any], day: int) -> float:
    """A parameter's value on ``day``: a number, a Schedule, or a schedule as run.json
    holds it ({"days": [...], "values": [...]})."""
    if isinstance(v, dict):
        v = Schedule.model_validate(v)
    return float(v.at(day)) if isinstance(v, Schedule) else float(v)


def decay_factor(half_life: float) -> float:
    """The daily decay factor of a ledger with this half-life (days)."""
    return 0.5 ** (1.0 / half_life)


def P(
    default: Any, lo: float | None = None, hi: float | None = None, unit: str = "", doc: str = ""
) -> Any:
    """A parameter: default, valid range [lo, hi], unit and a one-line description."""
    return Field(default, description=doc, json_schema_extra={"lo": lo, "hi": hi, "unit": unit})


def _allowed(lo: float | None, hi: float | None) -> str:
    if lo is not None and hi is not None:
        return f"a number in [{lo:g}, {hi:g}]"
    if lo is not None:
        return f"a number >= {lo:g}"
    if hi is not None:
        return f"a number <= {hi:g}"
    return "a number"


def _numeric(ann: Any) -> bool:
    """A parameter that takes a number (or a schedule of numbers), not a string."""
    args = set(get_args(ann)) if get_args(ann) and get_origin(ann) is not tuple else {ann}
    return bool(args & {int, float}) and str not in args


def _must_be(f: Any) -> str:
    extra = f.json_schema_extra if isinstance(f.json_schema_extra, dict) else {}
    what = _allowed(extra.get("lo"), extra.get("hi"))
    return "must be " + (
        what.replace("a number", "a whole number") if f.annotation is int else what
    )


def _text(v: Any, depth: int = 0) -> str:
    """A value as written in a scenario: true/false, 'text', [1, 2]."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return repr(v)
    if isinstance(v, (list, tuple)) and depth < MAX_DEPTH:
        return (
            "["
            + ", ".join(_text(x, depth + 1) for x in v[:100])
            + (", ...]" if len(v) > 100 else "]")
        )
    try:
        return str(v)
    except (RecursionError, ValueError):  # nested too deeply; an int too long to print
        return f"<{type(v).__name__}>"


def _cut(text: str, width: int = 80) -> str:
    return text if len(text) <= width else text[: width - 3] + "..."


def _short(v: Any, width: int = 80) -> str:
    """A value as text, cut to ``width`` characters (an error message stays readable)."""
    return _cut(_text(v), width)


class Section(BaseModel):
    """A group of parameters; checks every numeric value (or schedule value) against its range."""

    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _strict_kinds(cls, data: Any) -> Any:
        """A switch takes only true/false, a number never takes true/false."""
        if not isinstance(data, dict):
            return data
        for name, v in data.items():
            f = cls.model_fields.get(name)
            if f is None or dt.date in get_args(f.annotation):
                continue  # (a date is checked by its own validator)
            if f.annotation is bool and not isinstance(v, bool):
                raise _KindError(name, v, "must be true or false")
            if (
                f.annotation is not bool
                and isinstance(v, bool)
                and not (v is False and name in _FALSE_OK)
            ):
                raise _KindError(
                    name, v, "must be a string" if f.annotation is str else _must_be(f)
                )
            if isinstance(v, str) and _numeric(f.annotation):  # "0.1" is not a number
                raise _KindError(name, v, _must_be(f))
        return data

    @field_validator("*", mode="after")
    @classmethod
    def _in_range(cls, v: Any, info: Any) -> Any:
        f = cls.model_fields[info.field_name]
        extra: dict[str, Any] = f.json_schema_extra if isinstance(f.json_schema_extra, dict) else {}
        lo, hi = extra.get("lo"), extra.get("hi")
        if lo is None and hi is None:
            return v
        if isinstance(v, bool):
            return v
        vals = v.values if isinstance(v, Schedule) else [v] if isinstance(v, (int, float)) else []
        for x in vals:
            if not math.isfinite(x) or (lo is not None and x < lo) or (hi is not None and x > hi):
                raise ValueError(f"must be {_allowed(lo, hi)}")
        return v


class Run(Section):
    days: int = P(365, 1, MAX_DAYS, "days", "horizon")
    seed: int = P(1, 0, 2**63 - 1, "", "random seed")
    start_date: dt.date | None = P(
        None, None, None, "date", "calendar date of day 0, a label only (none: no calendar)"
    )

    @field_validator("start_date", mode="before")
    @classmethod
    def _start_date(cls, v: Any) -> dt.date | None:
        return parse_date(v)

    @field_serializer("start_date")
    def _iso(self, v: dt.date | None) -> str | None:
        """As ISO text in every dump, so that a dumped scenario is plain JSON."""
        return v.isoformat() if v is not None else None


def parse_date(v: Any) -> dt.date | None:
    """A calendar date: a date (a TOML date literal), an ISO ``YYYY-MM-DD`` string, or
    false / None for no calendar. Anything else (a date-time, another string, a number)
    raises ValueError with what is allowed."""
    if v is None or v is False:
        return None
    if isinstance(v, dt.datetime):  # a TOML date-time: a date, not a moment, is asked for
        raise ValueError(DATE_MSG)
    if isinstance(v, dt.date):
        d = v
    elif isinstance(v, str) and DATE_RE.fullmatch(v):
        try:
            d = dt.date.fromisoformat(v)
        except ValueError:
            raise ValueError(DATE_MSG) from None
    else:
        raise ValueError(DATE_MSG)
    if not DATE_LO <= d <= DATE_HI:
        raise ValueError(DATE_MSG)
    return d


def run_period(start: dt.date | str | None, days: int) -> tuple[dt.date, dt.date] | None:
    """The first and last calendar date of a run of ``days`` days from ``start`` (a date
    or its ISO text, as run.json holds it); None without a calendar."""
    first = parse_date(start)
    if first is None:
        return None
    return first, first + dt.timedelta(days=max(int(days), 1) - 1)


class Population(Section):
    agents: int = P(1_000_000, 1, 2_000_000_000, "agents", "synthetic citizens N")
    represented: float = P(1.4e9, 1, 1e10, "people", "real people the N agents stand for")
    child_share: float = P(0.21, 0, 1, "share", "age 0-17")
    elder_share: float = P(0.135, 0, 1, "share", "age 65+")
    female_share: float = P(0.488, 0, 1, "share", "")
    platform_urban: float = P(0.45, 0, 1, "share", "platform users among urban adults and elders")
    platform_rural: float = P(0.25, 0, 1, "share", "platform users among rural adults and elders")
    speaker_share: float = P(0.001, 0, 1, "share", "journalists, bloggers, activists among adults")
    smoker_share: float = P(0.266, 0, 1, "share", "smokers among adults")
    smoker_male: float = P(0.5, 0, 1, "share", "smokers among adult men")
    honesty: tuple[float, float] = P((8.0, 2.0), None, None, "Beta(a, b)", "")
    civility: tuple[float, float] = P((6.0, 2.0), None, None, "Beta(a, b)", "")
    civic: tuple[float, float] = P((2.0, 6.0), None, None, "Beta(a, b)", "")
    single_region: str = P(
        "", None, None, "", "a one-region population named so ('' = 31 provinces)"
    )
    single_region_urban: float = P(0.6, 0, 1, "share", "urban share of the single region")
    frequent_travellers: float = P(
        0.0, 0, 1, "share", "adults and elders who travel often (0: everyone alike)"
    )

    @field_validator("honesty", "civility", "civic", mode="before")
    @classmethod
    def _beta_kinds(cls, v: Any) -> Any:
        if not isinstance(v, (list, tuple)) or any(isinstance(x, (bool, str)) for x in v):
            raise ValueError(BETA_MSG)
        return v

    @field_validator("honesty", "civility", "civic")
    @classmethod
    def _beta(cls, v: tuple[float, float]) -> tuple[float, float]:
        if not all(math.isfinite(x) and BETA_LO <= x <= BETA_HI for x in v):
            raise ValueError(BETA_MSG)
        return v

    @model_validator(mode="after")
    def _shares(self) -> Population:
        if self.child_share + self.elder_share > 1:
            raise ValueError("child_share + elder_share must be <= 1")
        male = 1 - self.female_share
        if male > 0 and self.smoker_male * male > self.smoker_share + 1e-12:
            raise ValueError("smoker_male * male share must be <= smoker_share")
        return self


class Network(Section):
    mean_degree: float = P(20.0, 2, 200, "friends", "mean number of friends")
    p_same_region: float = P(0.9, 0, 1, "probability", "a friend is from the same region")


class Behave(Section):
    p_community_service: Num = P(0.02, 0, 1, "1/day", "x civic")
    p_domestic_purchase: Num = P(0.05, 0, 1, "1/day", "platform users")
    p_smoking_in_public: Num = P(0.05, 0, 1, "1/day", "x (1 - civility) x smoker")
    p_traffic_violation: Num = P(0.02, 0, 1, "1/day", "x (1 - civility)")
    p_smoking_on_train: Num = P(0.1, 0, 1, "1/day", "smokers, on a day after a train ride")
    p_debt_default: Num = P(1.5e-4, 0, 1, "1/day", "x (1 - honesty)")
    p_fraud: Num = P(5e-6, 0, 1, "1/day", "x (1 - honesty)")
    p_tax_evasion: Num = P(5e-6, 0, 1, "1/day", "x (1 - honesty)")
    post_rate: Num = P(0.2, 0, 1000, "posts/day", "posts on public affairs")
    post_rate_speaker: Num = P(5.0, 0, 1000, "posts/day", "speakers' posting rate")
    critical: Num = P(0.05, 0, 1, "share", "posts criticising officials")
    critical_speaker: Num = P(0.5, 0, 1, "share", "speakers' critical share")
    misinfo: Num = P(0.002, 0, 1, "share", "posts actually false")
    flag_false: Num = P(0.5, 0, 1, "probability", "monitor flags a false post")
    flag_critical: Num = P(0.005, 0, 1, "probability", "monitor flags a critical true post")
    flag_other: Num = P(1e-4, 0, 1, "probability", "monitor flags any other post")
    frequent_financial: Num = P(
        1.0,
        0,
        1000,
        "ratio",
        "a frequent traveller's probability of a debt default, fraud or tax evasion over "
        "another agent's (the mean kept)",
    )

    @model_validator(mode="after")
    def _shares(self) -> Behave:
        for crit in ("critical", "critical_speaker"):
            c, m = getattr(self, crit), self.misinfo
            cs = c.values if isinstance(c, Schedule) else [c]
            ms = m.values if isinstance(m, Schedule) else [m]
            if max(cs) + max(ms) > 1:
                raise ValueError(f"{crit} + misinfo must be <= 1")
        return self


class Observe(Section):
    cameras: bool = P(True, doc="camera surveillance of public offences")
    payment_platform: bool = P(True, doc="the payment platform reports purchases")
    registry: bool = P(True, doc="the registry reports community service")
    train_staff: bool = P(True, doc="train staff report smoking on trains")
    speech_monitor: bool = P(True, doc="online speech monitoring")
    courts: bool = P(True, doc="courts judge financial events")
    p_registry: Num = P(0.8, 0, 1, "probability", "community service reported")
    coverage_urban: Num = P(0.6, 0, 1, "probability", "camera sees a public offence, urban")
    coverage_rural: Num = P(0.2, 0, 1, "probability", "camera sees a public offence, rural")
    misid: Num = P(0.01, 0, 1, "probability", "face match wrong: event lands on another agent")
    p_train_staff: Num = P(0.5, 0, 1, "probability", "train staff report smoking on a train")
    p_case: Num = P(0.5, 0, 1, "probability", "a financial event becomes a court case")
    court_delay: Num = P(60.0, 1, 3650, "days", "from case to judgment (rounded to a day)")
    p_defamation_speaker: Num = P(0.05, 0, 1, "probability", "speaker's observed rumour -> case")
    p_defamation_other: Num = P(0.001, 0, 1, "probability", "others' observed rumour -> case")
    p_insincere: Num = P(0.3, 0, 1, "probability", "court-ordered apology judged insincere")


class Deltas(Section):
    community_service: Num = P(5.0, -1500, 1500, "points")
    domestic_purchase: Num = P(1.0, -1500, 1500, "points")
    smoking_in_public: Num = P(-5.0, -1500, 1500, "points")
    traffic_violation: Num = P(-5.0, -1500, 1500, "points")
    smoking_on_train: Num = P(-10.0, -1500, 1500, "points")
    debt_default: Num = P(-50.0, -1500, 1500, "points")
    fraud: Num = P(-100.0, -1500, 1500, "points")
    tax_evasion: Num = P(-100.0, -1500, 1500, "points")
    rumour: Num = P(-50.0, -1500, 1500, "points")


class Score(Section):
    scored: Literal["everyone", "adults_elders", "platform_users"] = P(
        "everyone", doc="who carries a score"
    )
    base: float = P(1000.0, 0, 100000, "points", "starting score")
    min: float = P(0.0, 0, 100000, "points", "lowest score")
    max: float = P(1500.0, 0, 100000, "points", "highest score")
    half_life: Num = P(365.0, 1, 1e6, "days", "ledger decay toward 0")
    association_weight: Num = P(
        0.2, 0, 10, "factor", "w in assoc = w * min(0, mean own of friends)"
    )
    association_symmetric: bool = P(False, doc="friends' positive ledgers raise the score too")
    tier_aaa: Num = P(1050.0, 0, 100000, "points", "AAA from")
    tier_aa: Num = P(1030.0, 0, 100000, "points", "AA from")
    tier_a: Num = P(960.0, 0, 100000, "points", "A from")
    tier_b: Num = P(850.0, 0, 100000, "points", "B from")
    tier_c: Num = P(600.0, 0, 100000, "points", "C from (D below)")
    deltas: Deltas = Field(default_factory=Deltas)

    @model_validator(mode="after")
    def _order(self) -> Score:
        if not self.min <= self.base <= self.max or self.min >= self.max:
            raise ValueError(
                f"need min <= base <= max and min < max (got min={self.min:g}, "
                f"base={self.base:g}, max={self.max:g})"
            )
        names = ["tier_c", "tier_b", "tier_a", "tier_aa", "tier_aaa"]
        sched_days = sorted({d for n in names for d in _days_of(getattr(self, n))})
        for d in sched_days:
            vals = [_at(getattr(self, n), d) for n in names]
            if any(b <= a for a, b in zip(vals, vals[1:])):
                raise ValueError(
                    "tier thresholds must increase: tier_c < tier_b < tier_a < "
                    f"tier_aa < tier_aaa (got {', '.join(f'{v:g}' for v in vals)}"
                    f" on day {d})"
                )
        return self


class Listing(Section):
    court_listing: bool = P(True, doc="court judgments list the agent")
    court_term: Num = P(730.0, 1, 10000, "days", "term of a court listing (rounded to a day)")
    p_pay: Num = P(1 / 180, 0, 1, "1/day", "a listed debtor pays and is removed")
    term_debt_default: Num | None = P(
        None,
        0,
        10000,
        "days",
        "term of a listing for a debt default (none: court_term; 0: until paid)",
    )
    term_fraud: Num | None = P(
        None, 0, 10000, "days", "term of a listing for fraud (none: court_term; 0: until paid)"
    )
    term_tax_evasion: Num | None = P(
        None,
        0,
        10000,
        "days",
        "term of a listing for tax evasion (none: court_term; 0: until paid)",
    )
    term_speech: Num | None = P(
        None, 0, 10000, "days", "term of a listing for speech (none: court_term; 0: no end)"
    )
    backlog: float = P(
        0.0, 0, 1, "share", "adults listed for a debt default on day 0 (the list's backlog)"
    )
    score_listing: bool = P(True, doc="a score below the threshold lists the agent")
    score_threshold: Num = P(600.0, 0, 100000, "points", "listed below this score")
    due_process: bool = P(False, doc="notification and appeals")
    p_appeal: Num = P(0.01, 0, 1, "1/day", "a listed agent appeals")
    p_overturn_wrongful: Num = P(0.8, 0, 1, "probability", "an appeal overturns a wrongful listing")
    p_overturn_rightful: Num = P(
        0.05, 0, 1, "probability", "an appeal overturns a rightful listing"
    )


Threshold = float | Schedule | str | None


def _check_threshold(v: Any) -> Any:
    """A score, a schedule, a tier name, or false (no such rule; TOML has no null)."""
    if v is False or v is None:
        return None
    if isinstance(v, bool) or (isinstance(v, str) and v not in TIER_BOUNDS):
        raise ValueError(THRESHOLD_MSG)
    return v


def _threshold_range(v: Any) -> Any:
    """A score (or every value of a schedule) finite and in [SCORE_LO, SCORE_HI]: NaN
    would switch a rule off without a word and could not be written as JSON."""
    vals = v.values if isinstance(v, Schedule) else [v] if isinstance(v, (int, float)) else []
    if any(not (math.isfinite(x) and SCORE_LO <= x <= SCORE_HI) for x in vals):
        raise ValueError(THRESHOLD_MSG)
    return v


class Service(Section):
    """Who asks, how often, and the policy that decides the outcome. A threshold is a
    score or a tier name ('AA' means the lower bound of tier AA)."""

    who: list[Literal["child", "adult", "elder"]] = P(["adult", "elder"])
    p_urban: Num = P(0.0, 0, 1, "1/day", "request probability, urban")
    p_rural: Num = P(0.0, 0, 1, "1/day", "request probability, rural")
    p_elder: Num | None = P(None, 0, 1, "1/day", "request probability of elders, if it differs")
    annual_day: int = P(
        -1, -1, 364, "day of year", "asked only on this day of each year (-1 daily)"
    )
    deny_listed: bool = P(False, doc="denied if the agent is listed")
    deny_parent_listed: bool = P(False, doc="denied if the agent's parent is listed")
    unscored_deposit: bool = P(False, doc="agents without a score pay the deposit")
    deny_below: Threshold = P(None, doc="denied if the score is below this")
    deposit_below: Threshold = P(None, doc="deposit asked if the score is below this")
    perk_from: Threshold = P(None, doc="perk if the score is at least this")
    frequent: Num = P(
        1.0,
        0,
        1000,
        "ratio",
        "a frequent traveller's request rate over another agent's (the mean kept)",
    )
    listed_share: Num = P(
        1.0,
        0,
        1,
        "share",
        "share of requests a listing bars (the rest buy a class the ban allows)",
    )
    retry: Num = P(
        0.0,
        0,
        0.95,
        "probability",
        "a denied request is tried again (each try a blocked attempt): at least k tries "
        "more with probability retry^k, at most 15",
    )
    p_switch: Num = P(
        0.0, 0, 1, "probability", "a denied request, its retries done, turns to switch_to"
    )
    switch_to: str = P(
        "allowed",
        doc="what a switch asks for: another service, decided by its rules, or 'allowed': "
        "what this service's rule allows (an ordinary train for a banned G-train)",
    )
    give_up: Num = P(
        0.0,
        0,
        1,
        "probability",
        "an agent that a listing has denied (and still listed) forgoes a request the "
        "listing bars instead of trying",
    )

    @field_validator("deny_below", "deposit_below", "perk_from", mode="before")
    @classmethod
    def _threshold(cls, v: Any) -> Any:
        return _check_threshold(v)

    @field_validator("deny_below", "deposit_below", "perk_from")
    @classmethod
    def _threshold_in_range(cls, v: Any) -> Any:
        return _threshold_range(v)

    @field_validator("switch_to")
    @classmethod
    def _switch_to(cls, v: str) -> str:
        if v != "allowed" and v not in SERVICES:
            raise ValueError(f"must be 'allowed' or a service ({', '.join(SERVICES)})")
        return v


def _svc(who: list[Any], pu: float, pr: float, **kw: Any) -> Any:
    return Field(default_factory=lambda: Service(who=who, p_urban=pu, p_rural=pr, **kw))


class Services(Section):
    flight: Service = _svc(["adult", "elder"], 0.004, 0.001, deny_listed=True, perk_from="AA")
    train: Service = _svc(["adult", "elder"], 0.01, 0.004, deny_listed=True)
    luxury_hotel: Service = _svc(["adult"], 0.001, 0.0002, deny_listed=True)
    hotel: Service = _svc(["adult"], 0.01, 0.003, deposit_below="B")
    bike_rental: Service = _svc(["adult"], 0.05, 0.01, deposit_below="B")
    umbrella_rental: Service = _svc(["adult", "elder"], 0.01, 0.002, deny_below="B")
    social_services: Service = _svc(["adult", "elder"], 0.002, 0.002, p_elder=0.01, deny_below="B")
    property_purchase: Service = _svc(["adult"], 1e-4, 5e-5, deny_listed=True)
    visa: Service = _svc(["adult"], 5e-4, 1e-4, perk_from="AA")
    dating_app: Service = _svc(["adult"], 0.02, 0.01, perk_from="AA")
    private_school: Service = _svc(["child"], 0.10, 0.02, annual_day=243, deny_parent_listed=True)

    @model_validator(mode="after")
    def _switch_elsewhere(self) -> Services:
        for name in SERVICES:
            if getattr(self, name).switch_to == name:
                raise _KindError(
                    f"{name}.switch_to",
                    name,
                    f"a switch turns to another service, or to 'allowed' (what {name}'s "
                    "own rule allows)",
                )
        return self


class Respond(Section):
    deterrence: Num = P(0.1, 0, 1, "factor", "d: a penalised category's multiplier x (1 - d)")
    chill: Num = P(0.9, 0, 1, "factor", "friends of an agent listed for speech: speech rate x this")
    unfriending: bool = P(True, doc="agents cut friends who are listed or low-tier")
    p_unfriend: Num = P(0.02, 0, 1, "1/day", "the good end cuts an eligible edge")
    good_from: Threshold = P("A", doc="a good end has at least this score")
    bad_below: Threshold = P("B", doc="a bad end is listed or has a score below this")

    @field_validator("good_from", "bad_below", mode="before")
    @classmethod
    def _threshold(cls, v: Any) -> Any:
        return _check_threshold(v)

    @field_validator("good_from", "bad_below")
    @classmethod
    def _threshold_in_range(cls, v: Any) -> Any:
        return _threshold_range(v)


class Record(Section):
    tracked: int = P(10_000, 0, 2_000_000_000, "agents", "agents whose full ledger is kept")
    ledger_listed: bool = P(True, doc="also keep the full ledger of every agent ever listed")
    region_every: int = P(1, 1, 365, "days", "regional aggregates every k days")


class Scenario(BaseModel):
    """A whole scenario. Build one with :func:`load_scenario`."""

    model_config = ConfigDict(extra="forbid")
    name: str = "as-reported"
    description: str = ""
    run: Run = Field(default_factory=Run)
    population: Population = Field(default_factory=Population)
    network: Network = Field(default_factory=Network)
    behave: Behave = Field(default_factory=Behave)
    observe: Observe = Field(default_factory=Observe)
    score: Score = Field(default_factory=Score)
    listing: Listing = Field(default_factory=Listing)
    services: Services = Field(default_factory=Services)
    respond: Respond = Field(default_factory=Respond)
    record: Record = Field(default_factory=Record)
    _origin: str = PrivateAttr(default="scenario")

    @field_validator("name")
    @classmethod
    def _plain_name(cls, v: str) -> str:
        """The name becomes the default run directory runs/<name>: never a path."""
        if not NAME_RE.fullmatch(v):
            raise ValueError(NAME_MSG)
        return v

    @property
    def origin(self) -> str:
        """Where the scenario came from (a file, a preset, overrides), for error messages."""
        return self._origin

    def check_horizon(self, days: int) -> None:
        """Every schedule's days must lie inside the horizon [0, days), unless the run is
        dated: a dated scenario's schedules follow the calendar, and a run shortened with
        --days simply ends before their later steps."""
        if self.run.start_date is not None:
            return
        for key, v in iter_leaves(self):
            if isinstance(v, Schedule) and v.days[-1] >= days:
                raise ScenarioError(
                    f"{self._origin}: key '{key}' = {schedule_str(v)}: "
                    f"schedule days must be within the horizon "
                    f"[0, {days - 1}]"
                )


# ------------------------------------------------------------------------------------
# Helpers over values and the model tree


def _days_of(v: Any) -> list[int]:
    return v.days if isinstance(v, Schedule) else [0]


def _at(v: Any, day: int) -> float:
    return v.at(day) if isinstance(v, Schedule) else float(v)


def schedule_str(v: Schedule) -> str:
    return f"{{days={v.days}, values={v.values}}}"


def iter_leaves(m: BaseModel, prefix: str = "") -> Iterator[tuple[str, Any]]:
    """Yield (dotted key, value) for every parameter of a model tree."""
    for name in type(m).model_fields:
        v = getattr(m, name)
        key = f"{prefix}{name}"
        if isinstance(v, BaseModel) and not isinstance(v, Schedule):
            yield from iter_leaves(v, key + ".")
        else:
            yield key, v


def describe_parameters() -> list[dict[str, Any]]:
    """Every parameter with its default, unit, range and description (for the docs)."""
    rows = []

    def walk(cls: type[BaseModel], inst: BaseModel, prefix: str) -> None:
        for name, f in cls.model_fields.items():
            v = getattr(inst, name)
            if isinstance(v, BaseModel) and not isinstance(v, Schedule):
                walk(type(v), v, f"{prefix}{name}.")
                continue
            extra = f.json_schema_extra if isinstance(f.json_schema_extra, dict) else {}
            lo: Any = extra.get("lo")
            hi: Any = extra.get("hi")
            if dt.date in get_args(f.annotation):  # a calendar date: its range is dates
                lo, hi = DATE_LO, DATE_HI
            rows.append(
                {
                    "key": prefix + name,
                    "default": v,
                    "unit": extra.get("unit", ""),
                    "lo": lo,
                    "hi": hi,
                    "doc": f.description or "",
                    "schedulable": "Schedule" in str(f.annotation),
                }
            )

    walk(Scenario, Scenario(), "")
    return rows


def _md_value(v: Any) -> str:
    if v is None:
        return "none"
    if isinstance(v, dt.date):
        return v.isoformat()
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return f'"{v}"'
    if isinstance(v, (list, tuple)):
        return (
            ", ".join(_md_value(x) for x in v)
            if isinstance(v, list)
            else "(" + ", ".join(_md_value(x) for x in v) + ")"
        )
    if isinstance(v, int):
        return f"{v:,}"
    if isinstance(v, float):
        if v == int(v) and abs(v) < 1e6:
            return f"{int(v):,}" if abs(v) >= 1000 else f"{v:g}"
        return f"{v:.4g}"
    return str(v)


def parameters_markdown() -> str:
    """The parameter table of docs/model.md (generated; a test keeps the doc in step)."""
    lines = ["| key | default | unit | valid range | meaning |", "|---|---|---|---|---|"]
    for r in describe_parameters():
        lo, hi = r["lo"], r["hi"]
        rng = "—" if lo is None and hi is None else f"[{_md_value(lo)}, {_md_value(hi)}]"
        lines.append(
            f"| `{r['key']}` | {_md_value(r['default'])} | {r['unit']} | {rng} | {r['doc']} |"
        )
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------------------------
# Loading: presets, files, overrides


def preset_path(name: str) -> Path:
    return Path(str(resources.files("credsim") / "presets" / f"{name}.toml"))


def preset_text(name: str) -> str:
    return preset_path(name).read_text()


def _show_path(path: str | Path) -> str:
    """A path for a one-line message (a control character in it is escaped)."""
    text = str(path)
    return text if text.isprintable() else ascii(text)


def _read_toml(path: Path) -> dict[str, Any]:
    """A scenario file as a dict; anything that is not one (missing, a directory, a link
    loop, unreadable, too large, not UTF-8, malformed, nested too deeply) is one line."""
    where = _show_path(path)
    try:
        with open(path, "rb") as fh:
            raw = fh.read(MAX_FILE_BYTES + 1)
    except FileNotFoundError:
        raise ScenarioError(
            f"{where}: no such scenario file or preset (presets: {', '.join(PRESETS)})"
        ) from None
    except IsADirectoryError:
        raise ScenarioError(f"{where}: cannot read scenario file: it is a directory") from None
    except OSError as e:  # permission, symlink loop, name too long, I/O error
        raise ScenarioError(
            f"{where}: cannot read scenario file: {e.strerror or type(e).__name__}"
        ) from None
    except ValueError as e:  # a NUL byte in the name
        raise ScenarioError(f"{where}: cannot read scenario file: {e}") from None
    if len(raw) > MAX_FILE_BYTES:
        raise ScenarioError(
            f"{where}: cannot read scenario file: larger than {MAX_FILE_BYTES >> 20} MiB"
        )
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ScenarioError(
            f"{where}: cannot read scenario file: not UTF-8 text (byte {e.start})"
        ) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        msg = _bad_date_literal(text, str(e), where) or f"{where}: malformed TOML: {e}"
        raise ScenarioError(msg) from None
    except RecursionError:
        raise ScenarioError(f"{where}: malformed TOML: nested too deeply") from None
    _check_depth(data, where)
    return data


_AT_LINE = re.compile(r"\(at line (\d+), column \d+\)")
_KEY_VALUE = re.compile(r"\s*([A-Za-z0-9_.-]+)\s*=\s*(.+?)\s*(#.*)?")
_HEADER = re.compile(r"\s*\[\s*([A-Za-z0-9_.-]+)\s*\]\s*(#.*)?")


def _bad_date_literal(text: str, msg: str, where: str) -> str | None:
    """A ``run.start_date`` that TOML itself cannot read (``2013-02-30``, ``2013-13-01``),
    said as a bad value of that key rather than as malformed TOML; None for an error on
    any other line."""
    at = _AT_LINE.search(msg)
    lines = text.splitlines()
    if at is None or not 0 < int(at[1]) <= len(lines):
        return None
    n = int(at[1])
    kv = _KEY_VALUE.fullmatch(lines[n - 1])
    if kv is None:
        return None
    table = next(
        (h[1] + "." for ln in reversed(lines[: n - 1]) if (h := _HEADER.fullmatch(ln))), ""
    )
    if table + kv[1] != "run.start_date":
        return None
    return f"{where}: key 'run.start_date' = {_cut(kv[2])}: {DATE_MSG}"


def _check_depth(data: Any, origin: str) -> None:
    """Refuse tables and lists nested more than MAX_DEPTH deep (before anything recurses
    into them: copying, validating or printing them would exhaust the stack)."""
    stack: list[tuple[Any, int, tuple[str, ...]]] = [(data, 1, ())]
    while stack:
        v, depth, keys = stack.pop()
        if isinstance(v, dict):
            items = [(c, keys + (str(k),)) for k, c in v.items()]
        elif isinstance(v, (list, tuple)):
            items = [(c, keys) for c in v]
        else:
            continue
        if depth > MAX_DEPTH:
            raise ScenarioError(
                f"{origin}: key {_short('.'.join(keys[: MAX_DEPTH + 1]))}: "
                f"nested deeper than {MAX_DEPTH} levels of tables and lists"
            )
        stack.extend((c, depth + 1, k) for c, k in items)


def _is_schedule(v: Any) -> bool:
    return isinstance(v, dict) and "values" in v


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """``over`` on top of ``base``, table by table; a schedule is a value, not a table
    (a table with a 'days' key, like [run], is merged key by key)."""
    out = copy.deepcopy(base)
    for k, v in over.items():
        if (
            isinstance(v, dict)
            and isinstance(out.get(k), dict)
            and not _is_schedule(v)
            and not _is_schedule(out[k])
        ):
            out[k] = _merge(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out


def _preset_dict(name: str, origin: str) -> dict[str, Any]:
    if name not in PRESETS:
        close = difflib.get_close_matches(name, PRESETS, n=1)
        hint = f"; did you mean '{close[0]}'?" if close else ""
        raise ScenarioError(
            f"{origin}: key 'preset' = '{name}': no such preset "
            f"(presets: {', '.join(PRESETS)}){hint}"
        )
    d = _read_toml(preset_path(name))
    d.pop("preset", None)
    return d


class _Raw(str):
    """Command-line text that TOML does not read (``--set name=my-run``, ``x=.5``)."""


def _number_or_text(raw: str) -> Any:
    """Command-line text for a numeric parameter: a number if Python reads one ('.5',
    '5.', '007'), else the text itself (which validation then refuses)."""
    for parse in (int, float):
        try:
            return parse(raw)
        except ValueError:
            pass
    return str(raw)


def parse_override(text: str) -> tuple[list[str], Any]:
    """'a.b=1e-3' -> (['a', 'b'], 0.001). The value is read as TOML, else kept as text
    (a ``_Raw`` string, which ``load_scenario`` reads as a number for a numeric key)."""
    if "=" not in text:
        raise ScenarioError(
            f"--set {_short(text)}: expected key=value (for example observe.misid=0.001)"
        )
    key, raw = text.split("=", 1)
    key, raw = key.strip(), raw.strip()
    if not key:
        raise ScenarioError(f"--set {_short(text)}: empty key")
    try:
        value = tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        value = _Raw(raw)
    except RecursionError:
        raise ScenarioError(f"--set {_short(key)}: value nested too deeply") from None
    return key.split("."), value


def _set_path(d: dict[str, Any], path: list[str], value: Any) -> None:
    for p in path[:-1]:
        nxt = d.get(p)
        if not isinstance(nxt, dict):
            nxt = {}
            d[p] = nxt
        d = nxt
    d[path[-1]] = value


def _field_names_at(loc: tuple[Any, ...]) -> list[str]:
    """Field names of the model at a location (for 'did you mean')."""
    cls: Any = Scenario
    for part in loc[:-1]:
        f = getattr(cls, "model_fields", {}).get(part)
        if f is None:
            return []
        ann = f.annotation
        cls = ann if isinstance(ann, type) and issubclass(ann, BaseModel) else None
        if cls is None:
            return []
    return list(getattr(cls, "model_fields", {}).keys())


class _KindError(ValueError):
    def __init__(self, name: str, value: Any, msg: str):
        super().__init__(msg)
        self.name, self.value, self.msg = name, value, msg


_FALSE_OK = frozenset(["deny_below", "deposit_below", "perk_from", "good_from", "bad_below"])
_PYDANTIC_MSG = {
    "bool_type": "must be true or false",
    "bool_parsing": "must be true or false",
    "int_type": "must be a whole number",
    "int_parsing": "must be a whole number",
    "int_from_float": "must be a whole number",
    "string_type": "must be a string",
    "float_type": "must be a number",
    "float_parsing": "must be a number",
    "finite_number": "must be a finite number",
    "model_type": "must be a table of parameters",
    "dict_type": "must be a table",
    "tuple_type": BETA_MSG,
    "list_type": "must be a list",
    "missing": BETA_MSG,
    "too_long": BETA_MSG,
}


def _field_at(loc: tuple[Any, ...]) -> Any:
    """The pydantic field at a location, or None."""
    cls: Any = Scenario
    f = None
    for part in loc:
        f = getattr(cls, "model_fields", {}).get(part)
        if f is None:
            return None
        ann = f.annotation
        cls = ann if isinstance(ann, type) and issubclass(ann, BaseModel) else None
    return f


def _fmt_value(v: Any) -> str:
    if isinstance(v, dict) and set(v) == {"days", "values"}:
        return _cut(f"{{days={_short(v['days'])}, values={_short(v['values'])}}}", 160)
    return _short(v)


def _friendly(err: ValidationError, origin: str) -> ScenarioError:
    """One line: origin, key, value, what is allowed."""
    e = err.errors()[0]
    loc = tuple(
        p
        for p in e["loc"]
        if isinstance(p, str)
        and p not in ("float", "Schedule", "str", "none", "function-after[_check(), Schedule]")
    )
    loc = tuple(p for p in loc if not p.startswith(("function-", "tagged-union")))
    inp = e.get("input")
    typ = e["type"]
    msg = e["msg"].removeprefix("Value error, ")
    ctx_err = (e.get("ctx") or {}).get("error")
    if isinstance(ctx_err, _KindError):  # from Section._strict_kinds: name the field itself
        loc = loc + (ctx_err.name,)
        inp, msg = ctx_err.value, ctx_err.msg
    key = ".".join(loc)
    if typ in _PYDANTIC_MSG:
        msg = _PYDANTIC_MSG[typ]
        if typ == "missing":
            loc = loc[:-1] if loc and loc[-1] not in ("honesty", "civility", "civic") else loc
            key = ".".join(loc)
    elif typ == "literal_error":
        msg = msg.replace("Input should be", "must be")
    f = _field_at(loc)
    extra = f.json_schema_extra if f is not None and isinstance(f.json_schema_extra, dict) else {}
    if (typ.startswith(("int", "float")) or typ == "finite_number") and extra.get("lo") is not None:
        whole = "a whole number" if typ.startswith("int") or f.annotation is int else "a number"
        msg = f"must be {whole} in [{extra['lo']:g}, {extra['hi']:g}]"
        if isinstance(inp, dict) and "days" in inp:
            msg += " (fixed for the whole run: it cannot follow a schedule)"
    if typ == "extra_forbidden":
        close = difflib.get_close_matches(loc[-1], _field_names_at(loc), n=1)
        hint = f"; did you mean '{'.'.join(loc[:-1] + (close[0],))}'?" if close else ""
        return ScenarioError(f"{origin}: unknown key '{key}'{hint}")
    # errors from unions report every branch; describe the allowed forms once
    if len(err.errors()) > 1 and all(
        x["loc"][: len(e["loc"]) - 1] == e["loc"][:-1] for x in err.errors()
    ):
        msgs = [
            x["msg"].removeprefix("Value error, ")
            for x in err.errors()
            if x["type"] == "value_error"
        ]
        if msgs:
            msg = msgs[0]
        elif any("Schedule" in str(x["loc"]) for x in err.errors()):
            msg = "must be a number or a schedule {days=[...], values=[...]}"
    where = f"key '{key}'" if key else "scenario"
    return ScenarioError(f"{origin}: {where} = {_fmt_value(inp)}: {msg}")


def build_scenario(data: dict[str, Any], origin: str) -> Scenario:
    _check_depth(data, origin)
    try:
        scn = Scenario.model_validate(data)
    except ValidationError as err:
        raise _friendly(err, origin) from None
    scn._origin = origin
    return scn


def _exists(s: str) -> bool:
    """Whether ``s`` names something on disk; a name the system refuses (too long, a NUL
    byte) counts as a file, so that reading it says why it cannot be read."""
    try:
        return Path(s).exists()
    except (OSError, ValueError):
        return True


def _name_from_stem(stem: str) -> str:
    """The default name of a scenario file: its stem made plain ('my run' -> 'my_run',
    '..' -> 'scenario')."""
    name = re.sub(r"[^A-Za-z0-9._-]+", "_", stem).lstrip(".-")[:100]
    return name if NAME_RE.fullmatch(name) else "scenario"


def load_scenario(
    source: str | Path | dict[str, Any] | Scenario = "as-reported",
    overrides: list[str] | None = None,
) -> Scenario:
    """A preset name, a TOML file (which may name a preset), a dict or a Scenario, plus
    ``key=value`` overrides, validated into a Scenario. Raises ScenarioError (one line)."""
    if isinstance(source, Scenario):
        data = source.model_dump(exclude_defaults=False)
        origin = f"scenario '{source.name}'"
    elif isinstance(source, dict):
        _check_depth(source, "scenario")
        data = copy.deepcopy(source)
        origin = "scenario"
        if "preset" in data:
            data = _merge(_preset_dict(str(data.pop("preset")), origin), data)
    else:
        s = str(source)
        if s in PRESETS:
            data = _preset_dict(s, f"preset '{s}'")
            origin = f"preset '{s}'"
        elif s.endswith(".toml") or _exists(s):
            path = Path(s)
            data = _read_toml(path)
            origin = _show_path(path)
            name = data.get("name", _name_from_stem(path.stem))
            if "preset" in data:
                preset = data.pop("preset")
                if not isinstance(preset, str):
                    raise ScenarioError(
                        f"{origin}: key 'preset' = {preset!r}: must be one of {', '.join(PRESETS)}"
                    )
                data = _merge(_preset_dict(preset, origin), data)
            data["name"] = name
        else:
            close = difflib.get_close_matches(s, PRESETS, n=1)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            raise ScenarioError(
                f"{_short(s)}: not a preset or a scenario file "
                f"(presets: {', '.join(PRESETS)}){hint}"
            )
    # every key present, so that an override of one field keeps its siblings' values
    data = _merge(Scenario().model_dump(), data)
    for text in overrides or []:
        path_, value = parse_override(text)
        if isinstance(value, _Raw):
            f = _field_at(tuple(path_))
            takes_number = f is not None and bool(
                set(get_args(f.annotation) or (f.annotation,)) & {int, float}
            )
            value = _number_or_text(value) if takes_number else str(value)
        _set_path(data, path_, value)
    return build_scenario(data, origin + " with --set" if overrides else origin)


def resolve(
    source: str | Path | dict[str, Any] | Scenario = "as-reported",
    overrides: list[str] | None = None,
    agents: int | None = None,
    days: int | None = None,
    seed: int | None = None,
) -> Scenario:
    """:func:`load_scenario` with the run's size, horizon and seed set where given (a
    resolved scenario carries them)."""
    scn = load_scenario(source, overrides)
    if agents is None and days is None and seed is None:
        return scn
    data = scn.model_dump()
    if agents is not None:
        data["population"]["agents"] = agents
    if days is not None:
        data["run"]["days"] = days
    if seed is not None:
        data["run"]["seed"] = seed
    return build_scenario(data, scn.origin)


# ------------------------------------------------------------------------------------
# Per-day parameter tables for the kernels


class DayParams:
    """Every numeric parameter resolved for every day: ``p['observe.misid'][day]``."""

    def __init__(self, scn: Scenario, days: int):
        self.days = days
        self._t: dict[str, np.ndarray] = {}
        for key, v in iter_leaves(scn):
            if isinstance(v, Schedule) or (isinstance(v, (int, float)) and not isinstance(v, bool)):
                self._t[key] = self._series(v)
        # tier bounds ascending: C, B, A, AA, AAA
        self.tier_bounds = np.stack(
            [self._t[f"score.tier_{n.lower()}"] for n in TIER_BOUNDS], axis=1
        )
        self.deltas = np.stack([self._t[f"score.deltas.{t}"] for t in EVENT_TYPES], axis=1)
        svc = scn.services
        self.svc_who = np.zeros((N_SERVICES, 3), np.bool_)
        self.svc_deny_listed = np.zeros(N_SERVICES, np.bool_)
        self.svc_deny_parent_listed = np.zeros(N_SERVICES, np.bool_)
        self.svc_annual_day = np.full(N_SERVICES, -1, np.int64)
        self.svc_unscored_deposit = np.zeros(N_SERVICES, np.bool_)
        # [day, service] series of the request probabilities and thresholds (nan: no rule)
        self.svc_series = {
            k: np.full((days, N_SERVICES), np.nan)
            for k in (
                "p_urban",
                "p_rural",
                "p_elder_urban",
                "p_elder_rural",
                "deny_below",
                "deposit_below",
                "perk_from",
                "frequent",
                "listed_share",
                "retry",
                "p_switch",
                "give_up",
            )
        }
        self.svc_switch_to = np.full(N_SERVICES, -1, np.int64)  # -1: 'allowed'
        ser = self.svc_series
        for i, name in enumerate(SERVICES):
            s: Service = getattr(svc, name)
            for g in s.who:
                self.svc_who[i, AGE_GROUPS.index(g)] = True
            self.svc_deny_listed[i] = s.deny_listed
            self.svc_deny_parent_listed[i] = s.deny_parent_listed
            self.svc_annual_day[i] = s.annual_day
            self.svc_unscored_deposit[i] = s.unscored_deposit
            pu, pr = self._series(s.p_urban), self._series(s.p_rural)
            ser["p_urban"][:, i], ser["p_rural"][:, i] = pu, pr
            pe = self._series(s.p_elder) if s.p_elder is not None else None
            ser["p_elder_urban"][:, i] = pu if pe is None else pe
            ser["p_elder_rural"][:, i] = pr if pe is None else pe
            ser["frequent"][:, i] = self._series(s.frequent)
            ser["listed_share"][:, i] = self._series(s.listed_share)
            for k in ("retry", "p_switch", "give_up"):
                ser[k][:, i] = self._series(getattr(s, k))
            if s.switch_to != "allowed":
                self.svc_switch_to[i] = SERVICES.index(s.switch_to)
            for k, th in (
                ("deny_below", s.deny_below),
                ("deposit_below", s.deposit_below),
                ("perk_from", s.perk_from),
            ):
                ser[k][:, i] = self.threshold(th)

    def _series(self, v: Any) -> np.ndarray:
        return np.array([_at(v, d) for d in range(self.days)], np.float64)

    def threshold(self, th: Threshold) -> np.ndarray:
        """A threshold's value on every day (nan: no such rule)."""
        if th is None:
            return np.full(self.days, np.nan)
        if isinstance(th, str):
            return self.tier_bounds[:, TIER_BOUNDS.index(th)].copy()
        return self._series(th)

    def threshold_at(self, th: Threshold, day: int) -> float:
        """A threshold's value on ``day``: a score, a tier's bound that day, or nan."""
        if th is None:
            return float("nan")
        if isinstance(th, str):
            return float(self.tier_bounds[day, TIER_BOUNDS.index(th)])
        return value_at(th, day)

    def __getitem__(self, key: str) -> np.ndarray:
        return self._t[key]

    def at(self, key: str, day: int) -> float:
        return float(self._t[key][day])
