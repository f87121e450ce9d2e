"""The run directory as a place on disk: which files are credsim's, atomic writes, content
hashes, and the lock that lets one process at a time write a run directory.

A run directory is complete only when ``run.json`` is written, last, with the size and
SHA-256 of every table. Until then the last checkpoint (``checkpoint.npz``) and the
ledger spool (``ledger.spool``) are kept, so an interruption at any stage, table writing
included, can be resumed. credsim only ever removes files it writes itself, and only
from a directory that holds nothing else."""

from __future__ import annotations

import errno
import fcntl
import hashlib
import os
import re
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from .errors import RunDirError

RUN_JSON = "run.json"
CHECKPOINT = "checkpoint.npz"
SPOOL = "ledger.spool"
AGG_SPOOL = "aggregates.spool"
RANKS = "ranks"  # a partitioned run's directory of each rank's files
LOCK = ".credsim.lock"
TABLES = ("daily", "groups", "services", "score_hist", "agents", "ledger")
# every file credsim writes into a run directory (answers included); nothing else is
# ever removed, and a directory holding anything else is never cleared
OWNED = re.compile(
    r"^(run\.json|checkpoint\.npz|(ledger|aggregates)\.spool|\.credsim\.lock|"
    r"(daily|groups|services|score_hist|agents|ledger)\.parquet|"
    r"report\.html|explain-\d+\.html|validation\.(csv|html)|"
    r"\.(run\.json|checkpoint\.npz|[a-z_]+\.parquet|report\.html|validation\.(csv|html)|"
    r"explain-\d+\.html)\.tmp)$"
)
OWNED_DIRS = {
    "figures": re.compile(r"^\.?[a-z0-9_-]+\.png(\.tmp)?$"),
    # a partitioned run's files of each rank: its checkpoint and spools
    RANKS: re.compile(
        r"^\.?r\d{4}\.(checkpoint-[ab]\.npz|ledger\.spool|aggregates\.spool|pid)(\.tmp)?$"
    ),
}


def atomic_write(path: Path, write: Callable[[IO[bytes]], Any]) -> None:
    """Write through a temporary file, sync it, then rename it into place; on failure the
    temporary file is removed and the previous ``path`` (if any) is left as it was."""
    tmp = path.with_name("." + path.name + ".tmp")
    try:
        with open(tmp, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)


