"""Position encoding end to end: the server takes the client's first offered encoding it knows and
counts every column in it, in both directions (diagnostics out, hover positions in)."""

from __future__ import annotations

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
    logged,
    open_doc,
    position,
    start,
    units,
    wait_published,
)

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="module")]
# (offered by the client, negotiated)
OFFERS = [(None, "utf-16"), (["utf-8", "utf-16"], "utf-8"), (["utf-32"], "utf-32")]
# wide enough that a column counted in the wrong unit lands on another name
COMMENT = "/* ééééé 😀😀😀😀 */ "
CALL = "do_sys_open"


@pytest.fixture(scope="module")
def warm(tmp_path_factory):
    return copy_tree(tmp_path_factory.mktemp("enc") / "tree", indexed=True)


@pytest_lsp.fixture(config=ClientServerConfig(server_command=SERVER), scope="module",
                    params=OFFERS, ids=lambda o: o[1])
async def client(lsp_client: LanguageClient, warm, request):
    offered, lsp_client.encoding = request.param
    lsp_client.result = await start(lsp_client, warm, capabilities(VSCODE, encodings=offered))
    yield
    await lsp_client.shutdown_session()


def _text(warm) -> str:
    text = (warm / "fs/stat.c").read_text()
    assert text.count(f"= {CALL}(") == 1
    return text.replace(f"= {CALL}(", f"= {COMMENT}{CALL}(")


async def test_negotiated_encoding(client: LanguageClient):
    assert client.result.capabilities.position_encoding == client.encoding


async def test_diagnostic_columns_count_in_the_negotiated_encoding(client: LanguageClient, warm):
    text = _text(warm)
    u = open_doc(client, warm, "fs/stat.c", text)
    got = await wait_published(client, u, 1, lambda p: any(d.code == "404_2" for d in p.diagnostics))
    (diag,) = [d for d in got.diagnostics if d.code == "404_2"]
    start = position(text, f"{COMMENT}{CALL}(", encoding=client.encoding)
    start.character += units(COMMENT, client.encoding)
    assert diag.range.start == start
    assert diag.range.end == types.Position(start.line, start.character + len(CALL))
    await close_doc(client, u)


async def test_hover_position_counts_in_the_negotiated_encoding(client: LanguageClient, warm):
    text = _text(warm)
    u = open_doc(client, warm, "fs/stat.c", text)
    at = position(text, f"{CALL}(", encoding=client.encoding)
    at.character += 1
    hover = await client.text_document_hover_async(types.HoverParams(
        types.TextDocumentIdentifier(u), at))
    assert hover is not None and f"`{CALL}`" in hover.contents.value
    await close_doc(client, u)


async def test_startup_log_names_the_encoding(client: LanguageClient):
    assert any(m.endswith(f"{client.encoding} positions") for m in logged(client, "kernel-lsp "))


async def test_incremental_edit_after_wide_characters(client: LanguageClient, warm):
    text = _text(warm)
    u = open_doc(client, warm, "fs/stat.c", text)
    await wait_published(client, u, 1)
    at = position(text, f"{CALL}(", encoding=client.encoding)
    change(client, u, 2, "x_", (at.line, at.character), (at.line, at.character))
    got = await wait_published(client, u, 2)
    (diag,) = [d for d in got.diagnostics if d.code == "020_2"]
    assert diag.data["symbol"] == f"x_{CALL}"
    assert diag.range.start == at and diag.range.end.character == at.character + len(CALL) + 2
    assert not [d for d in got.diagnostics if d.code == "404_2"]
    await close_doc(client, u)
