"""Atomic file writes: a reader never sees a half-written file, a crash never leaves one; cache
files that are read back only when intact."""
from __future__ import annotations

import contextlib
import logging
import os
import uuid
from pathlib import Path
from typing import Callable, Iterator

log = logging.getLogger(__name__)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside `path`; on success it is fsynced and renamed onto `path`.

    The rename is atomic on POSIX, so concurrent writers of the same content both succeed and
    readers see either the old file or the new one, never a truncated file.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp_path = path.parent / f".{path.name}.{uuid.uuid4().hex}.tmp"
    # created here (not by mkstemp, which makes 0600 files) so the kernel applies the process umask to
    # 0666: the usual permissions, without reading the umask (os.umask sets it: not thread-safe)
    os.close(os.open(tmp_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
    try:
        yield tmp_path
        with open(tmp_path, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp_path, path)
    finally:
        tmp_path.unlink(missing_ok=True)


def atomic_write(path: str | os.PathLike, write: Callable[[Path], None]) -> Path:
    """Call `write(tmp_path)` and atomically move the result to `path`; returns `path`."""
    with atomic_path(path) as tmp:
        write(tmp)
    return Path(path)


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    """Atomically write a text file."""
    return atomic_write(path, lambda tmp: tmp.write_text(text))


def load_cache_file(path: Path, required: set[str], what: str = "cache file") -> dict | None:
    """The dict in a cache file written by torch.save, or None (with one warning line) when it is
    damaged (torch.load fails: truncated, corrupt) or stale (written by another version: a required
    key is missing). Anything else, e.g. a bug in the code that uses it, is not caught here."""
    import torch

    try:
        stored = torch.load(path, weights_only=True)
    except Exception as err:  # noqa: BLE001 - whatever torch.load says, this file cannot be read back
        log.warning("%s %s is damaged (%s); rebuilding it", what, path, " ".join(str(err).split())[:200])
        return None
    missing = required - set(stored) if isinstance(stored, dict) else required
    if missing:
        log.warning("%s %s is stale (written by another version: no %s); rebuilding it", what, path,
                    ", ".join(sorted(missing)))
        return None
    return stored
