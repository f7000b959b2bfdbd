"""The editor's first diagnostics on a cold tree (``live/first.py`` says what they may hold).

With no complete model at start, a child process indexes the open files' include closures and
the files that mention the names of their findings into ``first.db`` (a few seconds) before the
whole-tree index starts; the server adopts that model as provisional and checks the open files
against it. A file opened later, or a finding whose name was not scanned yet, asks for another
run (beside the whole-tree index). When the root's model loads, the runs stop and ``first.db``
is deleted.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable

from kernel_lsp.live.first import Provisional
from kernel_lsp.lsp.indexproc import IndexChild, IndexFailed
from kernel_lsp.model.first import first_db_path, remove_first_db
from kernel_lsp.model.store import Model

log = logging.getLogger("kernel_lsp.lsp")
SOURCES = (".c", ".h")


class FirstRuns:
    """One first-model run at a time, again while something new is wanted."""

    def __init__(self, server) -> None:
        self.server = server
        self.child = IndexChild()
        self.lock = threading.Lock()
        self.running = False
        self.again = False
        self.over = False  # the root's model is loaded: nothing more to do
        self.then: Callable[[], None] | None = None  # after the next run (the whole index)
        self.tried: dict[str, int | None] = {}  # path -> its mtime when a run last took it
        self.tried_names: set[str] = set()
        self.deep = False  # names wait for a deep run

    def request(self, then: Callable[[], None] | None = None) -> None:
        """Run (again) for the open files and the names wanted; ``then`` after the run."""
        with self.lock:
            if self.over or self.server.closing:
                if then is not None:
                    then()
                return
            if then is not None:
                self.then = then
            if self.running:
                self.again = True
                return
            self.running = True
        threading.Thread(target=self._thread, daemon=True, name="kernel-lsp-first").start()

    def finish(self) -> None:
        """The root's model is loaded: stop a run and delete ``first.db`` (off the loop)."""
        with self.lock:
            self.over = True

        def end() -> None:
            self.child.stop()
            with self.lock:
                busy = self.running
            if not busy and self.server.config is not None:
                remove_first_db(self.server.config)

        threading.Thread(target=end, daemon=True, name="kernel-lsp-first-end").start()

    def _thread(self) -> None:
        while True:
            with self.lock:
                self.again = False
            try:
                self._run_once()
            except Exception:  # noqa: BLE001 - the whole-tree index still comes
                log.exception("the first index run failed")
            with self.lock:
                then, self.then = self.then, None
                again = self.again and not self.over and not self.server.closing
                if not again:
                    self.running = False
            if then is not None:
                then()
            if not again:
                break
        if self.over and not self.server.closing:
            remove_first_db(self.server.config)

    def _wanted(self) -> tuple[list[str], list[str]]:
        """The files (open, or asked for) and names not tried yet; a file is tried again when
        it was saved since (its mtime changed)."""
        server = self.server
        paths = {rel for uri in server.open_uris()
                 if (rel := server.relative(uri)) is not None and rel.endswith(SOURCES)}
        names: set[str] = set()
        prov = server.ws.provisional if server.ws is not None else None
        if prov is not None:
            wanted, prov.wanted = prov.wanted, set()
            paths |= {w for w in wanted if w.endswith(SOURCES)}
            names = {w for w in wanted if not w.endswith(SOURCES)} - self.tried_names
        self.tried_names |= names
        return sorted(p for p in paths if self._new(p)), sorted(names)

    def _new(self, path: str) -> bool:
        try:
            stamp = (self.server.root / path).stat().st_mtime_ns
        except OSError:
            stamp = None
        if path in self.tried and self.tried[path] == stamp:
            return False
        self.tried[path] = stamp
        return True

    def _run_once(self) -> None:
        server = self.server
        paths, names = self._wanted()
        if paths or names:
            job, title = {"paths": paths, "names": names}, "what the open files include"
        elif self.deep:
            job, title = {"deep": True}, "the files that name the open files' findings"
        else:
            return  # nothing new: the model stays as it is
        self.deep = False
        reporter = server.progress_reporter(f"kernel-lsp: indexing {title}")
        try:
            stats, _ = self.child.run(server.config, reporter.report if reporter else None, job)
        except IndexFailed as exc:
            if reporter:
                reporter.end("failed")
            if not self.over and not server.closing:
                server.log_message(f"kernel-lsp: the first index failed: {exc}")
            return
        if reporter:
            reporter.end(f"{stats.get('closure', 0) + stats.get('extra', 0)} files")
        if stats.get("deferred"):
            with self.lock:  # a deep run next (``live.first.deep_run``)
                self.deep = self.again = True
        server.log_message(f"kernel-lsp: first model: {stats}")
        server.to_loop(lambda: asyncio.ensure_future(self._adopt()))

    async def _adopt(self) -> None:
        """Check the open files against ``first.db`` (unless the root's model came first)."""
        server = self.server
        if self.over or server.phase == "ready":
            return

        def adopt() -> None:
            ws = server.ws
            if self.over or (ws.ready and ws.provisional is None):
                return  # the root's model is loaded: it stays
            model = Model(first_db_path(server.config))
            server.ws.adopt(model)
            server.ws.provisional = Provisional.of(model)

        try:
            await server.on_model(adopt)
        except Exception as exc:  # noqa: BLE001 - the editor keeps waiting for the whole index
            log.exception("adopting the first model failed")
            server.log_message(f"kernel-lsp: the first model could not be read: {exc}")
            return
        if not self.over:
            server.recheck_all()
            server.refresh_pull()
