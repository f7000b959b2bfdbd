"""Subcommand ``verify``: verify demand files and layer policies against the model.

``kernel-lsp verify DEMAND...`` runs the method's Algorithm 1 and writes the per-invocation
report (text, JSON, HTML or SARIF); layer policies given beside the demands apply to their
invocations. ``kernel-lsp verify POLICY...`` alone checks the policies on the whole tree and
reports the layer violations (408_2) like ``check``. Exit status: 0 right, 1 wrong, 2 usage or
I/O errors (an unreadable or invalid specification file included).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from kernel_lsp.batch.commands import (
    EXIT_FINDINGS,
    EXIT_OK,
    EXIT_USAGE,
    CommandError,
    guarded,
    run_index,
    setup,
    warn,
    write_report,
)
from kernel_lsp.batch.paths import path_arg
from kernel_lsp.config import (
    TOML_NAME,
    Config,
    find_root,
    is_linux_like,
    load_policies,
    relative_posix,
)
from kernel_lsp.design import is_demand_file, is_policy_file

FORMATS = ("text", "json", "html", "sarif")


def register(sub) -> None:
    """Add ``verify`` to the ``kernel-lsp`` subcommand parser."""
    p = sub.add_parser("verify", help="verify demand files and layer policies",
                       description="Verify demands (*.demand.yaml) and layer policies "
                                   "(*.layers.yaml) against the model of the tree.")
    p.add_argument("files", nargs="+", type=path_arg, metavar="FILE",
                   help="demand files (*.demand.yaml) and layer policies (*.layers.yaml)")
    p.add_argument("--root", type=path_arg, metavar="DIR",
                   help="tree root (default: the nearest kernel-like ancestor of the first FILE)")
    p.add_argument("--format", choices=FORMATS, default="text", help="report format")
    p.add_argument("--output", "-o", type=path_arg, metavar="FILE",
                   help="write the report to FILE instead of standard output")
    p.add_argument("--arch", metavar="A", help="architecture under arch/ (default: x86)")
    p.add_argument("--jobs", "-j", type=int, metavar="N", help="parser processes for the index")
    p.set_defaults(func=guarded(cmd_verify))


def label(config: Config, path: Path) -> str:
    """A specification file's name in reports: root-relative inside the root, else as given."""
    rel = relative_posix(config.root, path)
    return rel if rel not in (None, ".") else path.as_posix()


def root_for(root: Path | None, files: list[Path]) -> Path:
    """``--root``, else the kernel-like ancestor (or one with settings) of the first FILE,
    else that of the working directory: a demand kept outside the tree verifies the tree the
    command runs in."""
    if root is not None:
        return root
    found = find_root(files[0])
    if is_linux_like(found) or (found / TOML_NAME).is_file():
        return found
    return find_root(Path.cwd())


def split_files(files: list[Path]) -> tuple[list[Path], list[Path]]:
    demands, policies = [], []
    for f in files:
        if not f.is_file():  # (a directory, a FIFO, /dev/zero exist: "no such file" misled)
            raise CommandError(f"{f}: " + ("not a regular file" if f.exists()
                                           else "no such file"))
        if is_demand_file(f.name):
            demands.append(f)
        elif is_policy_file(f.name):
            policies.append(f)
        else:
            raise CommandError(f"{f}: not a demand (*.demand.yaml) or a layer policy "
                               "(*.layers.yaml)")
    return demands, policies


def read_demands(config: Config, files: list[Path]) -> tuple[list, bool]:
    """(demand, label, problems) per file, and whether any file had problems."""
    from kernel_lsp.design.demand import load_demand_file

    out, bad = [], False
    for f in files:
        name = label(config, f)
        demand, problems = load_demand_file(f, name)
        for p in problems:
            warn(f"{name}:{p}")
        bad = bad or bool(problems)
        out.append((demand, name, problems))
    return out, bad


def cmd_verify(args: argparse.Namespace) -> int:
    from kernel_lsp.live.workspace import open_workspace

    if args.output is not None and not Path(os.path.abspath(args.output)).parent.is_dir():
        raise CommandError(f"cannot write {args.output}: its directory does not exist")
    demand_files, policy_files = split_files(args.files)
    if not demand_files and args.format == "html":
        raise CommandError("the HTML report is for demands; give a *.demand.yaml file")
    config = setup(root_for(args.root, args.files), [], args.arch, args.jobs)
    messages = load_policies(config, tuple(policy_files))
    for m in messages:
        warn(m)
    bad_policy = any(label(config, p) in m for p in policy_files for m in messages)
    demands, bad_demand = read_demands(config, demand_files)
    result = run_index(config)
    ws = open_workspace(config, result.model, [])
    try:
        if demand_files:
            run = ws.verify(demands)
            text = render_run(args.format, run, config)
            wrong = run.code != "400_1"
        else:
            items = ws.layer_findings(None)
            text = render_findings(args.format, items, config, result)
            wrong = any(r.severity == "error" for r in items)
    finally:
        ws.close()
    write_report(text, args.output, utf8=args.format != "text", config=config)
    if sys.stderr.isatty() and demand_files:
        s = run.summary()
        warn(f"{run.code}: {s['invocations_right']} of {s['invocations']} invocations right")
    if bad_policy or bad_demand:
        return EXIT_USAGE
    return EXIT_FINDINGS if wrong else EXIT_OK


def render_run(fmt: str, run, config: Config) -> str:
    if fmt == "json":
        from kernel_lsp.design.render import format_json

        return format_json(run, config.root)
    if fmt == "html":
        from kernel_lsp.design.html import format_html

        return format_html(run, config.root)
    if fmt == "sarif":
        from kernel_lsp.design.sarif import format_run_sarif

        return format_run_sarif(run, config)
    from kernel_lsp.design.render import format_text

    return format_text(run)


def render_findings(fmt: str, items, config: Config, result) -> str:
    from kernel_lsp.batch.commands import render
    from kernel_lsp.batch.paths import Shown

    stats = {**result.stats, "checked_files": result.stats.get("files"),
             "policies": [p.origin for p in config.policies]}
    return render(fmt, items, config, stats, list(result.problems),
                  Shown(config.root, Path.cwd(), False))
