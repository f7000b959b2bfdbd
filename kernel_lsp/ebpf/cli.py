"""Register the ``kernel-lsp bpf`` command and its subcommands ``check``, ``run``, ``dis``.

``check`` lives in ``check_cmd.py``; ``run`` and ``dis`` come from ``run_cmd.add_run`` and
``dis_cmd.add_dis`` and are skipped (with no error) while those modules are absent.
"""

from __future__ import annotations

import importlib
import sys


def register(sub) -> None:
    """Add ``bpf`` with its subcommands to the top-level subparsers ``sub``."""
    bpf = sub.add_parser("bpf", help="validate, run and disassemble eBPF programs")
    bsub = bpf.add_subparsers(dest="bpf_command", metavar="SUBCOMMAND")
    _add_check(bsub)
    _add_optional(bsub, "run_cmd", "add_run")
    _add_optional(bsub, "dis_cmd", "add_dis")
    bpf.set_defaults(func=lambda args: _usage(bpf))


def _add_check(bsub) -> None:
    from kernel_lsp.ebpf.check_cmd import add_check

    add_check(bsub)


def _add_optional(bsub, module: str, func: str) -> None:
    try:
        adder = getattr(importlib.import_module(f"kernel_lsp.ebpf.{module}"), func)
    except (ImportError, AttributeError):
        return
    adder(bsub)


def _usage(parser) -> int:
    parser.print_help(sys.stderr)
    return 2
