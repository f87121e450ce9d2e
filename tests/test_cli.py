"""The command line, as a user runs it."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from credsim import load_run
from credsim.cli import app

runner = CliRunner()


def test_run_writes_a_run_directory_and_summary(tmp_path):
    out = tmp_path / "r"
    r = runner.invoke(
        app,
        [
            "run",
            "as-reported",
            "--agents",
            "5000",
            "--days",
            "30",
            "--out",
            str(out),
            "--profile",
            "--quiet",
            "--set",
            "observe.misid=0.02",
        ],
    )
    assert r.exit_code == 0, r.output
    for needle in (
        "listed at the end",
        "national estimate",
        "flights denied",
        "friendships cut",
        "time per phase",
        "behave",
        "record",
    ):
        assert needle in r.output
    meta = json.loads((out / "run.json").read_text())
    assert meta["agents"] == 5000 and meta["days"] == 30 and meta["seed"] == 1
    assert meta["scenario"]["observe"]["misid"] == 0.02
    assert set(meta["timings_s"]) >= {
        "behave",
        "observe",
        "score",
        "list",
        "services",
        "respond",
        "record",
        "build_population",
    }
    res = load_run(out)
    assert len(res.daily) == 30 and len(res.agents) == 5000
    assert set(res.groups.dimension.unique()) == {"urban", "age_group", "sex", "region"}


def test_existing_run_directory_needs_force(tmp_path):
    out = tmp_path / "r"
    args = ["run", "--agents", "2000", "--days", "5", "--out", str(out), "--quiet"]
    assert runner.invoke(app, args).exit_code == 0
    before = (out / "run.json").read_text()
    r = runner.invoke(app, args)
    assert r.exit_code == 2 and "--force" in r.output
    assert (out / "run.json").read_text() == before
    assert runner.invoke(app, args + ["--force"]).exit_code == 0


def test_presets_command_lists_all():
    r = runner.invoke(app, ["presets"])
    assert r.exit_code == 0
    for p in ("as-reported", "court-list", "rongcheng", "sesame", "accountable"):
        assert p in r.output


@pytest.mark.parametrize(
    "args,needle",
    [
        (["run", "nosuch"], "not a preset or a scenario file"),
        (["run", "--set", "observe.misid=2"], "must be a number in [0, 1]"),
        (["run", "--set", "respond.detterence=0.2"], "did you mean 'respond.deterrence'"),
    ],
)
def test_bad_input_is_one_line_exit_2(args, needle):
    p = subprocess.run(
        [sys.executable, "-m", "credsim.cli", *args, "--agents", "100"],
        capture_output=True,
        text=True,
    )
    assert p.returncode == 2
    assert needle in p.stderr
    assert "Traceback" not in p.stderr and len(p.stderr.strip().splitlines()) == 1


def test_python_api_result_tables():
    import credsim

    res = credsim.Sim("accountable", agents=3000, days=10, seed=4).run()
    assert {"day", "listed", "score_mean", "score_p50", "score_gini", "flight_denied"} <= set(
        res.daily.columns
    )
    assert res.meta["preset"] == "accountable"
    assert res.summary()["agents"] == 3000


def test_version():
    import credsim

    r = runner.invoke(app, ["--version"])
    assert r.exit_code == 0, r.output
    assert r.output.strip() == f"credsim {credsim.__version__}" == "credsim 0.1.0"


COMMANDS = ["", "run", "presets", "report", "compare", "explain", "query"]


def test_help_shows_plain_placeholders_and_defaults():
    """No Python types (<list[str]>, <int>, <bool>) as placeholders; defaults shown."""
    code = (
        "import sys\n"
        "from typer.testing import CliRunner\n"
        "from credsim.cli import app\n"
        "for c in sys.argv[1:]:\n"
        "    r = CliRunner().invoke(app, c.split() + ['--help'])\n"
        "    assert r.exit_code == 0, (c, r.output)\n"
        "    print('=====', c)\n"
        "    print(r.output)\n"
    )
    p = subprocess.run(
        [sys.executable, "-c", code, *COMMANDS],
        capture_output=True,
        text=True,
        env={**os.environ, "TERMINAL_WIDTH": "200", "COLUMNS": "200"},
    )
    assert p.returncode == 0, p.stderr
    helps = dict(h.split("\n", 1) for h in p.stdout.split("===== ")[1:])
    assert set(helps) == set(COMMANDS)
    for cmd, text in helps.items():
        assert not re.search(r"<[a-z][a-z_\[\], |]*>", text), (cmd, text)
    assert "--version" in helps[""]
    run_help = " ".join(helps["run"].split())
    for needle in (
        "--set KEY=VALUE",
        "--agents N",
        "--out DIR",
        "--checkpoint-every K",
        "[default: (30, or the resumed run's)]",
        "[default: as-reported]",
    ):
        assert needle in run_help, needle
    q = " ".join(helps["query"].split())
    for needle in (
        "--out FILE",
        "--limit N",
        "[default: 50]",
        "--memory-limit SIZE",
        "[default: 1GB]",
        "--unsafe",
        "--force",
    ):
        assert needle in q, needle
    assert "--set-a KEY=VALUE" in " ".join(helps["compare"].split())
