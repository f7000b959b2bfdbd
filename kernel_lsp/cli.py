"""The ``kernel-lsp`` command line: one argparse tree, subcommands registered by their owners."""

from __future__ import annotations

import argparse
import codecs
import io
import os
import signal
import sys

from kernel_lsp import __version__
from kernel_lsp.batch import bpf_cli, commands, design_cmds, explain_cmd, fix_cmd, verify_cmd
from kernel_lsp.lsp import serve_cmd

# Each module has ``register(subparsers)`` adding its subcommands; a subcommand's parser sets
# ``func=callable(args) -> int`` (the exit status). Heavy imports wait inside the commands.
_COMMAND_MODULES = (
    commands,  # index, check
    bpf_cli,  # bpf check|run|dis
    serve_cmd,  # serve
    fix_cmd,  # fix
    verify_cmd,  # verify
    design_cmds,  # demand extract, selfcheck
    explain_cmd,  # explain
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kernel-lsp",
        description="Verify the design of kernel C code and validate eBPF bytecode.",
    )
    parser.add_argument("--version", action="version", version=f"kernel-lsp {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in _COMMAND_MODULES:
        module.register(sub)
    return parser


def _interrupted(_signum, _frame) -> None:
    """SIGTERM and SIGHUP as Ctrl-C: the run stops its worker processes and says so. Killed at
    once, an index left its workers behind to fail on the closed pipe, each with a traceback
    (a SIGHUP to the index alone: four BrokenPipeError tracebacks and a resource_tracker
    warning of leaked semaphores)."""
    raise KeyboardInterrupt


def _unencodable(exc: UnicodeError) -> tuple[bytes, int]:
    """Error handler of standard output and error: a byte that was no UTF-8 in a source file
    (decoded with ``surrogateescape``: a latin-1 comment in a ``fix --dry-run`` diff) goes out
    as that byte, a character the terminal's encoding lacks as a backslash escape."""
    if not isinstance(exc, UnicodeEncodeError):
        raise exc
    out = bytearray()
    for ch in exc.object[exc.start:exc.end]:
        if "\udc80" <= ch <= "\udcff":
            out.append(ord(ch) - 0xDC00)
        else:
            out += ch.encode("ascii", "backslashreplace")
    return bytes(out), exc.end


def _tolerant_output() -> None:
    """Standard output and error never fail on a character (an en_US.UTF-8 terminal's
    stdout is strict: such a diff was an internal error, exit 2)."""
    codecs.register_error("kernel-lsp", _unencodable)
    for stream in (sys.stdout, sys.stderr):
        if isinstance(stream, io.TextIOWrapper):
            stream.reconfigure(errors="kernel-lsp")


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits 2 on usage errors, 0 on --help
        return int(exc.code or 0)
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return 2
    if sys.stdout is None:  # started with standard output closed (``>&-``): nothing is shown
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - for the whole run
    _tolerant_output()
    if args.command != "serve":  # (the server ends its own way)
        signal.signal(signal.SIGTERM, _interrupted)
        if signal.getsignal(signal.SIGHUP) is not signal.SIG_IGN:  # (nohup: left ignored)
            signal.signal(signal.SIGHUP, _interrupted)
    try:
        return int(args.func(args))
    except KeyboardInterrupt:
        print("kernel-lsp: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except OSError as exc:  # writing standard output (``> /dev/full``)
        print(f"kernel-lsp: cannot write: {exc.strerror or exc}", file=sys.stderr)
        return 2
