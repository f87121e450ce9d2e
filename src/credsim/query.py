"""SQL over a run: DuckDB with one view per table (daily, groups, services, score_hist,
agents, ledger), answered as a DataFrame, printed a few rows at a time, or written to CSV
or Parquet.

By default a query is read-only and bounded: one statement, which must be a query
(SELECT, WITH, VALUES, FROM, DESCRIBE, SUMMARIZE, ...); DuckDB reads the run's own
Parquet files and nothing else (no other file, no network, no extension to install or
load, no ATTACH, no COPY), its memory is capped (``memory_limit``, spilling to a private
temporary directory) and the configuration is locked so that SQL cannot lift any of it.
``unsafe=True`` (``credsim query --unsafe``) is a full DuckDB shell instead."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb
import pandas as pd
import pyarrow as pa

from .errors import CredsimError
from .results import TABLES
from .rundir import AGG_SPOOL, CHECKPOINT, LOCK, RUN_JSON, SPOOL, is_run_directory

if TYPE_CHECKING:
    from .results import Result

FORMATS = {".csv": "csv", ".parquet": "parquet"}
MEMORY_LIMIT = "1GB"  # DuckDB's memory cap by default; it spills beyond it
MAX_THREADS = 4
SPILL_AT_MOST = 10 << 30  # bytes of temporary files (or half the free disk, if less)
COUNT_AT_MOST = 1_000_000  # rows counted beyond the ones printed before saying "more than"
BATCH_ROWS = 8192
# the files of a run directory that --out never writes over
RUN_FILES = frozenset(
    [f"{t}.parquet" for t in TABLES] + [RUN_JSON, CHECKPOINT, SPOOL, AGG_SPOOL, LOCK]
)
_SIZE = re.compile(r"^\s*\d+(\.\d+)?\s*([KMGT]i?B|B|bytes)\s*$", re.IGNORECASE)
_QUERIES = ("SELECT",)  # DuckDB statement types a query may be (WITH, VALUES, FROM... too)
# a statement's first keyword, after comments and parentheses (to name what is refused)
_KEYWORD = re.compile(r"(?:\s|\(|--[^\n]*(?:\n|$)|/\*.*?\*/)*([A-Za-z]+)", re.DOTALL)


class QueryError(CredsimError):
    """A query that is refused or that DuckDB cannot answer (unknown table or column,
    bad SQL, a statement that is not a query, memory exhausted)."""


def _one_line(e: Exception) -> str:
    """DuckDB's message on one line, without the echo of the query and its caret."""
    lines = []
    for line in str(e).splitlines():
        if line.startswith("LINE ") or not line.strip() or set(line.strip()) <= {"^"}:
            break
        lines.append(line.strip())
    return " ".join(lines) or type(e).__name__


def _error(e: Exception, unsafe: bool) -> QueryError:
    msg = _one_line(e)
    if msg.startswith("Catalog Error") and "does not exist" in msg:
        msg += f" (tables: {', '.join(TABLES)})"
    elif isinstance(e, duckdb.PermissionException) or msg.startswith("Permission Error"):
        if not unsafe:
            msg += (
                " (a query reads the run's tables only: --unsafe allows files, "
                "extensions and the network)"
            )
    elif "Out of Memory" in msg:
        msg += " (raise --memory-limit, or ask for less)"
    return QueryError(f"query: {msg}")


def _sql_str(s: str) -> str:
    return "'" + s.replace("'", "''") + "'"


def _memory_limit(memory_limit: str | None) -> str:
    m = MEMORY_LIMIT if memory_limit is None else str(memory_limit).strip()
    if not _SIZE.match(m):
        raise QueryError(f"query: --memory-limit {m!r}: give a size such as 500MB or 2GB")
    return m


def _threads(threads: int | None) -> int:
    n = min(MAX_THREADS, os.cpu_count() or 1) if threads is None else int(threads)
    if n < 1:
        raise QueryError(f"query: threads {n}: must be >= 1")
    return n


