"""``kernel-lsp serve``: run the language server over stdio (default) or TCP."""

from __future__ import annotations

import argparse
import faulthandler
import logging
import signal
import sys


def register(sub) -> None:
    p = sub.add_parser("serve", help="run the language server (stdio, or --tcp HOST:PORT)",
                       description="Run the kernel-lsp language server. Editors start it with "
                                   "stdio; --tcp serves one client on a socket.")
    p.add_argument("--stdio", action="store_true",
                   help="talk over stdin/stdout (the default; accepted because "
                        "vscode-languageclient and other clients pass it)")
    p.add_argument("--tcp", metavar="HOST:PORT", help="listen on a TCP socket instead of stdio")
    p.add_argument("--log-file", metavar="FILE", help="write the server log to FILE")
    p.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    p.set_defaults(func=serve)


def _address(text: str) -> tuple[str, int] | None:
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or not 0 < int(port) < 65536:
        return None
    return host or "127.0.0.1", int(port)


def serve(args: argparse.Namespace) -> int:
    address = None
    if args.tcp is not None and args.stdio:
        print("kernel-lsp serve: --stdio and --tcp exclude each other", file=sys.stderr)
        return 2
    if args.tcp is not None:
        address = _address(args.tcp)
        if address is None:
            print(f"kernel-lsp serve: --tcp expects HOST:PORT, got {args.tcp!r}", file=sys.stderr)
            return 2
    handler = (logging.FileHandler(args.log_file) if args.log_file
               else logging.StreamHandler(sys.stderr))
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING,
                        handlers=[handler],
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # ``kill -USR1 <pid>``: every thread's stack to stderr (the editor's server log)
    faulthandler.register(signal.SIGUSR1, all_threads=True)
    from kernel_lsp.lsp.handlers import server
    from kernel_lsp.lsp.plumbing import client_noise, end_now
    from kernel_lsp.lsp.stdin import Stdin
    from kernel_lsp.lsp.stdout import Stdout

    handler.addFilter(client_noise)

    if address is not None:
        try:
            server.start_tcp(*address)
        except OSError as exc:  # the port taken, an unknown host ("cannot write:" said the CLI)
            why = (exc.strerror or str(exc)).rsplit("): ", 1)[-1]  # (asyncio repeats the address)
            print(f"kernel-lsp serve: cannot listen on {args.tcp}: {why}", file=sys.stderr)
            return 2
    else:
        stdout = Stdout(sys.stdout.buffer)
        server.start_io(stdin=Stdin(sys.stdin.buffer), stdout=stdout)
        stdout.drain()  # what is queued, if the client still reads
    end_now(server.exit_code)  # not a return: see ``end_now``
    return 0
