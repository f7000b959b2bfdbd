"""The server's messages to the client, written by a thread of their own.

pygls writes each message from the event loop and waits until the pipe takes it. A client that
stops reading (an editor closing, a script that sends ``exit`` and waits for the process) then
froze the loop in that write once the pipe's 64 KiB were full: the ``exit`` it sent was never
handled and the server never ended. Here the loop only queues the message; a writer thread
hands them to the pipe in order. At the end the server gives the client ``DRAIN_SECONDS`` to
take what is queued, then ends whatever is left.
"""

from __future__ import annotations

import logging
import queue
import threading
import time

from kernel_lsp.lsp.plumbing import end_within

log = logging.getLogger("kernel_lsp.lsp")

DRAIN_SECONDS = 2.0


class Stdout:
    """A binary stream for pygls' ``StdoutWriter``: ``write`` queues, a thread writes."""

    def __init__(self, stream) -> None:
        self.stream = stream
        self.pending: queue.SimpleQueue = queue.SimpleQueue()
        self.unwritten = 0  # messages queued and not yet written (or dropped)
        self.lock = threading.Lock()
        self.broken = False
        threading.Thread(target=self._run, daemon=True, name="kernel-lsp-stdout").start()

    def write(self, data: bytes) -> int:
        with self.lock:
            self.unwritten += 1
        self.pending.put(bytes(data))
        return len(data)

    def flush(self) -> None:
        """(The thread flushes after each message.)"""

    def close(self) -> None:
        """(The process ends with the stream open: see ``drain``.)"""

    def drain(self, seconds: float = DRAIN_SECONDS) -> bool:
        """Wait up to ``seconds`` for the queued messages to be written; True when they were."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            with self.lock:
                if self.unwritten == 0 or self.broken:
                    return self.unwritten == 0
            time.sleep(0.01)
        return False

    def _run(self) -> None:
        while True:
            data = self.pending.get()
            if not self.broken:
                try:
                    self.stream.write(data)
                    self.stream.flush()
                except (OSError, ValueError) as exc:  # the client closed its end
                    self.broken = True
                    log.warning("the client's end of stdout is closed (%s): what the server "
                                "says goes nowhere, the session is over", exc)
                    end_within()
            with self.lock:
                self.unwritten -= 1
