"""Subcommand ``explain``: print the documentation of a finding code (like ``rustc --explain``).

``kernel-lsp explain 404_2`` prints the code's section of the docs shipped with the package;
without a code it lists every code with its severity and title. Exit status 2 for an unknown code.
"""

from __future__ import annotations

import argparse
import sys


def register(sub) -> None:
    p = sub.add_parser("explain", help="print the documentation of a finding code",
                       description="Print the documentation of a finding code (404_2, E101, "
                                   "...); without CODE, list the codes.")
    p.add_argument("code", nargs="?", metavar="CODE", help="a finding code, e.g. 404_2 or E101")
    p.set_defaults(func=cmd_explain)


def cmd_explain(args: argparse.Namespace) -> int:
    from kernel_lsp.findings import CODES
    from kernel_lsp.findings.docs import explain, normalise

    if args.code is None:
        width = max(len(c) for c in CODES)
        for entry in CODES.values():
            print(f"{entry.id:<{width}}  {entry.severity:<7}  {entry.title}")
        return 0
    code_id = normalise(args.code)
    if code_id is None:
        print(f"kernel-lsp: unknown code {args.code!r} (`kernel-lsp explain` lists them)",
              file=sys.stderr)
        return 2
    sys.stdout.write(explain(code_id))
    return 0
