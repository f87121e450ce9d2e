"""SQL over a run directory (DuckDB views named after the tables), and its errors."""

from __future__ import annotations

import subprocess
import sys

import pandas as pd
import pyarrow.parquet as pq
import pytest

from credsim import Sim, load_run
from credsim.errors import CredsimError
from credsim.results import TABLES


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("query") / "run"
    Sim("as-reported", agents=5000, days=40, seed=3,
        overrides=["behave.p_debt_default=0.003", "observe.court_delay=10"]).run(out=out)
    return load_run(out)


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "credsim.cli", *args], capture_output=True,
                          text=True)


def test_every_table_is_a_view(run):
    for name in TABLES:
        n = run.sql(f"select count(*) as n from {name}")["n"].iloc[0]
        assert n == run.table(name).num_rows, name


def test_answers_agree_with_the_tables(run):
    df = run.sql("select tier, count(*) as n from agents group by tier order by n desc")
    assert df.n.sum() == 5000
    listed = run.sql("select sum(entries_debt_default) as e from daily")["e"].iloc[0]
    led = run.sql("select count(*) as e from ledger where kind = 'listing' "
                  "and what = 'debt_default'")["e"].iloc[0]
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
        r = _cli("query", str(run.path), "select * from ledger where kind = 'listing'",
                 "--out", str(out))
        assert r.returncode == 0, r.stderr
        got = pd.read_csv(out) if ext == "csv" else pq.read_table(out).to_pandas()
        assert len(got) == (run.ledger.kind == "listing").sum()


@pytest.mark.parametrize("sql,needle", [
    ("select * from nosuch", "nosuch does not exist"),
    ("selec 1", "syntax error"),
    ("select nocolumn from daily", "nocolumn"),
])
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
