"""The `as-reported` scenario of credsim's model (docs/model.md) as an idiomatic Mesa 3
model.

credsim's benchmark suite uses this module as the *peer*: an independent implementation
of the same model, written the way a Mesa user would write it, against which credsim is
compared for speed (agent-days per second) and, statistically, for its aggregates. Each
citizen is a ``mesa.Agent`` with plain Python attributes; friends are Python sets of
agents; the day's phases run in the model's order (behave, observe, score, list,
services, respond, record) as ``AgentSet`` passes over the agents; random numbers come
from the model's ``self.random`` and ``self.rng``. It is not bit-compatible with credsim
(no counter-based generator): the two agree within sampling noise, not draw by draw.

Where the specification leaves room the peer follows the choices recorded in credsim's
``docs/model.md`` (largest-remainder apportionment of regions and age groups, the
network's out-edge scheme, the order of the steps within a phase, the service policy
precedence, and so on), so that both implement the same model.

Run ``python benchmarks/peers/mesa_asreported.py`` for 10,000 agents and 30 days; or
call ``run(agents, days, seed)``.
"""

from __future__ import annotations

import csv
import json
import math
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import mesa
import numpy as np

# --- Parameters of the as-reported scenario (the model's defaults) ---------------------

# population
CHILD_SHARE, ELDER_SHARE = 0.21, 0.135
FEMALE_SHARE = 0.488
PLATFORM_URBAN, PLATFORM_RURAL = 0.45, 0.25
SPEAKER_SHARE = 0.001
SMOKER_SHARE, SMOKER_MALE = 0.266, 0.5
SMOKER_FEMALE = (SMOKER_SHARE - SMOKER_MALE * (1 - FEMALE_SHARE)) / FEMALE_SHARE
HONESTY, CIVILITY, CIVIC = (8.0, 2.0), (6.0, 2.0), (2.0, 6.0)

# network
MEAN_DEGREE = 20.0
P_SAME_REGION = 0.9

# behave: daily probabilities
P_COMMUNITY_SERVICE = 0.02  # x civic
P_DOMESTIC_PURCHASE = 0.05  # platform users
P_SMOKING_IN_PUBLIC = 0.05  # x (1 - civility), smokers
P_TRAFFIC_VIOLATION = 0.02  # x (1 - civility)
P_SMOKING_ON_TRAIN = 0.1  # smokers, the day after a train ride
P_FINANCIAL = {"debt_default": 1.5e-4, "fraud": 5e-6, "tax_evasion": 5e-6}  # x (1 - honesty)
POST_RATE, POST_RATE_SPEAKER = 0.2, 5.0
CRITICAL, CRITICAL_SPEAKER = 0.05, 0.5
MISINFO = 0.002
FLAG_FALSE, FLAG_CRITICAL, FLAG_OTHER = 0.5, 0.005, 1e-4

# observe
P_REGISTRY = 0.8
COVERAGE = {True: 0.6, False: 0.2}  # by urban status
MISID = 0.01
P_TRAIN_STAFF = 0.5
P_CASE = 0.5
COURT_DELAY = 60
P_DEFAMATION_SPEAKER, P_DEFAMATION_OTHER = 0.05, 0.001
P_INSINCERE = 0.3

# score
BASE, SCORE_MIN, SCORE_MAX = 1000.0, 0.0, 1500.0
DECAY = 0.5 ** (1 / 365)  # a half-life of 365 days
ASSOCIATION_WEIGHT = 0.2
TIERS = (("AAA", 1050.0), ("AA", 1030.0), ("A", 960.0), ("B", 850.0), ("C", 600.0))
DELTA = {
    "community_service": 5.0,
    "domestic_purchase": 1.0,
    "smoking_in_public": -5.0,
    "traffic_violation": -5.0,
    "smoking_on_train": -10.0,
    "debt_default": -50.0,
    "fraud": -100.0,
    "tax_evasion": -100.0,
    "rumour": -50.0,
}
CATEGORY = {
    "smoking_in_public": "public",
    "traffic_violation": "public",
    "smoking_on_train": "public",
    "debt_default": "financial",
    "fraud": "financial",
    "tax_evasion": "financial",
    "rumour": "speech",
}

# list
COURT_TERM = 730
P_PAY = 1 / 180
SCORE_THRESHOLD = 600.0

# respond
DETERRENCE = 0.1  # secret algorithm
CHILL = 0.9
P_UNFRIEND = 0.02
GOOD_FROM = 960.0  # tier >= A
BAD_BELOW = 850.0  # tier <= C

