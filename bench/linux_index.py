"""Benchmark: index the Linux tree cold and warm, compare with a bare tree-sitter parse, count findings.

Run by hand (not a CI test):

    python bench/linux_index.py /path/to/linux-source-6.1 [--jobs 2] [--sample 25]

It deletes ``<tree>/.kernel-lsp`` first (cold run), then re-indexes with nothing changed (warm
run), then checks ``fs/``, ``kernel/`` and ``mm/``. Linux builds with
``-Werror=implicit-function-declaration``, so every 404_2 reported there is a false positive: a
sample is printed to guide the work.
"""

from __future__ import annotations

import argparse
import collections
import multiprocessing
import os
import re
import resource
import shutil
import sys
import threading
import time
from pathlib import Path

import tree_sitter_c
from tree_sitter import Language, Parser

sys.path.insert(0, str(Path(__file__).resolve().parent))

import kstats  # noqa: E402

from kernel_lsp.config import load_config
from kernel_lsp.live.workspace import open_workspace
from kernel_lsp.model.indexer import index
from kernel_lsp.model.walk import discover

CHECKED_DIRS = ("fs", "kernel", "mm")
_parser = None


def _bare_parse(path: str) -> int:
    global _parser
    if _parser is None:
        _parser = Parser(Language(tree_sitter_c.language()))
    data = Path(path).read_bytes()
    _parser.parse(data)
    return len(data)


def bare_parse_seconds(files: list[str], jobs: int) -> float:
    start = time.perf_counter()
    with multiprocessing.get_context("forkserver").Pool(jobs) as pool:
        sum(pool.imap_unordered(_bare_parse, files, chunksize=16))
    return time.perf_counter() - start


