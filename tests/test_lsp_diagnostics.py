"""Diagnostics end to end: push with versions (Neovim 0.7, VS Code), pull with result ids, a header
buffer or a header on disk re-checking the files that include it, cold and warm start-up."""

from __future__ import annotations

import asyncio
import re
import time

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient

from tests.fixture_expect import files_with_expectations
from tests.lsp_helpers import (
    NEOVIM,
    SERVER,
    TREE,
    VSCODE,
    capabilities,
    change,
    close_doc,
    copy_tree,
    expected,
    keys,
    logged,
    open_doc,
    settled,
    spelled,
    start,
    stop,
    uri,
    wait_indexed,
    wait_published,
    wait_until,
)

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="module")]
CONFIG = ClientServerConfig(server_command=SERVER)
SOURCES = sorted(p for p in files_with_expectations(TREE) if p.endswith(".c"))
DOCS = "https://example.org/kernel-lsp/docs"  # the VS Code session configures a docs URL


@pytest.fixture(scope="module")
def warm(tmp_path_factory):
    return copy_tree(tmp_path_factory.mktemp("diag") / "tree", indexed=True)


@pytest_lsp.fixture(config=CONFIG, scope="module", params=[NEOVIM, VSCODE])
async def push(lsp_client: LanguageClient, warm, request):
    options = {"docsUrl": DOCS} if request.param == VSCODE else None
    await start(lsp_client, warm, capabilities(request.param), options)
    lsp_client.docs = options is not None
    yield
    await lsp_client.shutdown_session()


@pytest_lsp.fixture(config=CONFIG, scope="module")
async def pull(lsp_client: LanguageClient, warm):
    await start(lsp_client, warm, capabilities(VSCODE, pull=True))
    yield
    await lsp_client.shutdown_session()


def _key(root, rel: str, symbol: str) -> tuple[str, str, int]:
    """The expected (code, symbol, line) of ``symbol`` in the fixture file ``rel``."""
    (key,) = [k for k in expected(root, rel) if k[1] == symbol]
    return key


def _prototype(root, name: str) -> str:
    """The declaration of ``name`` as ``fs/internal.h`` writes it (one line)."""
    text = (root / "fs/internal.h").read_text()
    found = re.search(r"extern[^;]*\b" + name + r"\([^;]*;", text)
    return " ".join(found.group(0).split()) + "\n"


# -- push ----------------------------------------------------------------------------------------
async def test_push_reports_the_fixture_expectations_with_the_version(push: LanguageClient, warm):
    for rel in SOURCES:
        want = expected(warm, rel)
        u = open_doc(push, warm, rel, version=7)
        got = await wait_published(push, u, where=lambda p, want=want: keys(p.diagnostics) == want)
        assert got.version == 7
        assert all(p.version == 7 for p in push.published[u]), "no publication of another version"
        assert all(d.source == "kernel-lsp" for d in got.diagnostics)
        for d in got.diagnostics:  # a docs link only when a docs URL is configured
            link = d.code_description.href if d.code_description else None
            page = "ebpf-codes" if d.code.startswith("E") else "codes"
            want = f"{DOCS}/{page}.md#{d.code.lower().replace('_', '-')}"
            assert link == (want if push.docs else None)
        await close_doc(push, u)
        assert push.published[u][-1].version is None


async def test_ebpf_diagnostics_carry_their_docs_link_when_configured(push: LanguageClient,
                                                                       warm):
    rel = "kernel/bpf/selftest.c"
    u = open_doc(push, warm, rel, version=3)
    got = await wait_published(push, u, 3, lambda p: p.diagnostics)
    (diag,) = got.diagnostics
    assert (diag.code, diag.source) == ("E101", "kernel-lsp")
    if push.docs:
        assert diag.code_description.href == f"{DOCS}/ebpf-codes.md#e101"
    else:
        assert diag.code_description is None
    assert diag.severity == types.DiagnosticSeverity.Error
    await close_doc(push, u)


async def test_clean_file_gets_an_empty_publication_and_edits_new_versions(push, warm):
    text = (warm / "fs/open.c").read_text()
    u = open_doc(push, warm, "fs/open.c", text)
    assert not (await wait_published(push, u, 1)).diagnostics
    end = len(text.rstrip("\n").split("\n")) - 1  # the closing brace of the last function
    change(push, u, 2, "\tnot_defined_anywhere(1);\n", (end, 0), (end, 0))
    got = await wait_published(push, u, 2)
    assert keys(got.diagnostics) == {("020_2", "not_defined_anywhere", end + 1)}
    change(push, u, 3, "", (end, 0), (end + 1, 0))
    assert not (await wait_published(push, u, 3)).diagnostics
    await close_doc(push, u)