CAMERA_EVENTS = ("smoking_in_public", "traffic_violation")
TRUE_EVENTS = (
    "community_service",
    "domestic_purchase",
    "smoking_in_public",
    "traffic_violation",
    "smoking_on_train",
    "debt_default",
    "fraud",
    "tax_evasion",
    "rumour_true",
    "rumour_false_flag",
)
OBSERVED_EVENTS = tuple(DELTA)


@dataclass(frozen=True)
class Service:
    """A service, who may ask for it, how often, and the as-reported policy."""

    name: str
    who: tuple[str, ...]
    p_urban: float
    p_rural: float
    p_elder: float | None = None
    annual_day: int = -1  # asked only on this day of the year (-1: every day)
    deny_listed: bool = False
    deny_parent_listed: bool = False
    deny_below: float | None = None
    deposit_below: float | None = None
    perk_from: float | None = None


SERVICES = (
    Service("flight", ("adult", "elder"), 0.004, 0.001, deny_listed=True, perk_from=1030.0),
    Service("train", ("adult", "elder"), 0.01, 0.004, deny_listed=True),
    Service("luxury_hotel", ("adult",), 0.001, 0.0002, deny_listed=True),
    Service("hotel", ("adult",), 0.01, 0.003, deposit_below=850.0),
    Service("bike_rental", ("adult",), 0.05, 0.01, deposit_below=850.0),
    Service("umbrella_rental", ("adult", "elder"), 0.01, 0.002, deny_below=850.0),
    Service("social_services", ("adult", "elder"), 0.002, 0.002, p_elder=0.01, deny_below=850.0),
    Service("property_purchase", ("adult",), 1e-4, 5e-5, deny_listed=True),
    Service("visa", ("adult",), 5e-4, 1e-4, perk_from=1030.0),
    Service("dating_app", ("adult",), 0.02, 0.01, perk_from=1030.0),
    Service("private_school", ("child",), 0.10, 0.02, annual_day=243, deny_parent_listed=True),
)
OUTCOMES = ("granted", "denied", "deposit", "perk")

# what the record phase counts every day
METRICS = (
    [f"true_{e}" for e in TRUE_EVENTS]
    + [f"observed_{e}" for e in OBSERVED_EVENTS]
    + [
        "misidentified_smoking_in_public",
        "misidentified_traffic_violation",
        "false_flag_rumour",
        "posts",
        "cases_financial",
        "cases_financial_dropped",
        "cases_defamation",
        "cases_defamation_dropped",
        "judgments_financial",
        "judgments_defamation",
        "apologies_insincere",
    ]
    + [f"entries_{r}" for r in ("debt_default", "fraud", "tax_evasion", "speech", "score")]
    + ["entries_wrongful", "entries_association", "exits_expiry", "exits_paid", "exits_recovered"]
    + [f"{s.name}_{k}" for s in SERVICES for k in ("requests",) + OUTCOMES]
    + ["edges_cut"]
)


def provinces() -> list[tuple[str, float, float]]:
    """(name, population in thousands, urban share) of the 31 provinces, in file order."""
    path = Path(__file__).resolve().parents[2] / "src" / "credsim" / "data" / "provinces.csv"
    if path.exists():
        text = path.read_text()
    else:  # an installed credsim ships the same file
        from importlib import resources

        text = (resources.files("credsim") / "data" / "provinces.csv").read_text()
    return [
        (r["province"], float(r["population_thousands"]), float(r["urban_share"]))
        for r in csv.DictReader(text.splitlines())
    ]


def largest_remainder(total: int, weights: list[float]) -> list[int]:
    """Integer counts summing to ``total`` in proportion to ``weights`` (Hamilton)."""
    s = sum(weights)
    quotas = [total * w / s for w in weights]
    counts = [math.floor(q) for q in quotas]
    order = sorted(range(len(weights)), key=lambda k: -(quotas[k] - counts[k]))
    for k in order[: total - sum(counts)]:
        counts[k] += 1
    return counts


def tier_of(score: float) -> str:
    for name, lower in TIERS:
        if score >= lower:
            return name
    return "D"


