"""Demand and policy files in the editor, end to end: diagnostics at the failing invocations,
schema errors at their line, hover with the invocation's verdict, definition of a chain item,
the "Verify demand" code lens and command (HTML report, shown to the client), and a policy
edited in the editor changing the 408_2 diagnostics of C files live."""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient

from tests.design_cases import DESIGN
from tests.lsp_helpers import (
    SERVER,
    VSCODE,
    capabilities,
    copy_tree,
    keys,
    logged,
    position,
    replace_all,
    start,
    stop,
    uri,
    wait_indexed,
    wait_published,
    within,
)

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="module")]
RECLAIM = DESIGN / "broken" / "reclaim.demand.yaml"
EXPECTED = DESIGN / "broken" / "expected" / "report.json"


@pytest.fixture(scope="module")
def warm(tmp_path_factory):
    tree = copy_tree(tmp_path_factory.mktemp("design-lsp") / "tree", indexed=True)
    shutil.copy(RECLAIM, tree / RECLAIM.name)
    return tree


@pytest_lsp.fixture(config=ClientServerConfig(server_command=SERVER), scope="module")
async def client(lsp_client: LanguageClient, warm):
    await start(lsp_client, warm, capabilities(VSCODE))
    await wait_indexed(lsp_client)
    yield
    await lsp_client.shutdown_session()


def _open(client, root: Path, rel: str, text: str | None = None, version: int = 1) -> str:
    u = uri(root, rel)
    client.text_document_did_open(types.DidOpenTextDocumentParams(types.TextDocumentItem(
        uri=u, language_id="yaml", version=version,
        text=text if text is not None else (root / rel).read_text())))
    return u


def _wrong_invocations() -> set[tuple[str, int]]:
    """(403_2, 1-based line) of the reclaim demand's wrong invocations in the expected report."""
    doc = json.loads(EXPECTED.read_text())
    return {(i["code"], i["line"]) for d in doc["demands"] if d["id"] == "reclaim"
            for p in d["paths"] for i in p["invocations"] if i["code"] != "403_1"}


async def test_failing_invocations_are_diagnostics_at_their_lines(client, warm):
    u = _open(client, warm, RECLAIM.name)
    got = await wait_published(client, u, 1, where=lambda p: p.diagnostics)
    assert {(d.code, d.range.start.line + 1) for d in got.diagnostics} == _wrong_invocations()
    text = RECLAIM.read_text()
    by_line = {d.range.start.line: d for d in got.diagnostics}
    free = by_line[position(text, "__free_one_page@").line]
    assert free.severity == types.DiagnosticSeverity.Error and free.source == "kernel-lsp"
    assert "reclaim/free/1 reclaim_pages;__free_one_page@mm/page_alloc.c ERROR [405_2]" \
        in free.message
    assert free.code_description is None, "no docs link unless docsUrl is configured"


async def test_schema_errors_are_reported_at_their_line(client, warm):
    u = uri(warm, RECLAIM.name)
    bad = RECLAIM.read_text().replace("require: designed", "require: someday")
    replace_all(client, u, 2, bad)
    got = await wait_published(client, u, 2)
    line = position(bad, "someday").line
    assert [(d.code, d.range.start.line, d.message) for d in got.diagnostics] == [
        ("401_2", line, "'require' must be one of: implemented, designed")]
    replace_all(client, u, 3, RECLAIM.read_text())
    got = await wait_published(client, u, 3)
    assert {(d.code, d.range.start.line + 1) for d in got.diagnostics} == _wrong_invocations()


async def test_hover_shows_the_verdict_of_the_invocation(client, warm):
    text = RECLAIM.read_text()
    at = position(text, "- activate_page")
    at.character += 3
    hover = await within(client.text_document_hover_async(types.HoverParams(
        types.TextDocumentIdentifier(uri(warm, RECLAIM.name)), at)), "hover")
    value = hover.contents.value
    assert "**reclaim/reactivate/2**" in value and "**ERROR**" in value
    assert "`404_2` Undeclared invocation".lower() in value.lower()
    assert "`408_2`" in value and "not in the interface of page-cache" in value


async def test_definition_of_a_chain_item(client, warm):
    text = RECLAIM.read_text()
    doc = types.TextDocumentIdentifier(uri(warm, RECLAIM.name))
    for needle, path, definition in (
            ("- activate_page", "mm/filemap.c", "void activate_page("),
            ("__free_one_page@", "mm/page_alloc.c", "static void __free_one_page(")):
        pos = position(text, needle)
        pos.character += 2
        got = await within(client.text_document_definition_async(types.DefinitionParams(
            doc, pos)), "definition")
        source = (warm / path).read_text()
        assert [(loc.uri, loc.range.start.line) for loc in got] == [
            (uri(warm, path), position(source, definition).line)]


