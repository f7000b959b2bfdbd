"""What is not an LSP message, on the wire of a real server over stdio: a body that is not JSON,
a JSON array, params that do not fit their method. Each gets the error JSON-RPC 2.0 names (a
request its own id, the rest ``"id": null``), a warning in the log, no traceback; the session
goes on, and the server exits 0."""

from __future__ import annotations

import json
import os
import select
import shutil
import subprocess
import time
from contextlib import contextmanager

import pytest

from tests.lsp_helpers import SERVER, copy_tree

pytestmark = pytest.mark.e2e

# (what is sent, the response expected: (id, error code); None: no response, a notification)
GARBAGE = [
    (b"{not json", (None, -32700)),
    (b'{"jsonrpc": "2.0", "id": 7, "method": "initialize", "params": "oops"}', (7, -32602)),
    (b"[1, 2, 3]", (None, -32600)),
    (b"\xff\xfe", (None, -32700)),
]
AFTER_INITIALIZE = [
    (b'{"jsonrpc": "2.0", "id": 8, "method": "textDocument/hover", '
     b'"params": {"textDocument": 7, "position": "x"}}', (8, -32602)),
    (b'{"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": {"textDocument": null}}',
     None),
]


def _logged(got: list[dict], kind: int | None = None) -> list[str]:
    """The window/logMessage texts among the server's messages ``got`` (of type ``kind``: 2 is
    a warning; None: every type)."""
    return [m["params"]["message"] for m in got if m.get("method") == "window/logMessage"
            and (kind is None or m["params"]["type"] == kind)]

def _frame(body: bytes) -> bytes:
    return f"Content-Length: {len(body)}\r\n\r\n".encode() + body


def _messages(data: bytes) -> list[dict]:
    out = []
    while b"\r\n\r\n" in data:
        head, rest = data.split(b"\r\n\r\n", 1)
        length = int(head.split(b"Content-Length: ")[1].split(b"\r\n")[0])
        out.append(json.loads(rest[:length]))
        data = rest[length:]
    return out


def _read_until(proc, wanted_id: int, seconds: float = 30.0) -> list[dict]:
    data, deadline = b"", time.monotonic() + seconds
    while time.monotonic() < deadline:
        ready, _, _ = select.select([proc.stdout], [], [], 0.2)
        if ready:
            data += os.read(proc.stdout.fileno(), 1 << 16)
            if any(m.get("id") == wanted_id and ("result" in m or "error" in m)
                   for m in _messages(data)):
                return _messages(data)
    raise AssertionError(f"no response to request {wanted_id}: {_messages(data)}")


