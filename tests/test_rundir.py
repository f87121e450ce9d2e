"""Never lose, fake or delete a result: a run interrupted at any stage (days, checkpoints,
table writing, right after run.json) resumes to the tables of an uninterrupted run or is
refused in one line; a run directory is complete and intact or refused; only credsim's
own files are ever removed; one process at a time writes a run directory."""

from __future__ import annotations

import errno
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from credsim import Sim, load_run
from credsim.cli import app
from credsim.errors import RunDirError
from credsim.rundir import AGG_SPOOL, CHECKPOINT, LOCK, SPOOL, TABLES, RunLock

runner = CliRunner()
SETS = [
    "behave.p_debt_default=0.01",
    "observe.court_delay=3",
    "observe.misid=0.05",
    "behave.p_traffic_violation=0.2",
    "score.deltas.traffic_violation=-60",
    "record.tracked=300",
]
KW = {"scenario": "as-reported", "agents": 1500, "days": 30, "seed": 3, "overrides": SETS}
EVERY = 4
CLI_ARGS = [
    "--agents",
    "1500",
    "--days",
    "30",
    "--seed",
    "3",
    "--quiet",
    "--checkpoint-every",
    str(EVERY),
] + [x for s in SETS for x in ("--set", s)]


def differing(a: Path, b: Path) -> list[str]:
    return [
        t
        for t in TABLES
        if not pq.read_table(a / f"{t}.parquet").equals(pq.read_table(b / f"{t}.parquet"))
    ]


def one_line(text: str) -> bool:
    lines = text.strip().splitlines()
    return len(lines) == 1 and "Traceback" not in text


