"""Bad input, interruption and limits: one-line errors with exit code 2, checkpoints that
survive SIGKILL and Ctrl-C, run directories that are complete or refused."""

from __future__ import annotations

import collections
import json
import os
import signal
import string
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from conftest import assert_one_line
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from credsim import Sim, load_run
from credsim.cli import app
from credsim.errors import RunDirError
from credsim.resources import ResourceError
from credsim.results import TABLES
from credsim.scenario import PRESETS, describe_parameters

runner = CliRunner()
PARAMS = [r for r in describe_parameters() if "." in r["key"]]
KEYS = {r["key"] for r in PARAMS}
NUMERIC = [
    r
    for r in PARAMS
    if isinstance(r["default"], (int, float))
    and not isinstance(r["default"], bool)
    and r["lo"] is not None
]
PROBS = [r for r in NUMERIC if r["lo"] == 0 and r["hi"] == 1]
RATES = [
    r
    for r in NUMERIC
    if r["lo"] is not None and r["lo"] >= 0 and r not in PROBS and r["key"] != "run.seed"
]
TIERS = ["tier_c", "tier_b", "tier_a", "tier_aa", "tier_aaa"]
COUNTS: collections.Counter[str] = collections.Counter()
SETTINGS = settings(
    max_examples=150, deadline=None, database=None, suppress_health_check=list(HealthCheck)
)
FILE = Path(os.environ.get("TMPDIR", "/tmp")) / f"credsim-bad-{os.getpid()}.toml"


def run_file(text: str) -> tuple[int, str]:
    FILE.write_text(text)
    r = runner.invoke(
        app,
        [
            "run",
            str(FILE),
            "--agents",
            "50",
            "--days",
            "30",
            "--quiet",
            "--out",
            str(FILE.with_suffix(".out")),
        ],
    )
    return r.exit_code, r.stderr


def toml_value(v: object) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return json.dumps(v)
    if isinstance(v, float):
        return repr(v)
    return str(v)


def section_and_field(key: str) -> tuple[str, str]:
    sec, _, field = key.rpartition(".")
    return sec, field


@SETTINGS
@given(st.sampled_from(PARAMS), st.integers(0, 10_000))
def test_unknown_keys(param, k):
    sec, field = section_and_field(param["key"])
    i = k % (len(field) + 1)
    letter = string.ascii_lowercase[k % 26]
    bad = field[:i] + letter + field[i:]
    if f"{sec}.{bad}" in KEYS or "days" in bad:
        bad = bad + "_x"
    code, err = run_file(f"[{sec}]\n{bad} = 1\n")
    assert_one_line(code, err, str(FILE), f"unknown key '{sec}.{bad}'")
    COUNTS["unknown key"] += 1


@SETTINGS
@given(
    st.sampled_from(NUMERIC),
    st.one_of(
        st.text(string.ascii_letters, min_size=1, max_size=8),
        st.booleans(),
        st.lists(st.integers(0, 3), min_size=2, max_size=3),
    ),
)
def test_wrong_types(param, value):
    sec, field = section_and_field(param["key"])
    code, err = run_file(f"[{sec}]\n{field} = {toml_value(value)}\n")
    assert_one_line(code, err, str(FILE), f"key '{param['key']}'", "must be")
    COUNTS["wrong type"] += 1


@SETTINGS
@given(st.sampled_from(PROBS), st.one_of(st.floats(1.0001, 1e9), st.floats(-1e9, -1e-9)))
def test_probabilities_outside_unit_interval(param, value):
    sec, field = section_and_field(param["key"])
    code, err = run_file(f"[{sec}]\n{field} = {value!r}\n")
    assert_one_line(code, err, str(FILE), f"key '{param['key']}'", "must be a number in [0, 1]")
    COUNTS["probability out of [0, 1]"] += 1


@SETTINGS
@given(st.sampled_from(RATES), st.floats(-1e9, -1e-6))
def test_negative_rates_and_counts(param, value):
    sec, field = section_and_field(param["key"])
    v = -max(1, int(-value)) if isinstance(param["default"], int) else value
    code, err = run_file(f"[{sec}]\n{field} = {v!r}\n")
    assert_one_line(code, err, str(FILE), f"key '{param['key']}'", "must be")
    COUNTS["negative rate or count"] += 1


@SETTINGS
@given(st.lists(st.floats(0, 5000), min_size=5, max_size=5))
def test_tiers_out_of_order(vals):
    if all(b > a for a, b in zip(vals, vals[1:])):
        vals = sorted(vals, reverse=True)
        vals[0] = vals[-1]  # make the order fail surely
    body = "\n".join(f"{t} = {v!r}" for t, v in zip(TIERS, vals))
    code, err = run_file(f"[score]\n{body}\n")
    assert_one_line(code, err, str(FILE), "key 'score'", "tier thresholds must increase")
    COUNTS["tier thresholds out of order"] += 1


