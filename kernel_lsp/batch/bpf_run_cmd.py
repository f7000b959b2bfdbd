"""``kernel-lsp bpf run``: execute one eBPF program on the reference interpreter.

Prints R0 (JSON exactly ``{"r0": <u64>, "insns_executed": N}``) and exits 0, or the fault
(JSON ``{"fault": {"insn", "kind", "message"}, "insns_executed": N}``) and exits 1; bad input
(unreadable file, no program, source errors, bad ``--mem``) exits 2. No traceback reaches the
user.
"""

from __future__ import annotations

import json
import sys

from kernel_lsp.ebpf import helpers
from kernel_lsp.ebpf.insn import Program
from kernel_lsp.messages import one_line


def add_run(sub) -> None:
    """Add the ``run`` subcommand to the ``bpf`` subparsers."""
    p = sub.add_parser("run", help="run an eBPF program on the reference interpreter")
    p.add_argument("file", metavar="FILE",
                   help=".o (ELF), .bin (raw), .s/.asm (assembly), .c/.h (struct bpf_insn)")
    mem = p.add_mutually_exclusive_group()
    mem.add_argument("--mem", default=None, metavar="HEX", help="input memory as hex bytes")
    mem.add_argument("--mem-file", default=None, metavar="F", help="input memory from a file")
    p.add_argument("--prog-type", default=None, metavar="T",
                   help="program type (kernel name without prefix); default from the input")
    p.add_argument("--section", default=None, metavar="NAME",
                   help="the program in this ELF section, or with this name (default: first)")
    p.add_argument("--packet", action="store_true",
                   help="treat the memory as a packet and give R1 a __sk_buff/xdp_md context "
                        "(packet program types only)")
    p.add_argument("--budget", type=int, default=None, metavar="N",
                   help="instruction budget (default 1000000)")
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.set_defaults(func=run_run)


class BadInput(Exception):
    """Input the command cannot run (message for the user, exit 2)."""


def select_program(path: str, section: str | None) -> Program:
    """The program of ``path`` to run or print: the first one, or the one named ``section``."""
    from kernel_lsp.ebpf.load import load_file

    loaded = load_file(path)
    if loaded.error:
        raise BadInput(loaded.error)
    programs = [p for p, _ in loaded.programs]
    if section is not None:
        programs = [p for p in programs if section in (p.section, p.name)]
        if not programs:
            names = ", ".join(sorted({p.section or p.name for p, _ in loaded.programs}))
            raise BadInput(f"{path}: no program in section '{section}' (have: {names})")
    return programs[0]


def _memory(args) -> bytes:
    from kernel_lsp.ebpf.load import read_input

    if args.mem_file:
        try:
            return read_input(args.mem_file)  # (not all of /dev/zero)
        except OSError as exc:
            raise BadInput(f"cannot read {args.mem_file}: {exc.strerror or exc}") from None
    text = "".join((args.mem or "").split()).removeprefix("0x")
    try:
        return bytes.fromhex(text)
    except ValueError:
        raise BadInput(f"--mem is not hex bytes: {args.mem!r}") from None


def _source_errors(program: Program) -> list[str]:
    return [e.text() if hasattr(e, "text") else str(e) for e in program.meta.get("errors", ())]


def run_run(args) -> int:
    from kernel_lsp.ebpf.run.interp import DEFAULT_BUDGET, run

    try:
        program = select_program(args.file, args.section)
        mem = _memory(args)
        errors = _source_errors(program)
        if errors:
            raise BadInput("cannot run a program with source errors:\n  " + "\n  ".join(errors))
        if args.budget is not None and args.budget <= 0:
            raise BadInput("--budget must be positive")
        if args.prog_type and args.prog_type not in helpers.PROG_TYPES:
            raise BadInput(f"unknown program type '{args.prog_type}' "
                           f"(known: {', '.join(helpers.PROG_TYPES)})")
        result = run(program, mem, prog_type=args.prog_type, packet=args.packet,
                     budget=args.budget or DEFAULT_BUDGET)
    except BadInput as exc:
        print(f"kernel-lsp bpf run: {one_line(str(exc))}", file=sys.stderr)
        return 2
    except Exception as exc:  # an interpreter bug must not become a traceback
        print(f"kernel-lsp bpf run: internal error: {type(exc).__name__}: {exc}",
              file=sys.stderr)
        return 2
    if args.format == "json":
        print(json.dumps(result.to_json()))
    elif result.fault is not None:
        print(f"fault: {result.fault.message} ({result.insns_executed} insns executed)")
    else:
        print(f"r0 = {result.r0} ({result.r0:#x}), {result.insns_executed} insns executed")
    return 1 if result.fault is not None else 0
