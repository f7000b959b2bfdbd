"""pygls plumbing: the protocol rules pygls leaves out, the model thread, the running loop."""

from __future__ import annotations

import asyncio
import faulthandler
import json
import logging
import os
import queue
import re
import sys
import threading
import time
from concurrent.futures import Executor, Future
from typing import NamedTuple
from urllib.parse import unquote

from lsprotocol import types
from pygls.exceptions import (
    JsonRpcException,
    JsonRpcInternalError,
    JsonRpcInvalidParams,
    JsonRpcInvalidRequest,
    JsonRpcMethodNotFound,
    JsonRpcParseError,
    JsonRpcServerNotInitialized,
)
from pygls.protocol import LanguageServerProtocol
from pygls.workspace import TextDocument, Workspace

log = logging.getLogger("kernel_lsp.lsp")


# A line of LSP's: up to ``\n``, ``\r\n`` or ``\r``, or the rest of the text.
_LSP_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+\Z")
# What ``str.splitlines`` also breaks at (without any, it splits as LSP does, 4x faster)
_NO_LSP_LINE_END = "\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"
_ASTRAL = re.compile("[\U00010000-\U0010ffff]")  # two UTF-16 code units each


def lsp_lines(source: str) -> list[str]:
    """``source`` split after each of LSP's line ends (the last line may have none)."""
    if not any(c in source for c in _NO_LSP_LINE_END):  # (each a memchr-fast scan)
        return source.splitlines(True)
    return _LSP_LINE.findall(source)


class LspDocument(TextDocument):
    """pygls' document, its lines split at LSP's line ends only: ``str.splitlines`` also
    breaks at a form feed (^L, between the sections of many kernel files), a vertical tab,
    ``\\x1c``-``\\x1e``, ``\\x85`` and U+2028/9, so an incremental edit below one landed on
    another line than the editor's and the server's copy of the buffer was no longer the
    editor's.

    An incremental change replaces the lines it touches in a kept list of lines (and the line
    on either side, which a ``\\r`` and a ``\\n`` meeting there may join), and the text is
    joined again when it is next read: pygls split the whole text into lines and wrote it
    out again for each change (on a 50 MB buffer, about a second per keystroke)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._lines: list[str] | None = None  # the text's lines while kept; else ``_source``

    @property
    def source(self) -> str:
        if self._source is None and self._lines is not None:
            self._source = "".join(self._lines)
        return super().source

    @property
    def lines(self) -> tuple[str, ...]:
        return tuple(self._line_list())

    def _line_list(self) -> list[str]:
        if self._lines is None:
            self._lines = lsp_lines(self.source)
        return self._lines

    def _apply_full_change(self, change) -> None:
        super()._apply_full_change(change)
        self._lines = None

    def _apply_incremental_change(self, change) -> None:
        """pygls' incremental change (its column conversion and its clamping of a position
        below the last line to the end), on the lines the change touches only. A range whose end
        comes before its start is taken from the one to the other (pygls dropped the edit,
        or wrote the text between them twice)."""
        lines = self._line_list()
        start, end = (self._server_position(lines, change.range.start),
                      self._server_position(lines, change.range.end))
        first, last = sorted((start[0], end[0]))
        lo, hi = max(first - 1, 0), min(last + 2, len(lines))
        region = "".join(lines[lo:hi])

        def offset(at: tuple[int, int]) -> int:
            return min(sum(map(len, lines[lo:at[0]])) + at[1], len(region))

        a, b = sorted((offset(start), offset(end)))
        lines[lo:hi] = lsp_lines(region[:a] + change.text + region[b:])
        self._source = None

    def _server_position(self, lines: list[str], at: types.Position) -> tuple[int, int]:
        """(line, code point) of ``at``, as pygls' codec has it; without its loop over the
        characters of the line when each is one code unit (it took 3 s for a change at the
        end of a line of 5 MB). A character past the end of the line is its end, before the
        line end, as LSP says: pygls took the one before the last character (``abc`` with
        ``X`` at character 4 became ``abXc``), or one past the line end (``abc\\ndef`` became
        ``abc\\nXdef``, and ``\\r\\n`` was split), and the buffer was no longer the editor's."""
        if not lines or at.line >= len(lines):
            return (len(lines) - 1, len(lines[-1])) if lines else (0, 0)
        line = lines[at.line]
        content = line.rstrip("\r\n")
        enc = self._position_codec.encoding
        if not (line.isascii() or enc == types.PositionEncodingKind.Utf32 or (
                enc != types.PositionEncodingKind.Utf8 and _ASTRAL.search(line) is None)):
            if at.character >= _units(content, enc):
                return at.line, len(content)
            where = self._position_codec.position_from_client_units(lines, at)
            return where.line, where.character
        return at.line, max(min(at.character, len(content)), 0)


