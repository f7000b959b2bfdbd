"""Benchmark: what extraction costs per file against a bare tree-sitter parse, and where it goes.

Run by hand (not a CI test):

    python bench/extract_profile.py /path/to/linux-source-6.1 [--jobs 2] [--profile 600]

For every file the indexer would extract (the same discovery and configuration), it times a bare
parse and the worker's extraction (``parse/extract.extract``, which parses again itself), with
``--jobs`` processes, and prints the totals, their ratio, the directories and the files that
cost most against their parse (a cost that grows faster than a file's length shows up there
first). Then it profiles the extraction of ``--profile`` files spread evenly over the tree in
this process (``cProfile``) and prints the functions with the most time of their own. The
database is not touched: this measures the workers' side of a cold index only.
"""

from __future__ import annotations

import argparse
import collections
import cProfile
import multiprocessing
import pstats
import sys
import time
from pathlib import Path

import tree_sitter_c
from tree_sitter import Language, Parser

from kernel_lsp.config import load_config
from kernel_lsp.model.configuration import load_configuration
from kernel_lsp.model.walk import discover
from kernel_lsp.parse.extract import extract

_parser = None
_env = None


def _init(env) -> None:
    global _parser, _env
    _parser, _env = Parser(Language(tree_sitter_c.language())), env


def _measure(item: tuple[str, str]) -> tuple[str, int, float, float]:
    path, abs_path = item
    data = Path(abs_path).read_bytes()
    t0 = time.perf_counter()
    _parser.parse(data)
    t1 = time.perf_counter()
    try:
        extract(path, data, env=_env)
    except Exception:  # its time still counts; the indexer records a problem and goes on
        pass
    return path, len(data), t1 - t0, time.perf_counter() - t1


def _top_dir(path: str) -> str:
    parts = path.split("/")
    return "/".join(parts[:2]) if len(parts) > 2 else parts[0]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("tree", type=Path)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--profile", type=int, default=600, help="files to profile (0: none)")
    ap.add_argument("--top", type=int, default=15)
    args = ap.parse_args()
    config, _ = load_config(args.tree)
    found, _ = discover(config)
    items = [(sf.path, str(sf.abs)) for sf in found if sf.size <= config.max_file_bytes]
    env, _ = load_configuration(config.root, config.arch)
    print(f"files: {len(items)}; configuration: {env.source}")
    start = time.perf_counter()
    with multiprocessing.get_context("forkserver").Pool(args.jobs, _init, (env,)) as pool:
        rows = list(pool.imap_unordered(_measure, items, chunksize=8))
    wall = time.perf_counter() - start
    parse, work = sum(r[2] for r in rows), sum(r[3] for r in rows)
    print(f"wall {wall:.1f} s with {args.jobs} processes; CPU in bare parse {parse:.1f} s, "
          f"in extraction {work:.1f} s: extraction = {work / parse:.2f}x the parse "
          f"({(parse + work) / parse:.2f}x counting the bare parse too)")
    by_dir: dict[str, list[float]] = collections.defaultdict(lambda: [0.0, 0.0, 0])
    for path, _, p, w in rows:
        d = by_dir[_top_dir(path)]
        d[0] += p
        d[1] += w
        d[2] += 1
    print(f"\ndirectories with the most extraction time (top {args.top}):")
    for name, (p, w, n) in sorted(by_dir.items(), key=lambda kv: -kv[1][1])[:args.top]:
        print(f"  {name:32s} {n:6d} files  parse {p:7.1f} s  extraction {w:7.1f} s  {w / p:5.1f}x")
    print(f"\nfiles with the most extraction time (top {args.top}):")
    for path, size, p, w in sorted(rows, key=lambda r: -r[3])[:args.top]:
        print(f"  {path} ({size // 1024} KiB): parse {p * 1000:.0f} ms, "
              f"extraction {w * 1000:.0f} ms ({w / max(p, 1e-6):.1f}x)")
    if args.profile:
        step = max(1, len(items) // args.profile)
        sample = items[::step][:args.profile]
        _init(env)
        prof = cProfile.Profile()
        prof.enable()
        for item in sample:
            _measure(item)
        prof.disable()
        print(f"\nprofile of {len(sample)} files (every {step}th), by own time:")
        pstats.Stats(prof, stream=sys.stdout).sort_stats("tottime").print_stats(20)
    return 0


if __name__ == "__main__":
    sys.exit(main())
