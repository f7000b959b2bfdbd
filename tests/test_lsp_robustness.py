"""The server survives what editors and file systems throw at it: huge, binary and half-written
buffers, bursts of edits, unknown documents, impossible positions, garbage code-action data, requests
before ``initialize``, a deleted or locked model. Each failure is a message; the next request works."""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import subprocess

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient

from tests.lsp_helpers import (
    SERVER,
    VSCODE,
    capabilities,
    change,
    close_doc,
    copy_tree,
    expected,
    keys,
    logged,
    open_doc,
    replace_all,
    settled,
    start,
    stop,
    uri,
    wait_indexed,
    wait_published,
    wait_until,
    within,
)

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="module")]
CONFIG = ClientServerConfig(server_command=SERVER)
FAR = types.Position(10**6, 10**6)


@pytest.fixture(scope="module")
def warm(tmp_path_factory):
    return copy_tree(tmp_path_factory.mktemp("robust") / "tree", indexed=True)


@pytest_lsp.fixture(config=CONFIG, scope="module")
async def client(lsp_client: LanguageClient, warm):
    await start(lsp_client, warm, capabilities(VSCODE))
    await wait_indexed(lsp_client)
    yield
    await lsp_client.shutdown_session()


async def _answers(client, root, timeout: float = 10.0) -> None:
    """The server process lives and answers a real request with the right content."""
    assert client._server.returncode is None, "the server process died"
    doc = types.TextDocumentIdentifier(uri(root, "mm/vmscan.c"))
    text = (root / "mm/vmscan.c").read_text()
    line = text.split("\n").index("static bool page_evictable(struct page *page)")
    hover = await asyncio.wait_for(client.text_document_hover_async(types.HoverParams(
        doc, types.Position(line, len("static bool p")))), timeout)
    assert hover is not None and "`page_evictable`" in hover.contents.value


# -- buffers -------------------------------------------------------------------------------------
async def test_buffer_over_max_file_bytes_is_logged_not_checked(client: LanguageClient, warm):
    start_log = len(client.log_messages)
    text = "/* " + "x" * (10 * 1024 * 1024) + " */\nvoid f(void) { undefined_zz(); }\n"
    u = open_doc(client, warm, "drivers/huge.c", text)
    await wait_until(lambda: logged(client, "over max_file_bytes", start_log))
    symbols = await asyncio.wait_for(client.text_document_document_symbol_async(
        types.DocumentSymbolParams(types.TextDocumentIdentifier(u))), 10)
    assert not symbols
    await _answers(client, warm)
    await close_doc(client, u)


async def test_buffer_under_max_file_bytes_is_checked(client: LanguageClient, warm):
    text = "/* " + "y" * (3 * 1024 * 1024) + " */\nvoid f(void)\n{\n\tundefined_big_zz();\n}\n"
    u = open_doc(client, warm, "drivers/big.c", text)
    got = await wait_published(client, u, 1, lambda p: bool(p.diagnostics), timeout=30)
    assert keys(got.diagnostics) == {("020_2", "undefined_big_zz", 4)}
    await _answers(client, warm)
    await close_doc(client, u)


async def test_binary_and_invalid_text(client: LanguageClient, warm):
    text = ("int a;\x00\x01\x7f\ufffd\ud800 \udfff junk\n"
            "void g(void)\n{\n\tundefined_bin_zz();\n}\n\x00\x00")
    u = open_doc(client, warm, "drivers/binary.c", text)
    got = await wait_published(client, u, 1)
    assert ("020_2", "undefined_bin_zz", 4) in keys(got.diagnostics)
    symbols = await client.text_document_document_symbol_async(types.DocumentSymbolParams(
        types.TextDocumentIdentifier(u)))
    assert "g" in {s.name for s in symbols}
    await close_doc(client, u)
    # a file on disk that is not UTF-8 at all, never opened
    (warm / "drivers/raw.c").write_bytes(b"\xff\xfe\x00int \x80\x81 q(void) { return 0; }\n\xc3")
    raw = types.TextDocumentIdentifier(uri(warm, "drivers/raw.c"))
    await client.text_document_document_symbol_async(types.DocumentSymbolParams(raw))
    await client.text_document_hover_async(types.HoverParams(raw, types.Position(0, 5)))
    await _answers(client, warm)


