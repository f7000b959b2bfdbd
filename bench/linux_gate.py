"""Linux gate: index and check the whole tree that x86 builds, fail when precision regresses.

    python bench/linux_gate.py [TREE] [--tarball /usr/src/linux-source-6.1.tar.xz] [--jobs N]
                               [--arch x86]
                               [--max-404 0.5] [--max-020-func 0.5] [--max-020-type 0.5]
                               [--max-407 0.5] [--max-405-406 50] [--output REPORT.json]
                               [--determinism] [--budget SECONDS]

TREE defaults to ``${XDG_CACHE_HOME:-~/.cache}/kernel-lsp-ci/linux-source-6.1``; when it is
missing it is extracted from ``--tarball`` (Debian's ``linux-source-6.1``). The model lives in
``TREE/.kernel-lsp`` (outside the repository), so a rerun is a warm index. Linux builds with
``-Werror=implicit-function-declaration``, so every error finding on it is a false positive.

``--arch A`` measures another architecture instead (``kernel-lsp --arch A``: its defconfig, its
Kbuild judgement; the tree checked and counted is ``arch/A`` and the architecture-neutral part).
Its default tree is ``linux-source-6.1-A`` beside x86's, so that the two models do not replace
each other in the cache. The thresholds are x86's: only x86 (the default) is gated in CI.

``--budget SECONDS`` (CI: ``scripts/test.sh``) bounds the wall time of the index and the check.
An index still running at the budget is killed — the model is crash-consistent, so the next run
resumes it — and a check that would not fit after an index that had work to do (a check takes
as long as the last one did) waits for the next, warm, run: the gate then says "pending" and
exits 0. Once the cached model is complete, each
run is a warm index and a check, and the thresholds are enforced.

kernel-lsp is run as a black box (``kernel-lsp index``, ``kernel-lsp check --format json``); call
sites and type uses are counted from the model database (``kstats.py``). Exit status: 0 when every
threshold holds, 1 when one is crossed (or, with ``--determinism``, when two cold indexes with 1
and 2 worker processes give different findings), 2 when a step fails.
"""

from __future__ import annotations

import argparse
import difflib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import kstats  # noqa: E402

# Thresholds of the issue "Real-kernel precision and recall" (per 1,000 call sites / type uses).
MAX_404_PER_1000_CALLS = 0.5
MAX_020_FUNCTIONS_PER_1000_CALLS = 0.5
MAX_020_TYPES_PER_1000_TYPE_USES = 0.5
MAX_407_PER_1000_TYPE_USES = 0.5
MAX_405_PLUS_406 = 50

TOP_SYMBOLS = 15
TOP_DIRS = 15
SHOWN_CLASSES = ("404_2", "020_2 functions", "020_2 types", "407_2", "405_2", "406_2", "502_2",
                 "503_2", "504_2")
DEFAULT_TREE = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / \
    "kernel-lsp-ci" / "linux-source-6.1"


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("tree", nargs="?", type=Path,
                    help=f"default: {DEFAULT_TREE} (-ARCH appended for another --arch)")
    ap.add_argument("--tarball", type=Path, default=Path("/usr/src/linux-source-6.1.tar.xz"))
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--arch", default="x86", help="architecture under arch/ (default: x86)")
    ap.add_argument("--max-404", type=float, default=MAX_404_PER_1000_CALLS)
    ap.add_argument("--max-020-func", type=float, default=MAX_020_FUNCTIONS_PER_1000_CALLS)
    ap.add_argument("--max-020-type", type=float, default=MAX_020_TYPES_PER_1000_TYPE_USES)
    ap.add_argument("--max-407", type=float, default=MAX_407_PER_1000_TYPE_USES)
    ap.add_argument("--max-405-406", type=int, default=MAX_405_PLUS_406)
    ap.add_argument("--output", type=Path, help="also write kernel-lsp's JSON report there")
    ap.add_argument("--determinism", action="store_true",
                    help="two cold indexes (1 and 2 jobs) must give identical findings")
    ap.add_argument("--budget", type=float,
                    help="seconds for index and check; what does not fit resumes next run")
    args = ap.parse_args(argv)
    if not re.fullmatch(r"[A-Za-z0-9_]+", args.arch):
        ap.error(f"--arch: '{args.arch}' is not a directory name under arch/")
    if args.tree is None:
        args.tree = DEFAULT_TREE if args.arch == "x86" else \
            DEFAULT_TREE.with_name(f"{DEFAULT_TREE.name}-{args.arch}")
    return args