@pytest.mark.parametrize("mark", ["\x0c", "\x0b", "\x1c", "\x85", "\u2028"])
async def test_an_edit_below_a_line_break_that_is_no_lsp_line_end(push, warm, mark):
    """A form feed (^L, between the sections of many kernel files), a vertical tab, U+2028:
    no line end for LSP (``\\n``, ``\\r\\n``, ``\\r``), so an edit below one is on the line the
    editor says, and so are the diagnostics of the text the editor holds."""
    text = f"/* one */\n{mark}\n/* two */\nvoid f(void)\n{{\n\tundefined_a();\n}}\n"
    await _edit_on_line_6(push, warm, "drivers/ff.c", text)  # a new file, not on disk


async def _edit_on_line_6(push, warm, path: str, text: str) -> None:
    """Open ``text`` (whose line 6 is ``\tundefined_a();``), rename the call, and check that
    both diagnostics are on that line and column."""
    u = open_doc(push, warm, path, text)
    got = await wait_published(push, u, 1, lambda p: keys(p.diagnostics))
    assert keys(got.diagnostics) == {("020_2", "undefined_a", 6)}
    col = "\tundefined_a();".index("undefined_a")
    change(push, u, 2, "undefined_b", (5, col), (5, col + len("undefined_a")))
    got = await wait_published(push, u, 2)
    assert keys(got.diagnostics) == {("020_2", "undefined_b", 6)}
    (diag,) = got.diagnostics
    assert (diag.range.start.line, diag.range.start.character) == (5, col)
    await close_doc(push, u)


async def test_a_buffer_whose_lines_end_in_a_lone_cr(push, warm):
    """A lone ``\\r`` ends a line for LSP as for GCC: the diagnostics were all on line 0 (the
    analysis counted ``\\n`` only), and a directive after one was no directive."""
    text = ("#if 0\rvoid g(void) { undefined_z(); }\r#endif\rvoid f(void)\r{\r"
            "\tundefined_a();\r}\r")
    await _edit_on_line_6(push, warm, "drivers/cr.c", text)


@pytest.mark.parametrize("spell", [None, spelled], ids=["canonical", "spelled"])
async def test_header_buffer_change_rechecks_the_including_file(push, warm, spell):
    """Also when the client spells the includer's URI its own way (``%73tat.c``): the server
    finds the open buffer under the client's URI."""
    missing = _key(warm, "fs/stat.c", "do_sys_open")
    stat = open_doc(push, warm, "fs/stat.c", spell=spell)
    await wait_published(push, stat, 1, lambda p: missing in keys(p.diagnostics))
    header = open_doc(push, warm, "include/linux/syscalls.h")
    await wait_published(push, header, 1)
    change(push, header, 2, _prototype(warm, "do_sys_open"))
    got = await wait_published(push, stat, where=lambda p: not any(
        d.code == "404_2" for d in p.diagnostics))
    assert got.version == 1, "the .c itself was not touched"
    await close_doc(push, header)  # the header on disk counts again
    await wait_published(push, stat, 1, lambda p: missing in keys(p.diagnostics))
    await close_doc(push, stat)


# -- pull ----------------------------------------------------------------------------------------
async def test_pull_reports_result_ids_and_unchanged(pull: LanguageClient, warm):
    rel = "kernel/sys.c"
    text = (warm / rel).read_text()
    u = open_doc(pull, warm, rel, text)
    ident = types.TextDocumentIdentifier(u)
    await wait_indexed(pull)
    report = await pull.text_document_diagnostic_async(types.DocumentDiagnosticParams(ident))
    assert report.kind == "full" and report.result_id
    assert keys(report.items) == expected(warm, rel)
    again = await pull.text_document_diagnostic_async(types.DocumentDiagnosticParams(
        ident, previous_result_id=report.result_id))
    assert again.kind == "unchanged" and again.result_id == report.result_id
    line = text.split("\n").index("\tval.procs = nr_processes();\t/* expect: 020_2 nr_processes */")
    change(pull, u, 2, "//", (line, 0), (line, 0))  # comment the call out
    edited = await pull.text_document_diagnostic_async(types.DocumentDiagnosticParams(
        ident, previous_result_id=report.result_id))
    assert edited.kind == "full" and edited.result_id != report.result_id
    assert keys(edited.items) == expected(warm, rel) - {("020_2", "nr_processes", line + 1)}
    await pull.text_document_hover_async(types.HoverParams(ident, types.Position(0, 0)))
    assert not pull.published, "a pull client gets no publishDiagnostics"


