"""Run the indexer in a child process: its peak memory (gigabytes on a whole kernel) is given
back when it ends, so the server's own footprint stays that of its lazy tables.

The child is a plain ``python -m kernel_lsp.lsp.indexproc`` reading its settings as JSON on
stdin and writing one JSON line per progress step and a last line with the result. It can be
stopped at any moment (the server exiting): SIGTERM unwinds it like an interrupt, its parser
pool is terminated and SQLite rolls back the one file being written, so the model stays
consistent and the next run completes it. Its stderr is kept for the error message, never
passed on to the editor's log.
"""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import traceback
from collections import deque
from collections.abc import Callable
from pathlib import Path

from kernel_lsp.config import Config

STOP_WAIT = 3.0  # seconds a stopped child gets to unwind before it is killed


class IndexFailed(Exception):
    """The child reported an error, died, or was stopped; ``trace``: the child's traceback
    when the error was no trouble of the tree, the disk or the model file (a bug)."""

    def __init__(self, message: str, trace: str | None = None) -> None:
        super().__init__(message)
        self.trace = trace


# What indexing does not read: the layer policies (parsed objects) stay in the server.
_NOT_FOR_INDEXING = ("policies", "layers_table")
_FIRST = "__first__"


def config_json(config: Config, first: dict | None = None) -> str:
    """The settings the child reads; ``first``: run ``live.first.first_run`` with these
    arguments (``paths``, ``names``), or ``deep_run`` (``{"deep": true}``), instead of indexing
    the whole root."""
    data = {f.name: getattr(config, f.name) for f in dataclasses.fields(config)
            if f.name not in _NOT_FOR_INDEXING}
    data["root"] = str(config.root)
    if first is not None:
        data[_FIRST] = first
    return json.dumps(data, default=lambda v: sorted(v) if isinstance(v, set | frozenset)
                      else str(v))


def config_from_json(text: str) -> Config:
    data = json.loads(text)
    data.pop(_FIRST, None)
    data["root"] = Path(data["root"])
    data["extensions"] = tuple(data["extensions"])
    return Config(**data)


class IndexChild:
    """One index run at a time in a child process; ``stop`` ends it (and refuses new runs)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.proc: subprocess.Popen | None = None
        self.stopping = False

    def run(self, config: Config, progress: Callable[[int, int, str], None] | None,
            first: dict | None = None) -> tuple[dict, list[str]]:
        """(stats, problems) of an index run in a fresh process (``first``: the first model of
        a cold tree, see ``config_json``); raises IndexFailed."""
        flags = ["-P"] if sys.flags.safe_path else []
        with self.lock:
            if self.stopping:
                raise IndexFailed("the server is exiting")
            # its own process group: its parser and expansion workers inherit its stdout, so a
            # stop ends them with it (the server's reader would otherwise wait for them)
            proc = self.proc = subprocess.Popen(
                [sys.executable, *flags, "-m", "kernel_lsp.lsp.indexproc"],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                text=True, encoding="utf-8", errors="replace", start_new_session=True)
        errors: deque[str] = deque(maxlen=20)
        drain = threading.Thread(target=lambda: errors.extend(proc.stderr), daemon=True)
        drain.start()
        try:
            proc.stdin.write(config_json(config, first))
            proc.stdin.close()
            return self._read(proc, progress, errors, drain)
        except (OSError, ValueError) as exc:
            raise IndexFailed(f"the indexer process failed ({exc})") from None
        finally:
            _signal_group(proc, signal.SIGKILL)  # the child and whatever it left running
            proc.wait()

    def _read(self, proc, progress, errors: deque, drain: threading.Thread):
        for line in proc.stdout:
            try:
                msg = json.loads(line)
            except ValueError:
                continue
            if msg[0] == "progress" and progress is not None:
                progress(*msg[1:])
            elif msg[0] == "done":
                return msg[1], msg[2]
            elif msg[0] == "error":
                raise IndexFailed(msg[1], msg[2] if len(msg) > 2 else None)
        code = proc.wait()
        drain.join(timeout=2)
        if self.stopping:
            raise IndexFailed("stopped: the server is exiting")
        last = errors[-1].strip() if errors else ""
        raise IndexFailed(f"the indexer process ended (exit code {code})"
                          + (f": {last}" if last else ""))

    def stop(self) -> None:
        """End the running child and its workers, if any (SIGTERM, then SIGKILL after
        ``STOP_WAIT``)."""
        with self.lock:
            self.stopping = True
            proc = self.proc
        if proc is None:
            return
        _signal_group(proc, signal.SIGTERM)
        try:
            proc.wait(timeout=STOP_WAIT)
        except subprocess.TimeoutExpired:
            pass
        _signal_group(proc, signal.SIGKILL)


def _signal_group(proc: subprocess.Popen, sig: int) -> None:
    """Send ``sig`` to the process group of ``proc`` (its own: ``start_new_session``)."""
    try:
        os.killpg(proc.pid, sig)
    except (ProcessLookupError, PermissionError):
        pass  # every process of the group has ended


def _emit(*msg) -> None:
    sys.stdout.write(json.dumps(msg) + "\n")
    sys.stdout.flush()


def main() -> int:
    """The child: index the root of the config read from stdin, report on stdout."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # unwind: pool.terminate, rollback
    from kernel_lsp.live.first import deep_run, first_run
    from kernel_lsp.model.indexer import index

    def progress(done, total, path):
        _emit("progress", done, total, path)

    try:
        text = sys.stdin.read()
        config, first = config_from_json(text), json.loads(text).get(_FIRST)
        if first is not None and first.get("deep"):
            _emit("done", deep_run(config, progress=progress), [])
            return 0
        if first is not None:
            stats = first_run(config, first["paths"], first.get("names", ()), progress=progress)
            _emit("done", stats, [])
            return 0
        result = index(config, progress=progress)
        result.model.close()
        _emit("done", result.stats, result.problems[:200])
    except Exception as exc:  # noqa: BLE001 - reported to the server, which shows it
        from kernel_lsp.model.store import ModelError
        from kernel_lsp.parse.parser import QueriesUnavailable

        trouble = isinstance(exc, ModelError | OSError | sqlite3.Error  # not kernel-lsp's bug
                             | QueriesUnavailable)
        _emit("error", f"{type(exc).__name__}: {exc}",
              None if trouble else traceback.format_exc())
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
