"""Register the ``kernel-lsp bpf`` command and its subcommands ``check``, ``run``, ``dis``."""

from __future__ import annotations

import sys

from kernel_lsp.batch.bpf_check_cmd import add_check
from kernel_lsp.batch.bpf_dis_cmd import add_dis
from kernel_lsp.batch.bpf_run_cmd import add_run


def register(sub) -> None:
    """Add ``bpf`` with its subcommands to the top-level subparsers ``sub``."""
    bpf = sub.add_parser("bpf", help="validate, run and disassemble eBPF programs")
    bsub = bpf.add_subparsers(dest="bpf_command", metavar="SUBCOMMAND")
    add_check(bsub)
    add_run(bsub)
    add_dis(bsub)
    bpf.set_defaults(func=lambda args: _usage(bpf))


def _usage(parser) -> int:
    parser.print_help(sys.stderr)
    return 2
