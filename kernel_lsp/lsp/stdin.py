"""The client's end of stdin as pygls reads it: every message framed as pygls expects.

pygls reads a header line at a time and a body only after ``Content-Length: N\\r\\n`` (exactly
so spelled) and an empty line. A message without that header (a client's bug, a hand-typed
session) was skipped as header lines up to its first line end, taking the next message's
header with it, and so every message after it: the server answered nothing more. Here a body
where a header is due is read to the end of its JSON value and handed on with the header it
lacked; text before a ``Content-Length`` header on its line is dropped; the header is taken in
any letter case and with a bare ``\\n``. Each repair is a warning in the log.
"""

from __future__ import annotations

import logging
import re

from kernel_lsp.lsp.plumbing import end_within

log = logging.getLogger("kernel_lsp.lsp")

_LENGTH = re.compile(rb"content-length[ \t]*:[ \t]*(\d+)[ \t]*\r?\n", re.IGNORECASE)
_LENGTH_LAST = re.compile(rb"content-length[ \t]*:[ \t]*\d+[ \t]*\r?\n\Z", re.IGNORECASE)
_HEADER = re.compile(rb"[!-9;-~]+[ \t]*:.*\n", re.DOTALL)  # a field name, a colon
_BRACKET = re.compile(rb'["{}\[\]]')
_STRING_REST = re.compile(rb'[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)


class Stdin:
    """The client's end of stdin; its end (EOF) starts ``end_within``. A message body is read
    as it comes, not into a buffer of the size its ``Content-Length`` claims
    (``Content-Length: 99999999999`` was a MemoryError that ended the server), and one over
    ``MAX_BODY`` is read and dropped: it is no LSP message (an error answers it)."""

    CHUNK = 1 << 20  # a body's read
    AVAILABLE = 1 << 16  # a header's read: at most this much of what the client sent
    MAX_BODY = 1 << 30

    def __init__(self, stream) -> None:
        self.stream = stream
        self.buf = b""  # read from the stream, not handed on yet
        self.length: int | None = None  # the Content-Length of the header being read
        self.body: bytes | None = None  # an unframed message's body, framed: read() gives it
        self.end_of_header = False  # the empty line after that framing is due

    def readline(self) -> bytes:
        if self.end_of_header:
            self.end_of_header = False
            return b"\r\n"
        while True:
            if not self.buf and not self._more():
                return self._seen(b"")
            if self.buf.lstrip(b" \t")[:1] in (b"{", b"["):
                if self.length is not None:  # a header without its empty line
                    self.length = None
                    return b"\r\n"
                return self._unframed()
            end = self.buf.find(b"\n") + 1
            if not end:
                if self._more():
                    continue
                end = len(self.buf)  # the client's end: its last, unfinished line
            line, self.buf = self.buf[:end], self.buf[end:]
            return self._header(line)

    def _header(self, line: bytes) -> bytes:
        """What pygls is handed for the header line ``line``."""
        last = _LENGTH_LAST.search(line)
        if last is not None and last.start() > 0:
            log.warning("%d bytes that are no LSP message before a Content-Length header: "
                        "dropped", last.start())
            line = line[last.start():]
        length = _LENGTH.fullmatch(line)
        if length is not None:
            if self.length is None:
                self.length = int(length[1])
            return b"Content-Length: %d\r\n" % self.length
        if not line.strip():
            if self.length is not None:
                self.length = None  # the header's end: pygls reads the body
            return b"\r\n"
        if _HEADER.fullmatch(line) is None:
            log.warning("a line that is no LSP header (%.60r): dropped", line)
        return line

    def _unframed(self) -> bytes:
        """A JSON value where a header is due: read to its end, and framed."""
        body = self._json_value()
        if body is None:
            log.warning("a message without a Content-Length header cut off by the client's end "
                        "(%d bytes): dropped", len(self.buf))
            self.buf = b""
            return self._seen(b"")
        log.warning("a message without a Content-Length header (%d bytes): read to the end of "
                    "its JSON value", len(body))
        self.body, self.end_of_header = body, True
        return b"Content-Length: %d\r\n" % len(body)

    def _json_value(self) -> bytes | None:
        """The JSON object or array at the start of the buffer (after blanks), taken out of
        it; None if the stream ends first (or it grows over ``MAX_BODY``)."""
        lead = len(self.buf) - len(self.buf.lstrip(b" \t"))
        pos, depth = lead, 0
        while True:
            bracket = _BRACKET.search(self.buf, pos)
            if bracket is not None and bracket[0] == b'"':
                rest = _STRING_REST.match(self.buf, bracket.end())
                if rest is not None:
                    pos = rest.end()
                    continue
                pos = bracket.start()  # the string goes on past what came: read on
            elif bracket is not None:
                depth += 1 if bracket[0] in b"{[" else -1
                pos = bracket.end()
                if depth == 0:
                    body, self.buf = self.buf[lead:pos], self.buf[pos:]
                    return body
                continue
            else:
                pos = len(self.buf)
            if len(self.buf) > self.MAX_BODY or not self._more():
                return None

    def _more(self) -> bool:
        """Whether more came from the stream (into the buffer): as much as it has, at least a
        byte, without waiting for more."""
        read1 = getattr(self.stream, "read1", None)
        part = read1(self.AVAILABLE) if read1 is not None else self.stream.readline()
        self.buf += part
        return bool(part)

    def read(self, n: int = -1) -> bytes:
        if self.body is not None:
            body, self.body = self.body, None
            return body
        if n is None or n < 0:
            data, self.buf = self.buf + self.stream.read(), b""
            return self._seen(data)
        keep = n <= self.MAX_BODY
        head, self.buf = self.buf[:n], self.buf[n:]
        parts, left = [head] if keep else [], n - len(head)
        while left > 0:
            part = self.stream.read(min(left, self.CHUNK))
            if not part:
                break
            left -= len(part)
            if keep:
                parts.append(part)
        if left > 0:  # the client's end: what came is no whole message
            return self._seen(b"")
        if not keep:
            log.warning("a message of %d bytes (over %d): dropped", n, self.MAX_BODY)
            return b"null"
        return b"".join(parts)

    @staticmethod
    def _seen(data: bytes) -> bytes:
        if not data:
            end_within()
        return data
