"""pygls plumbing: the protocol rules pygls leaves out, the model thread, the running loop."""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from concurrent.futures import Executor, Future

from lsprotocol import types
from pygls.exceptions import JsonRpcServerNotInitialized
from pygls.protocol import LanguageServerProtocol

log = logging.getLogger("kernel_lsp.lsp")


class Protocol(LanguageServerProtocol):
    """pygls' protocol plus the rules it leaves out: nothing but ``initialize`` (and ``exit``)
    before ``initialize`` (requests get ServerNotInitialized, notifications are dropped), and a
    change or close of a document that is not open is a log line, not a KeyError pop-up."""

    inactive_regions = False  # the client takes clangd's textDocument/inactiveRegions

    def structure_message(self, data):
        """pygls' parsing, after noting a client capability its types do not know: clangd's
        ``textDocument.inactiveRegionsCapabilities.inactiveRegions``."""
        if isinstance(data, dict) and data.get("method") == types.INITIALIZE:
            caps = (data.get("params") or {}).get("capabilities") or {}
            td = caps.get("textDocument") if isinstance(caps, dict) else None
            flag = td.get("inactiveRegionsCapabilities") if isinstance(td, dict) else None
            self.inactive_regions = isinstance(flag, dict) and flag.get("inactiveRegions") is True
        return super().structure_message(data)

    def _handle_request(self, msg_id, method_name: str, params) -> None:
        if self._workspace is None and method_name != types.INITIALIZE:
            log.warning("%s before initialize: refused", method_name)
            self._send_response(msg_id, None, JsonRpcServerNotInitialized().to_response_error())
            return
        super()._handle_request(msg_id, method_name, params)

    def _handle_notification(self, method_name: str, params) -> None:
        if self._workspace is None and method_name != types.EXIT:
            log.warning("%s before initialize: dropped", method_name)
            return
        if method_name in _NEEDS_OPEN and (
                params.text_document.uri not in self._workspace.text_documents):
            self._server.log_message(f"kernel-lsp: {method_name} for "
                                     f"{params.text_document.uri}, which is not open: ignored")
            return
        super()._handle_notification(method_name, params)


_NEEDS_OPEN = (types.TEXT_DOCUMENT_DID_CHANGE, types.TEXT_DOCUMENT_DID_CLOSE)


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
