"""One writing run at a time per model file: an ``flock`` on the lock file beside it.

``model.db`` (the whole-tree index) and ``first.db`` (the server's first model of a cold tree)
each have theirs (``model.db.lock``, ``first.db.lock``). The lock file is never deleted: a
process waiting on the old one would hold a lock nobody else sees.
"""

from __future__ import annotations

import fcntl
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from kernel_lsp.model.store import ModelError, ModelUnavailable, make_model_directory

_HELD = threading.local()  # .paths: the lock files this thread holds


def lock_path(db_path: Path) -> Path:
    return db_path.with_name(db_path.name + ".lock")


def _held() -> set[str]:
    if not hasattr(_HELD, "paths"):
        _HELD.paths = set()
    return _HELD.paths


@contextmanager
def one_run_at_a_time(db_path: Path, waiting: Callable[[str], None] | None = None
                      ) -> Iterator[None]:
    """Hold the lock of the model at ``db_path``: two runs at once (two ``kernel-lsp index``,
    or one beside a server's) each expanded the macros of the files the other stored, and the
    model kept their generated rows twice. ``waiting`` is told when another run holds it. The
    kernel releases it when the process ends, however it ends; where no lock can be had (a
    read-only directory, a file system without locks) the run goes on without, as before.
    A run inside another of the same thread (``live.first.deep_run``'s ``index_closure``)
    goes on in the lock it holds.

    :raises ModelUnavailable: the tree (the model directory's parent) is gone: a server whose
        tree was deleted under it made it again, with a model of no file."""
    key = os.path.abspath(lock_path(db_path))
    if key in _held():
        yield
        return
    tree = db_path.parent.parent
    if not tree.is_dir():  # (its .kernel-lsp made again, the tree with it: a model of 0 files)
        raise ModelUnavailable(f"{tree}: no such directory (any more): nothing to index")
    try:
        make_model_directory(db_path)
        fd = os.open(key, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    except (OSError, ModelError):
        yield  # (the model's own opening says what is wrong)
        return
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if waiting is not None:
                waiting(f"{db_path}: another kernel-lsp is indexing this tree; waiting for it")
            fcntl.flock(fd, fcntl.LOCK_EX)
        except OSError:
            pass  # (ENOLCK: no locks there)
        _held().add(key)
        yield
    finally:
        _held().discard(key)
        os.close(fd)


@contextmanager
def unless_under_way(db_path: Path) -> Iterator[bool]:
    """The lock of the model at ``db_path`` if no run holds it now (True: held until the end
    of the block), else False at once. Where no lock can be had, True."""
    try:
        fd = os.open(lock_path(db_path), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    except OSError:
        yield True
        return
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        except OSError:
            pass
        yield True
    finally:
        os.close(fd)


def run_under_way(db_path: Path) -> bool:
    """Whether another process (or another open of the lock here) holds the lock of the model
    at ``db_path`` now: a run is writing it."""
    try:
        fd = os.open(lock_path(db_path), os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    except OSError:
        return False
    finally:
        os.close(fd)  # (and with it the shared lock, if it was had)
    return False


def why_incomplete(db_path: Path) -> str:
    """Why the model at ``db_path`` is not complete (``meta.includes_resolved`` unset), in the
    words the CLI and the server say it with."""
    if run_under_way(db_path):
        return "the model is incomplete (another kernel-lsp is indexing this tree now)"
    return "the model is incomplete (an index run was interrupted)"
