"""Where Numba keeps credsim's compiled kernels: a directory keyed by a hash of credsim's
sources. A kernel folds the constants it reads from other modules (the schema's metric
offsets, the phases' bit masks) into its machine code, and Numba checks only the
kernel's own file before loading it from its cache, so after a change elsewhere it would
load a stale kernel. Imported first by the package, before any kernel is defined."""

from __future__ import annotations

import hashlib
import os
import shutil
import time
from pathlib import Path

import numba


def sources_hash(root: Path) -> str:
    """A hash of every Python source under ``root``: its paths and contents."""
    h = hashlib.sha256()
    for p in sorted(root.rglob("*.py")):
        h.update(p.relative_to(root).as_posix().encode())
        h.update(p.read_bytes())
    return h.hexdigest()[:16]


def cache_dir() -> Path:
    """``$NUMBA_CACHE_DIR`` (or ``$XDG_CACHE_HOME``, else ``~/.cache``, then ``credsim``),
    then ``kernels-<hash of the sources>``."""
    base = os.environ.get("NUMBA_CACHE_DIR")
    if base:
        root = Path(base)
    else:
        root = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "credsim"
    return root / f"kernels-{sources_hash(Path(__file__).parent)}"


def prune(current: Path, marker: str, keep_days: float = 30.0) -> None:
    """Remove the other ``kernels-*`` directories beside ``current`` (other versions of
    credsim's sources) whose ``marker`` file (touched by every warm-up that uses the
    directory) or, without one, the directory itself was last touched more than
    ``keep_days`` ago. Each version's cache takes a few megabytes, and
    every upgrade (or edit of the sources) starts another."""
    cutoff = time.time() - keep_days * 86400.0
    for d in current.parent.glob("kernels-*"):
        if d == current or not d.is_dir():
            continue
        try:
            m = d / marker
            last = (m if m.exists() else d).stat().st_mtime
        except OSError:
            continue
        if last < cutoff:
            shutil.rmtree(d, ignore_errors=True)


numba.config.CACHE_DIR = str(cache_dir())  # type: ignore[attr-defined]