@SETTINGS
@given(
    st.sampled_from([r for r in PROBS if r["schedulable"]]),
    st.lists(st.integers(1, 28), min_size=1, max_size=5),
    st.booleans(),
)
def test_bad_schedules(param, days, beyond):
    sec, field = section_and_field(param["key"])
    if beyond:  # sorted, but past the horizon of 30 days
        ds = [0] + sorted(set(days)) + [30 + days[0]]
        needle = "within the horizon [0, 29]"
    else:  # not strictly increasing
        ds = [0] + days + [days[-1]]
        needle = "must"
    vals = ", ".join("0.1" for _ in ds)
    code, err = run_file(f"[{sec}]\n{field} = {{ days = {ds}, values = [{vals}] }}\n")
    assert_one_line(code, err, str(FILE), f"key '{param['key']}'", needle)
    COUNTS["schedule unsorted or out of horizon"] += 1


@SETTINGS
@given(st.text(string.ascii_lowercase + "-_", min_size=1, max_size=14))
def test_missing_presets(name):
    if name in PRESETS:
        name += "x"
    code, err = run_file(f'preset = "{name}"\n')
    assert_one_line(code, err, str(FILE), f"'{name}'", "no such preset")
    COUNTS["preset that does not exist"] += 1


@SETTINGS
@given(st.text(string.printable, min_size=1, max_size=40))
def test_malformed_toml(text):
    try:
        tomllib.loads(text)
        text = text + "\n[[["  # make it surely malformed
    except tomllib.TOMLDecodeError:
        pass
    code, err = run_file(text)
    assert_one_line(code, err, str(FILE), "malformed TOML")
    COUNTS["malformed TOML"] += 1


def test_schedule_of_a_fixed_parameter():
    code, err = run_file("[population]\nchild_share = { days = [0, 5], values = [0.2, 0.3] }\n")
    assert_one_line(code, err, "key 'population.child_share'", "cannot follow a schedule")


def test_at_least_1000_bad_scenarios_were_tried():
    if not COUNTS:
        pytest.skip("run with the bad-scenario tests above (the whole module)")
    print("\nbad scenarios tried, by kind:", dict(COUNTS), "total", sum(COUNTS.values()))
    assert len(COUNTS) == 8 and sum(COUNTS.values()) >= 1000
    FILE.unlink(missing_ok=True)


# ------------------------------------------------------------------------------------
# Memory and disk


def test_absurd_population_is_refused_before_allocating():
    r = runner.invoke(
        app,
        ["run", "--agents", "2000000000", "--days", "10", "--quiet", "--out", "/tmp/credsim-never"],
    )
    assert r.exit_code == 2
    err = r.stderr.strip()
    assert len(err.splitlines()) == 1 and "GiB of memory" in err and "available" in err
    assert "fewer --agents" in err
    assert not Path("/tmp/credsim-never").exists()
    with pytest.raises(ResourceError):
        Sim("as-reported", agents=2_000_000_000, days=10).build()


def test_too_little_disk_is_refused(tmp_path, monkeypatch):
    import credsim.resources as res

    monkeypatch.setattr(res, "available_disk", lambda p: 1000)
    sim = Sim("as-reported", agents=1000, days=5)
    with pytest.raises(ResourceError, match="of disk"):
        sim.run(out=tmp_path / "r")


def test_estimate_is_in_proportion_to_agents_and_degree():
    from credsim.resources import estimate

    a, b = estimate(10**7, 20, 365), estimate(10**8, 20, 365)
    assert 8 < (b.memory - a.memory) / (estimate(2 * 10**7, 20, 365).memory - a.memory) < 10
    assert estimate(10**7, 40, 365).memory > a.memory
    assert 100 < a.per_agent < 200


# ------------------------------------------------------------------------------------
# Checkpoints, SIGKILL, SIGINT

ARGS = [
    "--agents",
    "30000",
    "--days",
    "160",
    "--seed",
    "4",
    "--quiet",
    "--set",
    "behave.p_debt_default=0.003",
    "--set",
    "observe.court_delay=20",
    "--set",
    "behave.p_traffic_violation=0.2",
    "--set",
    "score.deltas.traffic_violation=-40",
]


def cli(*args: str, env: dict | None = None) -> list[str]:
    return [sys.executable, "-m", "credsim.cli", "run", *args]


def same_tables(a: Path, b: Path) -> list[str]:
    return [
        t
        for t in TABLES
        if not pq.read_table(a / f"{t}.parquet").equals(pq.read_table(b / f"{t}.parquet"))
    ]


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    out = tmp_path_factory.mktemp("ref") / "run"
    subprocess.run(cli(*ARGS, "--out", str(out)), check=True, capture_output=True)
    return out


