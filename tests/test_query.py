"""SQL over a run directory (DuckDB views named after the tables), and its errors."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow.parquet as pq
import pytest

from credsim import Sim, load_run, query
from credsim.errors import CredsimError
from credsim.query import QueryError
from credsim.results import TABLES


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("query") / "run"
    Sim(
        "as-reported",
        agents=5000,
        days=40,
        seed=3,
        overrides=["behave.p_debt_default=0.003", "observe.court_delay=10"],
    ).run(out=out)
    return load_run(out)


def _cli(*args):
    return subprocess.run(
        [sys.executable, "-m", "credsim.cli", *args], capture_output=True, text=True
    )


def test_every_table_is_a_view(run):
    for name in TABLES:
        n = run.sql(f"select count(*) as n from {name}")["n"].iloc[0]
        assert n == run.table(name).num_rows, name


def test_answers_agree_with_the_tables(run):
    df = run.sql("select tier, count(*) as n from agents group by tier order by n desc")
    assert df.n.sum() == 5000
    listed = run.sql("select sum(entries_debt_default) as e from daily")["e"].iloc[0]
    led = run.sql(
        "select count(*) as e from ledger where kind = 'listing' and what = 'debt_default'"
    )["e"].iloc[0]
    assert listed == led > 0  # every listed agent's ledger is kept
    assert isinstance(run.sql("select 1 as one"), pd.DataFrame)


def test_in_memory_result():
    res = Sim("as-reported", agents=2000, days=5, seed=1).run()
    assert res.sql("select count(*) as n from agents")["n"].iloc[0] == 2000


def test_query_command_prints_and_writes(run, tmp_path):
    r = _cli("query", str(run.path), "select day, listed from daily order by day")
    assert r.returncode == 0, r.stderr
    assert "listed" in r.stdout and "40 rows" in r.stdout
    for ext in ("csv", "parquet"):
        out = tmp_path / f"ans.{ext}"
        r = _cli(
            "query", str(run.path), "select * from ledger where kind = 'listing'", "--out", str(out)
        )
        assert r.returncode == 0, r.stderr
        got = pd.read_csv(out) if ext == "csv" else pq.read_table(out).to_pandas()
        assert len(got) == (run.ledger.kind == "listing").sum()


@pytest.mark.parametrize(
    "sql,needle",
    [
        ("select * from nosuch", "nosuch does not exist"),
        ("selec 1", "syntax error"),
        ("select nocolumn from daily", "nocolumn"),
    ],
)
def test_bad_query_is_one_line_exit_2(run, sql, needle):
    r = _cli("query", str(run.path), sql)
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0], r.stderr
    assert "Traceback" not in r.stderr


def test_bad_output_and_run_directory(run, tmp_path):
    r = _cli("query", str(run.path), "select 1", "--out", str(tmp_path / "a.txt"))
    assert r.returncode == 2 and ".csv or .parquet" in r.stderr
    r = _cli("query", str(tmp_path / "nosuch"), "select 1")
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1
    with pytest.raises(CredsimError, match="does not exist"):
        run.sql("select * from nosuch")


# ---------------------------------------------------------------------------------------
# A read-only, bounded query by default; a full shell only with --unsafe


def _one_line_error(r, needle):
    assert r.returncode == 2, (r.stdout, r.stderr)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and needle in lines[0], r.stderr
    assert "Traceback" not in r.stderr


@pytest.fixture
def outside(tmp_path):
    """A file outside the run directory that a query must not read."""
    f = tmp_path / "secret.csv"
    f.write_text("secret\nsecret-value-4711\n")
    return f


CACHE_HOME = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")


@pytest.mark.parametrize(
    "sql,needle,created",
    [
        ("copy (select 1 as x) to '{tmp}/copied.csv'", "COPY is not allowed", "copied.csv"),
        ("select * from read_csv('{secret}')", "disabled by configuration", None),
        ("attach '{tmp}/attached.db' as other", "ATTACH is not allowed", "attached.db"),
        ("install httpfs", "INSTALL is not allowed", ".duckdb"),
        ("select 1; copy (select 1) to '{tmp}/second.csv'", "2 statements", "second.csv"),
        ("select 1 as a; select 2 as b", "2 statements", None),
        ("create table t as select 1", "CREATE is not allowed", None),
    ],
)
def test_only_one_read_only_query_is_run(run, tmp_path, outside, sql, needle, created):
    sql = sql.format(tmp=tmp_path, secret=outside)
    before = set(tmp_path.iterdir())
    r = subprocess.run(
        [sys.executable, "-m", "credsim.cli", "query", str(run.path), sql],
        capture_output=True,
        text=True,
        # INSTALL writes ~/.duckdb; the kernels' cache stays where it was (under ~/.cache)
        env={**os.environ, "HOME": str(tmp_path), "XDG_CACHE_HOME": CACHE_HOME},
    )
    _one_line_error(r, needle)
    assert "secret-value" not in r.stdout + r.stderr
    assert set(tmp_path.iterdir()) == before
    if created:
        assert not (tmp_path / created).exists()


def test_python_api_is_read_only_unless_unsafe(run, tmp_path, outside):
    with pytest.raises(QueryError, match="COPY is not allowed"):
        run.sql(f"copy (select 1) to '{tmp_path}/a.csv'")
    with pytest.raises(QueryError, match="disabled by configuration"):
        query.sql(run, f"select * from read_csv('{outside}')")
    # the limits cannot be lifted from SQL: the configuration is locked
    with query.session(run) as con:
        with pytest.raises(duckdb.Error, match="locked"):
            con.execute("SET enable_external_access = true")
        assert con.execute("select count(*) from agents").fetchone()[0] == 5000
    # the full shell, asked for by name
    df = query.sql(
        run,
        f"copy (select 1 as x) to '{tmp_path}/a.csv'; select * from read_csv('{outside}')",
        unsafe=True,
    )
    assert df.secret.tolist() == ["secret-value-4711"]
    assert (tmp_path / "a.csv").exists()


def test_unsafe_flag_is_a_full_shell(run, tmp_path, outside):
    r = _cli("query", str(run.path), f"select * from read_csv('{outside}')", "--unsafe")
    assert r.returncode == 0, r.stderr
    assert "secret-value-4711" in r.stdout


def test_memory_is_capped(run):
    with query.session(run, memory_limit="200MB") as con:
        assert con.execute("select current_setting('memory_limit')").fetchone()[0] == "190.7 MiB"
        assert con.execute("select current_setting('threads')").fetchone()[0] <= 4
    r = _cli(
        "query", str(run.path), "select list(range) from range(50000000)", "--memory-limit", "100MB"
    )
    _one_line_error(r, "Out of Memory")
    r = _cli("query", str(run.path), "select 1", "--memory-limit", "lots")
    _one_line_error(r, "--memory-limit")


def test_temporary_directory_is_removed(run, tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    with query.session(run) as con:
        spill = Path(con.execute("select current_setting('temp_directory')").fetchone()[0])
        assert spill.parent == tmp_path and spill.is_dir()
    assert not spill.exists()


# ---------------------------------------------------------------------------------------
# Printing is streamed and bounded


def test_a_huge_answer_prints_its_first_rows_in_bounded_memory(run):
    """Printing 50 rows of 200 million must not hold the answer (1.6 GB as int64)."""
    code = (
        "import resource, sys\n"
        "import duckdb, pandas, pyarrow\n"
        "from credsim.cli import app\n"
        "before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "try:\n"
        f"    app(['query', {str(run.path)!r}, 'select * from range(200000000) as t(i)'])\n"
        "except SystemExit as e:\n"
        "    assert not e.code, e.code\n"
        "grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before\n"
        "print(f'grown_kb={grown}', file=sys.stderr)\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    grown_kb = int(r.stderr.strip().splitlines()[-1].split("=")[1])
    assert grown_kb < 400_000, f"peak RSS grew by {grown_kb / 1024:.0f} MB"
    assert re.search(r"│\s+49 │", r.stdout) and not re.search(r"│\s+50 │", r.stdout)
    assert "at least" in r.stdout and "showing the first 50" in r.stdout


def test_head_fetches_a_bounded_number_of_rows(run):
    h = query.head(run, "select * from range(200000000)", 50, count_at_most=10_000)
    assert [r[0] for r in h.rows] == list(range(50))
    assert h.total is None and 10_050 < h.counted <= 10_050 + query.BATCH_ROWS
    h = query.head(run, "select day from daily", 5)
    assert len(h.rows) == 5 and h.total == 40 and h.columns == ["day"]


def test_a_wide_row_prints_its_values(run):
    """daily has 126 columns: one row prints transposed, column | value."""
    day0 = run.daily.iloc[0]
    r = _cli("query", str(run.path), "select * from daily where day = 0")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert len(run.daily.columns) > 100
    for col in ("posts", "listed", "agents", "active_edges", "edges_cut_total"):
        want = f"{int(day0[col]):,}"
        assert any(f" {col} " in ln and f" {want} " in ln for ln in lines), (col, want)
    assert "score_mean" in r.stdout and "1 row" in r.stdout


def test_wide_rows_show_the_columns_that_fit(run):
    r = _cli("query", str(run.path), "select * from daily order by day limit 3")
    assert r.returncode == 0, r.stderr
    n = len(run.daily.columns)
    assert f"of {n} columns" in r.stdout and "--out" in r.stdout
    assert "true_community_service" in r.stdout  # headers are readable, not squeezed
    assert max(len(ln) for ln in r.stdout.splitlines()) <= 80


def test_sums_print_as_integers(run):
    total = int(run.daily.posts.sum()) * 1000
    assert total > 1_000_000
    r = _cli("query", str(run.path), "select sum(posts) * 1000 as s, avg(posts) as a from daily")
    assert r.returncode == 0, r.stderr
    assert f"{total:,}" in r.stdout
    assert "e+" not in r.stdout


def test_cell_formats():
    from decimal import Decimal

    from credsim.cli import _cell

    assert _cell(5443120.0) == "5,443,120"
    assert _cell(Decimal("5443120")) == "5,443,120"
    assert _cell(5443120) == "5,443,120"
    assert _cell(1234.5678) == "1,234.57"
    assert _cell(0.123456789) == "0.123457"
    assert _cell(4.1289936e-05) == "4.12899e-05"
    assert _cell(None) == "NULL"
    assert _cell(float("nan")) == "NaN"
    assert _cell(True) == "true"
    assert _cell("[bold]x") == "[bold]x"


# ---------------------------------------------------------------------------------------
# --out never overwrites the run, nor any file unless --force


@pytest.fixture
def run_copy(run, tmp_path):
    """A copy of the run directory, which a failing --out may damage."""
    d = tmp_path / "runcopy"
    shutil.copytree(run.path, d)
    return d


def _digest(d):
    return {f.name: hashlib.sha256(f.read_bytes()).hexdigest() for f in sorted(d.iterdir())}


@pytest.mark.parametrize("name", ["agents.parquet", "daily.parquet", "ledger.parquet"])
def test_out_never_writes_over_a_run_table(run_copy, tmp_path, name):
    before = _digest(run_copy)
    for force in ([], ["--force"]):
        r = _cli("query", str(run_copy), "select 1 as x", "--out", str(run_copy / name), *force)
        _one_line_error(r, f"the run's own {name}")
    # nor through a link to it, from elsewhere
    link = tmp_path / f"link-{name}"
    link.symlink_to(run_copy / name)
    r = _cli("query", str(run_copy), "select 1 as x", "--out", str(link), "--force")
    _one_line_error(r, name)
    assert _digest(run_copy) == before
    assert load_run(run_copy).table(name.split(".")[0]).num_rows > 1


def test_out_never_writes_over_another_runs_table(run, run_copy):
    before = _digest(run_copy)
    for force in ([], ["--force"]):
        r = _cli(
            "query",
            str(run.path),
            "select 1 as x",
            "--out",
            str(run_copy / "daily.parquet"),
            *force,
        )
        _one_line_error(r, "of the run directory")
    assert _digest(run_copy) == before


def test_out_needs_force_to_overwrite_and_counts_data_rows(run, tmp_path):
    out = tmp_path / "one.csv"
    r = _cli("query", str(run.path), "select 1", "--out", str(out))  # the header is "1"
    assert r.returncode == 0, r.stderr
    assert "1 row written" in r.stdout and "2 rows" not in r.stdout
    assert out.read_text().splitlines() == ["1", "1"]
    r = _cli("query", str(run.path), "select 2 as x", "--out", str(out))
    _one_line_error(r, "--force")
    assert out.read_text().splitlines() == ["1", "1"]
    r = _cli(
        "query", str(run.path), "select 2 as x union all select 3", "--out", str(out), "--force"
    )
    assert r.returncode == 0 and "2 rows written" in r.stdout, r.stderr
    assert out.read_text().splitlines() == ["x", "2", "3"]
    assert query.write(run, "select * from daily where false", tmp_path / "none.parquet") == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["none.parquet", "one.csv"]


def test_a_failed_out_leaves_nothing(run, tmp_path):
    out = tmp_path / "big.parquet"
    with pytest.raises(QueryError, match="Out of Memory"):
        query.write(run, "select list(range) as l from range(50000000)", out, memory_limit="100MB")
    assert list(tmp_path.iterdir()) == []