async def test_pull_client_is_asked_to_refresh_after_an_index(pull: LanguageClient, warm):
    await wait_indexed(pull)
    runs, before = len(logged(pull, "kernel-lsp: index of ")), pull.diagnostic_refresh_count
    assert await pull.workspace_execute_command_async(types.ExecuteCommandParams(
        command="kernel-lsp.reindex")) == "reindexing"
    await wait_indexed(pull, runs + 1)
    await wait_until(lambda: pull.diagnostic_refresh_count > before)


# -- header changes on disk ----------------------------------------------------------------------
@pytest_lsp.fixture(config=CONFIG, scope="module")
async def disk(lsp_client: LanguageClient, tmp_path_factory):
    root = copy_tree(tmp_path_factory.mktemp("disk") / "tree", indexed=True)
    lsp_client.root = root
    await start(lsp_client, root, capabilities(NEOVIM))
    yield
    await lsp_client.shutdown_session()


async def test_header_saved_on_disk_rechecks_open_files(disk: LanguageClient):
    root = disk.root
    stat = open_doc(disk, root, "fs/stat.c")
    await wait_published(disk, stat, 1, lambda p: any(d.code == "404_2" for d in p.diagnostics))
    await wait_indexed(disk)
    header = root / "include/linux/syscalls.h"
    header_uri = open_doc(disk, root, "include/linux/syscalls.h")
    text = _prototype(root, "do_sys_open") + header.read_text()
    change(disk, header_uri, 2, _prototype(root, "do_sys_open"))
    header.write_text(text)  # the editor saves the buffer
    disk.text_document_did_save(types.DidSaveTextDocumentParams(types.TextDocumentIdentifier(
        header_uri)))
    await close_doc(disk, header_uri)  # the saved file, not the buffer, must clear it now
    await wait_indexed(disk, 2)
    got = await wait_published(disk, stat, where=lambda p: not p.diagnostics)
    assert got.version == 1


async def test_header_changed_by_another_program_rechecks_open_files(disk: LanguageClient):
    root = disk.root
    missing = _key(root, "kernel/sys.c", "ktime_get_real_ns")
    sys_c = open_doc(disk, root, "kernel/sys.c")
    await wait_published(disk, sys_c, 1, lambda p: missing in keys(p.diagnostics))
    runs = len([m for m in disk.log_messages if "index of" in m.message])
    kernel_h = root / "include/linux/kernel.h"
    decl = re.search(r"[^\n]*\bktime_get_real_ns\([^;]*;",
                     (root / "include/linux/timekeeping.h").read_text()).group(0)
    kernel_h.write_text(kernel_h.read_text() + "\n" + decl + "\n")
    disk.workspace_did_change_watched_files(types.DidChangeWatchedFilesParams([types.FileEvent(
        uri(root, "include/linux/kernel.h"), types.FileChangeType.Changed)]))
    await wait_indexed(disk, runs + 1)
    got = await wait_published(disk, sys_c, where=lambda p: missing not in keys(p.diagnostics))
    assert got.version == 1
    assert keys(got.diagnostics) == expected(root, "kernel/sys.c") - {missing}


# -- start-up ------------------------------------------------------------------------------------
@pytest_lsp.fixture(config=CONFIG, loop_scope="module")
async def cold(lsp_client: LanguageClient, tmp_path):
    root = copy_tree(tmp_path / "tree", indexed=False)
    lsp_client.root = root
    assert not (root / ".kernel-lsp").exists()
    await start(lsp_client, root, capabilities(VSCODE))
    yield
    await lsp_client.shutdown_session()


WHOLE = "kernel-lsp: indexing"  # the title of the whole-tree index's progress


def _whole_index_ended(client) -> bool:
    return any(r[0].title == WHOLE and r[-1].kind == "end"
               for r in client.progress_reports.values() if r)


