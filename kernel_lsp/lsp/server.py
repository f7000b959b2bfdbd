"""The language server's state and orchestration: settings, the background index, checks.

Handlers (``lsp/handlers.py``) stay thin: they convert, then call into this class. Everything
that touches the model runs on one worker thread (``on_model``), so SQLite and the workspace are
used from a single thread while the event loop keeps answering. The index runs in a child
process (``lsp/indexproc.py``), watched by a thread that reports work-done progress.
"""

from __future__ import annotations

import asyncio
import gc
import hashlib
import json
import logging
import os
import threading
import time
from pathlib import Path
from urllib.parse import unquote

from lsprotocol import types
from pygls.exceptions import JsonRpcMethodNotFound
from pygls.lsp.server import LanguageServer

from kernel_lsp import __version__
from kernel_lsp.config import Config, find_root, relative_posix
from kernel_lsp.files import lone_crs_as_lf, read_regular
from kernel_lsp.live.workspace import Workspace
from kernel_lsp.lsp.convert import Lines, file_diagnostics, path_of, uri_of
from kernel_lsp.lsp.design_features import design_check, is_design_file
from kernel_lsp.lsp.first import FirstRuns
from kernel_lsp.lsp.indexproc import IndexChild, IndexFailed
from kernel_lsp.lsp.plumbing import (
    ModelThread,
    Protocol,
    deliberate,
    end_within,
    running_loop,
)
from kernel_lsp.lsp.settings import SECTION, ServerSettings, server_config
from kernel_lsp.lsp.turns import Turns
from kernel_lsp.messages import condense
from kernel_lsp.model.first import remove_first_db
from kernel_lsp.model.store import ModelError, make_model_directory, read_only_reason

log = logging.getLogger("kernel_lsp.lsp")
TIMINGS_ENV = "KERNEL_LSP_TIMINGS"  # set: each check logs its phases (``bench/``)