def step(msg: str) -> None:
    print(f"[gate] {msg}", flush=True)


class GateError(Exception):
    """A step failed (exit status 2)."""


class OutOfBudget(Exception):
    """A step did not fit in ``--budget`` (the gate is pending: exit status 0)."""


# ---------------------------------------------------------------- the tree


def extract(tarball: Path, tree: Path) -> None:
    """Extract Debian's tarball so that its top directory becomes ``tree`` (atomically)."""
    if not tarball.is_file():
        raise GateError(f"{tree} is missing and so is {tarball} "
                        "(apt-get install linux-source-6.1)")
    partial = tree.with_name(tree.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    step(f"extracting {tarball} into {tree}")
    subprocess.run(["tar", "-xf", str(tarball), "-C", str(partial)], check=True)
    tops = [p for p in partial.iterdir() if p.is_dir()]
    if len(tops) != 1:
        raise GateError(f"{tarball}: expected one top directory, found {len(tops)}")
    tops[0].rename(tree)
    shutil.rmtree(partial)


def x86_paths(tree: Path) -> list[str]:
    """The top-level paths of the tree that x86 builds, for ``kernel-lsp check``."""
    return arch_paths(tree, "x86")


def arch_paths(tree: Path, arch: str) -> list[str]:
    """The top-level paths of the tree that ``arch`` builds, for ``kernel-lsp check``."""
    out = []
    for top in sorted(p for p in tree.iterdir() if p.is_dir() and not p.name.startswith(".")):
        if top.name == "arch":
            out.append(f"arch/{arch}")
        elif top.name == "drivers":
            out += [f"drivers/{d.name}" for d in sorted(top.iterdir())
                    if d.is_dir() and kstats.in_arch_tree(f"drivers/{d.name}/", arch)]
        elif kstats.in_arch_tree(top.name + "/", arch):
            out.append(top.name)
    return out


# ---------------------------------------------------------------- kernel-lsp


PEAK_RSS_MB: dict[str, float] = {}  # step -> peak resident set of its process, in MiB


DEADLINE: list[float] = []  # time.monotonic() by which every step must end (``--budget``)


def _wait(child: subprocess.Popen):
    """``wait4`` on ``child``; killed (like ``kill -9``) at the deadline: ``OutOfBudget``."""
    if not DEADLINE:
        return os.wait4(child.pid, 0)
    while True:
        pid, status, usage = os.wait4(child.pid, os.WNOHANG)
        if pid:
            return pid, status, usage
        if time.monotonic() >= DEADLINE[0]:
            child.kill()
            os.wait4(child.pid, 0)
            raise OutOfBudget(f"kernel-lsp {child.args[3]} did not end within the budget")
        time.sleep(0.5)


def kernel_lsp(*args: str) -> subprocess.CompletedProcess:
    """Run ``kernel-lsp ARGS``; its peak RSS (``wait4``) goes to ``PEAK_RSS_MB[args[0]]``."""
    cmd = [sys.executable, "-m", "kernel_lsp", *args]
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        child = subprocess.Popen(cmd, stdout=out, stderr=err)
        _pid, status, usage = _wait(child)
        child.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        proc = subprocess.CompletedProcess(
            cmd, child.returncode, out.read().decode(errors="replace"),
            err.read().decode(errors="replace"))
    PEAK_RSS_MB[args[0]] = usage.ru_maxrss / 1024
    if proc.returncode not in (0, 1):
        tail = "\n".join(proc.stderr.strip().splitlines()[-20:])
        raise GateError(f"kernel-lsp {args[0]} exited with {proc.returncode}:\n{tail}")
    return proc


def index(tree: Path, jobs: int, arch: str = "x86") -> tuple[float, bool]:
    """The wall time of ``kernel-lsp index``, and whether it had files to parse."""
    start = time.perf_counter()
    proc = kernel_lsp("index", str(tree), "--jobs", str(jobs), "--arch", arch)
    seconds = time.perf_counter() - start
    summary = (proc.stdout.strip().splitlines() or ["?"])[-1]
    step(f"{summary} ({seconds:.0f} s wall)")
    return seconds, "(0 parsed," not in summary


def check(tree: Path, jobs: int, arch: str = "x86") -> tuple[list[dict], float, str]:
    """kernel-lsp's findings on the architecture's tree, the wall time, and the JSON report."""
    start = time.perf_counter()
    paths = [str(tree / p) for p in arch_paths(tree, arch)]
    proc = kernel_lsp("check", *paths, "--root", str(tree), "--format", "json", "--jobs",
                      str(jobs), "--arch", arch)
    seconds = time.perf_counter() - start
    try:
        doc = json.loads(proc.stdout)
    except json.JSONDecodeError as exc:
        raise GateError(f"kernel-lsp check printed no JSON report: {exc}") from exc
    for f in doc["findings"]:  # JSON report v2: "root_path" is relative to the tree
        f["path"] = f.get("root_path", f["path"])
    findings = [f for f in doc["findings"] if kstats.in_arch_tree(f["path"], arch)]
    stats = doc.get("stats", {})
    step(f"checked {stats.get('checked_files', '?')} files: {len(findings)} findings "
         f"({seconds:.0f} s wall)")
    return findings, seconds, proc.stdout


# ---------------------------------------------------------------- the report


def by_class(findings: list[dict]) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for f in findings:
        out.setdefault(kstats.rate_class(f["code"], f["message"]), []).append(f)
    return out


def print_counts(findings: list[dict], classes: dict[str, list[dict]], calls: int,
                 uses: int, arch: str = "x86") -> None:
    print(f"\nthe {arch} tree: {calls} call sites, {uses} type uses, {len(findings)} findings in "
          f"{len({f['path'] for f in findings})} files")
    print("findings by code: " + ", ".join(
        f"{code} {n}" for code, n in sorted(Counter(f["code"] for f in findings).items())))
    print("findings by class: " + ", ".join(
        f"{cls} {len(items)}" for cls, items in sorted(classes.items())))


def print_top_symbols(classes: dict[str, list[dict]]) -> None:
    for cls in [c for c in SHOWN_CLASSES if c in classes] + sorted(
            set(classes) - set(SHOWN_CLASSES)):
        top = Counter(f["symbol"] for f in classes[cls]).most_common(TOP_SYMBOLS)
        print(f"\ntop {cls} symbols ({len(classes[cls])} findings):")
        for symbol, n in top:
            example = next(f for f in classes[cls] if f["symbol"] == symbol)
            print(f"  {n:6}  {symbol}  e.g. {example['path']}:{example['line']}: "
                  f"{example['message'][:110]}")


def directory(path: str) -> str:
    parts = path.split("/")
    return "/".join(parts[:2]) if len(parts) > 2 else parts[0]


def print_top_dirs(classes: dict[str, list[dict]]) -> None:
    gated = [c for c in ("404_2", "020_2 functions", "020_2 types", "407_2", "405_2", "406_2")
             if c in classes]
    per_dir: dict[str, Counter] = {}
    for cls in gated:
        for f in classes[cls]:
            per_dir.setdefault(directory(f["path"]), Counter())[cls] += 1
    top = sorted(per_dir.items(), key=lambda kv: -sum(kv[1].values()))[:TOP_DIRS]
    print(f"\ntop directories by gated findings ({', '.join(gated)}):")
    for d, counts in top:
        detail = ", ".join(f"{cls} {counts[cls]}" for cls in gated if counts[cls])
        print(f"  {sum(counts.values()):6}  {d}: {detail}")


def verdict(classes: dict[str, list[dict]], calls: int, uses: int, args) -> list[str]:
    """Print every threshold with its measure; return those crossed."""
    n = {c: len(classes.get(c, [])) for c in ("404_2", "020_2 functions", "020_2 types",
                                              "407_2", "405_2", "406_2")}
    rows = [
        ("404_2 per 1,000 call sites", kstats.per_1000(n["404_2"], calls), args.max_404),
        ("020_2 on functions per 1,000 call sites",
         kstats.per_1000(n["020_2 functions"], calls), args.max_020_func),
        ("020_2 on types per 1,000 type uses", kstats.per_1000(n["020_2 types"], uses),
         args.max_020_type),
        ("407_2 per 1,000 type uses", kstats.per_1000(n["407_2"], uses), args.max_407),
        ("405_2 + 406_2", n["405_2"] + n["406_2"], args.max_405_406),
    ]
    print("\nthresholds:")
    failed = []
    for name, value, limit in rows:
        ok = value < limit
        print(f"  {'pass' if ok else 'FAIL'}  {name}: {value:.2f} (must be < {limit})")
        if not ok:
            failed.append(f"{name} {value:.2f} >= {limit}")
    return failed


# ---------------------------------------------------------------- runs


def determinism(tree: Path, arch: str = "x86") -> int:
    """Two cold indexes, 1 and 2 worker processes, in two hard-linked copies of the tree."""
    base = tree.with_name(tree.name + "-determinism")
    reports = {}
    for jobs in (1, 2):
        root = base / f"jobs{jobs}"
        shutil.rmtree(root, ignore_errors=True)
        root.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(["cp", "-al", str(tree), str(root)], check=True)
        shutil.rmtree(root / ".kernel-lsp", ignore_errors=True)  # unlinks the copy's links only
        step(f"cold index with --jobs {jobs} in {root}")
        index(root, jobs, arch)
        findings, _, _ = check(root, jobs, arch)
        reports[jobs] = [json.dumps(f, sort_keys=True) for f in findings]
    diff = list(difflib.unified_diff(reports[1], reports[2], "jobs 1", "jobs 2", lineterm="", n=0))
    if not diff:
        step(f"determinism: identical findings ({len(reports[1])}) with 1 and 2 jobs")
        shutil.rmtree(base, ignore_errors=True)
        return 0
    full = base / "findings.diff"
    full.write_text("\n".join(diff) + "\n")
    print(f"determinism: the findings differ ({len(reports[1])} with 1 job, {len(reports[2])} "
          f"with 2); models kept in {base}, the whole difference in {full}; the first lines:")
    for line in diff[2:42]:
        print("  " + line)
    return 1


def run(args) -> int:
    start = time.perf_counter()
    tree = args.tree.expanduser().absolute()
    if not (tree / "Makefile").is_file():
        extract(args.tarball, tree)
    t_extract = time.perf_counter() - start
    if args.determinism:
        return determinism(tree, args.arch)
    cold = not (tree / ".kernel-lsp" / "model.db").exists()
    record = tree / ".kernel-lsp" / "gate.json"  # the last check's wall time (``--budget``)
    if args.budget:
        DEADLINE.append(time.monotonic() + args.budget - (time.perf_counter() - start))
    try:
        t_index, worked = index(tree, args.jobs, args.arch)
        last = json.loads(record.read_text()).get("check_seconds", 0) if record.exists() else 0
        if worked and DEADLINE and time.monotonic() + last * 1.2 > DEADLINE[0]:
            # the next run's index is warm: the check then has the whole budget
            raise OutOfBudget(f"the check (last run: {last:.0f} s) does not fit in what is left "
                              "of the budget")
        findings, t_check, raw = check(tree, args.jobs, args.arch)
    except OutOfBudget as exc:
        done = kstats.extracted_files(tree / ".kernel-lsp" / "model.db")
        print(f"linux gate: pending: {exc}; the model holds {done} extracted files, and the "
              f"next run resumes from there ({time.perf_counter() - start:.0f} s)")
        return 0
    record.write_text(json.dumps({"check_seconds": round(t_check)}))
    if args.output:
        args.output.write_text(raw)
    db = tree / ".kernel-lsp" / "model.db"
    unbuilt = kstats.unbuilt_paths(db)
    calls, uses = kstats.totals(kstats.per_file_counts(db),
                                lambda p: kstats.in_arch_tree(p, args.arch) and p not in unbuilt)
    print(f"files no configuration of {args.arch} builds (not checked, not counted): {len(unbuilt)}")
    classes = by_class(findings)
    print_counts(findings, classes, calls, uses, args.arch)
    print_top_symbols(classes)
    print_top_dirs(classes)
    failed = verdict(classes, calls, uses, args)
    print(f"\ntime: extract {t_extract:.0f} s, {'cold' if cold else 'warm'} index {t_index:.0f} s, "
          f"check {t_check:.0f} s, total {time.perf_counter() - start:.0f} s")
    size = db.stat().st_size
    print(f"memory: peak RSS index {PEAK_RSS_MB.get('index', 0):.0f} MiB, check "
          f"{PEAK_RSS_MB.get('check', 0):.0f} MiB (main process); database "
          f"{size / 2**20:.0f} MiB ({size / 1e6:.1f} MB)")
    if failed:
        print("linux gate: FAILED: " + "; ".join(failed))
        return 1
    print("linux gate: passed")
    return 0


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        return run(args)
    except GateError as exc:
        print(f"linux gate: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
