"""Run the indexer in a child process: its peak memory (gigabytes on a whole kernel) is given
back when it ends, so the server's own footprint stays that of its lazy tables."""

from __future__ import annotations

import multiprocessing
import queue
from collections.abc import Callable

from kernel_lsp.config import Config


class IndexFailed(Exception):
    """The child reported an error, or died."""


def _child(config: Config, out, with_progress: bool) -> None:
    from kernel_lsp.model.indexer import index

    def progress(done: int, total: int, path: str) -> None:
        out.put(("progress", done, total, path))

    try:
        result = index(config, progress=progress if with_progress else None)
        result.model.close()
        out.put(("done", result.stats, result.problems[:50]))
    except Exception as exc:  # noqa: BLE001 - reported to the server, which shows it
        out.put(("error", f"{type(exc).__name__}: {exc}"))


def index_in_child(config: Config, progress: Callable[[int, int, str], None] | None
              ) -> tuple[dict, list[str]]:
    """(stats, problems) of an index run in a fresh process; raises IndexFailed."""
    ctx = multiprocessing.get_context("spawn")
    out = ctx.Queue()
    child = ctx.Process(target=_child, args=(config, out, progress is not None),
                        name="kernel-lsp-indexer")
    child.start()
    try:
        while True:
            try:
                msg = out.get(timeout=0.5)
            except queue.Empty:
                if not child.is_alive():
                    raise IndexFailed(
                        f"the indexer process ended (exit code {child.exitcode})") from None
                continue
            if msg[0] == "progress" and progress is not None:
                progress(*msg[1:])
            elif msg[0] == "done":
                return msg[1], msg[2]
            elif msg[0] == "error":
                raise IndexFailed(msg[1])
    finally:
        child.join(timeout=10)
        if child.is_alive():
            child.kill()