def fsync_dir(d: Path) -> None:
    try:
        fd = os.open(d, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def sha256(path: Path, size: int | None = None, chunk: int = 1 << 24) -> str:
    """SHA-256 of a file (of its first ``size`` bytes when given)."""
    h = hashlib.sha256()
    left = size
    with open(path, "rb") as fh:
        while left is None or left > 0:
            b = fh.read(chunk if left is None else min(chunk, left))
            if not b:
                break
            h.update(b)
            if left is not None:
                left -= len(b)
    return h.hexdigest()


def foreign_entries(out: Path) -> list[str]:
    """Entries of ``out`` that credsim did not write (sorted)."""
    bad = []
    for e in sorted(os.listdir(out)):
        p = out / e
        if e in OWNED_DIRS and p.is_dir() and not p.is_symlink():
            pat = OWNED_DIRS[e]
            bad += [
                f"{e}/{f}"
                for f in sorted(os.listdir(p))
                if not pat.match(f) or not (p / f).is_file() or (p / f).is_symlink()
            ]
        elif not OWNED.match(e) or not p.is_file() or p.is_symlink():
            bad.append(e)
    return bad


def is_run_directory(out: Path) -> bool:
    """Whether ``out`` holds a run (complete or interrupted) that credsim wrote."""
    return any((out / f).exists() for f in (RUN_JSON, CHECKPOINT, SPOOL, AGG_SPOOL, LOCK))


def clear(out: Path) -> None:
    """Remove credsim's own files from ``out`` (the lock file stays: it is held)."""
    for e in os.listdir(out):
        p = out / e
        if e in OWNED_DIRS and p.is_dir() and not p.is_symlink():
            for f in os.listdir(p):
                (p / f).unlink()
            p.rmdir()
        elif e != LOCK and OWNED.match(e):
            p.unlink()
    fsync_dir(out)


class Spool:
    """An append-only file (in the run directory, or a temporary file without one) and
    the SHA-256 of what has been appended. A checkpoint records its length and digest;
    :meth:`restore` continues after exactly those bytes, or refuses."""

    def __init__(self, path: Path | None, what: str):
        self.path = path
        self.what = what
        self.fh: IO[bytes] = open(path, "a+b") if path is not None else tempfile.TemporaryFile()
        self.size = 0
        self.digest = hashlib.sha256()

    def append(self, b: bytes | memoryview) -> None:
        self.fh.write(b)
        self.digest.update(b)
        self.size += len(b)

    def sync(self) -> tuple[int, str]:
        """Flush to disk; the bytes appended and their SHA-256."""
        self.fh.flush()
        os.fsync(self.fh.fileno())
        return self.size, self.digest.hexdigest()

    def restore(self, size: int, digest: str) -> None:
        """Keep the first ``size`` bytes, which must have the SHA-256 ``digest``, and
        append after them. A spool that is missing, shorter or different is refused:
        never padded or trusted."""
        self.fh.flush()
        have = os.fstat(self.fh.fileno()).st_size
        where = self.path or self.what
        if have < size:
            raise RunDirError(
                f"{where}: the {self.what} holds {have:,} bytes, the checkpoint "
                f"records {size:,}: the run cannot be resumed exactly; start "
                f"it over with --force"
            )
        h = hashlib.sha256()
        self.fh.seek(0)
        left = size
        while left:
            b = self.fh.read(min(left, 1 << 24))
            if not b:
                break
            h.update(b)
            left -= len(b)
        if h.hexdigest() != digest:
            raise RunDirError(
                f"{where}: the {self.what} differs from the one the checkpoint "
                f"recorded (SHA-256): the run cannot be resumed exactly; "
                f"start it over with --force"
            )
        self.fh.truncate(size)
        self.fh.seek(0, os.SEEK_END)
        self.size = size
        self.digest = h

    def read(self, start: int, n: int) -> bytes:
        """``n`` bytes from ``start`` (then back to appending at the end)."""
        self.fh.flush()
        self.fh.seek(start)
        b = self.fh.read(n)
        self.fh.seek(0, os.SEEK_END)
        return b

    def close(self, remove: bool) -> None:
        self.fh.close()
        if remove and self.path is not None:
            self.path.unlink(missing_ok=True)


class RunLock:
    """An exclusive advisory lock on a run directory, held while a process writes it
    (released when the process ends, however it ends)."""

    def __init__(self, out: Path):
        self.out = out
        path = out / LOCK
        try:
            self.fd: int | None = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as e:
            raise RunDirError(
                f"{out}: cannot write the run directory ({e.strerror or e})"
            ) from None
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as e:
            os.close(self.fd)
            self.fd = None
            if e.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise RunDirError(
                    f"{out}: another credsim process is writing this run "
                    f"directory; wait for it to finish or use another "
                    f"--out"
                ) from None
            raise RunDirError(f"{out}: cannot lock the run directory ({e.strerror})") from None
        os.ftruncate(self.fd, 0)
        os.write(self.fd, f"{os.getpid()}\n".encode())

    def release(self) -> None:
        if self.fd is not None:
            os.close(self.fd)  # closing the descriptor drops the lock
            self.fd = None

    def __del__(self) -> None:
        self.release()


def claim(out: Path, force: bool) -> RunLock:
    """Take ``out`` for a new run: create it, or, if it exists, refuse unless it is empty
    or (with ``force``) a credsim run directory, which is then cleared. Returns the lock,
    held until released. Nothing that credsim did not write is ever removed."""
    try:
        if out.is_symlink() and not out.exists():
            raise RunDirError(f"{out}: a symbolic link to nothing; choose another --out")
        if out.exists():
            if not out.is_dir():
                raise RunDirError(f"{out}: exists and is not a directory")
            entries = os.listdir(out)
            if entries:
                foreign = foreign_entries(out)
                if foreign:
                    shown = ", ".join(foreign[:3]) + (", ..." if len(foreign) > 3 else "")
                    raise RunDirError(
                        f"{out}: not a credsim run directory (it holds {shown}); credsim "
                        f"never overwrites it, even with --force: choose another --out"
                    )
                if not force and entries != [LOCK]:
                    if (out / CHECKPOINT).exists() and not (out / RUN_JSON).exists():
                        raise RunDirError(
                            f"{out}: holds an interrupted run: resume it with 'credsim run "
                            f"--resume {out}', or use --force to start over"
                        )
                    raise RunDirError(
                        f"{out}: run directory exists and is not empty "
                        f"(use --force to overwrite, or --out another "
                        f"directory)"
                    )
        else:
            out.mkdir(parents=True)
        lock = RunLock(out)
        if force:
            clear(out)
        elif set(os.listdir(out)) - {LOCK}:  # written by another process meanwhile
            lock.release()
            raise RunDirError(
                f"{out}: run directory exists and is not empty "
                f"(use --force to overwrite, or --out another directory)"
            )
        return lock
    except OSError as e:
        raise RunDirError(f"{e.filename or out}: {e.strerror or e}") from None
