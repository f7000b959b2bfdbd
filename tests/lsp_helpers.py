"""Helpers for end-to-end language-server tests: trees, URIs, waiting for diagnostics, edits."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import sys
from pathlib import Path

from lsprotocol import types
from pygls.uris import from_fs_path

REPO = Path(__file__).resolve().parent.parent
TREE = REPO / "fixtures" / "linux-tree"
SERVER = [sys.executable, "-m", "kernel_lsp", "serve"]


def copy_tree(dest: Path, indexed: bool) -> Path:
    shutil.copytree(TREE, dest)
    if indexed:
        subprocess.run([sys.executable, "-m", "kernel_lsp", "index", str(dest)], check=True,
                       capture_output=True)
    return dest


def uri(root: Path, rel: str) -> str:
    return from_fs_path(str(root / rel))


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


async def wait_until(predicate, timeout: float = 15.0, step: float = 0.02):
    """Poll ``predicate()`` until it is truthy; fail with the timeout otherwise."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        got = predicate()
        if got:
            return got
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        await asyncio.sleep(step)


def open_doc(client, root: Path, rel: str, text: str | None = None, version: int = 1) -> str:
    u = uri(root, rel)
    client.text_document_did_open(types.DidOpenTextDocumentParams(types.TextDocumentItem(
        uri=u, language_id="c", version=version,
        text=text if text is not None else (root / rel).read_text())))
    return u


def change(client, u: str, version: int, text: str, start=(0, 0), end=(0, 0)) -> None:
    client.text_document_did_change(types.DidChangeTextDocumentParams(
        text_document=types.VersionedTextDocumentIdentifier(uri=u, version=version),
        content_changes=[types.TextDocumentContentChangePartial(
            range=types.Range(types.Position(*start), types.Position(*end)), text=text)]))


def apply_text_edits(text: str, edits: list[types.TextEdit]) -> str:
    """Apply UTF-16-addressed LSP edits to ``text`` (bottom-up)."""
    lines = text.split("\n")

    def offset(pos: types.Position) -> int:
        before = sum(len(line) + 1 for line in lines[:pos.line])
        line = lines[pos.line] if pos.line < len(lines) else ""
        units = 0
        for i, ch in enumerate(line):
            if units >= pos.character:
                return before + i
            units += 2 if ord(ch) > 0xFFFF else 1
        return before + len(line)

    for e in sorted(edits, key=lambda e: (e.range.start.line, e.range.start.character),
                    reverse=True):
        a, b = offset(e.range.start), offset(e.range.end)
        text = text[:a] + e.new_text + text[b:]
    return text