async def test_half_written_code(client: LanguageClient, warm):
    text = (warm / "fs/stat.c").read_text()
    cut = text[:text.index("\tif (fd < 0)")] + "\tif (fd < 0 {\n\t\tgeneric_fillattr_lite(\n"
    u = open_doc(client, warm, "fs/stat.c", cut + "}}}\n{{\nstruct x {")
    await wait_published(client, u, 1)
    symbols = await client.text_document_document_symbol_async(types.DocumentSymbolParams(
        types.TextDocumentIdentifier(u)))
    assert "kstat_lite" in {s.name for s in symbols}
    await _answers(client, warm)
    replace_all(client, u, 2, text)  # finished typing: the findings are back
    got = await wait_published(client, u, 2)
    assert keys(got.diagnostics) == expected(warm, "fs/stat.c")
    await close_doc(client, u)


async def test_burst_of_changes_publishes_the_final_version(client: LanguageClient, warm):
    def text(v: int) -> str:
        return f"void f(void)\n{{\n\tcall_v{v}();\n}}\n"
    u = open_doc(client, warm, "drivers/burst.c", text(1))
    for v in range(2, 302):
        replace_all(client, u, v, text(v))
    got = await wait_published(client, u, 301)
    assert keys(got.diagnostics) == {("020_2", "call_v301", 3)}
    versions = [p.version for p in client.published[u]]
    assert versions == sorted(versions), "never an older version after a newer one"
    for p in client.published[u]:  # whatever was published matches the text of its version
        assert keys(p.diagnostics) == {("020_2", f"call_v{p.version}", 3)}
    await close_doc(client, u)


async def test_typing_character_by_character(client: LanguageClient, warm):
    rel = "fs/stat.c"
    text = (warm / rel).read_text()
    line = text.split("\n").index("\treturn 0;", text[:text.index("SYSCALL_DEFINE3")].count("\n"))
    u = open_doc(client, warm, rel, text)
    typed = "\tnot_declared_zz(fd);\n"
    version, col = 1, 0
    for ch in typed[:-1]:  # type the call, then mistype and take back a word
        version += 1
        change(client, u, version, ch, (line, col), (line, col))
        col += 1
    for ch in "oops":
        version += 1
        change(client, u, version, ch, (line, col), (line, col))
        col += 1
    version += 1
    change(client, u, version, "", (line, col - 4), (line, col))
    version += 1
    change(client, u, version, "\n", (line, col - 4), (line, col - 4))
    got = await wait_published(client, u, version)
    assert keys(got.diagnostics) == expected(warm, rel) | {("020_2", "not_declared_zz", line + 1)}
    (new,) = [d for d in got.diagnostics if d.data["symbol"] == "not_declared_zz"]
    assert new.range.start == types.Position(line, 1)
    await close_doc(client, u)


async def test_changes_and_closes_of_unknown_documents(client: LanguageClient, warm):
    ghost, start_log = uri(warm, "drivers/never_opened.c"), len(client.log_messages)
    replace_all(client, ghost, 5, "void f(void) { g(); }\n")
    client.text_document_did_change(types.DidChangeTextDocumentParams(
        text_document=types.VersionedTextDocumentIdentifier(uri=ghost, version=6),
        content_changes=[types.TextDocumentContentChangePartial(
            range=types.Range(types.Position(3, 0), types.Position(9, 9)), text="x")]))
    client.text_document_did_close(types.DidCloseTextDocumentParams(
        types.TextDocumentIdentifier(ghost)))
    client.text_document_did_save(types.DidSaveTextDocumentParams(
        types.TextDocumentIdentifier("untitled:Untitled-1")))
    await wait_until(lambda: len(logged(client, "which is not open: ignored", start_log)) == 3)
    await _answers(client, warm)
    assert not [p for p in client.published.get(ghost, ()) if p.diagnostics]
    assert not [m for m in client.messages if m.type == types.MessageType.Error], "no pop-ups"


@pytest.mark.parametrize("doc", ["fs/stat.c", "drivers/not_there.c", "untitled:Untitled-1",
                                 "file:///nonexistent/dir/x.c", "fs"])