def peak_rss_mb() -> float:
    """The peak resident memory of this process (the index's workers are sampled by
    ``TreeMemory``: a forkserver's workers are not this process's children)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class TreeMemory(threading.Thread):
    """Samples the memory of this process and all its descendants (pool workers of a
    forkserver are its grandchildren, which ``RUSAGE_CHILDREN`` does not see) twice a second:
    the largest sum of resident memory (RSS, which counts a page shared by several processes
    in each), the largest single process, and the largest sum of proportional memory (PSS:
    a shared page split among its sharers, what the processes take from the machine), in MiB."""

    def __init__(self):
        super().__init__(daemon=True)
        self.peak_sum = self.peak_one = self.peak_pss = 0.0
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.wait(0.5):
            sampled = _tree_memory_kib(os.getpid())
            rss = [r / 1024 for r, _ in sampled]
            self.peak_sum = max(self.peak_sum, sum(rss))
            self.peak_one = max(self.peak_one, max(rss, default=0.0))
            self.peak_pss = max(self.peak_pss, sum(p for _, p in sampled) / 1024)


def _tree_memory_kib(root: int) -> list[tuple[int, int]]:
    """(VmRSS, Pss) of ``root`` and of each of its descendants (walked through ``/proc``'s
    children lists), in KiB (Pss 0 where ``smaps_rollup`` cannot be read)."""
    out, stack = [], [root]
    while stack:
        proc = Path("/proc") / str(stack.pop())
        try:
            m = re.search(r"^VmRSS:\s+(\d+) kB", (proc / "status").read_text(), re.M)
            stack += [int(c) for task in (proc / "task").iterdir()
                      for c in (task / "children").read_text().split()]
        except OSError:
            continue  # gone meanwhile
        try:
            p = re.search(r"^Pss:\s+(\d+) kB", (proc / "smaps_rollup").read_text(), re.M)
        except OSError:
            p = None
        out.append((int(m.group(1)) if m else 0, int(p.group(1)) if p else 0))
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("tree", type=Path)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--sample", type=int, default=25, help="404_2 findings to print")
    args = ap.parse_args()
    root = args.tree.resolve()
    config, messages = load_config(root)
    for m in messages:
        print("config:", m)
    shutil.rmtree(root / ".kernel-lsp", ignore_errors=True)

    found, _ = discover(config)
    files = [str(sf.abs) for sf in found if sf.size <= config.max_file_bytes]
    print(f"files: {len(found)} ({len(files)} within max_file_bytes)")

    t_bare = bare_parse_seconds(files, args.jobs)
    print(f"bare tree-sitter parse, {args.jobs} processes: {t_bare:.1f} s")

    memory = TreeMemory()
    memory.start()
    start = time.perf_counter()
    result = index(config, jobs=args.jobs)
    t_cold = time.perf_counter() - start
    memory.stopped.set()
    print(f"cold index: {t_cold:.1f} s  (ratio to bare parse: {t_cold / t_bare:.2f}x, goal <= 2.0x)")
    phases = {k: v for k, v in result.stats.items() if k.endswith("_seconds")}
    print("  phases:", ", ".join(f"{k.removesuffix('_seconds')} {v:.1f} s" for k, v in phases.items()),
          "(bench/extract_profile.py: where the extraction's time goes)")
    print(f"  cross-file macro expansion in {result.stats.get('expand_processes')} processes, "
          f"{result.stats.get('macro_generated')} definitions generated")
    print(f"problems reported while indexing: {len(result.problems)}")
    print(f"  memory of the cold index (every process, sampled): largest process "
          f"{memory.peak_one:.0f} MiB, all processes together {memory.peak_sum:.0f} MiB RSS, "
          f"{memory.peak_pss:.0f} MiB PSS (goal < 1.5 GB)")
    result.model.close()

    start = time.perf_counter()
    warm = index(config, jobs=args.jobs)
    t_warm = time.perf_counter() - start
    print(f"warm re-index, nothing changed: {t_warm:.2f} s (goal < 10 s); stats {warm.stats}")
    model = warm.model

    print("types by level:", model.level_counts())
    print("relationships:", model.relationship_counts())
    print("table rows:", model.counts())
    db = config.db_path
    size = sum(p.stat().st_size for p in db.parent.glob("model.db*"))
    print(f"database size: {size / 2**20:.0f} MiB ({size / 1e6:.1f} MB), goal < 600")
    print("  largest tables and indexes (MiB): " + ", ".join(
        f"{name} {mib:.0f}" for name, mib in kstats.table_sizes(db)))

    start = time.perf_counter()
    findings = [r.finding for r in
                open_workspace(config, model, list(CHECKED_DIRS)).findings(list(CHECKED_DIRS))]
    t_check = time.perf_counter() - start
    print(f"checks on {', '.join(CHECKED_DIRS)}: {t_check:.1f} s")
    report(config.db_path, findings, args.sample)
    print(f"peak RSS of the main process (cold and warm index, checks): {peak_rss_mb():.0f} MiB")
    return 0


def report(db: Path, findings, sample: int) -> None:
    # a finding in a header the checked files include counts under the header's directory
    by_dir: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    for f in findings:
        by_dir[f.path.split("/", 1)[0]][f.code] += 1
    counts = kstats.per_file_counts(db)
    tot_calls = tot_uses = 0
    for d in CHECKED_DIRS:
        calls, uses = kstats.totals(counts, lambda p, d=d: p.startswith(d + "/"))
        tot_calls += calls
        tot_uses += uses
        print(f"  {d}/: call sites {calls}, type uses {uses}, findings {dict(by_dir[d])}")
    for d in sorted(set(by_dir) - set(CHECKED_DIRS)):
        print(f"  {d}/ (headers the checked files include): findings {dict(by_dir[d])}")
    total = collections.Counter(f.code for f in findings)
    classes = collections.Counter(kstats.rate_class(f.code, f.message) for f in findings)
    n404, n020, n020f = total["404_2"], classes["020_2 types"], classes["020_2 functions"]
    print(f"  total: {dict(total)}")
    print(f"  404_2 per 1,000 call sites: {kstats.per_1000(n404, tot_calls):.2f} (goal < 1)")
    print(f"  020_2 (types) per 1,000 type uses: {kstats.per_1000(n020, tot_uses):.2f} (goal < 1)")
    print(f"  020_2 (functions) per 1,000 call sites: {kstats.per_1000(n020f, tot_calls):.2f}")
    for code in ("404_2", "020_2", "405_2", "406_2"):
        shown = [f for f in findings if f.code == code][:sample]
        if shown:
            print(f"sample of {code} (false positives on a tree that builds):")
            for f in shown:
                print(f"  {f.path}:{f.line + 1}:{f.col + 1}: {f.message}")


if __name__ == "__main__":
    sys.exit(main())
