"""Benchmark: the language server on a real kernel tree, as an editor sees it.

Run by hand (not a CI test):

    python bench/lsp_latency.py /path/to/linux-source-6.1 [--file fs/btrfs/ctree.c]
        [--edits 200] [--debounce 10] [--cold] [--line N]

Measures, with a real client over stdio:
- time from ``initialize`` to the first ``publishDiagnostics`` of the opened file (warm: the
  tree's ``.kernel-lsp/model.db`` exists; ``--cold`` moves it aside first and restores it after);
- latency from each one-character ``didChange`` to the ``publishDiagnostics`` of that version,
  median and p95 over ``--edits`` edits (typing a character inside a function body, then
  deleting it, alternately), with the given debounce;
- the server's resident memory (VmRSS and peak VmHWM from /proc) at the end;
- where a check's time goes: the server runs with ``KERNEL_LSP_TIMINGS`` set and logs each
  check's phases (``local``: serving the keystroke from the edited body; ``parse``/``extract``:
  the full update when it cannot; ``tables``, ``checks``, ``bpf``, ``fixes``; ``total``: the
  whole check on the model thread), printed as median / p95 / max over the edits.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
from pathlib import Path

from lsprotocol import types
from pygls.lsp.client import LanguageClient
from pygls.uris import from_fs_path


def _memory(pid: int) -> dict[str, int]:
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                out[key] = int(value.split()[0]) // 1024
    return out


def _edit_point(text: str) -> tuple[int, int]:
    """A position inside a function body in the middle of the file: start of an indented line."""
    lines = text.split("\n")
    for n in range(len(lines) // 2, len(lines)):
        if lines[n].startswith("\t") and lines[n].strip().endswith(";"):
            return n, 1
    raise SystemExit("no indented statement found in the second half of the file")


async def run(args) -> int:
    root = Path(args.tree).resolve()
    path = root / args.file
    text = path.read_text("utf-8", "replace")
    db = root / ".kernel-lsp" / "model.db"
    moved = []
    if args.cold:
        for suffix in ("", "-wal", "-shm"):
            p = db.with_name(db.name + suffix)
            if p.exists():
                os.replace(p, p.with_name(p.name + ".bench-aside"))
                moved.append(p)
    client = LanguageClient("kernel-lsp-bench", "1")
    published: dict[int | None, float] = {}
    phases: dict[int, dict[str, float]] = {}
    got_first = asyncio.Event()

    arrived = asyncio.Event()

    @client.feature(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    def on_diagnostics(params: types.PublishDiagnosticsParams):
        published.setdefault(params.version, time.perf_counter())
        arrived.set()
        if params.diagnostics is not None:
            got_first.set()

    @client.feature(types.WINDOW_LOG_MESSAGE)
    def on_log(params: types.LogMessageParams):
        words = params.message.split()
        if words[1:2] == ["timings"] and words[3].startswith("v="):
            version = words[3][2:]
            if version.isdigit():  # the first check of a version (not a later exact one)
                phases.setdefault(int(version), {k: float(v) for k, v in
                                                 (w.split("=") for w in words[4:] if "=" in w)})

    @client.feature(types.WINDOW_WORK_DONE_PROGRESS_CREATE)
    def on_progress_create(params):
        return None

    @client.feature("$/progress")
    def on_progress(params):
        pass

    os.environ["KERNEL_LSP_TIMINGS"] = "1"
    try:
        await client.start_io(sys.executable, "-m", "kernel_lsp", "serve")
        pid = client._server.pid
        t0 = time.perf_counter()
        await client.initialize_async(types.InitializeParams(
            capabilities=types.ClientCapabilities(
                window=types.WindowClientCapabilities(work_done_progress=True)),
            root_uri=from_fs_path(str(root)),
            initialization_options={"debounceMs": args.debounce}))
        client.initialized(types.InitializedParams())
        uri = from_fs_path(str(path))
        client.text_document_did_open(types.DidOpenTextDocumentParams(types.TextDocumentItem(
            uri=uri, language_id="c", version=0, text=text)))
        # the first diagnostics that come from a loaded model (an empty list may come first)
        while True:
            await asyncio.wait_for(got_first.wait(), args.timeout)
            if db.exists() or not args.cold:
                break
        first = published[0] - t0
        # let the startup re-index finish so it does not compete with the edits
        await asyncio.sleep(args.settle)
        line, col = (args.line - 1, 1) if args.line else _edit_point(text)
        # this client's own first use of a message type is not the server's latency (cattrs
        # builds its code then: 76 ms for the first didChange here): built before timing
        client.protocol._converter.unstructure(types.DidChangeTextDocumentNotification(
            params=types.DidChangeTextDocumentParams(
                text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=0),
                content_changes=[types.TextDocumentContentChangePartial(
                    range=types.Range(types.Position(line, col), types.Position(line, col)),
                    text="x")])))
        latencies, sent_at = [], []
        for n in range(1, args.edits + 1):
            insert = n % 2 == 1
            rng = types.Range(types.Position(line, col),
                              types.Position(line, col if insert else col + 1))
            sent = time.perf_counter()
            sent_at.append(time.time())
            client.text_document_did_change(types.DidChangeTextDocumentParams(
                text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=n),
                content_changes=[types.TextDocumentContentChangePartial(
                    range=rng, text="x" if insert else "")]))
            deadline = sent + 30
            while n not in published and time.perf_counter() < deadline:
                arrived.clear()  # wait for the next publication without polling (no CPU)
                try:
                    await asyncio.wait_for(arrived.wait(), max(0.0, deadline - time.perf_counter()))
                except TimeoutError:
                    break
            if n not in published:
                raise SystemExit(f"no diagnostics for version {n} within 30 s")
            latencies.append(published[n] - sent)
        mem = _memory(pid)
        slowest = sorted(range(len(latencies)), key=latencies.__getitem__)[-3:][::-1]
        latencies_by_edit = list(latencies)
        latencies.sort()
        p95 = latencies[int(0.95 * (len(latencies) - 1))]
        print(f"file: {args.file} ({len(text.splitlines())} lines); debounce {args.debounce} ms")
        print(f"initialize -> first diagnostics ({'cold' if args.cold else 'warm'}): "
              f"{first:.2f} s")
        print(f"didChange -> publishDiagnostics over {len(latencies)} edits: "
              f"median {1000 * statistics.median(latencies):.1f} ms, p95 {1000 * p95:.1f} ms, "
              f"max {1000 * latencies[-1]:.1f} ms")
        print("slowest edits: " + ", ".join(f"#{n + 1} {1000 * latencies_by_edit[n]:.1f} ms "
                                            f"(server: {phases.get(n + 1)})" for n in slowest))
        print(f"server memory: VmRSS {mem.get('VmRSS')} MB, peak VmHWM {mem.get('VmHWM')} MB")
        _print_phases([phases[n] for n in range(1, args.edits + 1) if n in phases])
        await client.shutdown_async(None)
        client.exit(None)
        await asyncio.sleep(0.5)
        await client.stop()
    finally:
        for p in moved:
            aside = p.with_name(p.name + ".bench-aside")
            if aside.exists():
                for suffix in ("", "-wal", "-shm"):  # drop what the cold run built
                    q = db.with_name(db.name + suffix)
                    if q.exists():
                        q.unlink()
                os.replace(aside, p)
    return 0


def _print_phases(rows: list[dict[str, float]]) -> None:
    """Median / p95 / max of each phase the server logged, over the checks that ran it."""
    if not rows:
        print("server phases: none logged (a server without KERNEL_LSP_TIMINGS support)")
        return
    names = sorted({k for r in rows for k in r}, key=lambda k: (k != "total", k))
    print(f"server phases over {len(rows)} checks (ms: median / p95 / max; n = checks "
          "that ran the phase):")
    for name in names:
        values = sorted(r[name] for r in rows if name in r)
        p95 = values[int(0.95 * (len(values) - 1))]
        print(f"  {name:8} {statistics.median(values):7.2f} / {p95:7.2f} / {values[-1]:7.2f}"
              f"   n={len(values)}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("tree")
    ap.add_argument("--file", default="fs/btrfs/ctree.c")
    ap.add_argument("--edits", type=int, default=200)
    ap.add_argument("--debounce", type=int, default=10)
    ap.add_argument("--cold", action="store_true")
    ap.add_argument("--line", type=int, default=None,
                    help="1-based line to type on (after its first character; default: the "
                         "first indented statement of the second half of the file)")
    ap.add_argument("--settle", type=float, default=5.0,
                    help="seconds to wait after the first diagnostics (startup re-index)")
    ap.add_argument("--timeout", type=float, default=1800)
    return asyncio.run(run(ap.parse_args()))


if __name__ == "__main__":
    raise SystemExit(main())