async def test_impossible_positions_and_documents(client: LanguageClient, warm, doc):
    ident = types.TextDocumentIdentifier(doc if ":" in doc else uri(warm, doc))
    for pos in (FAR, types.Position(0, 10**6), types.Position(10**6, 0)):
        assert await client.text_document_hover_async(types.HoverParams(ident, pos)) is None
        assert not await client.text_document_definition_async(types.DefinitionParams(ident, pos))
        assert not await client.text_document_references_async(types.ReferenceParams(
            text_document=ident, position=pos, context=types.ReferenceContext(True)))
        assert not await client.text_document_prepare_call_hierarchy_async(
            types.CallHierarchyPrepareParams(ident, pos))
    far = types.Range(FAR, FAR)
    diag = types.Diagnostic(range=far, message="m", code="404_2", source="kernel-lsp")
    assert not await client.text_document_code_action_async(types.CodeActionParams(
        ident, far, types.CodeActionContext([diag])))
    await _answers(client, warm)


async def test_files_that_are_no_source(client: LanguageClient, warm):
    """A FIFO never opened in the editor (its reader would wait for a writer for ever, and the
    model thread with it) and a link to /dev/zero (never ends): requests on them answer
    nothing, and the server goes on answering."""
    os.mkfifo(warm / "fs/pipe_fifo.c")
    (warm / "drivers/zero.c").symlink_to("/dev/zero")
    try:
        for rel in ("fs/pipe_fifo.c", "drivers/zero.c"):
            ident = types.TextDocumentIdentifier(uri(warm, rel))
            assert await within(client.text_document_hover_async(types.HoverParams(
                ident, types.Position(0, 0))), f"hover on {rel}", 10) is None
            assert not await within(client.text_document_document_symbol_async(
                types.DocumentSymbolParams(ident)), f"symbols of {rel}", 10)
        await _answers(client, warm)
    finally:
        (warm / "fs/pipe_fifo.c").unlink()
        (warm / "drivers/zero.c").unlink()


async def test_a_directory_opened_as_a_document(client: LanguageClient, warm):
    """A client may open a directory's URI: it was checked as a C file (its text's
    diagnostics published under the directory)."""
    u = uri(warm, "fs")
    client.text_document_did_open(types.DidOpenTextDocumentParams(types.TextDocumentItem(
        uri=u, language_id="c", version=1, text="void f(void) { undefined_zz(); }\n")))
    await _answers(client, warm)
    await asyncio.sleep(0.5)
    assert not [p for p in client.published.get(u, ()) if p.diagnostics]
    client.text_document_did_close(types.DidCloseTextDocumentParams(
        types.TextDocumentIdentifier(u)))


async def test_a_uri_with_a_nul_byte(client: LanguageClient, warm):
    """``%00`` decodes to a path no file system call takes ("embedded null byte" in every
    request's log, and a close that never cleared its diagnostics): no file of the tree."""
    start_log = len(client.log_messages)
    u = uri(warm, "fs/stat.c") + "%00"
    open_doc_uri = types.TextDocumentItem(uri=u, language_id="c", version=1,
                                         text="void f(void) { undefined_zz(); }\n")
    client.text_document_did_open(types.DidOpenTextDocumentParams(open_doc_uri))
    assert await within(client.text_document_hover_async(types.HoverParams(
        types.TextDocumentIdentifier(u), types.Position(0, 16))), "hover") is None
    await close_doc(client, u)
    await _answers(client, warm)
    assert not [m for m in client.log_messages[start_log:] if "failed" in m.message
                or "null byte" in m.message], "no failures logged"


GARBAGE = ["a string", 42, [1, 2], {"fixes": "nope"}, {"fixes": [1, "x", None]},
           {"fixes": [{"kind": "include"}, {"kind": "export", "title": "t", "definition": 5}]},
           {"fixes": [{"kind": "include", "title": "t", "header": 7, "use": "bad",
                       "spellings": {"a": 1}, "path": "../../etc/passwd"}]},
           {"fixes": [{"kind": "declare", "title": "t", "text": None, "use": [10**9, -3],
                       "path": "fs/stat.c"}]},
           {"fixes": [{"kind": "export", "title": "t", "path": "fs/stat.c", "use": [0, 0],
                       "definition": {"path": "/etc/passwd", "line": "x"}, "header": 3}]}]


