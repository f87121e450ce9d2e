"""The parameters the page lets people change first, in plain words: each with its
scenario key, unit, range and evidence ("documented" with its source, or "assumption")."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Control:
    key: str  # the scenario key (``--set key=value``)
    label: str  # what it is, in plain words
    unit: str
    evidence: str
    lo: float = 0.0
    hi: float = 1.0
    step: float = 0.01
    switch: bool = False  # an on/off switch rather than a slider

    @property
    def id(self) -> str:
        return self.key.replace(".", "-")

    def override(self, value: Any) -> str:
        """The ``--set`` form of a value from the page."""
        if self.switch:
            return f"{self.key}={'true' if value else 'false'}"
        return f"{self.key}={float(value)!r}"


CONTROLS: tuple[Control, ...] = (
    Control(
        "observe.misid",
        "Cameras that match the wrong face",
        "share of camera matches",
        "assumption: no error rate of the cameras has been published",
        0.0,
        0.2,
        0.005,
    ),
    Control(
        "observe.coverage_urban",
        "Camera coverage in cities",
        "share of public offences seen",
        "assumption",
    ),
    Control(
        "observe.coverage_rural",
        "Camera coverage in the countryside",
        "share of public offences seen",
        "assumption",
    ),
    Control(
        "score.association_weight",
        "How much friends' bad ledgers lower a score",
        "weight on the mean of friends' negative ledgers",
        "as reported by the 2018 press; not documented in any system",
        0.0,
        2.0,
        0.05,
    ),
    Control(
        "respond.deterrence",
        "Deterrence: 0.1 secret rules, 0.4 published rules",
        "drop in an offence's rate after a penalty",
        "assumption (people cannot avoid rules they cannot see)",
    ),
    Control(
        "listing.due_process",
        "Due process: notice and appeals",
        "on / off",
        "documented for the courts' list (objections to a listing); absent as reported",
        switch=True,
    ),
    Control(
        "listing.p_appeal",
        "How often a listed person appeals",
        "probability a day",
        "assumption",
        0.0,
        0.1,
        0.005,
    ),
    Control(
        "respond.unfriending",
        "People cut friends who are listed or score low",
        "on / off",
        "as reported by the 2018 press; no evidence it happens",
        switch=True,
    ),
    Control(
        "respond.p_unfriend",
        "How fast friendships with low scorers are cut",
        "probability an eligible friendship is cut, a day",
        "assumption",
        0.0,
        0.1,
        0.005,
    ),
    Control(
        "services.flight.deny_listed",
        "Listed people may not buy flights",
        "on / off",
        "documented: the Supreme People's Court's list of judgment defaulters (2013)",
        switch=True,
    ),
    Control(
        "services.train.deny_listed",
        "Listed people may not buy high-speed train tickets",
        "on / off",
        "documented: the Supreme People's Court's list of judgment defaulters (2013)",
        switch=True,
    ),
    Control(
        "listing.score_threshold",
        "Listed below this score",
        "points",
        "as reported (a score below 600 lists); Rongcheng's grade D is below 600",
        0.0,
        1200.0,
        10.0,
    ),
)

BY_ID = {c.id: c for c in CONTROLS}


def preset_values(preset: str) -> dict[str, Any]:
    """The preset's value of every control."""
    from ..scenario import load_scenario

    scn = load_scenario(preset)
    out: dict[str, Any] = {}
    for c in CONTROLS:
        v: Any = scn
        for part in c.key.split("."):
            v = getattr(v, part)
        if hasattr(v, "at"):  # a schedule: its value on day 0
            v = v.at(0)
        out[c.id] = bool(v) if c.switch else float(v)
    return out
