"""Benchmark: the first diagnostics on a cold tree (``live/first.py``), by hand on Linux.

    python bench/first_diagnostics.py /path/to/linux-source-6.1 lsp [--file fs/open.c]
    python bench/first_diagnostics.py /path/to/linux-source-6.1 agree [--sample 300]

``lsp``: a real client over stdio on a cold tree (the tree's ``model.db`` and ``first.db`` are
moved aside, and put back after): the time from ``initialize`` to the first
``publishDiagnostics`` of ``--file``, what it holds, and the first model's stats from the log.
The session ends there (the whole-tree index it started is stopped and its model dropped).

``agree``: what the first model shows against what the whole tree's model reports. The tree
must be indexed (``kernel-lsp index``). For each sampled C file of the tree that x86 builds
(half of them files with a 404_2/020_2/407_2 finding in the whole model, from ``--findings``
or from checking ``--pool`` random files, half at random), the
file alone is opened on a fresh ``first.db`` built next to the model (``first_run``); its
provisional findings are compared with the model's findings of that file: shown and confirmed
(same code, line and symbol), shown with another code, shown and not reported at all (false),
and the whole model's provable findings shown early (recall); after the first run and again
after the deep run that follows it (``deep_run``). Also the time each run takes.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.linux_gate import x86_paths  # noqa: E402
from kernel_lsp.config import load_config  # noqa: E402
from kernel_lsp.live.first import PROVABLE, Provisional, deep_run, first_run  # noqa: E402
from kernel_lsp.live.workspace import Workspace  # noqa: E402
from kernel_lsp.model.first import first_db_path, remove_first_db  # noqa: E402
from kernel_lsp.model.store import Model  # noqa: E402


def _aside(paths: list[Path]) -> list[Path]:
    moved = []
    for db in paths:
        for suffix in ("", "-wal", "-shm"):
            p = db.with_name(db.name + suffix)
            if p.exists():
                os.replace(p, p.with_name(p.name + ".bench-aside"))
                moved.append(p)
    return moved


def _restore(moved: list[Path], dbs: list[Path]) -> None:
    for db in dbs:
        for suffix in ("", "-wal", "-shm"):
            db.with_name(db.name + suffix).unlink(missing_ok=True)
    for p in moved:
        os.replace(p.with_name(p.name + ".bench-aside"), p)


async def lsp(args) -> int:
    from lsprotocol import types
    from pygls.lsp.client import LanguageClient
    from pygls.uris import from_fs_path

    root = Path(args.tree).resolve()
    config = load_config(root)[0]
    dbs = [config.db_path, first_db_path(config)]
    moved = _aside(dbs)
    client = LanguageClient("kernel-lsp-bench", "1")
    first: list = []
    logs: list[str] = []
    got = asyncio.Event()

    @client.feature(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    def on_diagnostics(params):
        if not first:
            first.append((time.perf_counter(), params))
            got.set()

    @client.feature(types.WINDOW_LOG_MESSAGE)
    def on_log(params):
        logs.append(params.message)

    @client.feature(types.WINDOW_WORK_DONE_PROGRESS_CREATE)
    def on_progress_create(params):
        return None

    @client.feature("$/progress")
    def on_progress(params):
        pass

    try:
        await client.start_io(sys.executable, "-m", "kernel_lsp", "serve")
        t0 = time.perf_counter()
        await client.initialize_async(types.InitializeParams(
            capabilities=types.ClientCapabilities(
                window=types.WindowClientCapabilities(work_done_progress=True)),
            root_uri=from_fs_path(str(root))))
        client.initialized(types.InitializedParams())
        path = root / args.file
        client.text_document_did_open(types.DidOpenTextDocumentParams(types.TextDocumentItem(
            uri=from_fs_path(str(path)), language_id="c", version=0,
            text=path.read_text("utf-8", "replace"))))
        await asyncio.wait_for(got.wait(), args.timeout)
        at, params = first[0]
        print(f"cold tree {root}: initialize -> first diagnostics of {args.file}: "
              f"{at - t0:.2f} s, {len(params.diagnostics)} diagnostics")
        for d in params.diagnostics:
            print(f"  {d.range.start.line + 1}: {d.code} {d.message}")
        for line in logs:
            if "first model" in line:
                print(f"  server: {line}")
        await client.shutdown_async(None)
        client.exit(None)
        await asyncio.sleep(1.0)
        await client.stop()
    finally:
        _restore(moved, dbs)
    return 0


def _key(f) -> tuple:
    return (f.line, f.symbol)


def agree(args) -> int:
    root = Path(args.tree).resolve()
    config = load_config(root)[0]
    if not config.db_path.exists():
        raise SystemExit(f"{config.db_path} does not exist: run kernel-lsp index {root} first")
    whole = Workspace(config)
    problem = whole.load()
    if problem or not whole.ready:
        raise SystemExit(f"cannot read the model: {problem}")
    tops = tuple(t + "/" for t in x86_paths(root))
    c_files = sorted(p for p in whole.ids if p.endswith(".c") and p.startswith(tops))
    rng = random.Random(args.seed)
    if args.findings:  # a whole-tree ``check --format json`` (the Linux gate writes one)
        data = json.loads(Path(args.findings).read_text())
        flagged = sorted({f["root_path"] for f in data["findings"] if f["code"] in PROVABLE
                          and f["root_path"] in set(c_files)})
    else:
        flagged = _flagged(whole, rng.sample(c_files, min(len(c_files), args.pool)))
    half = args.sample // 2
    sample = sorted(set(rng.sample(flagged, min(half, len(flagged))))
                    | set(rng.sample(c_files, args.sample - min(half, len(flagged)))))
    moved = _aside([first_db_path(config)])
    stages = {stage: dict(shown=0, confirmed=0, other_code=0, false=0, early=0, seconds=[],
                          misses={}, rows=[]) for stage in ("first run", "after the deep run")}
    files = final_total = 0
    try:
        for n, rel in enumerate(sample, 1):
            remove_first_db(config)
            final = [r.finding for r in whole.findings([rel]) if r.finding.path == rel]
            files += 1
            final_total += sum(f.code in PROVABLE for f in final)
            for stage in stages:
                t = time.perf_counter()
                if stage == "first run":
                    first_run(config, [rel])
                else:
                    deep_run(config)
                stages[stage]["seconds"].append(time.perf_counter() - t)
                _tally(stages[stage], rel, *_shown(config, rel), final)
            if n % 25 == 0:
                print(f"  {n}/{len(sample)} files ...", flush=True)
    finally:
        remove_first_db(config)
        _restore(moved, [first_db_path(config)])
    print(f"first model vs whole model, {files} C files of the x86 tree "
          f"({min(half, len(flagged))} with a provable finding in the whole model); the whole "
          f"model's 404_2/020_2/407_2 in these files: {final_total}")
    for stage, t in stages.items():
        seconds = sorted(t["seconds"])
        p95 = seconds[int(0.95 * (len(seconds) - 1))]
        print(f"{stage}: median {statistics.median(seconds):.2f} s, p95 {p95:.2f} s, max "
              f"{seconds[-1]:.2f} s per file (fresh first.db)")
        print(f"  shown: {t['shown']}: confirmed {t['confirmed']}, another code "
              f"{t['other_code']}, not reported by the whole model {t['false']}")
        print(f"  of the whole model's: {t['early']} ({100 * t['early'] / max(1, final_total):.1f}"
              " %); not shown: " + ", ".join(f"{k} {v}" for k, v in sorted(t["misses"].items())))
        for row in t["rows"][:20]:
            print(f"  {row}")
    whole.close()
    return 0


def _shown(config, rel: str) -> tuple[list, dict]:
    """The provisional findings of ``rel`` on ``first.db`` as it is, and the scanned names."""
    ws = Workspace(config)
    model = Model(first_db_path(config))
    ws.adopt(model)
    ws.provisional = Provisional.of(model)
    try:
        return [r.finding for r in ws.findings([rel])], dict(ws.provisional.scanned)
    finally:
        ws.close()


def _tally(t: dict, rel: str, shown: list, scanned: dict, final: list) -> None:
    final_keys: dict[tuple, set[str]] = {}
    for f in final:
        final_keys.setdefault(_key(f), set()).add(f.code)
    shown_keys = set()
    t["shown"] += len(shown)
    for f in shown:
        shown_keys.add((f.code, *_key(f)))
        codes = final_keys.get(_key(f))
        if codes and f.code in codes:
            t["confirmed"] += 1
        elif codes:
            t["other_code"] += 1
            t["rows"].append(f"code: {rel}:{f.line}: {f.code} -> {sorted(codes)} {f.symbol}")
        else:
            t["false"] += 1
            t["rows"].append(f"false: {rel}:{f.line}: {f.code} {f.symbol}")
    for f in final:
        if f.code not in PROVABLE:
            continue
        if (f.code, *_key(f)) in shown_keys:
            t["early"] += 1
            continue
        state = scanned.get(f.symbol)
        why = {None: "name not scanned", False: "name in too many files"}.get(
            state, "name settled, not shown")
        t["misses"][why] = t["misses"].get(why, 0) + 1
        if state:
            t["rows"].append(f"missed: {rel}:{f.line}: {f.code} {f.symbol}")


def _flagged(whole: Workspace, pool: list[str]) -> list[str]:
    """Files of ``pool`` with a provable finding in the whole model."""
    out = []
    for rel in pool:
        if any(r.finding.code in PROVABLE and r.finding.path == rel
               for r in whole.findings([rel])):
            out.append(rel)
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("tree")
    ap.add_argument("mode", choices=("lsp", "agree"))
    ap.add_argument("--file", default="fs/open.c")
    ap.add_argument("--timeout", type=float, default=600)
    ap.add_argument("--sample", type=int, default=300)
    ap.add_argument("--findings", help="a whole-tree check's JSON: the files with findings")
    ap.add_argument("--pool", type=int, default=400,
                    help="without --findings: random files checked to find flagged ones")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args(argv)
    return asyncio.run(lsp(args)) if args.mode == "lsp" else agree(args)


if __name__ == "__main__":
    sys.exit(main())