class Citizen(mesa.Agent):
    """A synthetic citizen: fixed attributes, a personal ledger and score, listings,
    deterrence and chilling multipliers, and a set of (active) friends."""

    def __init__(
        self, model: CreditModel, region: int, region_index: int, age: str, urban: bool, male: bool
    ):
        super().__init__(model)
        rnd = self.random
        self.region = region
        self.region_index = region_index  # position among the agents of the region
        self.index = -1  # position in the population (set once all agents exist)
        self.age = age  # "child", "adult" or "elder"
        self.urban = urban
        self.male = male
        self.parent: Citizen | None = None  # children: an adult of the same region
        self.platform_user = age != "child" and rnd.random() < (
            PLATFORM_URBAN if urban else PLATFORM_RURAL
        )
        self.speaker = age == "adult" and rnd.random() < SPEAKER_SHARE
        self.smoker = age == "adult" and rnd.random() < (SMOKER_MALE if male else SMOKER_FEMALE)
        self.honesty = rnd.betavariate(*HONESTY)
        self.civility = rnd.betavariate(*CIVILITY)
        self.civic = rnd.betavariate(*CIVIC)
        self.friends: set[Citizen] = set()
        # the services this citizen may ask for, with its daily probability
        self.services = []
        for svc in SERVICES:
            if age in svc.who:
                p = (
                    svc.p_elder
                    if (age == "elder" and svc.p_elder is not None)
                    else (svc.p_urban if urban else svc.p_rural)
                )
                self.services.append((svc, p))
        # state
        self.own = 0.0
        self.own_false = 0.0
        self.assoc = 0.0
        self.score = BASE
        self.tier = tier_of(BASE)
        self.deterrence = {"public": 1.0, "financial": 1.0, "speech": 1.0}
        self.chill = 1.0
        self.rode_train = False
        self.case_day = -1  # the day the pending case is judged (-1: none pending)
        self.case_kind: str | None = None  # debt_default, fraud, tax_evasion, defamation
        self.case_false_flag = False
        self.court_listed = False
        self.court_until = -1
        self.court_reason: str | None = None
        self.court_wrongful = False
        self.score_listed = False
        self.score_wrongful = False
        self.score_by_association = False
        self._new_day()

    # sets hash by id so that iterating a set of friends is the same in every run
    def __hash__(self) -> int:
        return self.unique_id

    def _new_day(self) -> None:
        self.true_events: list[str] = []
        self.observed: list[tuple[str, str]] = []  # (event type, truth)
        self.judged: str | None = None  # a financial judgment landed today
        self.insincere = False  # a defamation judgment today ended in an insincere apology
        self.apology_false_flag = False
        self.penalised: set[str] = set()
        self.speech_entry = False

    @property
    def listed(self) -> bool:
        return self.court_listed or self.score_listed

    @property
    def good(self) -> bool:
        return self.score >= GOOD_FROM

    @property
    def bad(self) -> bool:
        return self.court_listed or self.score_listed or self.score < BAD_BELOW

    # --- 1. behave ---------------------------------------------------------------------
    def behave(self) -> None:
        self._new_day()
        if self.age == "child":
            return
        rand = self.random.random
        ev = self.true_events
        if rand() < P_COMMUNITY_SERVICE * self.civic:
            ev.append("community_service")
        if self.platform_user and rand() < P_DOMESTIC_PURCHASE:
            ev.append("domestic_purchase")
        public = self.deterrence["public"]
        incivility = 1.0 - self.civility
        if self.smoker and rand() < P_SMOKING_IN_PUBLIC * incivility * public:
            ev.append("smoking_in_public")
        if rand() < P_TRAFFIC_VIOLATION * incivility * public:
            ev.append("traffic_violation")
        if self.smoker and self.rode_train and rand() < P_SMOKING_ON_TRAIN * public:
            ev.append("smoking_on_train")
        dishonesty = (1.0 - self.honesty) * self.deterrence["financial"]
        for kind, p in P_FINANCIAL.items():
            if rand() < p * dishonesty:
                ev.append(kind)
        # speech: Poisson posts, and the two flagged-rumour events by Poisson thinning
        if self.speaker:
            rate, critical = POST_RATE_SPEAKER, CRITICAL_SPEAKER
        else:
            rate, critical = POST_RATE, CRITICAL
        rate *= self.deterrence["speech"] * self.chill
        self.model.counts["posts"] += min(int(self.model.rng.poisson(rate)), 65535)
        if rand() < 1.0 - math.exp(-rate * MISINFO * FLAG_FALSE):
            ev.append("rumour_true")
        rest = 1.0 - critical - MISINFO
        if rand() < 1.0 - math.exp(-rate * (critical * FLAG_CRITICAL + rest * FLAG_OTHER)):
            ev.append("rumour_false_flag")
        counts = self.model.counts
        for e in ev:
            counts["true_" + e] += 1

    # --- 2. observe --------------------------------------------------------------------
    def _open_case(self, kind: str, false_flag: bool = False) -> bool:
        if self.case_day >= 0:
            return False
        self.case_day = self.model.day + COURT_DELAY
        self.case_kind = kind
        self.case_false_flag = false_flag
        return True

    def _observed(self, event: str, truth: str = "true") -> None:
        self.observed.append((event, truth))
        self.model.counts["observed_" + event] += 1

    def observe(self) -> None:
        model = self.model
        counts = model.counts
        rand = self.random.random
        # a judgment lands today: the slot is freed first
        if self.case_day == model.day:
            if self.case_kind == "defamation":
                counts["judgments_defamation"] += 1
                if rand() < P_INSINCERE:
                    self.insincere = True
                    self.apology_false_flag = self.case_false_flag
                    counts["apologies_insincere"] += 1
            else:
                counts["judgments_financial"] += 1
                self.judged = self.case_kind
                assert self.case_kind is not None  # (a pending case has its kind)
                self._observed(self.case_kind)
            self.case_day, self.case_kind, self.case_false_flag = -1, None, False
        for event in self.true_events:
            if event == "community_service":
                if rand() < P_REGISTRY:
                    self._observed(event)
            elif event == "domestic_purchase":
                self._observed(event)
            elif event in CAMERA_EVENTS:
                if rand() < COVERAGE[self.urban]:
                    if rand() < MISID:
                        model.misidentify(self, event)
                    else:
                        self._observed(event)
            elif event == "smoking_on_train":
                if rand() < P_TRAIN_STAFF:
                    self._observed(event)
            elif event in P_FINANCIAL:
                if rand() < P_CASE:
                    if self._open_case(event):
                        counts["cases_financial"] += 1
                    else:
                        counts["cases_financial_dropped"] += 1
            else:  # rumour_true, rumour_false_flag: the monitor flagged a post
                false_flag = event == "rumour_false_flag"
                self._observed("rumour", "false_flag" if false_flag else "true")
                if false_flag:
                    counts["false_flag_rumour"] += 1
                p = P_DEFAMATION_SPEAKER if self.speaker else P_DEFAMATION_OTHER
                if rand() < p:
                    if self._open_case("defamation", false_flag):
                        counts["cases_defamation"] += 1
                    else:
                        counts["cases_defamation_dropped"] += 1

    # --- 3. score ----------------------------------------------------------------------
    def associate(self) -> None:
        """Association from the friends' ledgers as they stood yesterday (this pass runs
        before any ledger is updated today)."""
        if self.friends:
            mean = sum(f.own for f in self.friends) / len(self.friends)
            self.assoc = ASSOCIATION_WEIGHT * mean if mean < 0.0 else 0.0
        else:
            self.assoc = 0.0

    def update_score(self) -> None:
        self.own *= DECAY
        self.own_false *= DECAY
        for event, truth in self.observed:
            delta = DELTA[event]
            self.own += delta
            if truth != "true":
                self.own_false += delta
            if delta < 0.0:
                self.penalised.add(CATEGORY[event])
        self.score = min(max(BASE + self.own + self.assoc, SCORE_MIN), SCORE_MAX)
        self.tier = tier_of(self.score)

    # --- 4. list -----------------------------------------------------------------------
    def update_listing(self) -> None:
        model = self.model
        counts = model.counts
        day = model.day
        # exits of standing listings
        if self.court_listed:
            if day >= self.court_until:
                self.court_listed = self.court_wrongful = False
                counts["exits_expiry"] += 1
            elif self.court_reason != "speech" and self.random.random() < P_PAY:
                self.court_listed = self.court_wrongful = False
                counts["exits_paid"] += 1
        if self.score_listed and self.score >= SCORE_THRESHOLD:
            self.score_listed = self.score_wrongful = self.score_by_association = False
            counts["exits_recovered"] += 1
        wrongful_entry = False
        # court listing (a new judgment renews a standing one)
        if self.judged or self.insincere:
            reason = self.judged or "speech"
            self.court_listed = True
            self.court_reason = reason
            self.court_until = day + COURT_TERM
            self.court_wrongful = reason == "speech" and self.apology_false_flag
            wrongful_entry = self.court_wrongful
            counts["entries_" + reason] += 1
            if reason == "speech":
                self.speech_entry = True
                model.listed_for_speech.append(self)
        # score listing
        if not self.score_listed and self.score < SCORE_THRESHOLD:
            self.score_listed = True
            self.score_wrongful = self.score - self.own_false >= SCORE_THRESHOLD
            self.score_by_association = BASE + self.own >= SCORE_THRESHOLD
            wrongful_entry = wrongful_entry or self.score_wrongful
            counts["entries_score"] += 1
            if self.score_by_association:
                counts["entries_association"] += 1
        if wrongful_entry:
            counts["entries_wrongful"] += 1

    # --- 5. services -------------------------------------------------------------------
    def decide(self, svc: Service) -> str:
        """The as-reported policy: deny > deposit > perk > granted."""
        if svc.deny_listed and self.listed:
            return "denied"
        if svc.deny_parent_listed and self.parent is not None and self.parent.listed:
            return "denied"
        if svc.deny_below is not None and self.score < svc.deny_below:
            return "denied"
        if svc.deposit_below is not None and self.score < svc.deposit_below:
            return "deposit"
        if svc.perk_from is not None and self.score >= svc.perk_from:
            return "perk"
        return "granted"

    def use_services(self) -> None:
        counts = self.model.counts
        day_of_year = self.model.day % 365
        rand = self.random.random
        self.rode_train = False
        for svc, p in self.services:
            if svc.annual_day >= 0 and svc.annual_day != day_of_year:
                continue
            if rand() >= p:
                continue
            outcome = self.decide(svc)
            counts[svc.name + "_requests"] += 1
            counts[svc.name + "_" + outcome] += 1
            if svc.name == "train" and outcome != "denied":
                self.rode_train = True

    # --- 6. respond --------------------------------------------------------------------
    def deter(self) -> None:
        for category in self.penalised:
            self.deterrence[category] *= 1.0 - DETERRENCE