class KernelLanguageServer(LanguageServer):
    """pygls server plus the findings workspace (``live.workspace``) of one root."""

    def __init__(self) -> None:
        super().__init__("kernel-lsp", __version__, protocol_cls=Protocol,
                         text_document_sync_kind=types.TextDocumentSyncKind.Incremental)
        self.worker = ModelThread()
        self.root: Path | None = None
        self.config: Config | None = None
        self.ws: Workspace | None = None  # the kernel model (pygls' ``workspace``: the documents)
        self.settings = ServerSettings()
        self.init_options: object = None
        self.editor_table: object = None
        self.pending: dict[str, asyncio.Task] = {}
        self.waiting: set[str] = set()  # uris changed since their last check started
        self.checking: dict[str, int] = {}  # uri -> its checks submitted to the model thread
        self.turns = Turns()  # one check at a time on the model thread, the newest first
        self.last: dict[str, tuple[int | None, list[types.Diagnostic]]] = {}
        self.phase = "starting"  # starting | loading | indexing | ready | failed
        self.loading = False  # the model thread is stuck in Workspace.load (a locked model.db)
        self.loop: asyncio.AbstractEventLoop | None = None  # set by startup()
        self.pull = False
        self.refresh = False
        self.progress_ok = False
        self.index_lock = threading.Lock()
        self.index_again = False
        self.index_running = False
        self.indexer = IndexChild()
        self.first = FirstRuns(self)  # the first model of a cold tree (``lsp/first.py``)
        self.closing = False  # shutdown or exit received, or the client went away
        self.exit_code = 0  # the process's: 1 after an ``exit`` without ``shutdown`` (LSP)
        self.quiet_until = 0.0  # checks wait until then (completion requests are coming)
        self.warmed: set[str] = set()  # documents whose visible names are loaded
        self.catching_up = False  # the run after loading a model: none changed, none reloaded
        self.read_only_said = False  # ``as_it_is``
        self.settings_messages: set[str] = set()  # what the last settings build said

    # -- helpers -----------------------------------------------------------------------------
    def report_server_error(self, error: Exception, source) -> None:
        """pygls' own failures (outside our guarded handlers): a log line, not a pop-up. A body
        that is not JSON is the client's: answered as JSON-RPC asks (``Protocol.not_json``)."""
        if isinstance(error, json.JSONDecodeError | UnicodeDecodeError | RecursionError):
            # (RecursionError: JSON nested deeper than Python's decoder goes, ~990 levels)
            log.warning("a message that is not JSON: %r", error)
            self.protocol.not_json(error)
            return
        if deliberate(error):  # the client has the answer (``cannot rename: ...``)
            log.info("%s", error)
            return
        if isinstance(error, JsonRpcMethodNotFound):  # a method not offered (``implementation``)
            log.info("%s: answered MethodNotFound", error)
            return
        log.error("%s: %r", source.__name__, error)
        self.log_message(f"kernel-lsp: internal error ({source.__name__}): {error!r}",
                         types.MessageType.Error)

    async def on_model(self, fn, *args, ended=None):
        """Run ``fn(*args)`` on the model thread. Its result is handed to the loop with
        ``to_loop``, so a call that ends after the loop closed (the editor quit) is dropped
        instead of raising in the model thread. ``ended()`` is called on the loop when ``fn``
        has returned, even if the caller was cancelled meanwhile."""
        loop = asyncio.get_running_loop()
        waiter = loop.create_future()

        def copy(done) -> None:  # on the loop
            if ended is not None:
                ended()
            if waiter.done():
                return
            if done.exception() is not None:
                waiter.set_exception(done.exception())
            else:
                waiter.set_result(done.result())
        self.worker.submit(fn, *args).add_done_callback(lambda done: self.to_loop(copy, done))
        return await waiter

    def to_loop(self, callback, *args) -> bool:
        """Run ``callback(*args)`` on the event loop, from any thread; False (and nothing run)
        when the loop has stopped or is closed, as it is once the editor quits."""
        loop = self.loop
        if loop is None or loop.is_closed():
            return False
        try:
            loop.call_soon_threadsafe(callback, *args)
        except RuntimeError:  # closed between the check and the call
            return False
        return True

    def stop(self) -> None:
        """The session ends (shutdown, exit, or the client's end of stdin closed): stop the
        index child now (the model stays consistent) and hand nothing more to the loop."""
        self.closing = True
        self.indexer.stop()
        self.first.child.stop()

    def shutdown(self) -> None:
        """pygls' end of the server (after the loop stopped): stop what is still running. Its
        thread pool is not waited for: the stdin reader in it may be blocked in a read from a
        client that keeps its end open (Ctrl-C, SIGINT: the process ended 10 s later, every
        thread's stack on stderr, ``end_within``); ``serve`` ends the process right after."""
        end_within()
        self.stop()
        pool, self._thread_pool = self._thread_pool, None
        if pool is not None:
            pool.shutdown(wait=False)
        super().shutdown()

    def log_message(self, text: str, kind=types.MessageType.Log) -> None:
        log.info(text)
        self._notify(self.window_log_message, types.LogMessageParams(type=kind, message=text))

    def show(self, text: str, kind=types.MessageType.Warning) -> None:
        log.warning(text)
        self._notify(self.window_show_message, types.ShowMessageParams(type=kind, message=text))

    def _notify(self, send, params) -> None:
        """Send a notification from any thread: the transport belongs to the event loop, so
        the index and model threads hand it over instead of writing themselves."""
        if self.closing:
            return
        loop = self.loop
        if loop is not None and running_loop() is not loop:
            self.to_loop(self._send, send, params)
        else:
            self._send(send, params)

    @staticmethod
    def _send(send, params) -> None:
        try:
            send(params)
        except Exception:  # noqa: BLE001 - no client (yet) or a closed transport: the log has it
            pass

    def relative(self, uri: str) -> str | None:
        """Root-relative path of a ``file:`` URI inside the root, else None (also for a
        directory: a client may open one, and it is no C file)."""
        path = path_of(uri)
        if path is None or self.root is None:
            return None
        rel = relative_posix(self.root, Path(path))
        return None if rel in (None, ".") or os.path.isdir(path) else rel

    def document(self, uri: str):
        """The open document of ``uri`` however the client spells it (``%20``, ``%73tat.c``:
        pygls keys its documents by the decoded URI), else None."""
        return self.workspace.text_documents.get(unquote(uri)) if self.workspace else None

    def open_uris(self) -> list[str]:
        """The open documents' URIs, as the client sent them."""
        docs = self.workspace.text_documents if self.workspace else {}
        return [doc.uri for doc in list(docs.values())]

    def uri_for(self, rel: str) -> str:
        """The URI the client opened ``rel`` under, else the server's spelling of it."""
        uri = uri_of(self.root, rel)
        doc = self.document(uri)
        return doc.uri if doc is not None else uri

    def text_of(self, rel: str) -> str | None:
        """The open buffer of ``rel`` or the file on disk (None when unreadable)."""
        if self.root is None:
            return None
        doc = self.document(uri_of(self.root, rel))
        if doc is not None:
            return lone_crs_as_lf(doc.source)
        try:
            return lone_crs_as_lf(read_regular(self.root / rel).decode("utf-8", "replace"))
        except OSError:
            return None

    @property
    def encoding(self) -> str:
        """The negotiated position encoding as its wire name ("utf-8", "utf-16", "utf-32")."""
        enc = self.workspace.position_encoding or types.PositionEncodingKind.Utf16
        return getattr(enc, "value", enc)

    # -- settings ----------------------------------------------------------------------------
    def choose_root(self, params: types.InitializeParams) -> Path:
        for uri in ([f.uri for f in params.workspace_folders or ()] + [params.root_uri or ""]):
            path = path_of(uri) if uri else None
            if path:
                return find_root(Path(path))
        if params.root_path:
            return find_root(Path(params.root_path))
        return find_root(Path.cwd())

    def configure(self) -> list[str]:
        """(Re)build the Config from kernel-lsp.toml and the editor's two settings tables; the
        messages the last build did not give (an editor sends didChangeConfiguration on each
        settings edit: each showed every bad setting again, a pop-up each)."""
        config, settings, messages = server_config(self.root, [
            (self.init_options, "initializationOptions"),
            (self.editor_table, f"workspace/configuration '{SECTION}'")])
        given, self.settings_messages = self.settings_messages, set(messages)
        messages = [m for m in messages if m not in given]
        changed = self.config is not None and (
            (config.include_paths, config.arch, config.exclude, config.max_file_bytes) !=
            (self.config.include_paths, self.config.arch, self.config.exclude,
             self.config.max_file_bytes))
        self.config, self.settings = config, settings
        if self.ws is None:
            self.ws = Workspace(config)
        else:
            self.ws.config = config
        if changed:
            self.start_index()
        return messages

    async def fetch_editor_settings(self) -> None:
        caps = self.client_capabilities
        if not (caps.workspace and caps.workspace.configuration):
            return
        try:
            got = await asyncio.wait_for(self.workspace_configuration_async(
                types.ConfigurationParams(items=[types.ConfigurationItem(section=SECTION)])), 5)
            self.editor_table = got[0] if got else None
        except Exception as exc:  # noqa: BLE001 - a client that fails here still gets defaults
            self.log_message(f"workspace/configuration failed: {exc}")

    # -- startup and the background index ------------------------------------------------------
    async def load_model(self) -> str | None:
        """``Workspace.load`` on the model thread. When it takes over two seconds (a locked
        model.db holds the thread for SQLite's whole busy timeout), requests are answered
        without the model until it is done."""
        task = asyncio.ensure_future(self.on_model(self.ws.load))
        task.add_done_callback(lambda _task: _freeze_heap())
        done, _ = await asyncio.wait({task}, timeout=2)
        if done:
            return task.result()
        self.loading = True
        # (slow to read on a busy machine, or held by another process's write: either)
        self.log_message(f"kernel-lsp: {self.config.db_path} takes over 2 s to load (a busy "
                         "machine, or another process writing it); answering from the open "
                         "files meanwhile", types.MessageType.Warning)
        try:
            return await task
        finally:
            self.loading = False

    async def startup(self) -> None:
        self.loop = asyncio.get_running_loop()
        self.loop.set_exception_handler(_quiet_cancellation)
        self.phase = "loading"
        problem = await self.load_model()
        if problem:
            self.log_message(f"kernel-lsp: {problem}; indexing")
        if self.ws.ready:
            self.phase = "ready"
            self.first.finish()  # a first.db left by an earlier session
            self.recheck_all()
            # first answers before the catch-up index competes for the CPU
            await self.settle(3.0)
            self.catching_up = True
            self.start_index()
            return
        # a cold tree: what the open files include first, then the whole tree; a first.db an
        # earlier session left may name files changed since (no run can be going yet)
        try:
            make_model_directory(self.config.db_path)
        except ModelError as exc:  # a file named .kernel-lsp: no model, the buffers' answers
            self.phase = "failed"
            self.show(f"kernel-lsp: {exc}", types.MessageType.Error)
            return
        remove_first_db(self.config)
        self.phase = "indexing"
        await self.first_documents(2.0)
        self.first.request(then=self.start_index)

    async def first_documents(self, limit: float) -> None:
        """Wait (up to ``limit`` seconds) for the documents an editor opens right after
        ``initialized``: their closures go first, before the whole index takes the CPU."""
        deadline = time.monotonic() + limit
        while not self.workspace.text_documents and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.2)  # the rest of a session's restored tabs

    def refresh_pull(self) -> None:
        """Ask a pull client to pull again (its results changed without an edit)."""
        if self.pull and self.refresh:
            try:
                self.workspace_diagnostic_refresh(None)
            except Exception:  # noqa: BLE001
                pass

    async def settle(self, limit: float) -> None:
        """Wait (up to ``limit`` seconds) until no check is pending."""
        deadline = time.monotonic() + limit
        await asyncio.sleep(0.2)  # documents opened right after ``initialized``
        while self.pending and time.monotonic() < deadline:
            await asyncio.sleep(0.05)

    def start_index(self) -> None:
        if self.as_it_is():
            return
        with self.index_lock:
            if self.closing:
                return
            if self.index_running:
                self.index_again = True
                return
            self.index_running = True
        threading.Thread(target=self._index_thread, daemon=True,
                         name="kernel-lsp-index").start()

    def as_it_is(self) -> bool:
        """Whether the model loaded is read as it is (its directory read-only, still): no run
        could write it, and each failed with the same pop-up (on every save). Said once."""
        model = self.ws.model if self.ws is not None else None
        if model is None or model.read_only is None:
            return False
        reason = read_only_reason(self.config.db_path)
        if reason is None:
            return False  # (writable again: the run brings it up to date)
        if not self.read_only_said:
            self.read_only_said = True
            self.log_message(f"kernel-lsp: {self.config.index_dir} is {reason}: the model in "
                             "it is used as it is, not brought up to date",
                             types.MessageType.Warning)
        return True

    def _index_thread(self) -> None:
        while not self.closing:
            self.index_again = False
            self._index_once()
            with self.index_lock:
                if not self.index_again or self.closing:
                    self.index_running = False
                    return

    def progress_reporter(self, title: str) -> _Progress | None:
        """Work-done progress of one run (None when the client does not take it)."""
        return _Progress(self, title) if self.progress_ok else None

    def _index_once(self) -> None:
        """One index run in the child, then the model is reloaded on the loop."""
        reporter = self.progress_reporter("kernel-lsp: indexing")
        try:
            if self.phase != "ready":
                self.phase = "indexing"
            catching_up, self.catching_up = self.catching_up, False
            stats, problems = self.indexer.run(self.config,
                                               reporter.report if reporter else None)
            for problem in condense(problems, hint=" (kernel-lsp index -v lists them)")[:20]:
                self.log_message(f"kernel-lsp: {problem}")
            self.log_message(f"kernel-lsp: index of {self.root}: {stats.get('files')} files, "
                             f"{stats.get('parsed')} parsed in {stats.get('seconds')} s")
            if reporter:
                reporter.end(f"{stats.get('files')} files")
            if catching_up and not _changed(stats):
                return  # the model loaded is the model on disk: reloading it and checking
                # the open files again took the CPU from the first keystrokes
            self.to_loop(lambda: asyncio.ensure_future(self.after_index()))
        except Exception as exc:  # noqa: BLE001 - the server keeps serving what it has
            if reporter:
                reporter.end("failed")
            if self.closing:
                return  # stopped because the session ended: nothing to report to anyone
            if not isinstance(exc, IndexFailed):
                log.exception("index failed")
            elif exc.trace:  # a bug in the child: its traceback, not the one of reading it
                log.error("index failed: the indexer's traceback:\n%s", exc.trace)
            if self.phase != "ready":
                self.phase = "failed"
            self.to_loop(self.show, f"kernel-lsp: indexing failed: {exc}")

    async def after_index(self) -> None:
        try:
            await self._reload()
        except Exception as exc:  # noqa: BLE001 - run from the index thread: nobody else sees it
            log.exception("reloading the model failed")
            self.show(f"kernel-lsp: reloading the model failed: {exc}", types.MessageType.Error)

    async def _reload(self) -> None:
        problem = await self.load_model()
        if problem:
            self.show(f"kernel-lsp: {problem}")
            return
        self.phase = "ready" if self.ws.ready else "failed"
        if self.ws.ready:
            self.first.finish()
        self.warmed.clear()  # a new model: its names are read again
        self.recheck_all()
        self.refresh_pull()

    # -- checks ------------------------------------------------------------------------------
    def recheck_all(self) -> None:
        """Check every open document again (a new model: every cached answer is stale, also
        one a pull request keyed by a URI spelled differently from the open document's)."""
        self.last.clear()
        for uri in self.open_uris():
            self.schedule(uri, 0)

    def changed_document(self, uri: str) -> None:
        """A change of an open document. Checked at once when no earlier check of it is still
        waiting or running (a keystroke after its diagnostics came: waiting would only delay
        the next ones); else the earlier check is replaced by one the debounce delay later
        (changes coming faster than their checks end are checked once, after the last)."""
        burst = uri in self.checking or uri in self.waiting
        self.schedule(uri, self.settings.debounce_ms if burst else 0)
        self.waiting.add(uri)

    def _ended(self, uri: str) -> None:
        left = self.checking.pop(uri, 1) - 1
        if left:
            self.checking[uri] = left

    def schedule(self, uri: str, delay_ms: int | None = None, exact: bool = False) -> None:
        """Check ``uri`` after ``delay_ms`` (None: the debounce delay); a newer request
        replaces an older one (``exact``: the whole file again, see ``OpenFile.approximate``)."""
        old = self.pending.pop(uri, None)
        if old is not None:
            old.cancel()
        delay = self.settings.debounce_ms if delay_ms is None else delay_ms

        async def later():
            try:
                if delay:
                    await asyncio.sleep(delay / 1000)
                # while completion requests come (the user is typing a word), the check waits:
                # the model thread answers them first, diagnostics follow the pause
                while (wait := self.quiet_until - time.monotonic()) > 0:
                    await asyncio.sleep(wait)
                self.waiting.discard(uri)
                await self.check(uri, exact=exact)
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001
                log.exception("check of %s failed", uri)
                self.log_message(f"kernel-lsp: check of {uri} failed (see the server log)")
            finally:
                if self.pending.get(uri) is task:
                    self.pending.pop(uri, None)

        task = asyncio.ensure_future(later())
        self.pending[uri] = task

    async def check(self, uri: str, publish: bool = True,
                    exact: bool = False) -> list[types.Diagnostic]:
        doc = self.document(uri)
        rel = self.relative(uri)
        version = doc.version if doc is not None else None
        if rel is not None and (self.ws is None or not self.ws.ready):
            if self.phase == "indexing":
                self.first.request()  # what this file includes, ahead of the whole tree
            return []  # no model yet: "no findings" would be a lie; after_index checks it
        diags, dependents, approximate = [], [], False
        if rel is not None:
            await self.turns.acquire()  # (the buffer may have changed while it waited)
            try:
                doc = self.document(uri)
                version = doc.version if doc is not None else None
                text = lone_crs_as_lf(doc.source) if doc is not None else None
                self.checking[uri] = self.checking.get(uri, 0) + 1
            except BaseException:
                self.turns.release()
                raise

            def ended() -> None:
                self._ended(uri)
                self.turns.release()

            diags, dependents, approximate = await self.on_model(
                self._check_on_model, rel, text, version, exact, ended=ended)
        if self.ws.provisional is not None and self.ws.provisional.wanted:
            self.first.request()  # a file or a name the first model has not covered yet
        if doc is not None and doc.version != version:
            return diags  # the buffer moved on; its own check is scheduled
        self.last[uri] = (version, diags)
        if publish and not self.pull and doc is not None:
            self.text_document_publish_diagnostics(types.PublishDiagnosticsParams(
                uri=uri, version=version, diagnostics=diags))
        if rel is not None and uri not in self.warmed and doc is not None:
            self.warmed.add(uri)
            asyncio.ensure_future(self.on_model(self._warm_names, rel))
        if self.protocol.inactive_regions and doc is not None:
            self.send_inactive_regions(uri, lone_crs_as_lf(doc.source))
        for dep in dependents:
            dep_uri = self.uri_for(dep)
            if self.document(dep_uri) is not None:
                self.schedule(dep_uri)
        if approximate:  # served from a body with a syntax error: the whole file at a pause
            self.schedule(uri, self.EXACT_AFTER_MS, exact=True)
        return diags

    TYPING_PAUSE = 0.3  # seconds after a completion request during which checks wait
    EXACT_AFTER_MS = 150  # pause after which an approximate check is made exact

    def note_typing(self) -> None:
        """A completion or signature request came: hold checks back for a moment."""
        self.quiet_until = time.monotonic() + self.TYPING_PAUSE

    def _warm_names(self, rel: str) -> None:
        """Read the names of every file an open document can see (its first completion would
        otherwise read them: a few hundred milliseconds on a kernel file); then keep what the
        document's first check and these names loaded out of later collections: the lazy
        tables they read live on. (Frozen without a collection first, which would pause the
        model thread for each document a session restores; the next model load collects what
        was frozen, ``_freeze_heap``.)"""
        from kernel_lsp.model.visibility import bits
        from kernel_lsp.navigate.scope import file_names

        ws = self.ws
        of = ws.open.get(rel) if ws is not None and ws.ready else None
        if of is None:
            return
        mask = ws.tables.visibility.before(of.file_id, len(of.buffer.source))
        file_names(ws.model).load([f for f in bits(mask) if f != of.file_id])
        gc.freeze()

    def send_inactive_regions(self, uri: str, text: str) -> None:
        """clangd's ``textDocument/inactiveRegions`` for clients that asked for it."""
        from kernel_lsp.lsp.intel import INACTIVE_REGIONS, inactive_regions

        data = text.encode("utf-8", "surrogatepass")
        regions = inactive_regions(self, data, Lines(data))
        self.protocol.notify(INACTIVE_REGIONS, {"textDocument": {"uri": uri}, "regions": [
            {"start": {"line": r.start.line, "character": r.start.character},
             "end": {"line": r.end.line, "character": r.end.character}} for r in regions]})

    def _check_on_model(self, rel: str, text: str | None, version, exact: bool = False):
        if is_design_file(rel):  # a demand or a layer policy, not C
            return design_check(self, rel, text), [], False
        ws, config = self.ws, self.config
        t0 = time.perf_counter()
        data = text.encode("utf-8", "surrogatepass") if text is not None else None
        if data is not None:
            if len(data) > config.max_file_bytes:
                self.log_message(f"kernel-lsp: {rel}: {len(data)} bytes, over max_file_bytes "
                                 f"({config.max_file_bytes}); not checked")
                ws.drop_buffer(rel)
                return [], [], False
            ws.set_buffer(rel, data, version=version, exact=exact)
        reported = ws.findings([rel], with_fixes=True)
        lines = Lines(text if text is not None else self.text_of(rel))
        enc = self.encoding
        diags = file_diagnostics(reported, rel, lines, enc, self.root, config.docs_url)
        dependents = sorted(ws.includers_of(rel)) if rel.endswith(".h") else []
        if os.environ.get(TIMINGS_ENV):
            phases = " ".join(f"{k}={1000 * v:.2f}" for k, v in ws.timings.items())
            self.log_message(f"kernel-lsp: timings {rel} v={version}{' exact' * exact} "
                             f"total={1000 * (time.perf_counter() - t0):.2f} {phases}")
        of = ws.open.get(rel)
        return diags, dependents, of is not None and of.approximate

    def result_id(self, uri: str) -> str:
        """A pull result id that changes exactly when the document's diagnostics change."""
        version, diags = self.last.get(uri, (None, []))
        digest = hashlib.blake2b(repr(diags).encode(), digest_size=8).hexdigest()
        return f"{version}:{digest}"