def _units(text: str, encoding) -> int:
    """The length of ``text`` in the client's code units (``encoding``)."""
    if encoding == types.PositionEncodingKind.Utf8:
        return len(text.encode("utf-8", "surrogatepass"))
    if encoding == types.PositionEncodingKind.Utf32:
        return len(text)
    return len(text) + len(_ASTRAL.findall(text))


def use_lsp_lines(workspace: Workspace) -> None:
    """Make ``workspace`` hold its documents as ``LspDocument``s."""

    def create(doc_uri: str, source: str | None = None, version: int | None = None,
               language_id: str | None = None) -> TextDocument:
        return LspDocument(doc_uri, source=source, version=version, language_id=language_id,
                           sync_kind=workspace._sync_kind,
                           position_codec=workspace._position_codec)

    workspace._create_text_document = create  # type: ignore[method-assign]


class Protocol(LanguageServerProtocol):
    """pygls' protocol plus the rules it leaves out: nothing but ``initialize`` (and ``exit``)
    before ``initialize`` (requests get ServerNotInitialized, notifications are dropped), and a
    change or close of a document that is not open is a log line, not a KeyError pop-up."""

    inactive_regions = False  # the client takes clangd's textDocument/inactiveRegions

    def structure_message(self, data):
        """pygls' parsing, after noting a client capability its types do not know: clangd's
        ``textDocument.inactiveRegionsCapabilities.inactiveRegions``."""
        if isinstance(data, dict) and data.get("method") == types.INITIALIZE:
            params = data.get("params")
            caps = params.get("capabilities") if isinstance(params, dict) else None
            td = caps.get("textDocument") if isinstance(caps, dict) else None
            flag = td.get("inactiveRegionsCapabilities") if isinstance(td, dict) else None
            self.inactive_regions = isinstance(flag, dict) and flag.get("inactiveRegions") is True
        try:
            return super().structure_message(data)
        except JsonRpcException:
            if not isinstance(data, dict) or "method" not in data:
                raise
            return Malformed(data.get("id"), "id" in data, str(data.get("method")))

    def handle_message(self, message) -> None:
        """pygls' dispatch, except for what is no LSP message (a client's bug, or a newer
        protocol than lsprotocol's): a request whose params do not fit its method gets an
        InvalidParams error (pygls sent nothing: the client waited for ever), a notification's
        is dropped, anything else (a JSON array, a number) gets an InvalidRequest error with
        no id, and so does what is no JSON-RPC 2.0 (``_not_json_rpc_2``); each is a warning in
        the log, not an internal error."""
        if isinstance(message, Malformed):
            what = "request" if message.is_request else "notification"
            self._server.log_message(f"kernel-lsp: {message.method} {what} with params that do "
                                     "not fit it: " + ("answered with an error"
                                                       if message.is_request else "ignored"),
                                     types.MessageType.Warning)
            if message.is_request:
                self._send_response(message.id, None,
                                    JsonRpcInvalidParams().to_response_error())
            return
        if not hasattr(message, "jsonrpc"):
            self._server.log_message(f"kernel-lsp: a message that is no JSON-RPC object "
                                     f"({type(message).__name__}): answered with an error",
                                     types.MessageType.Warning)
            self._send_error_without_id(JsonRpcInvalidRequest())
            return
        method = getattr(message, "method", None)
        if isinstance(getattr(message, "id", None), dict | list) or message.jsonrpc != "2.0":
            self._not_json_rpc_2(message, method)
            return
        if self._shutdown and method not in (None, types.EXIT) and hasattr(message, "id"):
            # a request after ``shutdown``: InvalidRequest, as LSP asks (pygls dropped it, and
            # the client waited for ever)
            self._send_response(message.id, None, JsonRpcInvalidRequest(
                "the server is shutting down").to_response_error())
            return
        super().handle_message(message)

    def _not_json_rpc_2(self, message, method: str | None) -> None:
        """A message whose id is an object or an array (pygls' table of requests raised
        TypeError: an internal error in the log), or whose ``jsonrpc`` is not "2.0" (pygls
        dropped it, and the client waited for ever): a request gets InvalidRequest (with its
        id when that is one), anything else is dropped; a warning in the log."""
        msg_id = getattr(message, "id", None)
        bad_id = isinstance(msg_id, dict | list)
        asks = method is not None and hasattr(message, "id")
        why = ("its id is no number or string" if bad_id
               else f'"jsonrpc" is {message.jsonrpc!r}, not "2.0"')
        self._server.log_message(f"kernel-lsp: a message that is no JSON-RPC 2.0 ({why}): "
                                 + ("answered with an error" if asks else "ignored"),
                                 types.MessageType.Warning)
        if asks and bad_id:
            self._send_error_without_id(JsonRpcInvalidRequest())
        elif asks:
            self._send_response(msg_id, None, JsonRpcInvalidRequest().to_response_error())

    def _send_error_without_id(self, error: JsonRpcException) -> None:
        # (JSON-RPC 2.0 wants ``"id": null``, which pygls' converter would leave out)
        self._send_data({"jsonrpc": "2.0", "id": None,
                         "error": {"code": error.code, "message": error.message}})

    def not_json(self, error: Exception) -> None:
        """A message body that is no JSON (``error``: its decoding error): a ParseError with no
        id (JSON-RPC 2.0) and a warning in the log."""
        self._server.log_message(f"kernel-lsp: a message that is not JSON ({error}): answered "
                                 "with an error", types.MessageType.Warning)
        self._send_error_without_id(JsonRpcParseError())

    def warm(self) -> None:
        """Have pygls' converter build now what the first keystroke would wait for: cattrs
        generates a message type's (un)structuring code at its first use, and on Linux's
        ``fs/btrfs/ctree.c`` the first ``didChange`` spent 30 ms there (its diagnostics, the
        first that hold a finding, would too). Nothing is dispatched."""
        at = {"line": 0, "character": 0}
        self.structure_message({"jsonrpc": "2.0", "method": types.TEXT_DOCUMENT_DID_CHANGE,
                                "params": {"textDocument": {"uri": "file:///warm.c", "version": 1},
                                           "contentChanges": [
                                               {"range": {"start": at, "end": at}, "text": "x"},
                                               {"text": "x"}]}})
        where = types.Range(types.Position(0, 0), types.Position(0, 1))
        self._converter.unstructure(types.PublishDiagnosticsNotification(
            params=types.PublishDiagnosticsParams(uri="file:///warm.c", version=1, diagnostics=[
                types.Diagnostic(where, "m", types.DiagnosticSeverity.Error, "020_2",
                                 types.CodeDescription("https://example.org"), "kernel-lsp",
                                 related_information=[types.DiagnosticRelatedInformation(
                                     types.Location("file:///warm.h", where), "m")],
                                 data={"fix": []})])))

    def _handle_request(self, msg_id, method_name: str, params) -> None:
        if self._workspace is None and method_name != types.INITIALIZE:
            log.warning("%s before initialize: refused", method_name)
            self._send_response(msg_id, None, JsonRpcServerNotInitialized().to_response_error())
            return
        if self._workspace is not None and method_name == types.INITIALIZE:
            log.warning("a second initialize: refused")  # LSP: it is sent once
            self._send_response(msg_id, None, JsonRpcInvalidRequest(
                "the server is initialized already").to_response_error())
            return
        super()._handle_request(msg_id, method_name, params)

    def _handle_notification(self, method_name: str, params) -> None:
        if self._workspace is None and method_name != types.EXIT:
            log.warning("%s before initialize: dropped", method_name)
            return
        if method_name == types.CANCEL_REQUEST and not isinstance(
                getattr(params, "id", None), int | str):  # (a dict was a TypeError traceback)
            self._server.log_message(f"kernel-lsp: {method_name} with an id that is no number "
                                     "or string: ignored", types.MessageType.Warning)
            return
        if method_name in _NEEDS_OPEN and (
                unquote(params.text_document.uri) not in self._workspace.text_documents):
            self._server.log_message(f"kernel-lsp: {method_name} for "
                                     f"{params.text_document.uri}, which is not open: ignored")
            return
        super()._handle_notification(method_name, params)


    def _send_data(self, data) -> None:
        """pygls' sending, except after ``exit`` once pygls has closed the client's end: a
        message still on its way then (a progress report, diagnostics) is dropped with a debug
        line, not logged as an error with a traceback in the editor's server log."""
        out = getattr(self.writer, "_stdout", None)
        if _ending.is_set() and getattr(out, "closed", False):
            log.debug("session over, not sent: %.80r", data)
            return
        super()._send_data(data)


