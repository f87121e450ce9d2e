"""Scenario input at the edges of what is allowed: Beta shapes over their whole range,
thresholds and schedules that must be finite and in range, numbers that must be numbers,
names that must not be paths, and scenario files that cannot be read. Every refusal is
one line (file or preset, key, value, what is allowed) and exit code 2 from the CLI."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import numpy as np
import pytest
from conftest import assert_one_line
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from credsim.cli import app
from credsim.errors import ScenarioError
from credsim.population import N_CLASSES, beta_classes
from credsim.scenario import PRESETS, describe_parameters, load_scenario

runner = CliRunner()
SETTINGS = settings(
    max_examples=200, deadline=None, database=None, suppress_health_check=list(HealthCheck)
)
BETA_LO, BETA_HI = 0.05, 1000.0
THRESHOLDS = [
    f"services.{s}.{t}"
    for s in ("flight", "hotel", "visa", "private_school")
    for t in ("deny_below", "deposit_below", "perk_from")
] + ["respond.good_from", "respond.bad_below"]
PARAMS = describe_parameters()
NUMERIC = [
    r["key"]
    for r in PARAMS
    if isinstance(r["default"], (int, float)) and not isinstance(r["default"], bool)
]


def cli_run(*args: str, out: Path) -> tuple[int, str]:
    r = runner.invoke(
        app, ["run", *args, "--agents", "50", "--days", "5", "--quiet", "--out", str(out)]
    )
    return r.exit_code, r.stderr


def refused(sets: list[str], *needles: str, source: str | dict = "as-reported") -> str:
    with pytest.raises(ScenarioError) as e:
        load_scenario(source, sets)
    msg = str(e.value)
    assert "\n" not in msg, msg
    for n in needles:
        assert n in msg, (n, msg)
    return msg


# ------------------------------------------------------------------------------------
# 1. Beta propensity classes over the whole allowed range of shapes

shape = st.one_of(
    st.sampled_from([BETA_LO, BETA_HI, 1.0, 0.5, 2.0]),
    st.floats(BETA_LO, BETA_HI),
    st.floats(math.log(BETA_LO), math.log(BETA_HI)).map(
        lambda t: min(BETA_HI, max(BETA_LO, math.exp(t)))
    ),
)


@SETTINGS
@given(shape, shape)
def test_beta_classes_are_finite_ordered_and_keep_the_mean(a, b):
    v = beta_classes(a, b)
    assert v.dtype == np.float32 and v.shape == (N_CLASSES,)
    assert np.all(np.isfinite(v)), (a, b, int(np.isnan(v).sum()))
    assert v.min() >= 0 and v.max() <= 1
    assert np.all(np.diff(v) >= 0)
    m = a / (a + b)
    x = v.astype(np.float64)
    # float32 storage: each value is rounded to 2^-24 of itself, or of 1 near 1
    assert abs(x.mean() - m) <= 1e-7 * m, (a, b, x.mean(), m)
    assert abs((1 - x).mean() - (1 - m)) <= 1e-7, (a, b)


@SETTINGS
@given(shape, shape)
def test_beta_class_means_are_exact_in_double_precision(a, b):
    from credsim.population import beta_class_means

    v = beta_class_means(a, b)
    assert v.dtype == np.float64 and np.all(np.isfinite(v))
    assert v.min() >= 0 and v.max() <= 1 and np.all(np.diff(v) >= 0)
    m = a / (a + b)
    assert abs(v.mean() - m) <= 1e-10 * min(m, 1 - m), (a, b, v.mean(), m)
    var = a * b / ((a + b) ** 2 * (a + b + 1))
    assert v.var() <= var * (1 + 1e-9)  # classes average within: never more spread


@pytest.mark.parametrize("a", [BETA_LO, 0.2, 1.0, 3.7, 80.0, BETA_HI])
def test_beta_classes_match_the_closed_form_of_beta_a_1(a):
    """Beta(a, 1) has F(x) = x^a: class j is [(j/k)^(1/a), ((j+1)/k)^(1/a)] and its mean
    is k a/(a+1) (p1^((a+1)/a) - p0^((a+1)/a)); Beta(1, a) is its mirror image."""
    from credsim.population import beta_class_means

    k = N_CLASSES
    p = np.arange(k + 1) / k
    want = k * a / (a + 1) * np.diff(p ** ((a + 1) / a))
    np.testing.assert_allclose(beta_class_means(a, 1.0), want, rtol=1e-9, atol=1e-15)
    # (1 - want loses digits near 0: compare the mirror image near 1 instead)
    np.testing.assert_allclose(1 - beta_class_means(1.0, a)[::-1], want, rtol=1e-9, atol=1e-15)
    np.testing.assert_allclose(beta_classes(a, 1.0), want.astype(np.float32), rtol=1e-6, atol=1e-37)


def test_extreme_shapes_give_every_agent_a_propensity():
    from credsim import Sim

    sim = Sim(
        "as-reported",
        agents=1000,
        days=2,
        seed=1,
        overrides=[
            "population.honesty=[0.05, 1000]",
            "population.civility=[1000, 0.05]",
            "population.civic=[0.05, 0.05]",
        ],
    )
    sim.build()
    for name in ("honesty", "civility", "civic"):
        col = sim.pop.column(name)
        assert np.all(np.isfinite(col)) and col.min() >= 0 and col.max() <= 1, name


@pytest.mark.parametrize(
    "value,needle",
    [
        ("[0.049, 2]", "each in [0.05, 1000]"),
        ("[2, 1000.5]", "each in [0.05, 1000]"),
        ("[nan, 2]", "each in [0.05, 1000]"),
        ("[2, inf]", "each in [0.05, 1000]"),
        ("[true, 2]", "[a, b]"),
        ("[2, '3']", "[a, b]"),
        ("[2]", "[a, b]"),
        ("[1, 2, 3]", "[a, b]"),
        ("2", "[a, b]"),
        ("'2, 3'", "[a, b]"),
    ],
)
def test_bad_beta_shapes_are_refused(value, needle):
    refused([f"population.honesty={value}"], "key 'population.honesty'", needle)


# ------------------------------------------------------------------------------------
# 2. Thresholds and schedules: finite, in range; strings are not numbers


@pytest.mark.parametrize("key", THRESHOLDS)
@pytest.mark.parametrize(
    "value",
    [
        "nan",
        "inf",
        "-inf",
        "-1e308",
        "1e308",
        "-5",
        "100001",
        "{days=[0, 5], values=[600, nan]}",
        "{days=[0, 5], values=[600, inf]}",
        "{days=[0, 5], values=[600, -1]}",
    ],
)
def test_thresholds_must_be_finite_scores(key, value):
    refused([f"{key}={value}"], f"key '{key}'", "[0, 100000]")


@pytest.mark.parametrize("key", THRESHOLDS)
def test_thresholds_in_range_are_kept(key):
    for value, want in (
        ("0", 0.0),
        ("100000", 100000.0),
        ("650.5", 650.5),
        ("'AA'", "AA"),
        ("false", None),
    ):
        s = load_scenario("as-reported", [f"{key}={value}"])
        sec, _, field = key.rpartition(".")
        obj = s
        for part in sec.split("."):
            obj = getattr(obj, part)
        assert getattr(obj, field) == want


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "1e400", "-1e400"])
@pytest.mark.parametrize(
    "key",
    [
        "observe.misid",
        "score.base",
        "score.tier_c",
        "run.days",
        "population.agents",
        "network.mean_degree",
        "listing.score_threshold",
        "score.deltas.fraud",
    ],
)
def test_non_finite_numbers_are_refused(key, value):
    refused([f"{key}={value}"], f"key '{key}'", "must be")


finite_or_not = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([math.nan, math.inf, -math.inf, 0.0, -0.0, 1e-300]),
    st.integers(-(10**30), 10**30),
)


@SETTINGS
@given(st.sampled_from(NUMERIC + THRESHOLDS), finite_or_not, st.booleans())
def test_whatever_is_accepted_is_finite_and_strict_json(key, value, scheduled):
    """Any number for any parameter (or in a schedule): either a one-line refusal, or a
    scenario whose every value is finite, so that run.json is strict JSON."""
    v: object = {"days": [0, 3], "values": [value, value]} if scheduled else value
    data: dict = {}
    node = data
    parts = key.split(".")
    for p in parts[:-1]:
        node = node.setdefault(p, {})
    node[parts[-1]] = v
    try:
        s = load_scenario(data)
    except ScenarioError as e:  # the key, or its section for a rule between keys
        assert "\n" not in str(e) and f"key '{key.split('.')[0]}" in str(e), str(e)
        return
    json.dumps(s.model_dump(), allow_nan=False)
    json.dumps(s.model_dump(mode="json"), allow_nan=False)


def test_presets_dump_to_strict_json():
    for p in PRESETS:
        json.dumps(load_scenario(p).model_dump(), allow_nan=False)


@pytest.mark.parametrize("key", NUMERIC + ["population.honesty"] + THRESHOLDS)
def test_strings_are_not_numbers_in_files(tmp_path, key):
    sec, _, field = key.rpartition(".")
    value = '["8", "2"]' if key == "population.honesty" else '"0.1"'
    f = tmp_path / "s.toml"
    f.write_text(f"[{sec}]\n{field} = {value}\n" if sec else f"{field} = {value}\n")
    with pytest.raises(ScenarioError) as e:
        load_scenario(f)
    msg = str(e.value)
    assert "\n" not in msg and str(f) in msg and f"key '{key}'" in msg and "must be" in msg


@pytest.mark.parametrize(
    "sched",
    [
        "{days=[0, 5], values=['0.1', 0.2]}",
        "{days=['0', 5], values=[0.1, 0.2]}",
        "{days=[0, 5], values=[true, false]}",
        "{days=[0, true], values=[0.1, 0.2]}",
        "{days=[0, 5.5], values=[0.1, 0.2]}",
    ],
)
def test_schedule_entries_must_be_numbers(sched):
    refused([f"observe.misid={sched}"], "key 'observe.misid'", "must")


@pytest.mark.parametrize(
    "sched,needle",
    [
        ("{days=[0, 20000], values=[0.1, 0.2]}", "[0, 19999]"),
        ("{days=[0, 100000000000000000000000], values=[0.1, 0.2]}", "[0, 19999]"),
        ("{days=[-1, 5], values=[0.1, 0.2]}", "day 0"),
        ("{days=[0, 5, 5], values=[0.1, 0.2, 0.3]}", "strictly increasing"),
        ("{days=[0, 7, 5], values=[0.1, 0.2, 0.3]}", "strictly increasing"),
        ("{days=[0, 5], values=[0.1]}", "as many"),
        ("{days=[], values=[]}", "at least one"),
    ],
)
def test_schedule_days(sched, needle):
    refused([f"observe.misid={sched}"], "key 'observe.misid'", needle)


def test_command_line_numbers_are_still_numbers():
    s = load_scenario(
        "as-reported",
        [
            "observe.misid=0.1",
            "run.days=30",
            "observe.p_case=.5",
            "score.base=1e3",
            "network.mean_degree=7.",
            "run.seed=012",
        ],
    )
    assert s.observe.misid == 0.1 and s.run.days == 30 and s.observe.p_case == 0.5
    assert s.score.base == 1000.0 and s.network.mean_degree == 7.0 and s.run.seed == 12
    # text that is not TOML stays text where the key takes text, a number where it does not
    s = load_scenario(
        "as-reported",
        [
            "name=1.",
            "population.single_region=007",
            "services.flight.deny_below=650.",
            "services.hotel.deposit_below=AA",
        ],
    )
    assert s.name == "1." and s.population.single_region == "007"
    assert s.services.flight.deny_below == 650.0 and s.services.hotel.deposit_below == "AA"
    refused(["observe.misid='0.1'"], "key 'observe.misid' = '0.1'", "must be a number")
    refused(["observe.misid=high"], "key 'observe.misid' = 'high'", "must be a number")


def test_strings_and_booleans_in_files_through_the_cli(tmp_path):
    for body, key in (
        ("[services.flight]\ndeny_below = nan\n", "services.flight.deny_below"),
        ('[observe]\nmisid = "0.1"\n', "observe.misid"),
        ('[run]\ndays = "30"\n', "run.days"),
        ("[population]\nhonesty = [true, 2]\n", "population.honesty"),
    ):
        f = tmp_path / "s.toml"
        f.write_text(body)
        code, err = cli_run(str(f), out=tmp_path / "out")
        assert_one_line(code, err, str(f), f"key '{key}'", "must be")
        assert not (tmp_path / "out").exists()


def test_error_values_are_shortened():
    msg = refused([f"observe.misid='{'x' * 5000}'"], "key 'observe.misid'")
    assert len(msg) < 400


# ------------------------------------------------------------------------------------
# 3. A scenario's name is a plain name, never a path


@pytest.mark.parametrize(
    "name",
    [
        "",
        ".",
        "..",
        "/some/dir",
        "a/b",
        "../x",
        ".hidden",
        "-rf",
        "a b",
        "a\nb",
        "x" * 101,
        "\u00e9t\u00e9",
        "a\\b",
    ],
)
def test_names_that_are_not_plain_are_refused(name):
    refused([f"name={json.dumps(name)}"], "key 'name'", "letters, digits")
    refused([], "key 'name'", source={"name": name})


@pytest.mark.parametrize("name", ["as-reported", "a", "A_1.v2-final", "_x", "9", "x" * 100])
def test_plain_names_are_kept(name):
    assert load_scenario("as-reported", [f"name={json.dumps(name)}"]).name == name


def test_raw_command_line_names():
    refused(["name="], "key 'name' = ''")
    refused(["name=.."], "key 'name' = '..'")
    assert load_scenario("as-reported", ["name=my-run"]).name == "my-run"


def test_a_name_that_is_a_path_deletes_nothing(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    keep = tmp_path / "keep"
    keep.mkdir()
    (keep / "data.txt").write_text("precious")
    f = tmp_path / "s.toml"
    for name in (str(keep), "..", "../keep"):
        f.write_text(f"name = {json.dumps(name)}\n")
        r = runner.invoke(
            app, ["run", str(f), "--agents", "50", "--days", "2", "--quiet", "--force"]
        )
        assert_one_line(r.exit_code, r.stderr, str(f), "key 'name'")
        assert (keep / "data.txt").read_text() == "precious"


@pytest.mark.parametrize(
    "stem,want",
    [
        ("mine", "mine"),
        ("my scenario", "my_scenario"),
        ("..", "scenario"),
        (".hidden", "hidden"),
        ("-x", "x"),
        ("caf\u00e9 2", "caf_2"),
    ],
)
def test_default_name_from_the_file_name_is_plain(tmp_path, stem, want):
    f = tmp_path / f"{stem}.toml"
    f.write_text("[observe]\nmisid = 0.02\n")
    assert load_scenario(f).name == want


# ------------------------------------------------------------------------------------
# 4. Scenario files that cannot be read: one line, exit 2, never a traceback


def _unreadable(tmp_path: Path, monkeypatch) -> Path:
    f = tmp_path / "locked.toml"
    f.write_text("[observe]\nmisid = 0.02\n")
    f.chmod(0)
    if os.access(f, os.R_OK):  # root reads anything: refuse it by hand
        real = os.open

        def deny(path, *a, **k):  # type: ignore[no-untyped-def]
            if str(path) == str(f):
                raise PermissionError(13, "Permission denied", str(path))
            return real(path, *a, **k)

        monkeypatch.setattr(os, "open", deny)
        import builtins

        real_open = builtins.open

        def deny_open(path, *a, **k):  # type: ignore[no-untyped-def]
            if str(path) == str(f):
                raise PermissionError(13, "Permission denied", str(path))
            return real_open(path, *a, **k)

        monkeypatch.setattr(builtins, "open", deny_open)
    return f


def _file(tmp_path: Path, kind: str, monkeypatch) -> Path:
    if kind == "symlink loop":
        f = tmp_path / "a.toml"
        f.symlink_to("a.toml")
    elif kind == "symlink loop, no suffix":
        f = tmp_path / "loop"
        f.symlink_to("loop")
    elif kind == "directory":
        f = tmp_path / "d.toml"
        f.mkdir()
    elif kind == "directory, no suffix":
        f = tmp_path / "dir"
        f.mkdir()
    elif kind == "unreadable":
        f = _unreadable(tmp_path, monkeypatch)
    elif kind == "not UTF-8":
        f = tmp_path / "latin.toml"
        f.write_bytes('name = "caf\u00e9"\n'.encode("latin-1"))
    elif kind == "deep arrays":
        f = tmp_path / "deep.toml"
        f.write_text("x = " + "[" * 5000 + "\n")
    elif kind == "deep inline tables":
        f = tmp_path / "deep2.toml"
        f.write_text("x = " + "{a = " * 5000 + "\n")
    elif kind == "deep dotted key":
        f = tmp_path / "deep3.toml"
        f.write_text("observe" + ".a" * 5000 + " = 1\n")
    elif kind == "deep table header":
        f = tmp_path / "deep4.toml"
        f.write_text("[" + ".".join(["x"] * 5000) + "]\n")
    elif kind == "deep value of a key":
        f = tmp_path / "deep5.toml"
        f.write_text("[observe]\nmisid = " + "[" * 300 + "]" * 300 + "\n")
    elif kind == "huge":
        f = tmp_path / "huge.toml"
        with open(f, "w") as fh:
            line = "# " + "x" * 1021 + "\n"
            for _ in range(9 * 1024):
                fh.write(line)
    elif kind == "very long name":
        f = tmp_path / ("x" * 300 + ".toml")
    else:
        raise AssertionError(kind)
    return f


KINDS = [
    "symlink loop",
    "symlink loop, no suffix",
    "directory",
    "directory, no suffix",
    "unreadable",
    "not UTF-8",
    "deep arrays",
    "deep inline tables",
    "deep dotted key",
    "deep table header",
    "deep value of a key",
    "huge",
    "very long name",
]


@pytest.mark.parametrize("kind", KINDS)
def test_unreadable_scenario_files_are_one_line(tmp_path, monkeypatch, kind):
    f = _file(tmp_path, kind, monkeypatch)
    code, err = cli_run(str(f), out=tmp_path / "out")
    assert_one_line(code, err)
    shown = str(f) if len(str(f)) < 200 else "x" * 100
    assert shown in err, err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    "value",
    ["[" * 5000, "{a=" * 5000, "[" * 300 + "]" * 300],
    ids=["5000 arrays", "5000 tables", "300 arrays"],
)
def test_deep_override_values_are_one_line(value):
    refused([f"observe.misid={value}"], "observe.misid")


def test_deep_override_keys_are_one_line():
    refused(["observe" + ".a" * 5000 + "=1"], "--set")


# ------------------------------------------------------------------------------------
# 5. Merging a file over a preset keeps the preset's other keys


def test_merging_a_section_that_has_days_keeps_its_other_keys():
    from credsim.scenario import _merge

    merged = _merge(
        {"run": {"days": 365, "seed": 7}, "observe": {"misid": 0.01}},
        {"run": {"days": 30}, "observe": {"misid": {"days": [0], "values": [0.1]}}},
    )
    assert merged["run"] == {"days": 30, "seed": 7}
    assert merged["observe"]["misid"] == {"days": [0], "values": [0.1]}
    sched = _merge(
        {"x": {"days": [0, 4], "values": [0.1, 0.2]}}, {"x": {"days": [0], "values": [0.3]}}
    )
    assert sched["x"] == {"days": [0], "values": [0.3]}
