"""Benchmark: a warm single-file ``kernel-lsp check`` on a kernel tree, as a user runs it.

Run by hand (not a CI test), after ``kernel-lsp index TREE`` built the model:

    python bench/single_file_check.py /path/to/linux [--file fs/open.c] [--runs 5]

Each run is a fresh ``kernel-lsp check FILE`` process started in the tree's root (the warm
index run it makes is part of it: a no-op walk of the tree), then ``check --no-index FILE``.
Prints, per run and as medians: wall seconds, CPU seconds (user + system, which a busy machine
does not inflate) and peak RSS (``ru_maxrss`` of the child), plus a phase breakdown of one in-process run.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

GOAL_SECONDS, GOAL_MB = 1.0, 300


def one_run(tree: Path, rel: str, *extra: str) -> tuple[float, float, float, int]:
    """(wall s, cpu s, peak RSS MB, exit status) of one check process (its own rusage)."""
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "kernel_lsp", "check", *extra, rel],
                            cwd=tree, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    return (wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, proc.returncode)


def phases(tree: Path, rel: str) -> dict[str, float]:
    """Seconds of each phase of one check, in this process (imports included)."""
    out: dict[str, float] = {}
    t = time.perf_counter()
    from kernel_lsp.config import load_config
    from kernel_lsp.live.workspace import open_workspace
    from kernel_lsp.model.indexer import index

    out["imports"] = time.perf_counter() - t
    config, _ = load_config(tree)
    t = time.perf_counter()
    result = index(config)
    out["index (warm no-op)"] = time.perf_counter() - t
    out["  of which the tree walk"] = 0.0
    t = time.perf_counter()
    ws = open_workspace(config, result.model, [rel])
    out["open workspace"] = time.perf_counter() - t
    t = time.perf_counter()
    items = ws.findings([rel])
    out["findings"] = time.perf_counter() - t
    out["(findings reported)"] = len(items)
    ws.close()
    from kernel_lsp.model.walk import discover

    t = time.perf_counter()
    discover(config)
    out["  of which the tree walk"] = time.perf_counter() - t
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("tree", type=Path)
    parser.add_argument("--file", default="fs/open.c")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    tree = args.tree.resolve()
    if not (tree / ".kernel-lsp" / "model.db").is_file():
        raise SystemExit(f"no model in {tree}: run `kernel-lsp index {tree}` first")
    one_run(tree, args.file)  # warm the page cache and the model
    for extra in ((), ("--no-index",)):
        name = " ".join(("check", *extra, args.file))
        runs = [one_run(tree, args.file, *extra) for _ in range(args.runs)]
        for i, (wall, cpu, rss, code) in enumerate(runs, 1):
            print(f"{name} run {i}: wall {wall:.2f} s, cpu {cpu:.2f} s, peak RSS {rss:.0f} MB, "
                  f"exit {code}")
        wall = statistics.median(r[0] for r in runs)
        cpu = statistics.median(r[1] for r in runs)
        rss = max(r[2] for r in runs)
        print(f"{name}: median wall {wall:.2f} s (goal < {GOAL_SECONDS} s: "
              f"{'met' if wall < GOAL_SECONDS else 'not met'}), median cpu {cpu:.2f} s, "
              f"peak RSS {rss:.0f} MB (goal < {GOAL_MB} MB: "
              f"{'met' if rss < GOAL_MB else 'not met'})")
    print(f"load average while measuring: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    for name, value in phases(tree, args.file).items():
        print(f"  {name}: {value:.3f}" if isinstance(value, float) else f"  {name}: {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
