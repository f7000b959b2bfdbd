"""When a change is checked (pytest-lsp over stdio, a long ``debounceMs`` so the order of
events cannot depend on the machine's speed): a change after the last check ended is checked at
once; a change coming while the check of the one before waits or runs is checked the debounce
delay after it."""

from __future__ import annotations

import asyncio
import time

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient

from tests.lsp_helpers import SERVER, change, copy_tree, open_doc, start, wait_until

pytestmark = pytest.mark.e2e
PATH = "fs/open.c"
DEBOUNCE = 1.5  # seconds


@pytest.fixture(scope="module")
def warm_tree(tmp_path_factory):
    return copy_tree(tmp_path_factory.mktemp("debounce") / "tree", indexed=True)


@pytest_lsp.fixture(config=ClientServerConfig(server_command=SERVER))
async def client(lsp_client: LanguageClient, warm_tree):
    await start(lsp_client, warm_tree, pytest_lsp.client_capabilities("neovim@v0.7.0"),
                {"debounceMs": int(DEBOUNCE * 1000)})
    yield
    await lsp_client.shutdown_session()


async def _published(client, u: str, version: int) -> float:
    await wait_until(lambda: any(p.version == version for p in client.published.get(u, [])),
                     timeout=30, step=0.01)
    return time.monotonic()


async def test_a_change_is_checked_at_once_unless_the_last_check_is_still_on_its_way(
        client: LanguageClient, warm_tree):
    text = (warm_tree / PATH).read_text()
    at = (text.split("\n").index("\tstruct file *f;"), 0)
    u = open_doc(client, warm_tree, PATH, text)
    await _published(client, u, 1)
    sent = time.monotonic()
    change(client, u, 2, " ", at, at)
    assert await _published(client, u, 2) - sent < DEBOUNCE  # not held back
    # a completion request holds checks back for a moment (the user is typing a word), so
    # the check of the first of two changes still waits when the second comes
    asked = client.text_document_completion(types.CompletionParams(
        types.TextDocumentIdentifier(u), types.Position(*at)))
    change(client, u, 3, " ", at, at)
    change(client, u, 4, " ", at, at)
    sent = time.monotonic()
    await asyncio.wrap_future(asked)
    assert await _published(client, u, 4) - sent >= DEBOUNCE
    assert 3 not in [p.version for p in client.published[u]]