def client_noise(record: logging.LogRecord) -> bool:
    """A logging filter: False for pygls' tracebacks of what ``Protocol`` answers itself (a
    message that is not JSON, params that do not fit their method), which the server log
    shows as one warning each, of the errors a handler answers on purpose (``cannot
    rename: ...``: ``deliberate``), and for its warnings of a method it does not serve and of
    a cancel of a request answered already."""
    if not record.name.startswith("pygls"):
        return True
    text = str(record.msg)
    if text.startswith(("Unable to deserialize message", "Failed to handle request %r, unknown "
                        "method", "Cancel notification for unknown message id")):
        return False  # (a cancel that comes after the answer is a race every client runs)
    if text.startswith("Unable to handle message") and record.exc_info:
        return not isinstance(record.exc_info[1], json.JSONDecodeError | UnicodeDecodeError)
    if record.exc_info and deliberate(record.exc_info[1]):
        return False
    return True


def deliberate(error: BaseException | None) -> bool:
    """Whether ``error`` is an answer a handler gives on purpose (a ``JsonRpcException`` it
    raised: ``kernel-lsp: cannot rename: ...``), not a failure (pygls wraps those in
    ``JsonRpcInternalError``)."""
    return isinstance(error, JsonRpcException) and not isinstance(
        error, JsonRpcInternalError | JsonRpcMethodNotFound)