def _changed(stats: dict) -> bool:
    """Whether an index run (its ``indexer.index`` stats) changed the model: a file extracted
    or removed, the includes resolved again, the unbuilt files judged again, or a macro
    expanded."""
    return bool(stats.get("parsed") or stats.get("removed") or stats.get("macro_generated")
                or "resolve_seconds" in stats or "unbuilt_seconds" in stats)


def _freeze_heap() -> None:
    """After a model load: collect, then keep what lives out of later collections (a full
    collection walks every object: tens of milliseconds in the middle of a keystroke)."""
    gc.unfreeze()
    gc.collect()
    gc.freeze()


def _quiet_cancellation(loop: asyncio.AbstractEventLoop, context: dict) -> None:
    """The loop's exception handler: a handler task cancelled because the session ended (the
    editor quit while it ran) is no error; anything else goes to the default handler."""
    if isinstance(context.get("exception"), asyncio.CancelledError):
        return
    loop.default_exception_handler(context)


class _Progress:
    """Work-done progress of one index run, reported from the index thread."""

    def __init__(self, server: KernelLanguageServer, title: str):
        self.server, self.loop, self.title = server, server.loop, title
        self.token = f"kernel-lsp-index-{time.monotonic_ns()}"
        self.last = 0.0
        begin = self._begin()
        try:
            self.started = asyncio.run_coroutine_threadsafe(begin, self.loop)
        except RuntimeError:  # the loop closed: the session is over
            begin.close()  # never awaited: no warning when it is collected
            self.started = None

    async def _begin(self) -> bool:
        try:
            await asyncio.wait_for(self.server.work_done_progress.create_async(self.token), 5)
            self.server.work_done_progress.begin(self.token, types.WorkDoneProgressBegin(
                title=self.title, percentage=0, cancellable=False,
                message="reading the tree"))
            return True
        except Exception:  # noqa: BLE001 - a client that refuses progress just gets none
            return False

    def _ok(self) -> bool:
        if self.started is None or self.server.closing:
            return False
        try:
            return self.started.result(timeout=10)
        except Exception:  # noqa: BLE001
            return False

    def report(self, done: int, total: int, path: str) -> None:
        now = time.monotonic()
        if now - self.last < 0.5 or not self._ok():
            return
        self.last = now
        pct = int(100 * done / total) if total else 100
        self.server.to_loop(
            self.server.work_done_progress.report, self.token,
            types.WorkDoneProgressReport(message=f"{done}/{total} {path}", percentage=pct))

    def end(self, message: str) -> None:
        if self._ok():
            self.server.to_loop(self.server.work_done_progress.end, self.token,
                                types.WorkDoneProgressEnd(message=message))
