"""Subcommands ``demand extract`` (a demand from the call graph) and ``selfcheck`` (the
model's self-check). Exit status: 0 done (selfcheck: no problem found), 1 selfcheck found
problems, 2 usage or I/O errors."""

from __future__ import annotations

import argparse

from kernel_lsp.batch.commands import (
    EXIT_FINDINGS,
    EXIT_OK,
    CommandError,
    guarded,
    positive_int,
    run_index,
    setup,
    warn,
    write_report,
)
from kernel_lsp.batch.paths import path_arg


def register(sub) -> None:
    """Add ``demand extract`` and ``selfcheck`` to the ``kernel-lsp`` subcommand parser."""
    d = sub.add_parser("demand", help="derive demand files from the model",
                       description="Work with demand files (*.demand.yaml).")
    dsub = d.add_subparsers(dest="demand_command", metavar="COMMAND")
    e = dsub.add_parser("extract", help="derive a demand from a function's call tree",
                        description="Follow the direct calls of FUNC in the model (breadth "
                                    "first, each function once) and write them as a demand.")
    e.add_argument("function", metavar="FUNC",
                   help="the start function: name, or name@path/file.c for a static one")
    e.add_argument("--depth", type=positive_int, default=3, metavar="N",
                   help="levels of calls to follow (default: 3)")
    e.add_argument("--limit", type=positive_int, metavar="N",
                   help="stop after N invocations")
    e.add_argument("--output", "-o", type=path_arg, metavar="FILE",
                   help="write the demand to FILE (default: standard output)")
    e.add_argument("--root", type=path_arg, metavar="DIR",
                   help="tree root (default: the nearest kernel-like ancestor of the cwd)")
    e.add_argument("--arch", metavar="A", help="architecture under arch/ (default: x86)")
    e.set_defaults(func=guarded(cmd_extract))
    d.set_defaults(func=lambda args: (d.print_help(), 2)[1])

    s = sub.add_parser("selfcheck", help="the model's self-check",
                       description="Check the model itself: types and functions referenced but "
                                   "not modelled, functions declared but never defined, headers "
                                   "no file includes, counts by level and relationship.")
    s.add_argument("--root", type=path_arg, metavar="DIR",
                   help="tree root (default: the nearest kernel-like ancestor of the cwd)")
    s.add_argument("--format", choices=("text", "json"), default="text", help="report format")
    s.add_argument("--output", "-o", type=path_arg, metavar="FILE",
                   help="write the report to FILE instead of standard output")
    s.add_argument("--limit", type=positive_int, default=20, metavar="N",
                   help="entries listed per section in the text report (default: 20)")
    s.add_argument("--arch", metavar="A", help="architecture under arch/ (default: x86)")
    s.set_defaults(func=guarded(cmd_selfcheck))


def cmd_extract(args: argparse.Namespace) -> int:
    from kernel_lsp.design.extract import ExtractError, extract_demand

    config = setup(args.root, [], args.arch, None)
    result = run_index(config)
    try:
        text, edges = extract_demand(result.model, config.arch, args.function, args.depth,
                                     args.limit)
    except ExtractError as exc:
        raise CommandError(str(exc)) from exc
    finally:
        result.model.close()
    write_report(text, args.output, utf8=True, config=config)
    if args.output is not None:
        warn(f"wrote {args.output}: {edges} invocations")
    return EXIT_OK


def cmd_selfcheck(args: argparse.Namespace) -> int:
    from kernel_lsp.design.selfcheck import format_json, format_text, selfcheck

    config = setup(args.root, [], args.arch, None)
    result = run_index(config)
    try:
        report = selfcheck(result.model, config)
    finally:
        result.model.close()
    text = format_json(report) if args.format == "json" else format_text(report, args.limit)
    write_report(text, args.output, utf8=args.format == "json", config=config)
    return EXIT_FINDINGS if report.problem_count else EXIT_OK