class CreditModel(mesa.Model):
    """The as-reported social credit system on ``n`` synthetic citizens."""

    def __init__(self, n: int = 10_000, seed: int = 1):
        super().__init__(seed=seed)
        self.day = 0
        self.counts: Counter[str] = Counter()
        self.listed_for_speech: list[Citizen] = []
        self.active_edges = 0
        self._build_population(n)
        self._build_network()
        self.datacollector = mesa.DataCollector(
            model_reporters={
                **{m: (lambda model, m=m: model.counts[m]) for m in METRICS},
                "listed": lambda model: len(model.agents.select(lambda a: a.listed)),
                "active_edges": "active_edges",
                "score_mean": lambda model: model.agents.agg("score", np.mean),
            }
        )

    # --- population and network ----------------------------------------------------------
    def _build_population(self, n: int) -> None:
        rnd = self.random
        provs = provinces()
        per_region = largest_remainder(n, [p for _, p, _ in provs])
        self.regions: list[list[Citizen]] = []
        for r, ((_, _, urban_share), size) in enumerate(zip(provs, per_region)):
            members: list[Citizen] = []
            if size:
                ages = largest_remainder(
                    size, [CHILD_SHARE, 1 - CHILD_SHARE - ELDER_SHARE, ELDER_SHARE]
                )
                for age, count in zip(("child", "adult", "elder"), ages):
                    for _ in range(count):
                        members.append(
                            Citizen(
                                self,
                                r,
                                len(members),
                                age,
                                rnd.random() < urban_share,
                                rnd.random() >= FEMALE_SHARE,
                            )
                        )
            adults = [a for a in members if a.age == "adult"]
            if adults:
                for child in members:
                    if child.age == "child":
                        child.parent = rnd.choice(adults)
            self.regions.append(members)
        self.citizens: list[Citizen] = [a for members in self.regions for a in members]
        for index, agent in enumerate(self.citizens):
            agent.index = index

    def _befriend(self, a: Citizen, b: Citizen) -> None:
        if b not in a.friends:
            a.friends.add(b)
            b.friends.add(a)
            self.active_edges += 1

    def _build_network(self) -> None:
        """Child-parent links plus random friendships, 90 % within the region; the
        random edges make the total up to ``n * mean_degree / 2``."""
        rnd = self.random
        citizens = self.citizens
        n = len(citizens)
        children = [(a, a.parent) for a in citizens if a.parent is not None]
        for child, parent in children:
            self._befriend(child, parent)
        random_edges = max(0, round(n * MEAN_DEGREE / 2) - len(children))
        per_agent, extra = divmod(random_edges, n)
        for a in citizens:
            region = self.regions[a.region]
            size = len(region)
            for _ in range(per_agent + (rnd.random() < extra / n)):
                if rnd.random() < P_SAME_REGION and size > 1:
                    j = min(int(rnd.random() * (size - 1)), size - 2)
                    friend = region[j + 1 if j >= a.region_index else j]
                else:
                    j = min(int(rnd.random() * (n - 1)), n - 2)
                    friend = citizens[j + 1 if j >= a.index else j]
                self._befriend(a, friend)

    # --- helpers the agents call -----------------------------------------------------------
    def misidentify(self, offender: Citizen, event: str) -> None:
        """A camera's face match went wrong: the event lands on another agent of the
        offender's region, as a false event; the offender receives nothing."""
        region = self.regions[offender.region]
        size = len(region)
        if size <= 1:
            return
        j = min(int(self.random.random() * (size - 1)), size - 2)
        target = region[j + 1 if j >= offender.region_index else j]
        target.observed.append((event, "misidentified"))
        self.counts["observed_" + event] += 1
        self.counts["misidentified_" + event] += 1

    # --- the day ---------------------------------------------------------------------------
    def step(self) -> None:
        self.counts = Counter()
        self.listed_for_speech = []
        # 1-2. behave, observe
        self.agents.do("behave")
        self.agents.do("observe")
        # 3. score: association from yesterday's ledgers, then today's ledgers
        self.agents.do("associate")
        self.agents.do("update_score")
        # 4. list
        self.agents.do("update_listing")
        # 5. services
        self.agents.do("use_services")
        # 6. respond: deterrence, chilling, unfriending
        self.agents.do("deter")
        for listed in self.listed_for_speech:
            for friend in listed.friends:
                friend.chill *= CHILL
        self.unfriend()
        # 7. record
        self.datacollector.collect(self)
        self.day += 1

    def unfriend(self) -> None:
        """For each friendship with a good end (tier >= A) and a bad end (listed or
        tier <= C), the good end cuts it with probability 0.02: one draw per edge, on
        the edges as they stand at the start of the phase."""
        rand = self.random.random
        cuts = []
        for b in self.agents.select(lambda a: a.bad):
            b_good = b.good
            for f in b.friends:
                f_bad = f.bad
                if f_bad and f.unique_id < b.unique_id:
                    continue  # both ends bad: the edge is drawn once, from the lower id
                if f.good:
                    cutter, other = f, b
                elif b_good and f_bad:
                    cutter, other = b, f
                else:
                    continue
                if rand() < P_UNFRIEND:
                    cuts.append((cutter, other))
        for cutter, other in cuts:
            cutter.friends.discard(other)
            other.friends.discard(cutter)
        self.active_edges -= len(cuts)
        self.counts["edges_cut"] += len(cuts)


