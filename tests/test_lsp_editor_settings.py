"""Editor settings end to end: ``initializationOptions`` and ``workspace/configuration`` (section
``kernelLsp``) switch codes off and change severities; bad settings give a message and the default."""

from __future__ import annotations

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient

from kernel_lsp.lsp.settings import snake
from tests.lsp_helpers import (
    SERVER,
    VSCODE,
    capabilities,
    copy_tree,
    expected,
    keys,
    logged,
    open_doc,
    start,
    uri,
    wait_published,
    wait_until,
)

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="module")]
CONFIG = ClientServerConfig(server_command=SERVER)
SECTION = "kernelLsp"
SEVERITY = types.DiagnosticSeverity


@pytest.fixture(scope="module")
def warm(tmp_path_factory):
    return copy_tree(tmp_path_factory.mktemp("settings") / "tree", indexed=True)


@pytest_lsp.fixture(config=CONFIG, scope="module")
async def tuned(lsp_client: LanguageClient, warm):
    lsp_client.set_configuration({"severity": {"020_2": "warning"}}, section=SECTION)
    await start(lsp_client, warm, capabilities(VSCODE), options={"disable": ["404_2", "E101"]})
    yield
    await lsp_client.shutdown_session()


BAD_INIT = {"debounceMs": -5, "disable": "404_2", "noSuchKey": 1, "jobs": "many"}
BAD_EDITOR = {"severity": {"404_2": "loud"}, "maxFileBytes": "big", "includePaths": 7}


@pytest_lsp.fixture(config=CONFIG, scope="module")
async def bad(lsp_client: LanguageClient, warm):
    lsp_client.set_configuration(BAD_EDITOR, section=SECTION)
    await start(lsp_client, warm, capabilities(VSCODE), options=BAD_INIT)
    yield
    await lsp_client.shutdown_session()


def _by_code(diags) -> dict[str, set]:
    out: dict[str, set] = {}
    for d in diags:
        out.setdefault(d.code, set()).add(d.severity)
    return out


async def test_options_disable_and_configuration_sets_severity(tuned: LanguageClient, warm):
    rel = "kernel/sys.c"
    want = {k for k in expected(warm, rel) if k[0] != "404_2"}
    assert want and want != expected(warm, rel)
    u = open_doc(tuned, warm, rel)
    got = await wait_published(tuned, u, 1, lambda p: keys(p.diagnostics) == want)
    assert _by_code(got.diagnostics) == {"020_2": {SEVERITY.Warning}}


async def test_an_ebpf_code_switched_off_is_not_shown(tuned: LanguageClient, warm):
    rel = "kernel/bpf/selftest.c"
    assert {k[0] for k in expected(warm, rel)} == {"E101"}
    u = open_doc(tuned, warm, rel)
    got = await wait_published(tuned, u, 1)
    assert list(got.diagnostics) == []


async def test_configuration_change_applies_to_open_files(tuned: LanguageClient, warm):
    rel = "kernel/sys.c"
    u = open_doc(tuned, warm, rel, version=2)  # reopened: the first test left it open at 1
    await wait_published(tuned, u, 2)
    tuned.set_configuration({"severity": {"404_2": "note"}}, section=SECTION)
    tuned.workspace_did_change_configuration(types.DidChangeConfigurationParams(settings=None))
    # the later table wins key by key: 404_2 is back (as a note), 020_2 is an error again
    got = await wait_published(tuned, u, 2, lambda p: keys(p.diagnostics) == expected(warm, rel))
    assert _by_code(got.diagnostics) == {"404_2": {SEVERITY.Information},
                                         "020_2": {SEVERITY.Error}}


async def test_max_file_bytes_changed_while_running(tuned: LanguageClient, warm):
    rel = "kernel/sys.c"
    u = uri(warm, rel)  # still open from the tests above, at version 2
    size = len((warm / rel).read_bytes())
    start_log = len(tuned.log_messages)
    tuned.set_configuration({"maxFileBytes": size - 1}, section=SECTION)
    tuned.workspace_did_change_configuration(types.DidChangeConfigurationParams(settings=None))
    await wait_until(lambda: logged(tuned, f"{rel}: {size} bytes, over max_file_bytes", start_log))
    await wait_published(tuned, u, 2, lambda p: not p.diagnostics)
    tuned.set_configuration({"maxFileBytes": size}, section=SECTION)
    tuned.workspace_did_change_configuration(types.DidChangeConfigurationParams(settings=None))
    want = {k for k in expected(warm, rel) if k[0] != "404_2"}  # the options still disable it
    await wait_published(tuned, u, 2, lambda p: keys(p.diagnostics) == want)


async def test_bad_settings_are_shown_and_defaults_kept(bad: LanguageClient, warm):
    await wait_until(lambda: len(bad.messages) >= 7)
    shown = " | ".join(m.message for m in bad.messages)
    for key in ("debounceMs", "disable", "noSuchKey", "jobs", "404_2", "maxFileBytes",
                "includePaths"):
        assert f"'{key}'" in shown or f"'{snake(key)}'" in shown, key
    assert all(m.type == types.MessageType.Warning for m in bad.messages)
    rel = "fs/stat.c"
    u = open_doc(bad, warm, rel)
    got = await wait_published(bad, u, 1, lambda p: keys(p.diagnostics) == expected(warm, rel))
    assert _by_code(got.diagnostics) == {"404_2": {SEVERITY.Error}}
    symbols = await bad.text_document_document_symbol_async(types.DocumentSymbolParams(
        types.TextDocumentIdentifier(u)))
    assert symbols


async def test_settings_that_are_not_a_table(bad: LanguageClient, warm):
    before = len(bad.messages)
    bad.set_configuration(["not", "a", "table"], section=SECTION)
    bad.workspace_did_change_configuration(types.DidChangeConfigurationParams(settings=None))
    await wait_until(lambda: any("must be an object" in m.message for m in bad.messages[before:]))
    rel = "kernel/sys.c"
    u = open_doc(bad, warm, rel)
    await wait_published(bad, u, 1, lambda p: keys(p.diagnostics) == expected(warm, rel))


async def test_a_configuration_change_shows_only_the_messages_it_brings(bad: LanguageClient, warm):
    """An editor sends didChangeConfiguration on each settings edit: each one showed every bad
    setting again, of the initializationOptions and of the files too (a pop-up each)."""
    before = len(bad.messages)
    bad.set_configuration(BAD_EDITOR, section=SECTION)
    bad.workspace_did_change_configuration(types.DidChangeConfigurationParams(settings=None))
    await wait_until(lambda: len(bad.messages) >= before + 3)  # (the last table was no table)
    assert all("workspace/configuration" in m.message for m in bad.messages[before:])
    before = len(bad.messages)
    bad.workspace_did_change_configuration(types.DidChangeConfigurationParams(settings=None))
    bad.set_configuration({**BAD_EDITOR, "debounceMs": "soon"}, section=SECTION)
    bad.workspace_did_change_configuration(types.DidChangeConfigurationParams(settings=None))
    await wait_until(lambda: any("'debounceMs'" in m.message for m in bad.messages[before:]))
    assert [m.message for m in bad.messages[before:]] == [
        "kernel-lsp: workspace/configuration 'kernelLsp': 'debounceMs' must be an integer from "
        "0 to 5000; using 10"]
