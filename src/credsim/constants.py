"""Codes shared by the phases, the recorder and the results: event types, tiers,
services, listing reasons. Kernels use the integer codes; tables use the names."""

from __future__ import annotations

# --- Event types (index = bit in the per-agent day masks) -------------------------
COMMUNITY_SERVICE = 0
DOMESTIC_PURCHASE = 1
SMOKING_IN_PUBLIC = 2
TRAFFIC_VIOLATION = 3
SMOKING_ON_TRAIN = 4
DEBT_DEFAULT = 5
FRAUD = 6
TAX_EVASION = 7
RUMOUR = 8  # observed type of both rumour_true and rumour_false_flag
RUMOUR_FALSE_FLAG = 9  # bit used in the day masks for a falsely flagged post

EVENT_TYPES = (
    "community_service",
    "domestic_purchase",
    "smoking_in_public",
    "traffic_violation",
    "smoking_on_train",
    "debt_default",
    "fraud",
    "tax_evasion",
    "rumour",
)
N_TYPES = len(EVENT_TYPES)  # 9 observed types (deltas indexed by these)
# True-event names for the day mask bits 0..9
TRUE_EVENT_NAMES = EVENT_TYPES[:8] + ("rumour_true", "rumour_false_flag")

# Deterrence categories
CAT_NONE, CAT_PUBLIC, CAT_FINANCIAL, CAT_SPEECH = -1, 0, 1, 2
CATEGORIES = ("public", "financial", "speech")
EVENT_CATEGORY = (
    CAT_NONE,
    CAT_NONE,
    CAT_PUBLIC,
    CAT_PUBLIC,
    CAT_PUBLIC,
    CAT_FINANCIAL,
    CAT_FINANCIAL,
    CAT_FINANCIAL,
    CAT_SPEECH,
)

# Ground truth of an observed event
TRUTH_TRUE, TRUTH_MISID, TRUTH_FALSE_FLAG = 0, 1, 2
TRUTHS = ("true", "misidentified", "false_flag")

# --- Age groups, sexes ------------------------------------------------------------
CHILD, ADULT, ELDER = 0, 1, 2
AGE_GROUPS = ("child", "adult", "elder")
FEMALE, MALE = 0, 1
SEXES = ("female", "male")

# --- Tiers (codes ascend with the score) --------------------------------------------
TIER_D, TIER_C, TIER_B, TIER_A, TIER_AA, TIER_AAA, TIER_NONE = 0, 1, 2, 3, 4, 5, 6
TIERS = ("D", "C", "B", "A", "AA", "AAA", "unscored")
TIER_BOUNDS = ("C", "B", "A", "AA", "AAA")  # names of the lower bounds, ascending

# --- Courts: pending case kinds -----------------------------------------------------
CASE_NONE, CASE_DEBT, CASE_FRAUD, CASE_TAX, CASE_DEFAMATION = 0, 1, 2, 3, 4
CASE_FALSE_BIT = 8  # or-ed into pend_kind when the case began with a false flag
CASE_KNOWS = 128  # bit 7: a listing has denied the agent (cleared when no longer listed)

# day_court bits
DC_FIN_OPENED = 1
DC_FIN_DROPPED = 2
DC_DEF_OPENED = 4
DC_DEF_DROPPED = 8
DC_FIN_JUDGED = 16
DC_DEF_JUDGED = 32
DC_INSINCERE = 64
DC_JUDGED_FALSE = 128

# --- Listing ------------------------------------------------------------------------
# lflags bits (persistent)
LF_COURT = 1
LF_COURT_WRONGFUL = 2
LF_SCORE = 4
LF_SCORE_WRONGFUL = 8
LF_SCORE_ASSOC = 16
LF_SCORE_EXEMPT = 32  # score listing overturned on appeal: not re-listed until recovered
LF_EVER = 64
LF_RODE_TRAIN = 128  # rode a train yesterday (set by services, read by behave)

COURT_REASONS = ("none", "debt_default", "fraud", "tax_evasion", "speech")

# day_list bits (per day)
DL_COURT_ENTRY = 1
DL_SCORE_ENTRY = 2
DL_EXIT_EXPIRY = 4
DL_EXIT_PAID = 8
DL_EXIT_RECOVERED = 16
DL_EXIT_APPEAL_COURT = 32
DL_EXIT_APPEAL_SCORE = 64
DL_APPEALED = 128
DL_ENTRY_WRONGFUL = 256
DL_ENTRY_ASSOC = 512
DL_SPEECH_ENTRY = 1024
DL_STRUCK = 4096  # an overturned wrongful listing struck the false events from the ledger
DL_COURT_WRONGFUL = 2048  # DL_ENTRY_WRONGFUL and DL_ENTRY_ASSOC are the score entry's

# --- Services -----------------------------------------------------------------------
SERVICES = (
    "flight",
    "train",
    "luxury_hotel",
    "hotel",
    "bike_rental",
    "umbrella_rental",
    "social_services",
    "property_purchase",
    "visa",
    "dating_app",
    "private_school",
)
N_SERVICES = len(SERVICES)
SVC_TRAIN = 1
SVC_SCHOOL = 10
GRANTED, DENIED, DEPOSIT, PERK = 0, 1, 2, 3
OUTCOMES = ("granted", "denied", "deposit", "perk")
# listing status of the agent whose listing decides a request
ST_NOT_LISTED, ST_RIGHTFUL, ST_WRONGFUL = 0, 1, 2
STATUSES = ("not_listed", "listed_rightful", "listed_wrongful")

# --- Random-number streams ------------------------------------------------------------
S_POPULATION = 1
S_NETWORK = 2
S_BEHAVE = 3
S_OBSERVE = 4
S_MISID_TARGET = 5
S_LIST = 6
S_SERVICES = 7
S_UNFRIEND = 8
S_COURT = 9
