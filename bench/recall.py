"""Recall benchmark: inject faults into real Linux files and compare kernel-lsp with GCC.

Run by hand (not a CI test), with the python of the environment that has kernel-lsp installed:

    python bench/recall.py [--kinds abcde] [--per-kind 100] [--seed 1] [--jobs 2] [--batch 8]
                           [--work /tmp/recall-gate] [--source /tmp/linux/linux-source-6.1]
                           [--fresh] [--report-only]

The first run copies the read-only source tree into ``WORK/linux``, runs ``make defconfig
prepare`` there and takes the compile command of every C file defconfig builds from a dry run
(``recall_setup.py``), then indexes the copy with ``kernel-lsp index``. Each fault
(``recall_faults.py``: a deleted ``#include``, a deleted prototype of a subsystem header, a
misspelled call, a misspelled type used by value, an ``extern`` + call of a function that is
``static`` elsewhere) is applied to the copy and compiled with GCC (``-fsyntax-only``, the
kernel's flags, no ``-Werror``), then the copy is restored byte for byte.

kernel-lsp is a black box run as ``kernel-lsp check FILES --format json``. A check of one file of
a Linux model costs ~15 s of fixed start-up (loading the symbol tables), so faults are checked in
batches of ``--batch``: one check of the pristine copy (which also re-indexes the files restored
after the previous batch) and one with every fault of the batch applied. The faults of a batch
touch disjoint files (their units, the files GCC reported on, the edited file, for kind b every
includer of the header, for kind e the file that defines the static function), and each fault
owns the findings of its files. ``--batch 1`` checks every fault alone. ``recall_compare.py``
says what "new", "matched" and "noise" mean.

Results are appended to ``WORK/results.jsonl``: a rerun skips the faults already done (``--fresh``
starts over; ``--report-only`` prints the tables). Faults of kinds c and d that GCC does not see
(code that defconfig leaves out), faults of kinds b and c whose edit broke the syntax, and faults
in units that GCC cannot compile as they are (a header the build generates late is missing) are
recorded but not counted.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import recall_compare as cmp  # noqa: E402
import recall_faults as faults_mod  # noqa: E402
import recall_report  # noqa: E402
from recall_setup import Tree, gcc_before, prepare, run_gcc  # noqa: E402

MAX_ATTEMPTS_FACTOR = 10  # give up on a kind after this many faults per counted fault
MAX_KEPT = 5000  # GCC diagnostics kept per fault in the results file
BROKEN = "unit does not compile"


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--kinds", default="abcde", help="fault kinds to run (default: abcde)")
    ap.add_argument("--per-kind", type=int, default=100, help="counted faults per kind")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--jobs", type=int, default=2, help="parallel GCC runs; kernel-lsp --jobs")
    ap.add_argument("--work", type=Path, default=Path("/tmp/recall-gate"))
    ap.add_argument("--source", type=Path, default=Path("/tmp/linux/linux-source-6.1"),
                    help="pristine Linux 6.1 tree (read only)")
    ap.add_argument("--batch", type=int, default=8,
                    help="faults per kernel-lsp check (1: every fault alone)")
    ap.add_argument("--results", type=Path, help="results file (default: WORK/results.jsonl)")
    ap.add_argument("--fresh", action="store_true", help="forget the results of earlier runs")
    ap.add_argument("--report-only", action="store_true", help="print the tables and stop")
    args = ap.parse_args(argv)
    bad = set(args.kinds) - set(faults_mod.KINDS)
    if bad or min(args.per_kind, args.jobs, args.batch) < 1:
        ap.error(f"bad --kinds {''.join(sorted(bad))}" if bad else "counts must be positive")
    return args


def kernel_lsp_stamp() -> str:
    """kernel-lsp's version and the last commit of its package (results of runs can be told
    apart; ``+dirty`` when the package has uncommitted changes)."""
    version = subprocess.run(cmp.kernel_lsp_command() + ["--version"], capture_output=True,
                             text=True).stdout.strip()
    import kernel_lsp
    package = Path(kernel_lsp.__file__).parent
    git = ["git", "-C", str(package)]
    head = subprocess.run(git + ["log", "-1", "--format=%h", "--", "."], capture_output=True,
                          text=True).stdout.strip()
    dirty = subprocess.run(git + ["status", "--porcelain", "--", "."], capture_output=True,
                           text=True).stdout.strip()
    return f"{version} {head}{'+dirty' if dirty else ''}".strip()


# ---------------------------------------------------------------- the journal of live edits


def journal(tree: Tree) -> Path:
    return tree.work / "pending-edits.json"


def recover(tree: Tree) -> None:
    """Restore the files of an edit a killed run left in the copy."""
    path = journal(tree)
    if path.exists():
        paths = json.loads(path.read_text())
        print(f"restoring {len(paths)} file(s) left edited by an interrupted run", flush=True)
        faults_mod.restore(tree.root, tree.source, paths)
        path.unlink()


# ---------------------------------------------------------------- GCC, one fault at a time


@dataclass
class Pending:
    """A fault GCC has seen, waiting for kernel-lsp in a batch."""

    fault: faults_mod.Fault
    gcc_new: list[dict]
    paths: list[str]  # files kernel-lsp reports on for this fault
    seconds: float

    @property
    def touches(self) -> set[str]:
        out = set(self.paths) | {e["path"] for e in self.fault.edits} | set(self.fault.reach)
        if self.fault.expect:
            out.add(self.fault.expect["static_in"])
        return out

    def row(self) -> dict:
        return {**self.fault.to_json(), "status": "ok", "checked": self.paths,
                "gcc_new": self.gcc_new[:MAX_KEPT], "gcc_new_total": len(self.gcc_new)}


def _gcc_all(tree: Tree, units: list[str], fn, jobs: int) -> dict[str, list[dict]]:
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        return dict(zip(units, pool.map(lambda u: cmp.flatten(fn(tree, u)), units), strict=True))


def _gcc_new(before: dict, after: dict) -> list[dict]:
    seen, out = set(), []
    for unit in after:
        for d in cmp.new_items(before[unit], after[unit], cmp.gcc_key):
            if cmp.gcc_key(d) not in seen:
                seen.add(cmp.gcc_key(d))
                out.append(d)
    return out


def _status(fault, gcc_new: list[dict]) -> str:
    if fault.kind in "bc" and any(cmp.is_syntax_damage(d) for d in gcc_new):
        return "invalid"
    if fault.kind in "cd" and not any(d["cat"] in cmp.ACCEPT for d in gcc_new):
        return "silent"
    return "ok"


def _check_paths(tree: Tree, fault, gcc_new: list[dict]) -> list[str]:
    """The units, the edited files, and the in-tree files where GCC reported something new."""
    paths = dict.fromkeys(fault.units + [e["path"] for e in fault.edits])
    for d in gcc_new:
        if not d["file"].startswith("..") and (tree.root / d["file"]).is_file():
            paths[d["file"]] = None
    return list(paths)


@contextmanager
def edited(tree: Tree, edits: list[dict]):
    """The copy with ``edits`` applied; restored byte for byte afterwards (journalled)."""
    paths = sorted({e["path"] for e in edits})
    journal(tree).write_text(json.dumps(paths))
    try:
        faults_mod.apply(tree.root, tree.source, edits)
        yield
    finally:
        faults_mod.restore(tree.root, tree.source, paths)
        journal(tree).unlink()


def broken(diags: list[dict]) -> bool:
    """A unit GCC cannot compile as it is (a header the build generates late is missing, such
    as security/selinux/flask.h or init/utsversion-tmp.h): its faults are not counted."""
    return any(d["kind"] in ("error", "fatal error") for d in diags)


def requalify(tree: Tree, rows: list[dict], results: Path) -> None:
    """Rows of faults in units that do not compile (recorded by an older harness) are marked."""
    changed = 0
    for row in rows:
        if row["status"] != BROKEN and any(
                broken(cmp.flatten(gcc_before(tree, u))) for u in row["units"]):
            row["status"] = BROKEN
            changed += 1
    if changed:
        tmp = results.with_suffix(".tmp")
        tmp.write_text("".join(json.dumps(r) + "\n" for r in rows))
        os.replace(tmp, results)
        print(f"{changed} fault(s) marked as in a unit that does not compile", flush=True)


def gcc_phase(tree: Tree, fault, jobs: int) -> Pending | dict:
    """GCC before and after the fault: a Pending fault, or the row of a fault not counted."""
    start = time.perf_counter()
    before = _gcc_all(tree, fault.units, gcc_before, jobs)
    if any(broken(diags) for diags in before.values()):
        return {**fault.to_json(), "status": BROKEN, "gcc_new": [], "gcc_new_total": 0,
                "seconds": round(time.perf_counter() - start, 2)}
    with edited(tree, fault.edits):
        gcc_new = _gcc_new(before, _gcc_all(tree, fault.units, run_gcc, jobs))
    status = _status(fault, gcc_new)
    gcc_new = [cmp.widen(d, lambda p: (tree.source / p).read_bytes()) for d in gcc_new]
    seconds = time.perf_counter() - start
    if status != "ok":
        return {**fault.to_json(), "status": status, "gcc_new": gcc_new[:MAX_KEPT],
                "gcc_new_total": len(gcc_new), "seconds": round(seconds, 2)}
    return Pending(fault, gcc_new, _check_paths(tree, fault, gcc_new), seconds)


# ---------------------------------------------------------------- kernel-lsp, a batch at a time


def kernel_lsp_phase(tree: Tree, batch: list[Pending], jobs: int) -> list[dict]:
    """One check of the pristine copy and one with every fault of the batch applied.

    The faults of a batch touch disjoint files (``touches``), and the findings of a file are
    attributed to the fault that reports on it. The check of the pristine copy also re-indexes
    the files restored after the previous batch."""
    start = time.perf_counter()
    paths = sorted({p for b in batch for p in b.paths})
    try:
        before = cmp.check(tree.root, paths, jobs)
        with edited(tree, [e for b in batch for e in b.fault.edits]):
            after = cmp.check(tree.root, paths, jobs)
    except (RuntimeError, subprocess.TimeoutExpired) as exc:  # recorded, not counted
        print(f"kernel-lsp failed on a batch: {exc}", flush=True)
        return [{**b.row(), "status": "kernel-lsp error", "error": str(exc)[-2000:],
                 "seconds": round(b.seconds, 2)} for b in batch]
    share = (time.perf_counter() - start) / len(batch)
    rows, checked = [], set(paths)
    for b in batch:
        mine = set(b.paths)
        klsp_new = cmp.new_items([f for f in before if _ours(f, mine, checked)],
                                 [f for f in after if _ours(f, mine, checked)], cmp.klsp_key)
        klsp_new = [cmp.widen_finding(f, lambda p: (tree.source / p).read_bytes())
                    for f in klsp_new]
        result = cmp.compare(b.gcc_new, klsp_new, b.fault.expect)
        rows.append({**b.row(), "klsp_new": klsp_new, **result, "batch": len(batch),
                     "seconds": round(b.seconds + share, 2)})
    return rows


def _ours(f: dict, mine: set[str], checked: set[str]) -> bool:
    """Whether finding ``f`` is the fault's: in a header as one of its units sees it, or in
    one of its files (not as another fault's unit sees it: two faults of a batch may report
    in the same header, ``checked`` holds every fault's files)."""
    unit = f.get("unit")
    if unit in checked:
        return unit in mine
    return f["path"] in mine


def progress(row: dict, counted: int, wanted: int) -> str:
    head = f"[{row['kind']} {counted}/{wanted}] {row['where']} {row['symbol']}"
    if row["status"] != "ok":
        return f"{head}: {row['status']} ({row['seconds']} s)"
    rel = sum(1 for d in row["gcc_new"] if d["cat"] in cmp.ACCEPT)
    extra = "" if row["expect_found"] is None else f", 405_2 {'yes' if row['expect_found'] else 'NO'}"
    return (f"{head}: gcc +{row['gcc_new_total']} ({rel} relevant), kernel-lsp "
            f"+{len(row['klsp_new'])}, matched {len(row['matched'])}, noise "
            f"{len(row['noise'])}{extra} ({row['seconds']} s)")


# ---------------------------------------------------------------- the run


def load_rows(path: Path) -> list[dict]:
    if not path.exists():
        return []
    rows = []
    for line in path.read_text().splitlines():
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError:
            continue  # a line cut by a kill
    return rows


class Run:
    """The faults of one kind: GCC one fault at a time, kernel-lsp a batch at a time."""

    def __init__(self, tree: Tree, src, kind: str, args, rows: list[dict], out, stamp: str):
        self.tree, self.kind, self.args, self.rows, self.out, self.stamp = (
            tree, kind, args, rows, out, stamp)
        mine = [r for r in rows if r["kind"] == kind and r.get("seed") == args.seed]
        self.done = {r["id"] for r in mine}
        self.counted = sum(1 for r in mine if r["status"] == "ok")
        self.attempts = 0
        self.gen = faults_mod.faults(src, kind, args.seed)
        self.deferred: list[Pending] = []
        self.size = args.batch

    def record(self, row: dict) -> None:
        row = {"seed": self.args.seed, "kernel_lsp": self.stamp, **row}
        self.counted += row["status"] == "ok"
        self.rows.append(row)
        self.out.write(json.dumps(row) + "\n")
        self.out.flush()
        print(progress(row, self.counted, self.args.per_kind), flush=True)

    def _fresh(self) -> Pending | None:
        """The next fault GCC counts (recording those it does not), or None when exhausted."""
        for fault in self.gen:
            if self.attempts >= MAX_ATTEMPTS_FACTOR * self.args.per_kind:
                return None
            if fault.id in self.done:
                continue
            self.attempts += 1
            got = gcc_phase(self.tree, fault, self.args.jobs)
            if isinstance(got, Pending):
                return got
            self.record(got)
        return None

    def fill(self, want: int) -> list[Pending]:
        batch: list[Pending] = []
        for p in list(self.deferred):
            if len(batch) < want and not any(p.touches & b.touches for b in batch):
                batch.append(p)
                self.deferred.remove(p)
        while len(batch) < want:
            p = self._fresh()
            if p is None:
                break
            if any(p.touches & b.touches for b in batch):
                self.deferred.append(p)
            else:
                batch.append(p)
        return batch

    def run(self) -> None:
        while self.counted < self.args.per_kind:
            batch = self.fill(min(self.size, self.args.per_kind - self.counted))
            if not batch:
                break
            for row in kernel_lsp_phase(self.tree, batch, self.args.jobs):
                self.record(row)
        if self.counted < self.args.per_kind:
            print(f"kind {self.kind}: only {self.counted} counted faults (candidates exhausted "
                  f"or {MAX_ATTEMPTS_FACTOR}x attempts)", flush=True)


def main(argv=None) -> int:
    args = parse_args(argv)
    # a kill (SIGTERM) unwinds like Ctrl-C: the copy is restored by the ``edited`` blocks
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    results = args.results or args.work / "results.jsonl"
    if args.report_only:
        recall_report.print_report(load_rows(results), args.kinds, args.seed)
        return 0
    tree = prepare(args.work, args.source)
    recover(tree)
    if args.fresh and results.exists():
        results.unlink()
    stamp = kernel_lsp_stamp()
    print(f"{stamp}; indexing {tree.root}", flush=True)
    start = time.perf_counter()
    print(f"  {cmp.index(tree.root, args.jobs)} ({time.perf_counter() - start:.0f} s)", flush=True)
    src = faults_mod.Sources(tree, args.seed)
    rows = load_rows(results)
    requalify(tree, rows, results)
    with results.open("a") as out:
        for kind in args.kinds:
            Run(tree, src, kind, args, rows, out, stamp).run()
    cmp.index(tree.root, args.jobs)  # leave the model of the pristine copy behind
    recall_report.print_report(rows, args.kinds, args.seed)
    return 0


if __name__ == "__main__":
    sys.exit(main())
