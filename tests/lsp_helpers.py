"""Helpers for end-to-end language-server tests: trees, clients, waiting for diagnostics, edits."""

from __future__ import annotations

import asyncio
import atexit
import re
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest_lsp
from lsprotocol import types
from pygls.uris import from_fs_path

from tests.conftest import REPO, TREE  # noqa: F401 - re-exported to the e2e tests
from tests.fixture_expect import parse_text

SERVER = [sys.executable, "-m", "kernel_lsp", "serve"]
NEOVIM = "neovim@v0.7.0"
VSCODE = "visual-studio-code"
_TEMPLATE: list[Path] = []
_STATE = shutil.ignore_patterns(".kernel-lsp")  # a model someone built in the fixture itself


def _indexed_template() -> Path:
    """One indexed copy of the fixture tree per test process; later copies reuse its model."""
    if not _TEMPLATE:
        base = Path(tempfile.mkdtemp(prefix="kernel-lsp-e2e-"))
        atexit.register(shutil.rmtree, base, True)
        tree = base / "tree"
        shutil.copytree(TREE, tree, ignore=_STATE)
        subprocess.run([sys.executable, "-m", "kernel_lsp", "index", str(tree)], check=True,
                       capture_output=True)
        _TEMPLATE.append(tree)
    return _TEMPLATE[0]


def copy_tree(dest: Path, indexed: bool) -> Path:
    """A copy of the fixture tree at ``dest``; with ``indexed``, its model is up to date."""
    shutil.copytree(_indexed_template() if indexed else TREE, dest,
                    ignore=None if indexed else _STATE)
    return dest


def uri(root: Path, rel: str) -> str:
    return from_fs_path(str(root / rel))


# -- clients -------------------------------------------------------------------------------------
def capabilities(name: str = VSCODE, *, encodings: list[str] | None = None,
                 pull: bool = False) -> types.ClientCapabilities:
    """Recorded capabilities of a real client, optionally offering encodings or pull diagnostics."""
    caps = pytest_lsp.client_capabilities(name)
    if encodings is not None:
        caps.general = caps.general or types.GeneralClientCapabilities()
        caps.general.position_encodings = encodings
    if pull:
        caps.text_document.diagnostic = types.DiagnosticClientCapabilities(
            related_document_support=True)
        caps.workspace.diagnostics = types.DiagnosticWorkspaceClientCapabilities(
            refresh_support=True)
    return caps


async def start(client, root: Path, caps: types.ClientCapabilities | None = None,
                options=None) -> types.InitializeResult:
    """Record diagnostics and initialize ``client`` on ``root``."""
    client.published = record_versions(client)
    return await client.initialize_session(types.InitializeParams(
        capabilities=caps or capabilities(), root_uri=root.as_uri(),
        initialization_options=options))


def record_versions(client) -> dict[str, list[types.PublishDiagnosticsParams]]:
    """Keep every publishDiagnostics (with its version) besides pytest-lsp's latest-only dict."""
    log: dict[str, list] = {}
    fm = client.protocol.fm
    original = fm.features[types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS]

    def handler(params: types.PublishDiagnosticsParams):
        log.setdefault(params.uri, []).append(params)
        return original(params)

    fm.features[types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS] = handler
    return log


async def wait_until(predicate, timeout: float = 15.0, step: float = 0.02, state=None):
    """Poll ``predicate()`` until it is truthy; fail with the timeout (and ``state()``) otherwise."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        got = predicate()
        if got:
            return got
        if asyncio.get_running_loop().time() > deadline:
            seen = f"; last seen: {state()}" if state is not None else ""
            raise AssertionError(f"condition not met within {timeout} s{seen}")
        await asyncio.sleep(step)


async def within(awaitable, what: str, timeout: float = 15.0):
    """``await awaitable``, failing with ``what`` after ``timeout`` seconds instead of hanging."""
    try:
        return await asyncio.wait_for(awaitable, timeout)
    except TimeoutError as exc:
        raise AssertionError(f"{what}: no answer within {timeout} s") from exc


async def stop(client) -> None:
    """Stop a client started by hand; kill its server if a failed test left it running."""
    server = getattr(client, "_server", None)
    if server is not None and server.returncode is None:
        server.kill()
    await within(client.stop(), "stopping the client")


def logged(client, text: str, start: int = 0) -> list[str]:
    """Log and shown messages (from the ``start``-th log message on) that contain ``text``."""
    got = [m.message for m in client.log_messages[start:]]
    got += [m.message for m in client.messages]
    return [m for m in got if text in m]


async def wait_indexed(client, count: int = 1, timeout: float = 30.0) -> None:
    """Wait until the server has logged ``count`` finished index runs."""
    await wait_until(lambda: len(logged(client, "kernel-lsp: index of ")) >= count, timeout)


async def wait_published(client, u: str, version: int | None = None, where=None,
                    timeout: float = 15.0) -> types.PublishDiagnosticsParams:
    """The latest publication for ``u`` once it has ``version`` and satisfies ``where``."""
    def ready():
        got = client.published.get(u)
        if not got:
            return None
        last = got[-1]
        if version is not None and last.version != version:
            return None
        return last if where is None or where(last) else None

    def state():
        return [(p.version, sorted(keys(p.diagnostics))) for p in client.published.get(u, ())]
    return await wait_until(ready, timeout, state=state)


def settled(p: types.PublishDiagnosticsParams) -> bool:
    """Diagnostics of the whole tree's model, not the first model's provisional ones."""
    return bool(p.diagnostics) and not any("(provisional:" in d.message for d in p.diagnostics)


def keys(diags) -> set[tuple[str, str, int]]:
    """(code, symbol, 1-based line) of diagnostics, as the fixture's expectations write them."""
    return {(d.code, d.data["symbol"], d.range.start.line + 1) for d in diags}


