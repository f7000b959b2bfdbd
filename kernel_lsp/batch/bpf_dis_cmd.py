"""``kernel-lsp bpf dis``: print programs in the LLVM / kernel assembly syntax.

Every program of the file is printed (a ``NAME:`` header line when there are several, or only
the one chosen by ``--section``); the output parses back with ``asmtext.parse_asm``.
Exit 0, or 2 on bad input; no traceback reaches the user.
"""

from __future__ import annotations

import sys

from kernel_lsp.messages import one_line


def add_dis(sub) -> None:
    """Add the ``dis`` subcommand to the ``bpf`` subparsers."""
    p = sub.add_parser("dis", help="disassemble eBPF programs")
    p.add_argument("file", metavar="FILE",
                   help=".o (ELF), .bin (raw), .s/.asm (assembly), .c/.h (struct bpf_insn)")
    p.add_argument("--section", default=None, metavar="NAME",
                   help="only the program in this ELF section, or with this name")
    p.add_argument("--numbered", action="store_true", help="prefix slot indices (N:)")
    p.set_defaults(func=run_dis)


def _label(name: str) -> str:
    safe = "".join(c if c.isalnum() or c in "_.$" else "_" for c in name)
    return safe if safe and not safe[0].isdigit() else "_" + safe


def run_dis(args) -> int:
    from kernel_lsp.ebpf.disasm import disassemble
    from kernel_lsp.ebpf.load import load_file

    try:
        loaded = load_file(args.file)
        if loaded.error:
            print(f"kernel-lsp bpf dis: {one_line(loaded.error)}", file=sys.stderr)
            return 2
        programs = [p for p, _ in loaded.programs]
        if args.section is not None:
            programs = [p for p in programs if args.section in (p.section, p.name)]
            if not programs:
                print(f"kernel-lsp bpf dis: {one_line(args.file)}: no program '{args.section}'",
                      file=sys.stderr)
                return 2
        out = []
        for program in programs:
            if len(programs) > 1:
                out.append(f"{_label(program.name)}:")
            out.append(disassemble(program, numbered=args.numbered).rstrip("\n"))
        print("\n".join(line for line in out if line))
    except Exception as exc:  # a printer bug must not become a traceback
        print(f"kernel-lsp bpf dis: internal error: {type(exc).__name__}: {exc}",
              file=sys.stderr)
        return 2
    return 0