def start_and_wait_for_checkpoint(out: Path, every: int = 10) -> subprocess.Popen:
    p = subprocess.Popen(
        cli(*ARGS, "--out", str(out), "--checkpoint-every", str(every)),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    ck = out / "checkpoint.npz"
    t0 = time.time()
    while not ck.exists():
        assert p.poll() is None, "the run ended before its first checkpoint"
        assert time.time() - t0 < 300
        time.sleep(0.02)
    return p


def test_sigkill_then_resume_gives_identical_tables(tmp_path, reference):
    out = tmp_path / "run"
    p = start_and_wait_for_checkpoint(out)
    time.sleep(0.3)
    p.send_signal(signal.SIGKILL)
    p.wait()
    assert p.returncode == -signal.SIGKILL
    assert not (out / "run.json").exists()
    with pytest.raises(RunDirError, match="incomplete"):
        load_run(out)
    r = subprocess.run(cli("--resume", str(out)), capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert "resuming" in r.stdout
    assert same_tables(out, reference) == []
    assert not (out / "checkpoint.npz").exists()
    load_run(out)


def test_sigint_stops_at_end_of_day_with_checkpoint(tmp_path, reference):
    out = tmp_path / "run"
    p = start_and_wait_for_checkpoint(out, every=5)
    p.send_signal(signal.SIGINT)
    _, err = p.communicate(timeout=120)
    assert p.returncode == 130, err
    assert "interrupted at the end of day" in err and f"--resume {out}" in err
    assert "Traceback" not in err
    r = subprocess.run(cli("--resume", str(out)), capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert same_tables(out, reference) == []


def test_resume_in_process_equals_uninterrupted(tmp_path):
    kw = {"agents": 4000, "days": 40, "seed": 2, "overrides": ["observe.court_delay=5"]}
    ref = Sim("as-reported", **kw).run(out=tmp_path / "ref")
    sim = Sim("as-reported", **kw)
    sim.out = tmp_path / "cut"
    sim.build()
    for _ in range(17):
        sim.step()
    sim.checkpoint(tmp_path / "cut")
    again = Sim.resume(tmp_path / "cut").run(out=tmp_path / "cut")
    assert same_tables(tmp_path / "cut", ref.path) == []
    assert again.meta["days"] == 40


# ------------------------------------------------------------------------------------
# Run directories: complete or refused


@pytest.fixture(scope="module")
def done(tmp_path_factory):
    out = tmp_path_factory.mktemp("done") / "run"
    Sim("as-reported", agents=2000, days=5).run(out=out)
    return out


def copy_run(src: Path, dst: Path) -> Path:
    import shutil

    shutil.copytree(src, dst)
    return dst


def test_damaged_run_directories_are_refused(tmp_path, done):
    assert len(load_run(done).daily) == 5
    with pytest.raises(RunDirError, match="not a run directory"):
        load_run(tmp_path / "nothing")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(RunDirError, match="no run.json"):
        load_run(empty)
    trunc = copy_run(done, tmp_path / "trunc")
    data = (trunc / "agents.parquet").read_bytes()
    (trunc / "agents.parquet").write_bytes(data[: len(data) // 2])
    with pytest.raises(RunDirError, match="corrupted"):
        load_run(trunc)
    badjson = copy_run(done, tmp_path / "badjson")
    (badjson / "run.json").write_text("{ not json")
    with pytest.raises(RunDirError, match="corrupted run.json"):
        load_run(badjson)
    inc = copy_run(done, tmp_path / "inc")
    meta = json.loads((inc / "run.json").read_text())
    meta["complete"] = False
    (inc / "run.json").write_text(json.dumps(meta))
    with pytest.raises(RunDirError, match="incomplete"):
        load_run(inc)
    gone = copy_run(done, tmp_path / "gone")
    (gone / "ledger.parquet").unlink()
    with pytest.raises(RunDirError, match="missing ledger.parquet"):
        load_run(gone)


def test_resume_errors_are_one_line(tmp_path, done):
    r = runner.invoke(app, ["run", "--resume", str(done)])
    assert r.exit_code == 2 and "nothing to resume" in r.stderr
    r = runner.invoke(app, ["run", "--resume", str(tmp_path)])
    assert r.exit_code == 2 and "no checkpoint" in r.stderr
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "checkpoint.npz").write_bytes(b"garbage")
    r = runner.invoke(app, ["run", "--resume", str(bad)])
    assert r.exit_code == 2 and "corrupted checkpoint" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    r = runner.invoke(app, ["run", "--resume", str(bad), "--agents", "5"])
    assert r.exit_code == 2 and "give no scenario" in r.stderr
    r = runner.invoke(app, ["run", "--out", str(bad), "--agents", "100", "--days", "2"])
    assert r.exit_code == 2 and "interrupted run" in r.stderr


@pytest.mark.parametrize("args", [["report"], ["explain", "--agent", "1"], ["query", "select 1"]])
def test_analysis_commands_refuse_incomplete_and_non_runs(tmp_path, done, args):
    inc = tmp_path / "inc"
    inc.mkdir()
    (inc / "checkpoint.npz").write_bytes(b"")
    for target, needle in (
        (inc, "incomplete"),
        (tmp_path / "none", "not a run directory"),
        (tmp_path, "not a run directory"),
    ):
        argv = [args[0], str(target), *args[1:]]
        r = runner.invoke(app, argv)
        assert r.exit_code == 2, (argv, r.output)
        assert needle in r.stderr and len(r.stderr.strip().splitlines()) == 1
        assert "Traceback" not in r.output