@pytest.fixture(scope="module")
def ref(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("ref") / "run"
    Sim(**KW).run(out=out, checkpoint_every=EVERY)
    res = load_run(out)  # the ledger is not trivial, and people were listed
    assert len(res.ledger) > 300 and res.daily["ever_listed"].iloc[-1] > 0
    return out


# ------------------------------------------------------------------------------------
# Interruptions at every stage


def test_finished_run_leaves_no_checkpoint_or_spool(ref):
    for f in (CHECKPOINT, SPOOL, AGG_SPOOL):
        assert not (ref / f).exists()
    meta = json.loads((ref / "run.json").read_text())
    assert meta["complete"] is True
    assert set(meta["files"]) == {f"{t}.parquet" for t in TABLES}
    assert all(len(f["sha256"]) == 64 for f in meta["files"].values())


@pytest.mark.parametrize("fail_at", [0, 2, 5])
@pytest.mark.parametrize("error", ["disk full", "ctrl-c twice"])
def test_failure_while_writing_tables_resumes_to_the_same_tables(
    tmp_path, ref, monkeypatch, fail_at, error
):
    """Disk full (or a second Ctrl-C) while the tables are written: the finished days
    are kept in the final checkpoint and the spool; resume writes the same tables."""
    import credsim.rundir as rundir

    real = rundir.atomic_write
    calls = []

    def failing(path, write):
        if path.suffix == ".parquet":
            calls.append(path.name)
            if len(calls) > fail_at:
                if error == "disk full":
                    raise OSError(errno.ENOSPC, "No space left on device", str(path))
                raise KeyboardInterrupt
        return real(path, write)

    monkeypatch.setattr(rundir, "atomic_write", failing)
    monkeypatch.setattr("credsim.results.atomic_write", failing)
    out = tmp_path / "run"
    r = runner.invoke(app, ["run", *CLI_ARGS, "--out", str(out)])
    assert r.exit_code == (2 if error == "disk full" else 130), r.output
    assert one_line(r.stderr) and f"--resume {out}" in r.stderr, r.stderr
    assert "finished days" in r.stderr
    assert not list(out.glob(".*.tmp"))
    with pytest.raises(RunDirError, match="incomplete"):
        load_run(out)
    monkeypatch.undo()
    r = runner.invoke(app, ["run", "--resume", str(out), "--quiet"])
    assert r.exit_code == 0, r.output
    assert differing(out, ref) == []
    assert not (out / CHECKPOINT).exists() and not (out / SPOOL).exists()


def test_killed_right_after_run_json_keeps_the_complete_run(tmp_path, ref, monkeypatch):
    """run.json is written, then the process dies before removing the checkpoint and
    spool: the directory is complete and correct; resume says so and tidies up."""
    from credsim.results import Result

    real = Result.save

    def save_then_die(self, out, force=False):
        real(self, out, force)
        raise KeyboardInterrupt

    monkeypatch.setattr(Result, "save", save_then_die)
    out = tmp_path / "run"
    r = runner.invoke(app, ["run", *CLI_ARGS, "--out", str(out)])
    assert r.exit_code == 130
    monkeypatch.undo()
    assert (out / CHECKPOINT).exists() and (out / SPOOL).exists()
    assert differing(out, ref) == []
    load_run(out)
    r = runner.invoke(app, ["run", *CLI_ARGS, "--out", str(out)])  # not an interrupted run
    assert r.exit_code == 2 and "exists" in r.stderr and "resume" not in r.stderr
    r = runner.invoke(app, ["run", "--resume", str(out)])
    assert r.exit_code == 2 and one_line(r.stderr) and "complete" in r.stderr
    for f in (CHECKPOINT, SPOOL, AGG_SPOOL):
        assert not (out / f).exists()
    assert differing(out, ref) == []


@pytest.fixture()
def interrupted(tmp_path) -> Path:
    """A run stopped at the end of day 13 (a checkpoint after day 12 and its spool)."""
    from credsim.sim import prepare_out

    sim = Sim(**KW)
    out = tmp_path / "cut"
    sim.out = out
    sim.lock = prepare_out(out, False)
    sim.build()
    for _ in range(13):
        sim.step()
    sim.checkpoint(out)
    sim.recorder.close(remove=False)
    sim.release()
    assert (out / SPOOL).stat().st_size > 0
    return out


@pytest.mark.parametrize("damage", ["truncated to a third", "missing", "one byte changed"])
@pytest.mark.parametrize("which", [SPOOL, AGG_SPOOL])
def test_a_damaged_spool_is_refused_never_padded(interrupted, damage, which):
    spool = interrupted / which
    data = spool.read_bytes()
    if damage == "missing":
        spool.unlink()
    elif damage == "one byte changed":
        spool.write_bytes(data[:100] + bytes([data[100] ^ 1]) + data[101:])
    else:
        spool.write_bytes(data[: len(data) // 3])
    r = runner.invoke(app, ["run", "--resume", str(interrupted)])
    assert r.exit_code == 2 and one_line(r.stderr), r.output
    assert which.replace(".", " ") in r.stderr and "cannot be resumed exactly" in r.stderr
    assert not (interrupted / "run.json").exists()


def test_resume_from_a_middle_checkpoint_equals_the_uninterrupted_run(interrupted, ref):
    # rows written after the checkpoint (by a run killed later) are dropped on resume
    with open(interrupted / SPOOL, "ab") as fh:
        fh.write(b"\x01" * 4096)
    r = runner.invoke(app, ["run", "--resume", str(interrupted), "--quiet"])
    assert r.exit_code == 0, r.output
    assert differing(interrupted, ref) == []


def checkpoint_with(path: Path, edit) -> None:
    with np.load(path) as z:
        arrays = {k: z[k] for k in z.files}
    meta = json.loads(bytes(arrays["meta"]).decode())
    edit(arrays, meta)
    arrays["meta"] = np.frombuffer(json.dumps(meta).encode(), np.uint8)
    with open(path, "wb") as fh:
        np.savez(fh, **arrays)


@pytest.mark.parametrize(
    "edit,needle",
    [
        (lambda a, m: a.pop("state.score"), "no array 'state.score'"),
        (lambda a, m: m.pop("spools"), "no spools"),
        (lambda a, m: m["spools"].pop("aggregates_sha256"), "KeyError"),
        (lambda a, m: a.__setitem__("state.score", a["state.score"][:-5]), "'state.score' is"),
        (lambda a, m: m.__setitem__("agents", 99), "99 agents"),
        (lambda a, m: m["scenario"]["population"].__setitem__("agents", 700), "for a run of 700"),
        (lambda a, m: m.__setitem__("day_done", 999), "day 999"),
    ],
)
def test_damaged_checkpoints_are_refused_in_one_line(interrupted, edit, needle):
    checkpoint_with(interrupted / CHECKPOINT, edit)
    r = runner.invoke(app, ["run", "--resume", str(interrupted)])
    assert r.exit_code == 2 and one_line(r.stderr), r.output
    assert "corrupted checkpoint" in r.stderr and needle in r.stderr, r.stderr


def test_resume_takes_no_other_option_even_zero(interrupted):
    for extra in (["--agents", "0"], ["--days", "0"], ["--seed", "0"], ["--force"]):
        r = runner.invoke(app, ["run", "--resume", str(interrupted), *extra])
        assert r.exit_code == 2 and one_line(r.stderr), (extra, r.output)
        assert "give no scenario" in r.stderr and extra[0] in r.stderr


def test_disk_full_at_a_checkpoint_keeps_the_previous_one(tmp_path, monkeypatch):
    out = tmp_path / "run"
    real = np.savez
    calls = []

    def savez(fh, **arrays):
        calls.append(1)
        if len(calls) == 3:
            fh.write(b"x" * 1000)
            raise OSError(errno.ENOSPC, "No space left on device")
        real(fh, **arrays)

    monkeypatch.setattr(np, "savez", savez)
    r = runner.invoke(app, ["run", *CLI_ARGS, "--out", str(out)])
    monkeypatch.undo()
    assert r.exit_code == 2 and one_line(r.stderr), r.output
    assert "No space left on device" in r.stderr and "after day 7" in r.stderr
    assert not list(out.glob(".*.tmp"))
    r = runner.invoke(app, ["run", "--resume", str(out), "--quiet"])
    assert r.exit_code == 0, r.output


def test_a_read_only_out_is_one_line():
    r = runner.invoke(app, ["run", *CLI_ARGS, "--out", "/sys/credsim-run"])
    assert r.exit_code == 2 and one_line(r.stderr), r.output
    assert "/sys/credsim-run" in r.stderr


# ------------------------------------------------------------------------------------
# SIGKILL at random points, over many runs


class KillServer:
    def __init__(self, tmp: Path):
        env = dict(os.environ, NUMBA_THREADING_LAYER="workqueue", NUMBA_NUM_THREADS="1")
        kw = json.dumps(KW)
        self.p = subprocess.Popen(
            [sys.executable, str(Path(__file__).with_name("kill_server.py")), kw, str(EVERY)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
            cwd=tmp,
        )
        assert self.ask(None)["status"] == "ready"

    def ask(self, req: dict | None) -> dict:
        if req is not None:
            self.p.stdin.write(json.dumps(req) + "\n")
            self.p.stdin.flush()
        line = self.p.stdout.readline()
        assert line, "the kill server died"
        return json.loads(line)

    def close(self) -> None:
        self.p.stdin.close()
        self.p.wait(timeout=30)


@pytest.fixture(scope="module")
def killer(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("kill")
    srv = KillServer(tmp)
    ans = srv.ask({"do": "run", "out": str(tmp / "timing"), "kill_after": None, "force": False})
    assert ans["status"] == "done", ans
    srv.wall = ans["wall"]
    srv.tmp = tmp
    srv.n = 0
    yield srv
    srv.close()


OUTCOMES: dict[str, int] = {}
STAGES: dict[str, int] = {}


def stage(out: Path) -> str:
    """Where a killed run was, from what it left."""
    if not out.exists() or not (out / CHECKPOINT).exists() and not (out / "run.json").exists():
        return "before the first checkpoint"
    if (out / "run.json").exists():
        return "after run.json" if (out / CHECKPOINT).exists() else "finishing"
    if any(out.glob("*.parquet")) or any(out.glob(".*.parquet.tmp")):
        return "writing tables"
    return "simulating days"


@settings(max_examples=50, deadline=None, database=None, suppress_health_check=list(HealthCheck))
@given(st.lists(st.floats(0.0, 1.15), min_size=1, max_size=3))
def test_sigkill_at_random_points_then_resume(killer, ref, kills):
    """Kill a run at a random point (and its resumes too, up to three kills in all),
    then resume until it ends: every kill leaves a directory that is either refused or
    identical to the uninterrupted run, and the run always ends identical to it (a
    refusal only ever says there is no checkpoint yet, and then a fresh start works)."""
    killer.n += 1
    out = killer.tmp / f"case{killer.n}"
    req = {"do": "run", "out": str(out), "force": False}
    for frac in kills + [None]:
        ans = killer.ask({**req, "kill_after": None if frac is None else frac * killer.wall})
        OUTCOMES[ans["status"]] = OUTCOMES.get(ans["status"], 0) + 1
        if ans["status"] == "killed":
            STAGES[stage(out)] = STAGES.get(stage(out), 0) + 1
        assert ans["status"] != "crashed", ans["error"]
        if ans["status"] == "refused":
            assert one_line(ans["error"]), ans["error"]
            early = (
                "no checkpoint" in ans["error"]  # killed before the first checkpoint
                or "not a run directory" in ans["error"]
            )  # or before the directory
            assert early or "complete" in ans["error"], ans
            if early:
                req = {"do": "run", "out": str(out), "force": True}
                ans = killer.ask({**req, "kill_after": None})
                assert ans["status"] == "done", ans
            break
        try:
            load_run(out)
        except RunDirError:
            assert ans["status"] == "killed"
            req = {"do": "resume", "out": str(out)}
            continue
        assert differing(out, ref) == []  # complete: then it is right
        if ans["status"] == "done":
            break
        req = {"do": "resume", "out": str(out)}
    load_run(out)
    assert differing(out, ref) == []
    shutil.rmtree(out)


def test_kills_landed_in_every_stage():
    if not OUTCOMES:
        pytest.skip("run with the property test above")
    print("outcomes of the kill cases:", OUTCOMES, "where the kills landed:", STAGES)
    assert OUTCOMES.get("killed", 0) >= 20 and OUTCOMES.get("done", 0) >= 20
    assert len(STAGES) >= 3


# ------------------------------------------------------------------------------------
# Nothing that is not credsim's is ever deleted


def test_force_never_deletes_what_credsim_did_not_write(tmp_path, ref):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("precious")
    (mine / "sub").mkdir()
    for args in (["--force"], []):
        r = runner.invoke(app, ["run", *CLI_ARGS, "--out", str(mine), *args])
        assert r.exit_code == 2 and one_line(r.stderr), r.output
        assert "not a credsim run directory" in r.stderr and "notes.txt" in r.stderr
    assert (mine / "notes.txt").read_text() == "precious" and (mine / "sub").is_dir()
    # a run directory with a user's file added is not cleared either
    run = tmp_path / "run"
    shutil.copytree(ref, run)
    (run / "analysis.ipynb").write_text("{}")
    r = runner.invoke(app, ["run", *CLI_ARGS, "--out", str(run), "--force"])
    assert r.exit_code == 2 and "analysis.ipynb" in r.stderr
    assert (run / "analysis.ipynb").exists() and (run / "run.json").exists()
    # the current directory, as --out . would be
    cwd = os.getcwd()
    try:
        os.chdir(mine)
        r = runner.invoke(app, ["run", *CLI_ARGS, "--out", ".", "--force"])
    finally:
        os.chdir(cwd)
    assert r.exit_code == 2 and (mine / "notes.txt").exists()


def test_force_replaces_a_credsim_run_directory_and_its_answers(tmp_path, ref):
    run = tmp_path / "run"
    shutil.copytree(ref, run)
    (run / "report.html").write_text("<html></html>")
    (run / "figures").mkdir()
    (run / "figures" / "tiers.png").write_bytes(b"png")
    (run / "explain-12.html").write_text("<html></html>")
    r = runner.invoke(app, ["run", *CLI_ARGS, "--out", str(run), "--force"])
    assert r.exit_code == 0, r.output
    assert not (run / "report.html").exists() and not (run / "figures").exists()
    assert differing(run, ref) == []


def test_symlinked_out_is_used_not_removed(tmp_path, ref):
    target = tmp_path / "target"
    shutil.copytree(ref, target)
    link = tmp_path / "link"
    link.symlink_to(target)
    r = runner.invoke(app, ["run", *CLI_ARGS, "--out", str(link), "--force"])
    assert r.exit_code == 0, r.output
    assert link.is_symlink() and differing(target, ref) == []
    loop = tmp_path / "loop"
    loop.symlink_to(loop)
    r = runner.invoke(app, ["run", *CLI_ARGS, "--out", str(loop), "--force"])
    assert r.exit_code == 2 and one_line(r.stderr), r.output


# ------------------------------------------------------------------------------------
# One process at a time


def test_a_locked_run_directory_is_refused_in_one_line(tmp_path, interrupted):
    out = tmp_path / "busy"
    out.mkdir()
    lock = RunLock(out)  # as another process holds it while it runs
    try:
        for args in ([], ["--force"]):
            r = runner.invoke(app, ["run", *CLI_ARGS, "--out", str(out), *args])
            assert r.exit_code == 2 and one_line(r.stderr), r.output
            assert "another credsim process" in r.stderr
    finally:
        lock.release()
    lock = RunLock(interrupted)
    try:
        r = runner.invoke(app, ["run", "--resume", str(interrupted)])
        assert r.exit_code == 2 and "another credsim process" in r.stderr
    finally:
        lock.release()
    assert set(os.listdir(out)) == {LOCK}


def test_another_process_holding_the_directory_then_dying(interrupted, ref):
    """While another process holds the run directory, `run` and `--resume` are refused;
    once it dies (SIGKILL: no clean-up), the directory is free again."""
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys; from pathlib import Path; "
            "from credsim.rundir import RunLock; l = RunLock(Path(sys.argv[1])); "
            "print('held', flush=True); sys.stdin.read()",
            str(interrupted),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        base = [sys.executable, "-m", "credsim.cli", "run"]
        for args in (
            ["--resume", str(interrupted)],
            [*CLI_ARGS, "--out", str(interrupted), "--force"],
        ):
            r = subprocess.run(base + args, capture_output=True, text=True)
            assert r.returncode == 2 and one_line(r.stderr), r.stderr
            assert "another credsim process" in r.stderr
    finally:
        holder.kill()
        holder.wait()
    r = subprocess.run(
        [sys.executable, "-m", "credsim.cli", "run", "--resume", str(interrupted), "--quiet"],
        capture_output=True,
        text=True,
    )
    assert r.returncode == 0, r.stderr
    assert differing(interrupted, ref) == []


# ------------------------------------------------------------------------------------
# Complete and intact, or refused


def test_content_hashes_are_checked(tmp_path, ref):
    bad = tmp_path / "bytes"
    shutil.copytree(ref, bad)
    f = bad / "agents.parquet"
    data = bytearray(f.read_bytes())
    mid = len(data) // 2
    data[mid : mid + 64] = bytes(b ^ 0x5A for b in data[mid : mid + 64])
    f.write_bytes(bytes(data))
    with pytest.raises(RunDirError, match="SHA-256"):
        load_run(bad)
    r = runner.invoke(app, ["query", str(bad), "select 1"])
    assert r.exit_code == 2 and one_line(r.stderr) and "agents.parquet" in r.stderr


@pytest.mark.parametrize(
    "edit,needle",
    [
        (lambda m: m.pop("files"), "SHA-256"),
        (lambda m: m.__setitem__("complete", "no"), "incomplete"),
        (lambda m: m.__setitem__("complete", 1), "incomplete"),
        (lambda m: m["files"].pop("ledger.parquet"), "SHA-256"),
        (lambda m: m["files"]["daily.parquet"].pop("sha256"), "daily.parquet"),
        (lambda m: m["files"].__setitem__("daily.parquet", 123), "daily.parquet"),
    ],
)
def test_run_json_must_say_complete_and_record_every_table(tmp_path, ref, edit, needle):
    bad = tmp_path / "meta"
    shutil.copytree(ref, bad)
    meta = json.loads((bad / "run.json").read_text())
    edit(meta)
    (bad / "run.json").write_text(json.dumps(meta))
    with pytest.raises(RunDirError, match=needle):
        load_run(bad)


def test_run_json_is_strict_json(tmp_path, ref):
    bad = tmp_path / "nan"
    shutil.copytree(ref, bad)
    text = (bad / "run.json").read_text().replace('"seed": 3', '"seed": NaN', 1)
    (bad / "run.json").write_text(text)
    with pytest.raises(RunDirError, match="corrupted run.json"):
        load_run(bad)
    json.loads((ref / "run.json").read_text(), parse_constant=lambda c: 1 / 0)


# ------------------------------------------------------------------------------------
# The process's own limits


def test_address_space_limit_is_respected(tmp_path):
    """Under ulimit -v a run that would not fit is refused before it starts (naming the
    limit), and one that fits runs."""
    import resource

    def limit():  # 2.6 GB: credsim's libraries reserve about 1.9 GB of address space
        resource.setrlimit(resource.RLIMIT_AS, (2_600_000_000, 2_600_000_000))

    env = dict(os.environ, NUMBA_NUM_THREADS="1")
    base = [sys.executable, "-m", "credsim.cli", "run", "--quiet"]
    big = subprocess.run(
        [*base, "--agents", "3000000", "--days", "365", "--out", str(tmp_path / "big")],
        capture_output=True,
        text=True,
        preexec_fn=limit,
        env=env,
    )
    assert big.returncode == 2 and one_line(big.stderr), big.stderr
    assert "ulimit -v" in big.stderr and "agents (about" in big.stderr
    assert not (tmp_path / "big").exists()
    small = subprocess.run(
        [*base, "--agents", "2000", "--days", "20", "--out", str(tmp_path / "small")],
        capture_output=True,
        text=True,
        preexec_fn=limit,
        env=env,
    )
    assert small.returncode == 0, small.stderr
    load_run(tmp_path / "small")


@pytest.mark.parametrize("version", [1, 2])
def test_memory_cgroup_limit_is_read_from_the_process_and_its_ancestors(tmp_path, version):
    from credsim.resources import _cgroup_headroom

    proc = tmp_path / "cgroup"
    mount = tmp_path / "fs"
    if version == 2:
        proc.write_text("0::/jobs/run1\n")
        files, root = ("memory.max", "memory.current"), mount
    else:
        proc.write_text("5:cpu:/\n4:memory:/jobs/run1\n")
        files, root = ("memory.limit_in_bytes", "memory.usage_in_bytes"), mount / "memory"
    for d, lim, use in (
        (root, None, None),
        (root / "jobs", 3 * 2**30, 2 * 2**30),
        (root / "jobs/run1", 5 * 2**30, 1 * 2**30),
    ):
        d.mkdir(parents=True, exist_ok=True)
        if lim is not None:
            (d / files[0]).write_text(f"{lim}\n")
            (d / files[1]).write_text(f"{use}\n")
    assert _cgroup_headroom(proc, mount) == 2**30  # the parent's limit binds
    (root / "jobs" / files[0]).write_text("max\n" if version == 2 else f"{2**63 - 4096}\n")
    assert _cgroup_headroom(proc, mount) == 4 * 2**30
    proc.write_text("0::/\n" if version == 2 else "4:memory:/\n")
    assert _cgroup_headroom(proc, mount) is None


@pytest.mark.parametrize("sets", [[], ["score.min=0", "score.max=20000", "score.base=1000"]])
def test_the_agents_that_fit_do_fit(monkeypatch, sets):
    import re

    import credsim.resources as res

    room = 3 * 2**30
    monkeypatch.setattr(res, "memory_headroom", lambda share=1: (room, "available"))
    monkeypatch.setattr(res, "_proc_status", lambda key: 0)
    sim = Sim("as-reported", agents=50_000_000, days=365, overrides=sets)
    with pytest.raises(res.ResourceError) as e:
        sim.check_resources()
    fit = int(re.search(r"about ([\d,]+) fit", str(e.value)).group(1).replace(",", ""))
    assert sim.estimate(fit).memory <= room < sim.estimate(int(fit * 1.03)).memory
    # a score range so wide that the horizon alone does not fit says so
    wide = Sim(
        "as-reported",
        agents=1000,
        days=365,
        overrides=["score.min=0", "score.max=100000", "score.base=1000"],
    )
    with pytest.raises(res.ResourceError, match="fewer --days or a narrower score range"):
        wide.check_resources()


def test_a_full_disk_in_any_command_is_one_line(ref):
    code = (
        "import errno, sys\n"
        "import credsim.report as r\n"
        "def full(*a, **k):\n"
        "    raise OSError(errno.ENOSPC, 'No space left on device', 'RUN/report.html')\n"
        "r.write_report = full\n"
        f"sys.argv = ['credsim', 'report', {str(ref)!r}]\n"
        "from credsim.cli import main\n"
        "main()\n"
    )
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert p.returncode == 2 and one_line(p.stderr), p.stderr
    assert "RUN/report.html: No space left on device" in p.stderr