def expected(root: Path, rel: str, text: str | None = None) -> set[tuple[str, str, int]]:
    """The fixture's ``expect:`` comments of one file as ``keys`` gives them."""
    text = (root / rel).read_text() if text is None else text
    return {(e.code, e.symbol, e.line) for e in parse_text(text, rel)}


# -- documents -----------------------------------------------------------------------------------
def spelled(u: str) -> str:
    """``u`` as another client may spell it: the file name's first letter percent-encoded
    (``%73tat.c``), the same file to any URI parser."""
    head, name = u.rsplit("/", 1)
    return f"{head}/%{ord(name[0]):02X}{name[1:]}"


def open_doc(client, root: Path, rel: str, text: str | None = None, version: int = 1,
             spell=None) -> str:
    """Open ``rel``; ``spell`` rewrites its URI as a client would spell it."""
    u = uri(root, rel) if spell is None else spell(uri(root, rel))
    client.text_document_did_open(types.DidOpenTextDocumentParams(types.TextDocumentItem(
        uri=u, language_id="c", version=version,
        text=text if text is not None else (root / rel).read_text())))
    return u


async def close_doc(client, u: str) -> None:
    """Close ``u`` and wait for the server's clearing publication (push clients)."""
    before = len(client.published.get(u, ()))
    client.text_document_did_close(types.DidCloseTextDocumentParams(
        types.TextDocumentIdentifier(u)))
    await wait_until(lambda: len(client.published.get(u, ())) > before and
                     not client.published[u][-1].diagnostics)


def change(client, u: str, version: int, text: str, start=(0, 0), end=(0, 0)) -> None:
    client.text_document_did_change(types.DidChangeTextDocumentParams(
        text_document=types.VersionedTextDocumentIdentifier(uri=u, version=version),
        content_changes=[types.TextDocumentContentChangePartial(
            range=types.Range(types.Position(*start), types.Position(*end)), text=text)]))


def replace_all(client, u: str, version: int, text: str) -> None:
    client.text_document_did_change(types.DidChangeTextDocumentParams(
        text_document=types.VersionedTextDocumentIdentifier(uri=u, version=version),
        content_changes=[types.TextDocumentContentChangeWholeDocument(text=text)]))


def position(text: str, needle: str, occurrence: int = 0, encoding: str = "utf-16"
             ) -> types.Position:
    """The position of the ``occurrence``-th ``needle`` in ``text``, in ``encoding`` units."""
    at = -1
    for _ in range(occurrence + 1):
        at = text.index(needle, at + 1)
    line = text.count("\n", 0, at)
    prefix = text[text.rfind("\n", 0, at) + 1:at]
    return types.Position(line, units(prefix, encoding))


def units(text: str, encoding: str) -> int:
    if encoding == "utf-8":
        return len(text.encode("utf-8"))
    if encoding == "utf-32":
        return len(text)
    return len(text.encode("utf-16-le")) // 2


def line_of(text: str, pattern: str) -> int:
    """0-based line of the first line matching the regular expression ``pattern``."""
    for n, line in enumerate(text.split("\n")):
        if re.search(pattern, line):
            return n
    raise AssertionError(f"no line matches {pattern!r}")


def apply_text_edits(text: str, edits, encoding: str = "utf-16") -> str:
    """Apply LSP edits (positions in ``encoding`` units) to ``text``, bottom-up."""
    lines = text.split("\n")

    def offset(pos: types.Position) -> int:
        before = sum(len(line) + 1 for line in lines[:pos.line])
        line = lines[pos.line] if pos.line < len(lines) else ""
        count = 0
        for i, ch in enumerate(line):
            if count >= pos.character:
                return before + i
            count += units(ch, encoding)
        return before + len(line)

    for e in sorted(edits, key=lambda e: (e.range.start.line, e.range.start.character),
                    reverse=True):
        a, b = offset(e.range.start), offset(e.range.end)
        text = text[:a] + e.new_text + text[b:]
    return text


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
