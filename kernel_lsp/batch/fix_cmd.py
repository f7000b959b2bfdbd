"""Subcommand ``fix``: apply the preferred quick fix of every finding, headless.

Index like ``check``, plan and realize the first (preferred) fix of each selected finding against
the files on disk, merge the edits per file (duplicates once, conflicting fixes dropped whole),
write each changed file atomically, then re-index and re-check. Exit status: 0 every selected
finding is fixed (or there was none), 1 some remain, 2 usage or I/O errors. ``--dry-run`` prints
a unified diff instead and writes nothing.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

from kernel_lsp.batch.commands import (
    EXIT_FINDINGS,
    EXIT_OK,
    EXIT_USAGE,
    CommandError,
    guarded,
    run_index,
    select_paths,
    setup,
    verbose,
    warn,
)
from kernel_lsp.batch.paths import Shown, path_arg
from kernel_lsp.files import read_regular
from kernel_lsp.messages import quoted_path


def register(sub) -> None:
    """Add ``fix`` to the ``kernel-lsp`` subcommand parser."""
    from kernel_lsp.fixes import FIXABLE_CODES

    p = sub.add_parser("fix", help="apply the preferred quick fix of each finding",
                       description="Index, check PATHS, and apply the preferred fix of each "
                                   "finding (missing #include, prototype, non-static + header "
                                   "declaration, type stub).")
    p.add_argument("paths", nargs="*", type=path_arg, metavar="PATHS",
                   help="files or directories to fix (default: the whole root)")
    p.add_argument("--code", metavar="CODES",
                   help="comma-separated codes to fix (default: " + ",".join(FIXABLE_CODES) + ")")
    p.add_argument("--dry-run", action="store_true",
                   help="print a unified diff of the fixes and write nothing")
    p.add_argument("--root", type=path_arg, metavar="DIR",
                   help="tree root (default: the nearest kernel-like ancestor of the first PATH)")
    p.add_argument("--arch", metavar="A", help="architecture under arch/ (default: x86)")
    p.add_argument("--absolute-paths", action="store_true",
                   help="print absolute paths (default: relative to the current directory)")
    verbose(p)
    p.set_defaults(func=guarded(cmd_fix))


def parse_codes(text: str | None) -> tuple[str, ...]:
    """The codes of ``--code`` (default: the fixable ones); unknown codes are a usage error."""
    from kernel_lsp.findings import CODES
    from kernel_lsp.fixes import FIXABLE_CODES

    if text is None:
        return FIXABLE_CODES
    codes = tuple(dict.fromkeys(c.strip() for c in text.split(",") if c.strip()))
    if not codes:
        raise CommandError("--code needs at least one code, e.g. --code 404_2,020_2")
    unknown = [c for c in codes if c not in CODES]
    if unknown:
        raise CommandError(f"unknown code {', '.join(unknown)} in --code "
                           f"(known: {', '.join(sorted(CODES))})")
    return codes


class DiskTexts:
    """Root-relative file texts as they are on disk, read once (the fixes' common base)."""

    def __init__(self, root: Path):
        self.root, self._cache = root, {}

    def __call__(self, path: str) -> str | None:
        if path not in self._cache:
            try:
                data = read_regular(self.root / path)
                self._cache[path] = data.decode("utf-8", "surrogateescape")
            except (OSError, ValueError):
                self._cache[path] = None
        return self._cache[path]


def _findings(model, config, paths, codes, *, with_fixes: bool = False) -> list:
    """The findings of ``paths`` whose code is one of ``codes`` (with fix plans if asked)."""
    from kernel_lsp.live.workspace import open_workspace

    if paths == []:
        return []
    ws = open_workspace(config, model, paths)
    return [r.finding for r in ws.findings(paths, with_fixes=with_fixes)
            if r.finding.code in codes]


def _realize_all(findings, texts: DiskTexts) -> list:
    """(finding, realized preferred fix or None) for each finding."""
    from kernel_lsp.fixes import realize

    return [(f, realize(f.plans[0], texts) if f.plans else None) for f in findings]


def _where(f, shown) -> str:
    return f"{quoted_path(shown(f.path))}:{f.line + 1}:{f.col + 1}: {f.code} {f.symbol}"


def cmd_fix(args: argparse.Namespace) -> int:
    from kernel_lsp.fixes.apply import (
        NotWritten,
        apply_edits,
        merge,
        unified_diff,
        write_all_atomic,
    )

    codes = parse_codes(args.code)
    config = setup(args.root, args.paths, args.arch, None, args.verbose)
    shown = Shown(config.root, Path.cwd(), args.absolute_paths)
    paths, bad_paths = select_paths(config, args.paths)
    if paths == [] and bad_paths:
        return EXIT_USAGE
    texts = DiskTexts(config.root)
    result = run_index(config, args.verbose)
    try:
        findings = _findings(result.model, config, paths, codes, with_fixes=True)
        planned = _realize_all(findings, texts)
    finally:
        result.model.close()
    accepted, by_path = merge(fix for _, fix in planned if fix is not None)
    new_texts = {}
    for path, edits in sorted(by_path.items()):
        old = texts(path)
        new = apply_edits(old, edits) if old is not None else None
        if new is not None and new != old:
            new_texts[path] = new
    taken = {id(fix) for fix in accepted}
    fixed_here = [(f, fix) for f, fix in planned if fix is not None and id(fix) in taken]
    if args.dry_run:
        for path, new in new_texts.items():
            sys.stdout.write(unified_diff(path, texts(path), new))
        warn(f"would fix {len(fixed_here)} of {len(findings)} findings in {len(new_texts)} files")
        status = EXIT_USAGE if bad_paths else EXIT_OK
        return status if len(fixed_here) == len(findings) else max(status, EXIT_FINDINGS)
    try:
        write_all_atomic({config.root / path: new for path, new in new_texts.items()})
    except NotWritten as exc:
        rel = exc.path.relative_to(config.root).as_posix()
        raise CommandError(f"cannot write {rel}: {exc.why}; no file was changed") from exc
    for f, fix in fixed_here:
        print(f"{_where(f, shown)}: {fix.title}")
    return _recheck(config, paths, codes, findings, new_texts, bad_paths, shown)


def _recheck(config, paths, codes, before, written: dict[str, str], bad_paths: bool,
             shown: Shown) -> int:
    """Re-index and re-check the selected and touched files; print what remains and the summary."""
    result = run_index(config) if written else None
    scope = paths if paths is None else sorted(set(paths) | set(written))
    try:
        after = _findings(result.model, config, scope, codes) if result else list(before)
    finally:
        if result is not None:
            result.model.close()
    for f in after:
        print(f"{_where(f, shown)}: remains")
    was = Counter((f.code, f.path, f.symbol) for f in before)
    now = Counter((f.code, f.path, f.symbol) for f in after)
    fixed = sum(max(0, n - now[k]) for k, n in was.items())
    print(f"fixed {fixed} of {len(before)} findings in {len(written)} files; {len(after)} remain")
    if bad_paths:
        return EXIT_USAGE
    return EXIT_FINDINGS if after else EXIT_OK