async def test_verify_demand_lens_and_command_open_the_html_report(client, warm):
    u = uri(warm, RECLAIM.name)
    lenses = await within(client.text_document_code_lens_async(types.CodeLensParams(
        types.TextDocumentIdentifier(u))), "code lens")
    assert [(lens.range.start.line, lens.command.title, lens.command.command,
             list(lens.command.arguments)) for lens in lenses] == [
        (0, "Verify demand", "kernel-lsp.verifyDemand", [u])]
    result = await within(client.workspace_execute_command_async(types.ExecuteCommandParams(
        command="kernel-lsp.verifyDemand", arguments=[u])), "verifyDemand", 30)
    report = Path(result["report"])
    assert report == warm / ".kernel-lsp" / "reports" / "reclaim.html"
    assert result["code"] == "400_2"
    html = report.read_text()
    assert html.startswith("<!DOCTYPE html>") and "reclaim/free/1" in html
    assert [(s.uri, s.external) for s in client.shown_documents] == [(report.as_uri(), True)]


async def test_no_code_lens_outside_demand_files(client, warm):
    lenses = await within(client.text_document_code_lens_async(types.CodeLensParams(
        types.TextDocumentIdentifier(uri(warm, "mm/vmscan.c")))), "code lens")
    assert list(lenses) == []


async def test_a_policy_edited_in_the_editor_changes_c_diagnostics_live(client, warm):
    vmscan = uri(warm, "mm/vmscan.c")
    client.text_document_did_open(types.DidOpenTextDocumentParams(types.TextDocumentItem(
        uri=vmscan, language_id="c", version=1, text=(warm / "mm/vmscan.c").read_text())))
    got = await wait_published(client, vmscan, 1)
    layer = {k for k in keys(got.diagnostics) if k[0] == "408_2"}
    assert {k[1] for k in layer} == {"activate_page", "watermark_scale_factor"}
    policy = (warm / "mm.layers.yaml").read_text()
    p = _open(client, warm, "mm.layers.yaml", policy)
    assert list((await wait_published(client, p, 1)).diagnostics) == []
    edited = policy.replace("interface: [unlock_page,", "interface: [activate_page, unlock_page,")
    edited = edited.replace("paths: [mm/filemap.c]", "paths: [mm/filemap.c, mm/nowhere/*.c]")
    replace_all(client, p, 2, edited)
    got = await wait_published(client, p, 2)
    line = position(edited, "mm/nowhere").line
    assert [(d.severity, d.range.start.line, d.message) for d in got.diagnostics] == [
        (types.DiagnosticSeverity.Warning, line,
         "domain 'page-cache': 'mm/nowhere/*.c' matches no file of the model")]
    got = await wait_published(client, vmscan, where=lambda p: {
        k[1] for k in keys(p.diagnostics) if k[0] == "408_2"} == {"watermark_scale_factor"})
    assert got.version == 1


async def test_verify_demand_with_a_client_that_never_shows_the_report(tmp_path):
    """A client that says it shows documents but never answers window/showDocument held the
    command for ever (and shutdown failed with two of them pending); a demand file missing on
    disk was verified as an empty demand. The command answers with the report's path, logs
    it, and says when it cannot read the demand."""
    tree = copy_tree(tmp_path / "tree", indexed=True)
    shutil.copy(RECLAIM, tree / RECLAIM.name)
    client = await ClientServerConfig(server_command=SERVER).start()
    try:
        answer = asyncio.Event()

        async def never(_params):  # (answers at the end: the client's own teardown needs it)
            await answer.wait()
            return types.ShowDocumentResult(success=False)

        client.protocol.fm.features[types.WINDOW_SHOW_DOCUMENT] = never
        await start(client, tree, capabilities(VSCODE))
        await wait_indexed(client)
        for _ in range(2):
            result = await within(client.workspace_execute_command_async(
                types.ExecuteCommandParams(command="kernel-lsp.verifyDemand",
                                           arguments=[uri(tree, RECLAIM.name)])),
                "verifyDemand", 30)
            assert Path(result["report"]) == tree / ".kernel-lsp" / "reports" / "reclaim.html"
        assert len(logged(client, "kernel-lsp: report written to")) == 2
        answer.set()  # late answers, to requests the server gave up on
        await asyncio.sleep(0.2)
        missing = uri(tree, "gone.demand.yaml")
        assert await within(client.workspace_execute_command_async(types.ExecuteCommandParams(
            command="kernel-lsp.verifyDemand", arguments=[missing])), "missing", 30) is None
        assert logged(client, "Verify demand: cannot read gone.demand.yaml")
        assert not (tree / ".kernel-lsp" / "reports" / "gone.html").exists()
        await within(client.shutdown_session(), "shutdown")
    finally:
        await stop(client)