def test_what_is_no_lsp_message_gets_its_json_rpc_error(tmp_path):
    root = copy_tree(tmp_path / "tree", indexed=True)
    proc = subprocess.Popen(SERVER, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    try:
        for body, _ in GARBAGE:
            proc.stdin.write(_frame(body))
        proc.stdin.write(_frame(json.dumps({
            "jsonrpc": "2.0", "id": 1, "method": "initialize",
            "params": {"processId": None, "rootUri": root.as_uri(), "capabilities": {}}}).encode()))
        proc.stdin.write(_frame(b'{"jsonrpc": "2.0", "method": "initialized", "params": {}}'))
        for body, _ in AFTER_INITIALIZE:
            proc.stdin.write(_frame(body))
        proc.stdin.write(_frame(b'{"jsonrpc": "2.0", "id": 2, "method": "shutdown"}'))
        proc.stdin.flush()
        got = _read_until(proc, 2)
        proc.stdin.write(_frame(b'{"jsonrpc": "2.0", "method": "exit"}'))
        proc.stdin.flush()
        assert proc.wait(20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    errors = [(m["id"], m["error"]["code"]) for m in got if "error" in m]
    assert errors == [want for _, want in GARBAGE + AFTER_INITIALIZE if want is not None]
    assert all("id" in m for m in got if "error" in m)  # ``"id": null``, not left out
    assert any(m.get("id") == 1 and "capabilities" in m.get("result", {}) for m in got)
    assert any(m.get("id") == 2 and "result" in m for m in got)
    warnings = _logged(got, 2)
    assert sum("not JSON" in w for w in warnings) == 2
    assert any("textDocument/didOpen notification with params that do not fit it: ignored" in w
               for w in warnings)
    assert not any("internal error" in m for m in _logged(got))
    stderr = proc.stderr.read().decode()
    assert "Traceback" not in stderr


def test_a_content_length_no_client_can_send_is_no_crash(tmp_path):
    """``Content-Length: 99999999999`` then the client's end: the server read the body into a
    buffer of that size (MemoryError, a traceback, exit 1); it reads what comes, and ends."""
    proc = subprocess.Popen(SERVER, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    try:
        proc.stdin.write(b"Content-Length: 99999999999\r\n\r\n" + b'{"jsonrpc": "2.0"}')
        proc.stdin.flush()
        time.sleep(1.0)
        assert proc.poll() is None, "the server ended on a header"
        proc.stdin.close()
        proc.wait(20)
    finally:
        if proc.poll() is None:
            proc.kill()
    stderr = proc.stderr.read().decode()
    assert "MemoryError" not in stderr and "Traceback" not in stderr


@contextmanager
def _session(root, messages: list[bytes], last_id: int):
    """A server started on ``root``, initialized, sent ``messages``: (what it sent until its
    answer to ``last_id``, the process), killed at the end if still running."""
    proc = subprocess.Popen(SERVER, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    try:
        init = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "processId": None, "rootUri": root.as_uri(), "capabilities": {}}}).encode()
        for body in [init, b'{"jsonrpc": "2.0", "method": "initialized", "params": {}}',
                     *messages]:
            proc.stdin.write(_frame(body))
        proc.stdin.flush()
        yield _read_until(proc, last_id), proc
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def _exit(proc) -> int:
    """Send ``exit``; the process's exit status."""
    proc.stdin.write(_frame(b'{"jsonrpc": "2.0", "method": "exit"}'))
    proc.stdin.flush()
    return proc.wait(20)


def test_the_lifecycle_rules_of_lsp(tmp_path):
    """A second initialize, and a request after shutdown, get InvalidRequest (pygls accepted
    the one and never answered the other); exit after shutdown ends with 0, without it 1."""
    root = copy_tree(tmp_path / "tree", indexed=True)
    hover = {"textDocument": {"uri": (root / "fs/stat.c").as_uri()},
             "position": {"line": 0, "character": 0}}
    with _session(root, [
        json.dumps({"jsonrpc": "2.0", "id": 2, "method": "initialize", "params": {
            "processId": None, "rootUri": root.as_uri(), "capabilities": {}}}).encode(),
        b'{"jsonrpc": "2.0", "id": 3, "method": "shutdown"}',
        json.dumps({"jsonrpc": "2.0", "id": 4, "method": "textDocument/hover",
                    "params": hover}).encode()], 4) as (got, proc):
        errors = {m["id"]: m["error"]["code"] for m in got if "error" in m}
        assert errors == {2: -32600, 4: -32600}
        assert any(m.get("id") == 3 and "result" in m for m in got)
        assert _exit(proc) == 0
    with _session(root, [json.dumps({"jsonrpc": "2.0", "id": 2, "method": "textDocument/hover",
                                     "params": hover}).encode()], 2) as (_got, proc):
        assert _exit(proc) == 1
        assert "Traceback" not in proc.stderr.read().decode()


def test_json_nested_deeper_than_the_decoder_goes(tmp_path):
    """A request nested 5,000 deep: the decoder's RecursionError was an internal error in the
    log and no answer; it is a ParseError (no id: the request could not be read)."""
    root = copy_tree(tmp_path / "tree", indexed=True)
    deep = "[" * 5000 + "]" * 5000
    body = ('{"jsonrpc": "2.0", "id": 2, "method": "workspace/executeCommand", "params": '
            '{"command": "kernel-lsp.reindex", "arguments": ' + deep + '}}').encode()
    with _session(root, [body, b'{"jsonrpc": "2.0", "id": 3, "method": "shutdown"}'],
                  3) as (got, proc):
        assert [m["error"]["code"] for m in got if "error" in m] == [-32700]
        assert not any("internal error" in m for m in _logged(got))
        assert _exit(proc) == 0


def test_messages_framed_other_than_pygls_reads_them(tmp_path):
    """A request without a Content-Length header (after an empty line, after another header,
    or bare), one whose header is spelled in lower case with a bare ``\\n``, one after text
    that is no message: each is answered (a message without the header was read as header
    lines and took the next message's header with it: the server answered nothing more), and
    each repair is a warning in the log."""
    root = copy_tree(tmp_path / "tree", indexed=True)
    def request(n: int) -> bytes:  # (a query with a quote and brackets in it)
        return json.dumps({"jsonrpc": "2.0", "id": n, "method": "workspace/symbol",
                           "params": {"query": 'a \\" } ['}}).encode()

    sent = [
        b"\r\n" + request(2),
        b"Content-Type: application/vscode-jsonrpc; charset=utf-8\r\n\r\n" + request(3),
        request(4) + b"\n",
        b"content-length:%d\n\n" % len(request(5)) + request(5),
        b"garbage" + _frame(request(6)),
        _frame(request(7))]
    proc = subprocess.Popen(SERVER, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    try:
        proc.stdin.write(_frame(json.dumps({
            "jsonrpc": "2.0", "id": 1, "method": "initialize",
            "params": {"processId": None, "rootUri": root.as_uri(), "capabilities": {}}}).encode()))
        proc.stdin.write(_frame(b'{"jsonrpc": "2.0", "method": "initialized", "params": {}}'))
        for data in sent:
            proc.stdin.write(data)
        proc.stdin.flush()
        got = _read_until(proc, 7)
        proc.stdin.write(_frame(b'{"jsonrpc": "2.0", "id": 8, "method": "shutdown"}'))
        proc.stdin.flush()
        _read_until(proc, 8)
        assert _exit(proc) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    answered = {m["id"] for m in got if "result" in m}
    assert answered == {1, 2, 3, 4, 5, 6, 7}
    stderr = proc.stderr.read().decode()
    assert stderr.count("a message without a Content-Length header") == 3
    assert "7 bytes that are no LSP message before a Content-Length header: dropped" in stderr
    assert "Traceback" not in stderr


def test_a_message_without_content_length_cut_off_by_the_clients_end(tmp_path):
    """The client's end in the middle of an unframed message: a warning, and the server ends
    (the session is over) rather than waiting for the rest."""
    proc = subprocess.Popen(SERVER, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    try:
        proc.stdin.write(b'\r\n{"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {')
        proc.stdin.close()
        proc.wait(20)
    finally:
        if proc.poll() is None:
            proc.kill()
    stderr = proc.stderr.read().decode()
    assert "cut off by the client's end" in stderr and "Traceback" not in stderr


def test_a_method_not_served_and_a_late_cancel_are_no_errors_in_the_log(tmp_path):
    """``textDocument/implementation`` (Neovim sends it on ``gi`` whatever the server offered)
    gets MethodNotFound, as LSP asks; it was also an "internal error (FeatureRequestError)" in
    the editor's log and an ERROR line on stderr. A cancel of a request answered already (a
    race every client runs) was a warning on stderr."""
    root = copy_tree(tmp_path / "tree", indexed=True)
    where = {"textDocument": {"uri": (root / "fs/stat.c").as_uri()},
             "position": {"line": 0, "character": 0}}
    with _session(root, [
        json.dumps({"jsonrpc": "2.0", "id": 2, "method": "textDocument/implementation",
                    "params": where}).encode(),
        b'{"jsonrpc": "2.0", "method": "$/cancelRequest", "params": {"id": 2}}',
        b'{"jsonrpc": "2.0", "id": 3, "method": "shutdown"}'], 3) as (got, proc):
        assert [(m["id"], m["error"]["code"]) for m in got if "error" in m] == [(2, -32601)]
        assert not [m for m in got if m.get("method") == "window/logMessage"
                    and m["params"]["type"] <= 2], "no error or warning in the editor's log"
        assert _exit(proc) == 0
        stderr = proc.stderr.read().decode()
        assert " ERROR " not in stderr and " WARNING " not in stderr, stderr


def test_an_index_run_that_fails_on_the_model_file_is_said_without_a_traceback(tmp_path):
    """``.kernel-lsp`` made a file while the server runs: the reindex says it cannot hold the
    model, as before, and the server log has no traceback (it had the one of the server's
    reading of the child's message, which told nothing the message did not)."""
    root = copy_tree(tmp_path / "tree", indexed=True)
    with _session(root, [b'{"jsonrpc": "2.0", "id": 2, "method": "shutdown"}'], 2) as (_, proc):
        pass  # (a session to learn the model is loaded and answering)
    shutil.rmtree(root / ".kernel-lsp")
    (root / ".kernel-lsp").write_text("not a directory\n")
    reindex = json.dumps({"jsonrpc": "2.0", "id": 2, "method": "workspace/executeCommand",
                          "params": {"command": "kernel-lsp.reindex"}}).encode()
    with _session(root, [reindex], 2) as (got, proc):
        data, deadline = b"", time.monotonic() + 30
        while b"indexing failed" not in data and time.monotonic() < deadline:
            if select.select([proc.stdout], [], [], 0.2)[0]:
                data += os.read(proc.stdout.fileno(), 1 << 16)
        assert b"cannot hold the model (not a directory)" in data
        proc.stdin.write(_frame(b'{"jsonrpc": "2.0", "id": 3, "method": "shutdown"}'))
        proc.stdin.flush()
        _read_until(proc, 3)
        assert _exit(proc) == 0
        stderr = proc.stderr.read().decode()
        assert "Traceback" not in stderr and "indexing failed" in stderr


def test_what_is_no_json_rpc_2_gets_invalid_request_without_a_traceback(tmp_path):
    """A request whose id is an object or an array (pygls' table of requests raised TypeError:
    an "internal error" and a traceback), a ``"jsonrpc": "1.0"`` request (dropped: the client
    waited for ever), a cancel whose id is an object (a TypeError too)."""
    root = copy_tree(tmp_path / "tree", indexed=True)
    symbol = {"query": "vfs"}
    with _session(root, [
        json.dumps({"jsonrpc": "2.0", "id": {"a": 1}, "method": "workspace/symbol",
                    "params": symbol}).encode(),
        json.dumps({"jsonrpc": "2.0", "id": [1], "method": "workspace/symbol",
                    "params": symbol}).encode(),
        json.dumps({"jsonrpc": "1.0", "id": 2, "method": "workspace/symbol",
                    "params": symbol}).encode(),
        b'{"jsonrpc": "2.0", "method": "$/cancelRequest", "params": {"id": {"x": 1}}}',
        b'{"jsonrpc": "2.0", "id": 3, "method": "shutdown"}'], 3) as (got, proc):
        assert [(m["id"], m["error"]["code"]) for m in got if "error" in m] == [
            (None, -32600), (None, -32600), (2, -32600)]
        warnings = _logged(got, 2)
        assert sum("no JSON-RPC 2.0" in w for w in warnings) == 3
        assert any("$/cancelRequest with an id that is no number or string" in w
                   for w in warnings)
        assert not any("internal error" in m for m in _logged(got))
        assert _exit(proc) == 0
        assert "Traceback" not in proc.stderr.read().decode()


def test_serve_on_a_port_in_use_says_so():
    """``serve --tcp`` on a taken port or an unknown host: "kernel-lsp: cannot write: error
    while attempting to bind..." (the CLI's word for a failed write to stdout), exit 2."""
    import socket

    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    port = taken.getsockname()[1]
    try:
        got = subprocess.run([*SERVER, "--tcp", f"127.0.0.1:{port}"], capture_output=True,
                             text=True, timeout=60, stdin=subprocess.DEVNULL)
    finally:
        taken.close()
    assert got.returncode == 2
    assert got.stderr == (f"kernel-lsp serve: cannot listen on 127.0.0.1:{port}: address "
                          "already in use\n")
    got = subprocess.run([*SERVER, "--tcp", "no-such-host.invalid:5000"], capture_output=True,
                         text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert got.returncode == 2
    assert got.stderr.startswith("kernel-lsp serve: cannot listen on no-such-host.invalid:5000: ")