def run(agents: int, days: int, seed: int = 1) -> dict:
    """Build the model, run ``days`` days, and return the timings and the headline
    aggregates (summed over the run; the score mean is the last day's)."""
    t0 = time.perf_counter()
    model = CreditModel(agents, seed)
    t1 = time.perf_counter()
    for _ in range(days):
        model.step()
    t2 = time.perf_counter()
    daily = model.datacollector.get_model_vars_dataframe()
    total = {c: int(daily[c].sum()) for c in METRICS}
    run_s = t2 - t1
    return {
        "agents": agents,
        "days": days,
        "seed": seed,
        "build_s": t1 - t0,
        "run_s": run_s,
        "agent_days_per_s": agents * days / run_s,
        **{
            f"true_{e}": total[f"true_{e}"]
            for e in (
                "community_service",
                "domestic_purchase",
                "smoking_in_public",
                "traffic_violation",
                "smoking_on_train",
                "debt_default",
            )
        },
        "observed_traffic_violation": total["observed_traffic_violation"],
        "misidentified_events": total["misidentified_smoking_in_public"]
        + total["misidentified_traffic_violation"],
        "posts": total["posts"],
        "rumours_observed": total["observed_rumour"],
        "false_flags": total["false_flag_rumour"],
        "cases_financial": total["cases_financial"],
        "flight_requests": total["flight_requests"],
        "train_requests": total["train_requests"],
        "bike_rental_requests": total["bike_rental_requests"],
        "umbrella_rental_requests": total["umbrella_rental_requests"],
        "flight_denied": total["flight_denied"],
        "listing_entries": sum(
            total[f"entries_{r}"]
            for r in ("debt_default", "fraud", "tax_evasion", "speech", "score")
        ),
        "edges_cut": total["edges_cut"],
        "score_mean_end": float(daily["score_mean"].iloc[-1]),
    }


if __name__ == "__main__":
    print(json.dumps(run(10_000, 30), indent=2))