async def test_code_actions_with_garbage_data(client: LanguageClient, warm):
    u = uri(warm, "fs/stat.c")
    near = types.Range(types.Position(33, 6), types.Position(33, 17))
    for data in GARBAGE:
        diag = types.Diagnostic(range=near, message="m", code="404_2", source="kernel-lsp",
                                data=data)
        got = await client.text_document_code_action_async(types.CodeActionParams(
            types.TextDocumentIdentifier(u), near, types.CodeActionContext([diag])))
        assert not got, data
    await _answers(client, warm)


async def test_unknown_command_and_reindex(client: LanguageClient, warm):
    runs = len(logged(client, "kernel-lsp: index of "))
    assert await client.workspace_execute_command_async(types.ExecuteCommandParams(
        command="kernel-lsp.reindex")) == "reindexing"
    await wait_indexed(client, runs + 1)
    with pytest.raises(Exception, match="not defined"):
        await client.workspace_execute_command_async(types.ExecuteCommandParams(
            command="kernel-lsp.no-such-command"))
    await _answers(client, warm)


# -- before initialize ---------------------------------------------------------------------------
class _Raw:
    """A JSON-RPC peer over a server's stdin/stdout, without any client library."""

    def __init__(self, cwd):
        self.proc = subprocess.Popen(SERVER, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL, cwd=cwd)

    def send(self, **message) -> None:
        body = json.dumps({"jsonrpc": "2.0", **message}).encode()
        self.proc.stdin.write(b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
        self.proc.stdin.flush()

    def receive(self) -> dict:
        length = None
        while (line := self.proc.stdout.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode().partition(":")
            if name.lower() == "content-length":
                length = int(value)
        assert length is not None, "the server closed its output"
        return json.loads(self.proc.stdout.read(length))

    def response(self, msg_id) -> dict:
        while (got := self.receive()).get("id") != msg_id or "method" in got:
            pass
        return got


async def test_requests_before_initialize_get_an_error(warm):
    await asyncio.to_thread(_before_initialize, warm)


def _before_initialize(warm) -> None:
    raw = _Raw(warm)
    try:
        doc = {"uri": uri(warm, "fs/stat.c")}
        raw.send(id=1, method="textDocument/hover",
                 params={"textDocument": doc, "position": {"line": 0, "character": 0}})
        assert raw.response(1)["error"]["code"] == -32002  # ServerNotInitialized
        raw.send(method="textDocument/didOpen", params={"textDocument": {
            **doc, "languageId": "c", "version": 1, "text": "int x;"}})
        raw.send(id=2, method="textDocument/documentSymbol", params={"textDocument": doc})
        assert raw.response(2)["error"]["code"] == -32002
        raw.send(id=3, method="initialize", params={"processId": None, "capabilities": {},
                                                     "rootUri": warm.as_uri()})
        assert "hoverProvider" in raw.response(3)["result"]["capabilities"]
        raw.send(method="initialized", params={})
        raw.send(id=4, method="textDocument/documentSymbol", params={"textDocument": doc})
        assert "kstat_lite" in {s["name"] for s in raw.response(4)["result"]}
        raw.send(id=5, method="shutdown")
        assert raw.response(5)["result"] is None
        raw.send(method="exit")
        assert raw.proc.wait(timeout=10) == 0
    finally:
        if raw.proc.poll() is None:
            raw.proc.kill()
            raw.proc.wait()


# -- the model file ------------------------------------------------------------------------------
async def test_deleted_model_then_reindex(tmp_path):
    root = copy_tree(tmp_path / "tree", indexed=True)
    client = await within(CONFIG.start(), "start")
    try:
        await within(start(client, root, capabilities(VSCODE)), "initialize")
        await wait_indexed(client)
        u = open_doc(client, root, "fs/stat.c")
        await wait_published(client, u, 1, lambda p: keys(p.diagnostics) == expected(
            root, "fs/stat.c"))
        (root / ".kernel-lsp/model.db").unlink()
        await _answers(client, root)
        assert await within(client.workspace_execute_command_async(types.ExecuteCommandParams(
            command="kernel-lsp.reindex")), "reindex") == "reindexing"
        await wait_indexed(client, 2)
        assert (root / ".kernel-lsp/model.db").is_file()
        await _answers(client, root)
        replace_all(client, u, 2, (root / "fs/stat.c").read_text())
        got = await wait_published(client, u, 2)
        assert keys(got.diagnostics) == expected(root, "fs/stat.c")
        await within(client.shutdown_session(), "shutdown")
    finally:
        await stop(client)


async def test_corrupt_model_is_rebuilt(tmp_path):
    root = copy_tree(tmp_path / "tree", indexed=True)
    for stale in (root / ".kernel-lsp").glob("model.db*"):
        stale.unlink()
    (root / ".kernel-lsp/model.db").write_bytes(b"not a database\n" * 512)
    client = await CONFIG.start()
    try:
        await start(client, root, capabilities(VSCODE))
        u = open_doc(client, root, "fs/stat.c")
        got = await wait_published(client, u, 1, settled, timeout=30)  # the rebuilt model's
        assert keys(got.diagnostics) == expected(root, "fs/stat.c")
        assert logged(client, "not a usable model database")
        await _answers(client, root)
        await within(client.shutdown_session(), "shutdown")
    finally:
        await stop(client)


async def test_model_directory_that_is_a_file(tmp_path):
    """A file named ``.kernel-lsp`` where the model goes: the server says so in the words the
    CLI uses, leaves the file alone, and still answers what needs no model."""
    root = copy_tree(tmp_path / "tree", indexed=False)
    (root / ".kernel-lsp").write_text("not a directory\n")
    client = await CONFIG.start()
    try:
        await start(client, root, capabilities(VSCODE))
        await wait_until(lambda: logged(client, "cannot hold the model"), timeout=15)
        (shown,) = logged(client, "cannot hold the model")
        assert shown == f"kernel-lsp: {root / '.kernel-lsp'}: cannot hold the model (not a directory)"
        assert not logged(client, "Errno") and not logged(client, "startup failed")
        u = open_doc(client, root, "fs/stat.c")
        symbols = await within(client.text_document_document_symbol_async(
            types.DocumentSymbolParams(types.TextDocumentIdentifier(u))), "symbols")
        assert "kstat_lite" in {s.name for s in symbols}
        await within(client.shutdown_session(), "shutdown")
        assert (root / ".kernel-lsp").read_text() == "not a directory\n"
    finally:
        await stop(client)


async def test_locked_model_answers_then_recovers(tmp_path):
    root = copy_tree(tmp_path / "tree", indexed=True)
    lock = sqlite3.connect(root / ".kernel-lsp/model.db", isolation_level=None)
    lock.execute("PRAGMA locking_mode=EXCLUSIVE")  # WAL readers get past a plain EXCLUSIVE
    lock.execute("BEGIN EXCLUSIVE")
    client = await CONFIG.start()
    try:
        await start(client, root, capabilities(VSCODE))
        await wait_until(lambda: logged(client, "takes over 2 s to load"), timeout=10)
        u = open_doc(client, root, "fs/stat.c")
        ident = types.TextDocumentIdentifier(u)
        symbols = await asyncio.wait_for(client.text_document_document_symbol_async(
            types.DocumentSymbolParams(ident)), 5)
        assert "kstat_lite" in {s.name for s in symbols}
        await asyncio.wait_for(client.text_document_hover_async(types.HoverParams(
            ident, types.Position(33, 8))), 5)
        assert client._server.returncode is None
        lock.close()
        got = await wait_published(client, u, 1, lambda p: keys(p.diagnostics) == expected(
            root, "fs/stat.c"), timeout=30)
        assert got.diagnostics
        await _answers(client, root)
        await client.shutdown_session()
    finally:
        lock.close()
        await stop(client)


async def test_a_model_being_indexed_is_said_to_be_so_not_interrupted(tmp_path):
    """A server started while a ``kernel-lsp index`` of its tree runs (the model's run lock
    held, the model not complete yet) logged 'the model is incomplete (an index run was
    interrupted)'. It says another kernel-lsp is indexing, then its own index waits for that
    run and the open file gets its findings."""
    from kernel_lsp.model.runlock import one_run_at_a_time

    root = copy_tree(tmp_path / "tree", indexed=True)
    db = root / ".kernel-lsp/model.db"
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("UPDATE meta SET value = '0' WHERE key = 'includes_resolved'")
    conn.close()
    client = await CONFIG.start()
    try:
        with one_run_at_a_time(db):  # the CLI run under way
            await start(client, root, capabilities(VSCODE))
            await wait_until(lambda: logged(client, "the model is incomplete"), timeout=15)
            (said,) = logged(client, "the model is incomplete")
            assert "another kernel-lsp is indexing this tree now" in said, said
            assert not logged(client, "interrupted")
            u = open_doc(client, root, "fs/stat.c")
            await asyncio.sleep(1.0)
            assert not logged(client, "kernel-lsp: index of "), "did not wait for the lock"
        await wait_published(client, u, 1, lambda p: keys(p.diagnostics) == expected(
            root, "fs/stat.c"), timeout=60)
        await within(client.shutdown_session(), "shutdown")
    finally:
        await stop(client)


async def test_a_model_on_a_read_only_file_system_is_used_as_it_is(tmp_path):
    """``.kernel-lsp`` on a read-only file system: the model could not be opened ('unable to
    open database file'), and each save started an index run that failed with a pop-up. The
    model is read as it is (the open file gets its findings), the log says so once, and no
    run is tried."""
    from tests.test_model_faults import _read_only_prefix

    root = copy_tree(tmp_path / "tree", indexed=True)
    ro = _read_only_prefix(root / ".kernel-lsp")
    client = await ClientServerConfig(server_command=[*ro, *SERVER]).start()
    try:
        await start(client, root, capabilities(VSCODE))
        u = open_doc(client, root, "fs/stat.c")
        await wait_published(client, u, 1, lambda p: keys(p.diagnostics) == expected(
            root, "fs/stat.c"), timeout=30)
        for _ in range(2):
            client.text_document_did_save(types.DidSaveTextDocumentParams(
                types.TextDocumentIdentifier(u)))
        await _answers(client, root)
        await asyncio.sleep(1.0)
        said = logged(client, "read-only")
        assert said == [f"kernel-lsp: {root / '.kernel-lsp'} is on a read-only file system: "
                        "the model in it is used as it is, not brought up to date"], said
        assert not logged(client, "failed") and not logged(client, "cannot")
        await within(client.shutdown_session(), "shutdown")
    finally:
        await stop(client)


async def test_exit_is_prompt_while_the_model_is_locked(tmp_path):
    root = copy_tree(tmp_path / "tree", indexed=True)
    lock = sqlite3.connect(root / ".kernel-lsp/model.db", isolation_level=None)
    lock.execute("PRAGMA locking_mode=EXCLUSIVE")
    lock.execute("BEGIN EXCLUSIVE")
    client = await CONFIG.start()
    try:
        await start(client, root, capabilities(VSCODE))
        await wait_until(lambda: logged(client, "takes over 2 s to load"), timeout=10)
        await within(client.shutdown_async(None), "shutdown")
        client.exit(None)
        assert await within(client._server.wait(), "exit", timeout=5) == 0
    finally:
        lock.close()
        await stop(client)


# -- TCP -----------------------------------------------------------------------------------------
async def test_tcp(warm):
    from pytest_lsp.client import make_test_lsp_client

    from tests.lsp_helpers import free_port

    port = free_port()
    proc = await asyncio.create_subprocess_exec(*SERVER, "--tcp", f"127.0.0.1:{port}",
                                                stderr=asyncio.subprocess.DEVNULL)
    client = make_test_lsp_client()
    try:
        async def connect():
            while True:
                try:
                    return await client.start_tcp("127.0.0.1", port)
                except OSError:
                    await asyncio.sleep(0.05)
        await asyncio.wait_for(connect(), 15)
        client._server = proc
        await start(client, warm, capabilities(VSCODE))
        u = open_doc(client, warm, "fs/stat.c")
        got = await wait_published(client, u, 1, lambda p: bool(p.diagnostics))
        assert keys(got.diagnostics) == expected(warm, "fs/stat.c")
        await client.shutdown_async(None)
        client.exit(None)
        assert await asyncio.wait_for(proc.wait(), 15) == 0
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
        await stop(client)