async def test_cold_workspace_shows_what_the_includes_prove_then_the_whole_tree(
        cold: LanguageClient):
    """Before the whole tree is indexed, only what the open files' include closures prove
    (a call or a type with nothing visible) is shown, marked provisional; never a finding the
    whole tree does not confirm. Then the whole tree's findings, with their fixes."""
    root = cold.root
    fm = cold.protocol.fm
    seen = fm.features[types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS]
    early: dict[str, list] = {}

    def before_whole(params: types.PublishDiagnosticsParams):
        if not _whole_index_ended(cold):
            early.setdefault(params.uri, []).append(params)
        return seen(params)

    fm.features[types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS] = before_whole
    files = ["fs/stat.c", "kernel/sys.c", "kernel/sched/stats.c", "mm/vmscan.c"]
    uris = {rel: open_doc(cold, root, rel) for rel in files}
    await wait_until(lambda: _whole_index_ended(cold), timeout=60)
    for rel, u in uris.items():
        await wait_published(cold, u, 1, lambda p, rel=rel: keys(p.diagnostics) == expected(
            root, rel) and all("provisional" not in d.message for d in p.diagnostics),
            timeout=30)
    shown = {rel: [d for p in early.get(u, ()) for d in p.diagnostics] for rel, u in uris.items()}
    for rel, diags in shown.items():
        assert all("provisional" in d.message for d in diags), rel
        assert keys(diags) <= expected(root, rel), rel  # nothing the whole tree takes back
    assert keys(shown["kernel/sys.c"]) == expected(root, "kernel/sys.c")  # 020_2 and 404_2
    assert {d.code for d in shown["kernel/sched/stats.c"]} == {"407_2"}
    assert keys(shown["fs/stat.c"]) == expected(root, "fs/stat.c")
    # 405_2, 406_2 and 408_2 need the whole tree: none of them came early
    assert {d.code for d in shown["mm/vmscan.c"]} == {"404_2"}
    assert {"405_2", "406_2", "408_2"} <= {code for code, _s, _l in expected(root, "mm/vmscan.c")}
    runs = [r for r in cold.progress_reports.values() if r]
    assert [r[0].title for r in runs] == ["kernel-lsp: indexing what the open files include",
                                          WHOLE]
    assert all(r[0].kind == "begin" and r[-1].kind == "end" for r in runs)
    assert (root / ".kernel-lsp/model.db").is_file()
    await wait_until(lambda: not (root / ".kernel-lsp/first.db").exists())


async def test_cold_workspace_takes_a_save_made_during_the_first_index(cold: LanguageClient):
    root = cold.root
    u = open_doc(cold, root, "fs/stat.c")
    header = root / "include/linux/syscalls.h"
    header.write_text(_prototype(root, "do_sys_open") + header.read_text())
    cold.text_document_did_save(types.DidSaveTextDocumentParams(types.TextDocumentIdentifier(
        uri(root, "include/linux/syscalls.h"))))
    await wait_indexed(cold)
    await wait_published(cold, u, 1, lambda p: not p.diagnostics, timeout=30)


async def test_cold_workspace_pull_client_is_refreshed(tmp_path):
    root = copy_tree(tmp_path / "my tree é+", indexed=False)  # and a path that needs quoting
    client = await CONFIG.start()
    try:
        await start(client, root, capabilities(VSCODE, pull=True))
        u = open_doc(client, root, "fs/stat.c")
        ident = types.TextDocumentIdentifier(u)
        assert "%20" in u
        await wait_until(lambda: client.diagnostic_refresh_count > 0, timeout=30)
        pulled: list = []

        async def pull_settled() -> bool:  # the first model's provisional answer may come first
            pulled.append(await client.text_document_diagnostic_async(
                types.DocumentDiagnosticParams(ident)))
            return settled(types.PublishDiagnosticsParams(u, pulled[-1].items))

        deadline = time.monotonic() + 30
        while not await pull_settled():
            assert time.monotonic() < deadline, "no pull answered from the whole model"
            await asyncio.sleep(0.05)
        report = pulled[-1]
        assert keys(report.items) == expected(root, "fs/stat.c")
        (diag,) = report.items
        (action, _) = await client.text_document_code_action_async(types.CodeActionParams(
            ident, diag.range, types.CodeActionContext([diag])))
        assert list(action.edit.changes) == [u]
        # an edit of the document under its quoted URI is the document's (pygls keys them
        # decoded): not dropped as a change of a file that is not open
        text = (root / "fs/stat.c").read_text()
        end = len(text.rstrip("\n").split("\n")) - 1
        change(client, u, 2, "\tnot_defined_anywhere(1);\n", (end, 0), (end, 0))
        want = expected(root, "fs/stat.c") | {("020_2", "not_defined_anywhere", end + 1)}
        deadline = time.monotonic() + 30
        while keys(pulled[-1].items) != want:
            assert time.monotonic() < deadline, f"the edit was not checked: {pulled[-1].items}"
            await asyncio.sleep(0.05)
            await pull_settled()
        assert not client.published
        await client.shutdown_session()
    finally:
        await stop(client)


async def test_warm_workspace_reports_quickly(tmp_path):
    root = copy_tree(tmp_path / "tree", indexed=True)
    client = await CONFIG.start()
    try:
        await start(client, root, capabilities(NEOVIM))
        began = time.monotonic()
        u = open_doc(client, root, "fs/stat.c")
        got = await wait_published(client, u, 1, lambda p: bool(p.diagnostics), timeout=30)
        assert time.monotonic() - began < 3.0
        assert keys(got.diagnostics) == expected(root, "fs/stat.c")
        await client.shutdown_session()
    finally:
        await stop(client)
