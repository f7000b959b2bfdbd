"""The ``kernel-lsp`` command line: one argparse tree, subcommands registered by their owners."""

from __future__ import annotations

import argparse
import sys

from kernel_lsp import __version__

# Each module has ``register(subparsers)`` adding its subcommands; a subcommand's parser sets
# ``func=callable(args) -> int`` (the exit status).
_COMMAND_MODULES = (
    "kernel_lsp.batch.commands",  # index, check
    "kernel_lsp.ebpf.cli",  # bpf check|run|dis
    "kernel_lsp.lsp.serve_cmd",  # serve
    "kernel_lsp.batch.fix_cmd",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kernel-lsp",
        description="Verify the design of kernel C code and validate eBPF bytecode.",
    )
    parser.add_argument("--version", action="version", version=f"kernel-lsp {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    import importlib

    for name in _COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits 2 on usage errors, 0 on --help
        return int(exc.code or 0)
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return 2
    try:
        return int(args.func(args))
    except KeyboardInterrupt:
        print("kernel-lsp: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
