"""``kernel-lsp bpf check``: verify eBPF programs (T0-T5, Linux 6.1 rules) and print findings.

Text output, one finding a line: ``path:line:col: severity: message [code] (at insn N)``
(1-based line/column from the instruction's source when known, else ``1:1``; ``in NAME`` is added
when a file holds several programs). JSON: ``{"version": 1, "findings": [...], "stats": {...}}``
with the keys of ``kernel-lsp check`` plus ``insn``. Exit 0 accepted, 1 rejected, 2 bad input.
``--log`` prints, per program, the dataflow tier's per-instruction abstract states in the format
of the kernel's verifier log at level 2 (text output only).
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from kernel_lsp.ebpf import helpers
from kernel_lsp.ebpf.findings import BpfFinding, to_finding
from kernel_lsp.messages import one_line, quoted_path

if TYPE_CHECKING:  # the validator itself is imported when a check runs, not by `kernel-lsp`
    from kernel_lsp.ebpf.insn import Program


def add_check(sub) -> None:
    """Add the ``check`` subcommand to the ``bpf`` subparsers."""
    p = sub.add_parser("check", help="verify eBPF programs (structural and dataflow tiers)")
    p.add_argument("files", nargs="+", metavar="FILE",
                   help=".o (ELF), .bin (raw), .s/.asm (assembly), .c/.h (struct bpf_insn)")
    p.add_argument("--prog-type", default=None, metavar="T",
                   help=f"program type (kernel name without prefix; default: from the ELF "
                        f"section, else {helpers.DEFAULT_PROG_TYPE})")
    p.add_argument("--section", default=None, metavar="S",
                   help="only the program(s) in this ELF section (or with this name)")
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.add_argument("--isa", choices=("v4", "linux-6.1"), default="v4",
                   help="instruction set the loader implements: RFC 9669 with the v4 additions "
                   "(default), or Linux 6.1, which rejects bswap, sdiv/smod, movsx, "
                   "sign-extending loads and gotol")
    p.add_argument("--bounded-loops", action="store_true",
                   help="allow bounded loops (the default for a privileged loader; kept for "
                        "compatibility)")
    p.add_argument("--no-bounded-loops", action="store_true",
                   help="reject every back-edge (E105), as a loop-free validator would")
    p.add_argument("--unprivileged", action="store_true",
                   help="verify as Linux does for a loader without CAP_BPF/CAP_PERFMON: no "
                        "loops or bpf-to-bpf calls, no pointer leaks or pointer comparisons, "
                        "Spectre-safe pointer arithmetic, 4,096 instructions")
    p.add_argument("--attach-type", default=None, metavar="A",
                   help="expected attach type (e.g. cgroup_inet_egress, cgroup_inet4_bind)")
    p.add_argument("--license", default=None, metavar="L",
                   help="the license the loader passes (default: an ELF object's license "
                        "section, else GPL); GPL-only helpers need a GPL-compatible one")
    p.add_argument("--structural-only", action="store_true",
                   help="run only the structural tiers T0-T1")
    p.add_argument("--log", action="store_true",
                   help="print the dataflow tier's verifier log (abstract state per insn)")
    p.set_defaults(func=run_check)


@dataclass(slots=True)
class _Report:
    rows: list[dict] = field(default_factory=list)
    files: int = 0
    programs: int = 0
    accepted: int = 0
    rejected: int = 0
    insns: int = 0
    bad_input: int = 0
    logs: list[tuple[str, str, list[str]]] = field(default_factory=list)


def _prog_type(args, program: Program) -> str:
    if args.prog_type:
        return args.prog_type
    if program.prog_type in helpers.PROG_TYPES:
        return program.prog_type
    return helpers.DEFAULT_PROG_TYPE


def _row(f: BpfFinding, program: Program, path: str) -> dict:
    g = to_finding(f, program, path)
    return {"code": f.code, "severity": f.severity, "path": g.path, "line": g.line + 1,
            "column": g.col + 1, "end_line": g.end_line + 1, "end_column": g.end_col + 1,
            "symbol": program.name, "message": f.message, "insn": f.insn}


def _selected(program: Program, section: str | None) -> bool:
    return section is None or section in (program.section, program.name)


def _check_file(path: str, args, report: _Report) -> None:
    from kernel_lsp.ebpf.load import load_file, verifiable  # the ELF reader: only when used
    from kernel_lsp.ebpf.verify import VerifyOptions, accepted, explain, verify

    loaded = load_file(path)
    report.files += 1
    if loaded.error:
        print(f"kernel-lsp bpf check: {one_line(loaded.error)}", file=sys.stderr)
        report.bad_input += 1
        return
    chosen = [(p, f) for p, f in loaded.programs if _selected(p, args.section)]
    for program, front in chosen:
        options = VerifyOptions(prog_type=_prog_type(args, program),
                                bounded_loops=not args.no_bounded_loops,
                                isa_version=3 if args.isa == "linux-6.1" else 4,
                                unprivileged=args.unprivileged,
                                expected_attach_type=args.attach_type
                                or program.meta.get("attach_type"),
                                license=args.license,
                                dataflow=not args.structural_only)
        if not verifiable(front):
            found = []  # an undefined extern: the loader would refuse it (E005)
        elif args.log and not args.structural_only:
            found, log = explain(program, options)
            report.logs.append((path, program.name, log))
        else:
            found = verify(program, options)
        found = front + found
        report.programs += 1
        report.insns += len(program.insns)
        if accepted(found):
            report.accepted += 1
        else:
            report.rejected += 1
        for f in found:
            row = _row(f, program, path)
            row["_many"] = len(chosen) > 1
            report.rows.append(row)


def _text_line(row: dict) -> str:
    where = "" if row["insn"] is None else f" (at insn {row['insn']}"
    if where and row["_many"]:
        where += f" in {row['symbol']}"
    where += ")" if where else ""
    # (a file name's newline split the line in two: quoted as ``check`` quotes it)
    return (f"{quoted_path(row['path'])}:{row['line']}:{row['column']}: {row['severity']}: "
            f"{one_line(row['message'])} [{row['code']}]{where}")


def _emit(report: _Report, fmt: str) -> None:
    if fmt == "json":
        stats = {"files": report.files, "programs": report.programs,
                 "accepted": report.accepted, "rejected": report.rejected,
                 "insns": report.insns, "bad_input": report.bad_input,
                 "findings": len(report.rows),
                 "by_severity": dict(Counter(r["severity"] for r in report.rows)),
                 "by_code": dict(sorted(Counter(r["code"] for r in report.rows).items()))}
        rows = [{k: v for k, v in r.items() if not k.startswith("_")} for r in report.rows]
        json.dump({"version": 1, "findings": rows, "stats": stats}, sys.stdout, indent=2)
        sys.stdout.write("\n")
        return
    for path, name, log in report.logs:
        print(f"--- verifier log: {quoted_path(path)} {one_line(name)}")
        for line in log:
            print(line)
    for row in report.rows:
        print(_text_line(row))
    print(f"{report.programs} program(s) checked: {report.accepted} accepted, "
          f"{report.rejected} rejected", file=sys.stderr)


def run_check(args) -> int:
    """Entry point of ``bpf check``; returns the exit status."""
    if args.prog_type and args.prog_type not in helpers.PROG_TYPES:
        print(f"kernel-lsp bpf check: unknown program type '{args.prog_type}' "
              f"(known: {', '.join(helpers.PROG_TYPES)})", file=sys.stderr)
        return 2
    report = _Report()
    for path in args.files:
        _check_file(path, args, report)
    if args.section and report.programs == 0 and not report.bad_input:
        print(f"kernel-lsp bpf check: no program in section '{args.section}'", file=sys.stderr)
        return 2
    _emit(report, args.format)
    if report.bad_input:
        return 2
    return 1 if report.rejected else 0
