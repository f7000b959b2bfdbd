"""Benchmark: design verification on a real kernel tree (issue 11's goals).

Run by hand (not a CI test), on a tree whose model is built (``kernel-lsp index TREE``):

    python bench/design_linux.py /path/to/linux-source-6.1 [--repeat 3]

Measures, and prints against the goals:
1. the open demand extracted from ``SYSCALL_DEFINE3(open, ...)`` in fs/open.c
   (``demand extract sys_open --depth 6``) verified: goal < 1 s;
2. a demand of 350 invocations (``demand extract sys_open --depth 12 --limit 350``)
   verified: goal < 2 s;
3. ``selfcheck`` on the whole tree: goal < 30 s;
4. the example policies (examples/policies/*.layers.yaml) checked on the whole tree: goal
   < 30 s with zero findings.
Each is timed twice: in process with an open workspace (the verification itself; the first
run pays the lazy symbol tables, the next ones are warm), and as the ``kernel-lsp`` command a
user runs (its wall time includes the up-to-date check of the model, about 2-3 s on Linux).
The model's size (the relationships view: about 10 s on Linux) is computed once per index run
and cached in the model; it is timed apart.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from kernel_lsp.config import load_config, load_policies  # noqa: E402
from kernel_lsp.design.demand import load_demand_file  # noqa: E402
from kernel_lsp.design.extract import extract_demand  # noqa: E402
from kernel_lsp.design.selfcheck import selfcheck  # noqa: E402
from kernel_lsp.live.workspace import open_workspace  # noqa: E402
from kernel_lsp.model.store import Model  # noqa: E402

POLICIES = sorted((REPO / "examples" / "policies").glob("*.layers.yaml"))


def timed(fn, *args):
    t = time.perf_counter()
    out = fn(*args)
    return time.perf_counter() - t, out


def cli(args: list[str]) -> tuple[float, int]:
    t = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "kernel_lsp", *args], capture_output=True)
    return time.perf_counter() - t, proc.returncode


def line(what: str, seconds: float, goal: float | None, extra: str = "") -> None:
    verdict = "" if goal is None else ("  met" if seconds < goal else "  NOT MET")
    goal_s = f"(goal < {goal:g} s)" if goal is not None else ""
    print(f"  {what:<58} {seconds:7.2f} s {goal_s:<14}{verdict} {extra}")


def verify_bench(ws, tree: Path, demand_path: Path, goal: float, repeat: int) -> None:
    demand, problems = load_demand_file(demand_path, demand_path.name)
    cold, run = timed(ws.verify, [(demand, demand_path.name, problems)])
    warm = [timed(ws.verify, [(demand, demand_path.name, problems)])[0] for _ in range(repeat)]
    s = run.summary()
    print(f"  {demand.invocation_count} invocations, {s['paths']} paths, "
          f"{s['dependent_types']} dependent types, {s['dependent_relationships']} dependent "
          f"relationships: {s['invocations_right']} right, "
          f"{s['invocations'] - s['invocations_right']} wrong ({run.code})")
    line("verify, in process, first run (cold symbol tables)", cold, goal)
    line(f"verify, in process, warm (median of {repeat})", statistics.median(warm), goal)
    seconds, status = cli(["verify", str(demand_path), "--root", str(tree), "--format", "json",
                           "--output", "/dev/null"])
    line(f"kernel-lsp verify --format json (exit {status})", seconds, None)
    seconds, status = cli(["verify", str(demand_path), "--root", str(tree), "--format", "html",
                           "--output", "/dev/null"])
    line(f"kernel-lsp verify --format html (exit {status})", seconds, None)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("tree", type=Path)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    tree = args.tree.resolve()
    config, _ = load_config(tree)
    if not config.db_path.exists():
        raise SystemExit(f"no model at {config.db_path}: run kernel-lsp index {tree} first")
    model = Model(config.db_path)
    work = Path(tempfile.mkdtemp(prefix="kernel-lsp-design-bench-"))
    print(f"tree {tree}")
    seconds, counts = timed(model.counts)
    print(f"model: {counts['files']} files, {counts['functions']} functions, "
          f"{counts['types']} types, {counts['calls']} calls")

    model.conn.execute("DELETE FROM meta WHERE key = 'design_size'")
    seconds, _size = timed(model.design_model_size)
    line("model size (relationships view), once per index run", seconds, None)

    seconds, ws = timed(open_workspace, config, model, [])
    line("open the workspace (lazy tables, member names)", seconds, None)

    print("\n1. the extracted open demand")
    seconds, (text, edges) = timed(extract_demand, model, config.arch, "sys_open", 6)
    open_demand = work / "open.demand.yaml"
    open_demand.write_text(text)
    line(f"demand extract sys_open --depth 6 ({edges} invocations)", seconds, None)
    verify_bench(ws, tree, open_demand, 1.0, args.repeat)

    print("\n2. a demand of 350 invocations")
    seconds, (text, edges) = timed(extract_demand, model, config.arch, "sys_open", 12, 350)
    big = work / "open350.demand.yaml"
    big.write_text(text)
    line(f"demand extract sys_open --depth 12 --limit 350 ({edges})", seconds, None)
    verify_bench(ws, tree, big, 2.0, args.repeat)

    print("\n3. selfcheck on the whole tree")
    seconds, report = timed(selfcheck, model, config)
    line(f"selfcheck, in process ({len(report.missing)} missing, "
         f"{len(report.undefined)} never defined)", seconds, 30.0)
    seconds, status = cli(["selfcheck", "--root", str(tree), "--format", "json",
                           "--output", "/dev/null"])
    line(f"kernel-lsp selfcheck --format json (exit {status})", seconds, 30.0)

    print("\n4. the example policies on the whole tree")
    load_policies(config, tuple(POLICIES))
    ws.config = config
    seconds, items = timed(ws.layer_findings, None)
    line(f"layer check, in process ({len(items)} findings)", seconds, 30.0,
         "zero findings" if not items else "FINDINGS")
    out = work / "policies.json"
    seconds, status = cli(["verify", *map(str, POLICIES), "--root", str(tree), "--format",
                           "json", "--output", str(out)])
    found = len(json.loads(out.read_text())["findings"]) if out.exists() else -1
    line(f"kernel-lsp verify {len(POLICIES)} policies (exit {status}, {found} findings)",
         seconds, 30.0)
    ws.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