_NEEDS_OPEN = (types.TEXT_DOCUMENT_DID_CHANGE, types.TEXT_DOCUMENT_DID_CLOSE)


class Malformed(NamedTuple):
    """A request or notification whose params its method's type refused."""

    id: int | str | None
    is_request: bool
    method: str


class ModelThread(Executor):
    """One daemon thread running submitted calls in order. (A ThreadPoolExecutor's threads are
    joined at exit, so a call stuck on a locked model.db would hold up ``exit`` for half a
    minute; the model thread only reads, so nothing is lost by not waiting for it.)"""

    def __init__(self) -> None:
        self.jobs: queue.SimpleQueue = queue.SimpleQueue()
        threading.Thread(target=self._run, daemon=True, name="kernel-lsp-model").start()

    def submit(self, fn, /, *args, **kwargs) -> Future:
        future: Future = Future()
        self.jobs.put((future, fn, args, kwargs))
        return future

    def _run(self) -> None:
        while True:
            future, fn, args, kwargs = self.jobs.get()
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(fn(*args, **kwargs))
            except BaseException as exc:  # noqa: BLE001 - handed to the awaiting coroutine
                future.set_exception(exc)


def running_loop() -> asyncio.AbstractEventLoop | None:
    """The event loop running in this thread, or None."""
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


END_GRACE = 10.0  # seconds the process has to end once its session is over
_ending = threading.Event()


def end_within(seconds: float = END_GRACE) -> None:
    """The session is over (``exit``, the client's end of stdin closed, or pygls' shutdown):
    if the process still runs ``seconds`` from now, a thread is stuck in something that will
    not end. Every thread's stack then goes to stderr (the editor's server log) with a line
    saying so, and the process ends: an editor never keeps a server behind that it quit. The
    server only reads the model (the index children write it, and they are stopped by then),
    so nothing is lost. Only the first call counts."""
    if _ending.is_set():
        return
    _ending.set()

    def watch() -> None:
        time.sleep(seconds)
        # straight to the descriptor: the stuck thread may hold a logging or stderr lock
        os.write(2, f"kernel-lsp: the server did not end within {seconds:g} s of the session's "
                    "end; every thread's stack follows, then it ends\n".encode())
        faulthandler.dump_traceback(file=2, all_threads=True)
        os._exit(0)

    threading.Thread(target=watch, daemon=True, name="kernel-lsp-end-watch").start()


def end_now(code: int = 0) -> None:
    """The session is over and the server has stopped what it ran: end the process at once.
    Python's finalization would wait for, or deadlock on, what a daemon thread holds: the
    model or a first-index thread frozen halfway through a lazy import keeps that module's
    import lock, and a warning raised while finalizing imports ``linecache`` (seen: about 1 in
    180 quits during the first index hung for good). Nothing needs finalizing: the
    server only reads the model, and the index children that write it are stopped by now."""
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # the client closed the pipe, or it is closed already
            pass
    os._exit(code)
