"""SQL over a run: DuckDB with one view per table (daily, groups, services, score_hist,
agents, ledger), answered as a DataFrame or written to CSV or Parquet."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb
import pandas as pd

from .errors import CredsimError
from .results import TABLES

if TYPE_CHECKING:
    from .results import Result

FORMATS = {".csv": "csv", ".parquet": "parquet"}


class QueryError(CredsimError):
    """A query that DuckDB cannot answer (unknown table or column, bad SQL)."""


def _one_line(e: Exception) -> str:
    """DuckDB's message on one line, without the echo of the query and its caret."""
    lines = []
    for line in str(e).splitlines():
        if line.startswith("LINE ") or not line.strip() or set(line.strip()) <= {"^"}:
            break
        lines.append(line.strip())
    return " ".join(lines) or type(e).__name__


def connect(res: Result) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB connection with a view for every table of the run."""
    con = duckdb.connect(":memory:")
    for name in TABLES:
        f = res.path / f"{name}.parquet" if res.path is not None else None
        if f is not None and f.exists() and name not in res._tables:
            lit = str(f).replace("'", "''")
            con.execute(f"CREATE VIEW {name} AS SELECT * FROM read_parquet('{lit}')")
        else:
            con.register(name, res.table(name))
    return con


def relation(con: duckdb.DuckDBPyConnection, sql: str) -> Any:
    try:
        rel = con.sql(sql)
    except duckdb.Error as e:
        msg = _one_line(e)
        if msg.startswith("Catalog Error"):
            msg += f" (tables: {', '.join(TABLES)})"
        raise QueryError(f"query: {msg}") from None
    if rel is None:
        raise QueryError("query: the statement returned no table (use SELECT ...)")
    return rel


def sql(res: Result, query: str) -> pd.DataFrame:
    """The answer of ``query`` over the run's tables, as a DataFrame."""
    con = connect(res)
    try:
        rel = relation(con, query)
        try:
            return rel.df()
        except duckdb.Error as e:
            raise QueryError(f"query: {_one_line(e)}") from None
    finally:
        con.close()


def write(res: Result, query: str, out: str | Path) -> int:
    """Write the answer of ``query`` to ``out`` (.csv or .parquet); return its row count."""
    out = Path(out)
    fmt = FORMATS.get(out.suffix.lower())
    if fmt is None:
        raise QueryError(f"query: --out {out}: must end in .csv or .parquet")
    if not out.parent.exists():
        raise QueryError(f"query: --out {out}: no such directory {out.parent}")
    con = connect(res)
    try:
        rel = relation(con, query)
        try:
            if fmt == "csv":
                rel.write_csv(str(out))
            else:
                rel.write_parquet(str(out))
            n = con.execute(f"SELECT count(*) FROM read_{fmt}(?)", [str(out)]).fetchall()
        except duckdb.Error as e:
            raise QueryError(f"query: {_one_line(e)}") from None
    finally:
        con.close()
    return int(n[0][0]) if n else 0
