"""Benchmark: completion (and signature help) latency on a kernel file, as an editor asks.

Run by hand (not a CI test), after ``kernel-lsp index TREE`` built the model:

    python bench/completion_latency.py /path/to/linux [--file fs/btrfs/ctree.c] [--rounds 40]

With a real client over stdio: open the file, wait for its diagnostics, then in each round go to
a statement line inside a function body, type a word one character at a time (``didChange``
per character, ``--pause`` seconds apart, as a user types) and ask ``textDocument/completion``
after each character; then
type ``path->`` (member completion of a local) where the function has a ``struct btrfs_path *``
local or parameter, and ask ``textDocument/signatureHelp`` inside a call; then undo. Reports the
first completion (cold per-file name cache) apart, and median / p95 / max of the others: the
time from the request to its answer, including bringing the buffer up to date after the edit.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import statistics
import sys
import time
from pathlib import Path

from lsprotocol import types
from pygls.lsp.client import LanguageClient
from pygls.uris import from_fs_path

WORDS = ("btrfs_", "kmal", "spin_", "list_", "EIN", "mutex_l")
GOAL_P95_MS = 50.0


def _statement_lines(text: str) -> list[int]:
    """Lines that are a simple statement inside a function body (tab-indented, ending in ;)."""
    return [n for n, line in enumerate(text.split("\n"))
            if line.startswith("\t") and line.strip().endswith(";") and "\\" not in line]


def _has_path_local(text: str, line: int) -> bool:
    """Whether the function around ``line`` declares ``struct btrfs_path *path`` before it."""
    lines = text.split("\n")
    for n in range(line, -1, -1):
        if re.match(r"^\w.*\(", lines[n]) and not lines[n].startswith("\t"):
            return "struct btrfs_path *path" in "\n".join(lines[n:line])
    return False


class Session:
    def __init__(self):
        self.client = LanguageClient("kernel-lsp-bench", "1")
        self.published: dict[int | None, float] = {}
        self.version = 0

        @self.client.feature(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
        def on_diagnostics(params: types.PublishDiagnosticsParams):
            self.published.setdefault(params.version, time.perf_counter())

    def change(self, uri: str, line: int, col: int, end_col: int, text: str) -> None:
        self.version += 1
        self.client.text_document_did_change(types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=self.version),
            content_changes=[types.TextDocumentContentChangePartial(
                range=types.Range(types.Position(line, col), types.Position(line, end_col)),
                text=text)]))

    async def timed(self, coro) -> tuple[float, object]:
        started = time.perf_counter()
        got = await asyncio.wait_for(coro, 60)
        return time.perf_counter() - started, got


async def run(args) -> int:
    root = Path(args.tree).resolve()
    path = root / args.file
    text = path.read_text("utf-8", "replace")
    s = Session()
    await s.client.start_io(sys.executable, "-m", "kernel_lsp", "serve")
    await s.client.initialize_async(types.InitializeParams(
        capabilities=types.ClientCapabilities(), root_uri=from_fs_path(str(root)),
        initialization_options={"debounceMs": 10}))
    s.client.initialized(types.InitializedParams())
    uri = from_fs_path(str(path))
    s.client.text_document_did_open(types.DidOpenTextDocumentParams(types.TextDocumentItem(
        uri=uri, language_id="c", version=0, text=text)))
    deadline = time.perf_counter() + args.timeout
    while 0 not in s.published and time.perf_counter() < deadline:
        await asyncio.sleep(0.01)
    if 0 not in s.published:
        raise SystemExit("no diagnostics for the opened file")
    await asyncio.sleep(args.settle)
    ident = types.TextDocumentIdentifier(uri)
    lines = _statement_lines(text)
    step = max(1, len(lines) // args.rounds)
    first = None
    words, members, sigs, counts = [], [], [], []
    for r in range(args.rounds):
        line = lines[(r * step) % len(lines)]
        col = len(text.split("\n")[line]) - len(text.split("\n")[line].lstrip("\t"))
        word = WORDS[r % len(WORDS)]
        for i, ch in enumerate(word):
            await asyncio.sleep(args.pause)
            s.change(uri, line, col + i, col + i, ch)
            took, got = await s.timed(s.client.text_document_completion_async(
                types.CompletionParams(ident, types.Position(line, col + i + 1))))
            counts.append(len(got.items) if got else 0)
            if first is None:
                first = took
            else:
                words.append(took)
        s.change(uri, line, col, col + len(word), "")
        if _has_path_local(text, line):
            s.change(uri, line, col, col, "path->")
            took, got = await s.timed(s.client.text_document_completion_async(
                types.CompletionParams(ident, types.Position(line, col + 6))))
            members.append((took, len(got.items) if got else 0))
            s.change(uri, line, col, col + 6, "")
        s.change(uri, line, col, col, "btrfs_release_path(")
        took, got = await s.timed(s.client.text_document_signature_help_async(
            types.SignatureHelpParams(ident, types.Position(line, col + 19))))
        sigs.append((took, bool(got and got.signatures)))
        s.change(uri, line, col, col + 19, "")
    await s.client.shutdown_async(None)
    s.client.exit(None)
    await asyncio.sleep(0.5)
    await s.client.stop()

    def report(name: str, values: list[float]) -> None:
        if not values:
            print(f"{name}: none measured")
            return
        values = sorted(values)
        p95 = values[int(0.95 * (len(values) - 1))]
        verdict = "met" if 1000 * p95 < GOAL_P95_MS else "not met"
        print(f"{name} over {len(values)} requests: median "
              f"{1000 * statistics.median(values):.1f} ms, p95 {1000 * p95:.1f} ms, max "
              f"{1000 * values[-1]:.1f} ms (goal p95 < {GOAL_P95_MS:.0f} ms: {verdict})")

    print(f"file: {args.file} ({len(text.splitlines())} lines), {args.rounds} rounds, "
          f"{1000 * args.pause:.0f} ms between keystrokes")
    print(f"first completion (cold name cache): {1000 * first:.1f} ms")
    report("completion of a word, typed a character at a time", words)
    print(f"  items per answer: median {statistics.median(counts):.0f}, max {max(counts)}")
    report("member completion after `path->`", [t for t, _ in members])
    if members:
        print(f"  members offered: {sorted({n for _, n in members})}")
    report("signature help in btrfs_release_path(", [t for t, _ in sigs])
    print(f"  answered with a signature: {sum(ok for _, ok in sigs)} of {len(sigs)}")
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("tree")
    ap.add_argument("--file", default="fs/btrfs/ctree.c")
    ap.add_argument("--rounds", type=int, default=40)
    ap.add_argument("--pause", type=float, default=0.12,
                    help="seconds between keystrokes (0.12: a fast typist)")
    ap.add_argument("--settle", type=float, default=5.0,
                    help="seconds to wait after the first diagnostics (startup re-index)")
    ap.add_argument("--timeout", type=float, default=600)
    return asyncio.run(run(ap.parse_args()))


if __name__ == "__main__":
    raise SystemExit(main())
