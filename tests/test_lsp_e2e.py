"""The language server over stdio with a real client (pytest-lsp): diagnostics, fixes, sync."""

from __future__ import annotations

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient

from tests.lsp_helpers import (
    REPO,
    SERVER,
    apply_text_edits,
    change,
    copy_tree,
    open_doc,
    record_versions,
    wait_until,
)

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def warm_tree(tmp_path_factory):
    return copy_tree(tmp_path_factory.mktemp("warm") / "tree", indexed=True)


@pytest_lsp.fixture(config=ClientServerConfig(server_command=SERVER))
async def client(lsp_client: LanguageClient, warm_tree):
    lsp_client.published = record_versions(lsp_client)
    await lsp_client.initialize_session(types.InitializeParams(
        capabilities=pytest_lsp.client_capabilities("neovim@v0.7.0"),
        root_uri=warm_tree.as_uri(), initialization_options={"debounceMs": 10}))
    yield
    await lsp_client.shutdown_session()


def _codes(client, u):
    return {(d.code, d.data["symbol"]) for d in client.diagnostics.get(u, ())}


async def test_diagnostic_then_quick_fix_clears_it(client: LanguageClient, warm_tree):
    text = (warm_tree / "fs/stat.c").read_text()
    u = open_doc(client, warm_tree, "fs/stat.c", text)
    await wait_until(lambda: ("404_2", "do_sys_open") in _codes(client, u))
    assert client.published[u][-1].version == 1
    diag = next(d for d in client.diagnostics[u] if d.code == "404_2")
    assert diag.source == "kernel-lsp" and "do_sys_open" in diag.message
    actions = await client.text_document_code_action_async(types.CodeActionParams(
        text_document=types.TextDocumentIdentifier(u), range=diag.range,
        context=types.CodeActionContext(diagnostics=[diag])))
    titles = [a.title for a in actions]
    assert any(t.startswith("Include ") and t.endswith("for symbol do_sys_open") for t in titles)
    assert "Declare do_sys_open" in titles
    include = next(a for a in actions if a.title.startswith("Include "))
    assert include.is_preferred and include.kind == types.CodeActionKind.QuickFix
    edits = include.edit.changes[u]
    new_text = apply_text_edits(text, edits)
    for e in edits:  # send the edit the way an editor does: an incremental change
        change(client, u, 2, e.new_text, (e.range.start.line, e.range.start.character),
               (e.range.end.line, e.range.end.character))
    await wait_until(lambda: client.published[u][-1].version == 2)
    assert ("404_2", "do_sys_open") not in _codes(client, u)
    assert client.workspace.get_text_document(u).source == new_text if hasattr(
        client, "workspace") and client.workspace.text_documents.get(u) else True


async def test_typing_a_call_reports_020_2(client: LanguageClient, warm_tree):
    text = (warm_tree / "fs/open.c").read_text()
    u = open_doc(client, warm_tree, "fs/open.c", text)
    await wait_until(lambda: u in client.published)
    last = text.rstrip("\n").split("\n")
    line = len(last) - 1  # the closing brace of the last function
    change(client, u, 2, "\tnot_defined_anywhere(1);\n", (line, 0), (line, 0))
    await wait_until(lambda: ("020_2", "not_defined_anywhere") in _codes(client, u))
    assert client.published[u][-1].version == 2


async def test_bpf_insn_array_in_an_open_c_file(client: LanguageClient, warm_tree):
    text = (REPO / "fixtures/ebpf/carray/sample.c").read_text()
    u = open_doc(client, warm_tree, "drivers/bpf_sample.c", text)
    await wait_until(lambda: u in client.published)
    diags = [d for d in client.diagnostics[u] if str(d.code).startswith("E")]
    assert diags, "the sample's invalid programs are reported"
    lines = text.split("\n")
    for d in diags:  # each one sits on a BPF_* element of the array
        assert "BPF_" in lines[d.range.start.line]
    bad = next(d for d in diags if d.code == "E003")  # the sample's unknown instruction macro
    assert "BPF_NOT_A_MACRO" in lines[bad.range.start.line][bad.range.start.character:]
