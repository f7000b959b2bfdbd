"""Benchmark: ``kernel-lsp check --since REV`` on a kernel tree made into a git repository.

Run by hand (not a CI test), after ``kernel-lsp index TREE`` and ``bench/since_patches.py``:

    python bench/since_review.py /path/to/linux [--rev HEAD~10]

Runs the check twice in fresh processes: first with the model still at REV (the run re-indexes
the files the commits changed), then again (warm). Prints wall seconds, CPU seconds and peak
RSS of each, the statistics of the comparison and every finding reported as introduced.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path


def run(tree: Path, rev: str) -> tuple[float, float, float, dict, str]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "kernel_lsp", "check", "--since", rev,
                           "--format", "json"], cwd=tree, capture_output=True, text=True)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    if done.returncode not in (0, 1):
        raise SystemExit(f"check failed ({done.returncode}):\n{done.stderr}")
    return wall, cpu, after.ru_maxrss / 1024, json.loads(done.stdout), done.stderr


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("tree", type=Path)
    ap.add_argument("--rev", default="HEAD~10")
    args = ap.parse_args()
    tree = args.tree.resolve()
    log = subprocess.run(["git", "-C", str(tree), "log", "--oneline", f"{args.rev}..HEAD"],
                         capture_output=True, text=True, check=True).stdout
    print(f"commits {args.rev}..HEAD:\n{log}")
    for label in ("first (re-indexes the changed files)", "again (warm)"):
        wall, cpu, rss, doc, err = run(tree, args.rev)
        print(f"{label}: wall {wall:.1f} s, cpu {cpu:.1f} s, peak RSS {rss:.0f} MB")
        print("  " + err.strip().splitlines()[-1])
    print("stats.since:", json.dumps(doc["stats"]["since"]))
    print(f"parsed by the index run: {doc['stats'].get('parsed')}")
    for f in doc["findings"]:
        print(f"  {f['path']}:{f['line']}:{f['column']}: {f['code']} {f['symbol']}: {f['message']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