@contextlib.contextmanager
def session(
    res: Result,
    *,
    unsafe: bool = False,
    memory_limit: str | None = None,
    threads: int | None = None,
    writable: tuple[Path, ...] = (),
) -> Iterator[duckdb.DuckDBPyConnection]:
    """An in-memory DuckDB connection with a view for every table of the run.

    Safe (the default): the views are created, then file, network and extension access
    is turned off (except for the run's own Parquet files and the ``writable`` paths,
    which ``write`` uses for its temporary file) and the configuration is locked.
    Always: memory is capped at ``memory_limit`` (default 1GB), threads at ``threads``
    (default min(4, CPUs)), and DuckDB spills to a private temporary directory that is
    removed on exit. ``unsafe=True`` sets the same limits but locks nothing."""
    mem = _memory_limit(memory_limit)
    nthreads = _threads(threads)
    tmp = tempfile.mkdtemp(prefix="credsim-query-")
    spill = min(SPILL_AT_MOST, shutil.disk_usage(tmp).free // 2)
    config: dict[str, Any] = {
        "memory_limit": mem,
        "threads": nthreads,
        "temp_directory": tmp,
        "max_temp_directory_size": f"{max(spill >> 20, 1)}MiB",
    }
    if not unsafe:
        config.update(
            autoinstall_known_extensions=False,
            autoload_known_extensions=False,
            allow_community_extensions=False,
        )
    try:
        try:
            con = duckdb.connect(":memory:", config=config)
        except duckdb.Error as e:
            raise QueryError(f"query: {_one_line(e)}") from None
        try:
            _views(con, res, unsafe, writable)
            yield con
        finally:
            con.close()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _views(
    con: duckdb.DuckDBPyConnection, res: Result, unsafe: bool, writable: tuple[Path, ...]
) -> None:
    files: dict[str, Path] = {}
    for name in TABLES:
        f = res.path / f"{name}.parquet" if res.path is not None else None
        if f is not None and f.exists() and name not in res._tables:
            files[name] = f.resolve()
        else:
            con.register(name, res.table(name))
    if unsafe:
        for name, f in files.items():
            con.execute(f"CREATE VIEW {name} AS SELECT * FROM read_parquet({_sql_str(str(f))})")
        return
    allowed = [str(f) for f in files.values()] + [str(p) for p in writable]
    try:
        con.execute(f"SET allowed_paths = [{', '.join(_sql_str(p) for p in allowed)}]")
    except duckdb.Error:  # DuckDB < 1.3 has no allowed_paths: let Arrow scan the files
        _arrow_views(con, files)
        if writable:
            raise QueryError("query: --out needs DuckDB >= 1.3 (or --unsafe)") from None
    else:
        for name, f in files.items():
            con.execute(f"CREATE VIEW {name} AS SELECT * FROM read_parquet({_sql_str(str(f))})")
    con.execute("SET enable_external_access = false")
    con.execute("SET lock_configuration = true")


def _arrow_views(con: duckdb.DuckDBPyConnection, files: dict[str, Path]) -> None:
    import pyarrow.dataset as ds

    for name, f in files.items():
        con.register(name, ds.dataset(str(f), format="parquet"))


def relation(con: duckdb.DuckDBPyConnection, sql: str, unsafe: bool = False) -> Any:
    """The answer of ``sql`` as a DuckDB relation (None when unsafe SQL's last statement
    returns no table). Unless ``unsafe``, ``sql`` must be exactly one query."""
    try:
        stmts = con.extract_statements(sql)
    except duckdb.Error as e:
        raise _error(e, unsafe) from None
    if not stmts:
        raise QueryError("query: no SQL statement given")
    if not unsafe:
        if len(stmts) > 1:
            raise QueryError(
                f"query: {len(stmts)} statements given: give one query (--unsafe runs several)"
            )
        kind = stmts[0].type.name
        if kind not in _QUERIES:
            if kind == "MULTI":
                what = "PIVOT without IN (...)"
            else:
                word = _KEYWORD.match(stmts[0].query)
                what = word.group(1).upper() if word else kind
            raise QueryError(
                f"query: {what} is not allowed: give one query (SELECT, "
                "WITH, VALUES, FROM, DESCRIBE, SUMMARIZE, ...); --unsafe runs "
                "any SQL"
            )
    try:
        for s in stmts[:-1]:
            con.execute(s.query)
        rel = con.sql(sql if len(stmts) == 1 else stmts[-1].query)
    except duckdb.Error as e:
        raise _error(e, unsafe) from None
    if rel is None and not unsafe:
        raise QueryError("query: the statement returned no table (use SELECT ...)")
    return rel


def sql(
    res: Result,
    query: str,
    *,
    unsafe: bool = False,
    memory_limit: str | None = None,
    threads: int | None = None,
) -> pd.DataFrame:
    """The answer of ``query`` over the run's tables, as a DataFrame.

    Read-only and bounded unless ``unsafe=True`` (see the module's documentation): one
    query over the views daily, groups, services, score_hist, agents and ledger, with
    DuckDB's memory capped at ``memory_limit`` (default 1GB)."""
    with session(res, unsafe=unsafe, memory_limit=memory_limit, threads=threads) as con:
        rel = relation(con, query, unsafe)
        if rel is None:
            return pd.DataFrame()
        try:
            return rel.df()
        except duckdb.Error as e:
            raise _error(e, unsafe) from None


@dataclass
class Head:
    """The first rows of an answer: ``rows`` (at most the limit asked for) and, when
    counting the rest was cheap, ``total``; otherwise ``total`` is None and the answer
    has more than ``counted`` rows."""

    columns: list[str] = field(default_factory=list)
    types: list[pa.DataType] = field(default_factory=list)
    rows: list[tuple] = field(default_factory=list)
    total: int | None = 0
    counted: int = 0
    table: bool = True  # False: unsafe SQL whose last statement returned no table


def _arrow_reader(rel: Any, batch_rows: int) -> pa.RecordBatchReader:
    for name in ("to_arrow_reader", "fetch_arrow_reader", "record_batch"):
        f = getattr(rel, name, None)
        if f is not None:
            return f(batch_rows)
    raise QueryError("query: this DuckDB cannot stream an answer")  # pragma: no cover


def head(
    res: Result,
    query: str,
    limit: int = 50,
    *,
    count_at_most: int = COUNT_AT_MOST,
    unsafe: bool = False,
    memory_limit: str | None = None,
    threads: int | None = None,
) -> Head:
    """The first ``limit`` rows of the answer of ``query``, streamed: the answer is
    never held whole. The rows after them are counted, batch by batch, up to
    ``count_at_most``; beyond that the total is not known (``Head.total`` is None)."""
    if limit < 0:
        raise QueryError(f"query: --limit {limit}: must be >= 0")
    with session(res, unsafe=unsafe, memory_limit=memory_limit, threads=threads) as con:
        rel = relation(con, query, unsafe)
        if rel is None:
            return Head(table=False)
        out = Head()
        try:
            reader = _arrow_reader(rel, BATCH_ROWS)
            out.columns = list(reader.schema.names)
            out.types = list(reader.schema.types)
            out.total = None
            for batch in reader:
                need = limit - len(out.rows)
                if need > 0 and batch.num_rows:
                    part = batch.slice(0, need)
                    out.rows.extend(zip(*[c.to_pylist() for c in part.columns]))
                out.counted += batch.num_rows
                if out.counted > limit + count_at_most:
                    break
            else:
                out.total = out.counted
        except (duckdb.Error, pa.ArrowException, OSError) as e:  # from the Arrow stream
            raise _error(e, unsafe) from None
        return out


def _run_file(res: Result, out: Path) -> str | None:
    """Why ``out`` is a file of a run directory (this run's or another's), or None."""
    target = out.resolve()
    run_dir = res.path.resolve() if res.path is not None else None
    if target.name in RUN_FILES:
        if target.parent == run_dir:
            return f"it is the run's own {target.name}"
        if is_run_directory(target.parent):
            return f"it is {target.name} of the run directory {target.parent}"
    if run_dir is not None and out.exists():
        for f in RUN_FILES:
            g = run_dir / f
            if g.exists() and os.path.samefile(out, g):
                return f"it is the run's own {f} (under another name)"
    return None


def write(
    res: Result,
    query: str,
    out: str | Path,
    *,
    force: bool = False,
    unsafe: bool = False,
    memory_limit: str | None = None,
    threads: int | None = None,
) -> int:
    """Write the answer of ``query`` to ``out`` (.csv or .parquet); return its number of
    rows (data rows: a CSV header is not one).

    ``out`` may not be a file of a run directory (its tables, run.json, checkpoint,
    spools, lock), nor an existing file unless ``force``. The answer goes to a temporary
    file beside ``out``, synced and renamed into place, so that ``out`` is either whole
    or untouched."""
    out = Path(out)
    fmt = FORMATS.get(out.suffix.lower())
    if fmt is None:
        raise QueryError(f"query: --out {out}: must end in .csv or .parquet")
    if not out.parent.is_dir():
        raise QueryError(f"query: --out {out}: no such directory {out.parent}")
    why = _run_file(res, out)
    if why is not None:
        raise QueryError(f"query: --out {out}: {why}; write the answer elsewhere")
    if out.is_dir():
        raise QueryError(f"query: --out {out}: is a directory")
    if out.exists() and not force:
        raise QueryError(f"query: --out {out}: exists (use --force to overwrite it)")
    tmp = (out.parent / f".{out.name}.{uuid.uuid4().hex[:12]}.tmp").absolute()
    opts = "FORMAT csv, HEADER true" if fmt == "csv" else "FORMAT parquet, COMPRESSION zstd"
    try:
        with session(
            res, unsafe=unsafe, memory_limit=memory_limit, threads=threads, writable=(tmp,)
        ) as con:
            rel = relation(con, query, unsafe)
            if rel is None:
                raise QueryError("query: the last statement returned no table to write")
            try:
                rel.create_view("credsim_out_answer", replace=True)
                n = con.execute(
                    f"COPY credsim_out_answer TO {_sql_str(str(tmp))} ({opts}, USE_TMP_FILE false)"
                ).fetchone()
            except duckdb.Error as e:
                raise _error(e, unsafe) from None
        _fsync(tmp)
        _place(tmp, out, force)
    finally:
        tmp.unlink(missing_ok=True)
    return int(n[0]) if n else 0


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _place(tmp: Path, out: Path, force: bool) -> None:
    """Rename ``tmp`` to ``out``; without ``force`` never over an existing file (a link
    fails if ``out`` appeared meanwhile)."""
    if force:
        os.replace(tmp, out)
        return
    try:
        os.link(tmp, out)
    except FileExistsError:
        raise QueryError(f"query: --out {out}: exists (use --force to overwrite it)") from None
    except OSError:  # no hard links on this file system
        if out.exists():
            raise QueryError(f"query: --out {out}: exists (use --force to overwrite it)") from None
        os.replace(tmp, out)
    else:
        tmp.unlink()
