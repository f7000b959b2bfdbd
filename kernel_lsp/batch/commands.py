"""Subcommands ``index`` and ``check``: the headless batch checker for CI and terminals.

Exit status: 0 no error-severity finding, 1 errors found, 2 usage or I/O errors. Problems go
to stderr as ``kernel-lsp: <message>`` lines; a progress bar appears only when stderr is a
terminal; an unexpected exception becomes one line (traceback with ``KERNEL_LSP_DEBUG=1``).
"""

from __future__ import annotations

import argparse
import errno
import functools
import os
import stat
import sys
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from kernel_lsp.batch.paths import Shown, choose_root, locate, path_arg
from kernel_lsp.config import Config, capped_jobs, load_config, relative_posix
from kernel_lsp.files import read_regular, stage_beside
from kernel_lsp.messages import condense, one_line
from kernel_lsp.model import collector

EXIT_OK, EXIT_FINDINGS, EXIT_USAGE = 0, 1, 2
FORMATS = ("text", "json", "sarif")


class CommandError(Exception):
    """A usage or I/O error: reported as one line, exit status 2."""


def warn(message: str) -> None:
    """``message`` on standard error, one line (a file name's newline escaped)."""
    print(f"kernel-lsp: {one_line(message)}", file=sys.stderr, flush=True)


def guarded(command: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """Run ``command``; turn any exception into a one-line message and exit status 2."""

    @functools.wraps(command)
    def run(args: argparse.Namespace) -> int:
        _MODEL_IN_USE.clear()  # (an earlier command of this process used another tree's)
        try:
            return command(args)
        except CommandError as exc:
            warn(str(exc))
            return EXIT_USAGE
        except (KeyboardInterrupt, BrokenPipeError):
            raise
        except Exception as exc:  # the promise: no traceback reaches the user
            from kernel_lsp.model.store import damaged, of_the_moment

            if _MODEL_IN_USE and damaged(exc):  # a page deep in the file, read only now
                warn(_set_aside_damaged(_MODEL_IN_USE[-1], exc))
                return EXIT_USAGE
            if of_the_moment(exc):  # (an "internal error" said it was kernel-lsp's)
                warn(f"cannot use the model: {exc} (a full disk, a file size limit, or "
                     "another kernel-lsp holding it); the stored model is kept as it was")
                return EXIT_USAGE
            if os.environ.get("KERNEL_LSP_DEBUG"):
                traceback.print_exc()
            warn(f"internal error: {type(exc).__name__}: {exc} "
                 "(run with KERNEL_LSP_DEBUG=1 for a traceback)")
            return EXIT_USAGE

    return run


# The model file the command reads (``run_index``, ``stored_model``): what a damaged page found
# while reading it is about
_MODEL_IN_USE: list[Path] = []


def _set_aside_damaged(path: Path, exc: Exception) -> str:
    """Set the damaged model at ``path`` aside (the next run rebuilds it); what to say."""
    from kernel_lsp.model.indexer import set_aside_model
    from kernel_lsp.model.store import ModelError

    try:
        set_aside_model(path)
    except ModelError as err:
        return f"the model is damaged ({exc}); {err}"
    return (f"{path}: the model is damaged ({exc}); it is set aside as {path.name}.corrupt, "
            "and the next run rebuilds it")


def positive_int(text: str) -> int:
    """argparse type: a positive integer (``--jobs``, ``--depth``, ``--limit``)."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, not {text!r}")
    return value


def register(sub) -> None:
    """Add ``index`` and ``check`` to the ``kernel-lsp`` subcommand parser."""
    p = sub.add_parser("index", help="build or update the model of a kernel tree",
                       description="Build or update <ROOT>/.kernel-lsp/model.db.")
    p.add_argument("root", nargs="?", type=path_arg, metavar="ROOT",
                   help="tree to index (default: the nearest kernel-like ancestor of the cwd)")
    _common(p)
    p.set_defaults(func=guarded(cmd_index))

    c = sub.add_parser("check", help="report findings for files or directories",
                       description="Index what is needed and report findings for PATHS.")
    c.add_argument("paths", nargs="*", type=path_arg, metavar="PATHS",
                   help="files or directories to report on, relative to the current directory "
                        "or to the root (default: the whole root)")
    c.add_argument("--root", type=path_arg, metavar="DIR",
                   help="tree root (default: the nearest kernel tree or kernel-lsp.toml above "
                        "the first PATH, or above the current directory)")
    c.add_argument("--format", choices=FORMATS, default="text", help="report format")
    c.add_argument("--output", "-o", type=path_arg, metavar="FILE",
                   help="write the report to FILE instead of standard output")
    c.add_argument("--absolute-paths", action="store_true",
                   help="print absolute paths (default: relative to the current directory)")
    c.add_argument("--since", metavar="REV",
                   help="report only the findings the working tree introduces against the git "
                        "revision REV (patch review; matched by symbol and context)")
    c.add_argument("--no-index", action="store_true",
                   help="do not bring the model up to date first (a language server keeps it "
                        "so): check against it as it is, with PATHS read as they are on disk")
    _common(c)
    c.set_defaults(func=guarded(cmd_check))


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--arch", metavar="A", help="architecture under arch/ (default: x86)")
    parser.add_argument("--jobs", "-j", type=positive_int, metavar="N",
                        help="parser processes (default: the CPU count)")
    verbose(parser)


def verbose(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="say how the root was chosen and list every skipped symlink")


# ---------------------------------------------------------------- shared steps


def setup(root: Path | None, given: list[Path], arch: str | None, jobs: int | None,
          verbose: bool = False) -> Config:
    """Choose the root (and say how, unless it is a kernel tree found by walking up), load its
    settings (messages to stderr), apply the command-line overrides."""
    choice = choose_root(root, given, Path.cwd())
    root = choice.root
    if not root.is_dir():
        what = "is not a directory" if root.exists() else "does not exist"
        raise CommandError(f"root {root} {what}")
    message = choice.message()
    if message is not None:
        warn(message)
    elif verbose:
        warn(f"root {root} ({'from --root, ' if choice.explicit else ''}{choice.why})")
    config, messages = load_config(root, arch)
    for message in messages:
        warn(message)
    if jobs is not None:
        cut: list[str] = []
        config.jobs = capped_jobs(jobs, "--jobs", cut)
        for message in cut:
            warn(message)
    return config


@contextmanager
def progress_bar(label: str) -> Iterator[Callable[[int, int, str], None] | None]:
    """A rich progress callback when stderr is a terminal, else None (quiet when piped)."""
    if not sys.stderr.isatty():
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), TextColumn("[dim]{task.fields[path]}"),
                  console=Console(stderr=True), transient=True) as progress:
        task = progress.add_task(label, total=None, path="")

        def update(done: int, total: int, path: str) -> None:
            progress.update(task, completed=done, total=total or None, path=path[-60:])

        yield update


def run_index(config: Config, verbose: bool = False, *, as_it_is: bool = True):
    """Index ``config.root`` (bring its model up to date); print the indexer's problems (the
    kinds that repeat on every run counted in one line unless ``verbose``). A model that
    cannot be written (its directory read-only) is used as it is, and said so (``as_it_is``;
    ``kernel-lsp index``, whose one job is writing it, says it cannot)."""
    from kernel_lsp.model.indexer import index
    from kernel_lsp.model.store import ModelError, read_only_reason
    from kernel_lsp.parse.parser import QueriesUnavailable

    _MODEL_IN_USE.append(config.db_path)
    reason = read_only_reason(config.db_path)
    if as_it_is and reason is not None and config.db_path.is_file():
        warn(f"{config.index_dir} is {reason}: the model in it is used as it is, not brought "
             "up to date")
        return stored_model(config, "")
    try:
        with progress_bar("indexing") as progress:
            result = index(config, jobs=config.jobs, progress=progress, waiting=warn)
    except (ModelError, QueriesUnavailable) as exc:  # a model that can be neither used nor
        raise CommandError(str(exc)) from exc  # set aside; an installation without queries
    result.problems = condense(result.problems, verbose)
    for problem in result.problems:
        warn(problem)
    return result


def _patch(config: Config, rev: str):
    from kernel_lsp.batch.since import GitError, read_patch

    try:
        return read_patch(config, rev)
    except GitError as exc:
        raise CommandError(str(exc)) from exc


def stored_model(config: Config, hint: str = ": check without --no-index"):
    """The root's model as it is (``--no-index``), as an index result with no run behind it;
    ``hint``: what to do when it is incomplete."""
    from kernel_lsp.model.indexer import IndexResult
    from kernel_lsp.model.runlock import why_incomplete
    from kernel_lsp.model.store import Model, ModelError

    if not config.db_path.is_file() or config.db_path.stat().st_size == 0:
        # (an empty file: opened, it was given the schema, and said to be a model whose index
        # run was interrupted)
        raise CommandError(f"no model at {config.db_path}: run `kernel-lsp index` first, or "
                           "check without --no-index")
    _MODEL_IN_USE.append(config.db_path)
    try:
        model = Model(config.db_path)
    except ModelError as exc:
        raise CommandError(str(exc)) from exc
    if model.meta("includes_resolved") != "1":
        model.close()
        raise CommandError(f"{config.db_path}: {why_incomplete(config.db_path)}{hint}")
    return IndexResult(model, {"indexed": False})


def read_from_disk(ws, paths: list[str]) -> None:
    """Give the workspace the disk text of each of ``paths`` that the model has not seen as it
    is now (changed since the last index, or new), as an editor buffer: the rest of the model
    stays as stored."""
    for rel in paths:
        full = ws.config.root / rel
        try:
            st = full.stat()
            stamp = ws.model.nav_file_stamp(rel)
            if stamp == (st.st_size, st.st_mtime_ns) or st.st_size > ws.config.max_file_bytes:
                continue
            ws.set_buffer(rel, read_regular(full, ws.config.max_file_bytes))  # (no FIFO)
        except OSError as exc:
            warn(f"{rel}: cannot read ({exc.strerror or exc}); its stored facts are used")


# ---------------------------------------------------------------- index


def cmd_index(args: argparse.Namespace) -> int:
    config = setup(args.root, [], args.arch, args.jobs, args.verbose)
    result = run_index(config, args.verbose, as_it_is=False)
    result.model.close()
    s = result.stats
    seconds = s.get("seconds")
    took = f" in {seconds:.1f} s" if isinstance(seconds, int | float) else ""
    print(f"indexed {one_line(str(config.root))}: {s.get('files', '?')} files "
          f"({s.get('parsed', '?')} parsed, {s.get('unchanged', '?')} unchanged, "
          f"{s.get('removed', '?')} removed){took}")
    return EXIT_OK


# ---------------------------------------------------------------- check


def _check_output(output: Path | None) -> None:
    if output is None:
        return
    parent = Path(os.path.abspath(output)).parent
    if not parent.is_dir():
        raise CommandError(f"cannot write {output}: directory {parent} does not exist")
    if output.is_dir():
        raise CommandError(f"cannot write {output}: it is a directory")


def select_paths(config: Config, given: list[Path]) -> tuple[list[str] | None, bool]:
    """Root-relative files to report on (None = everything) and whether a PATH was bad. A PATH
    is relative to the current directory, or to the root when nothing is there."""
    if not given:
        return None, False
    from kernel_lsp.model.walk import discover

    good: list[Path] = []
    bad = False
    cwd = Path.cwd()
    for path in given:
        found = locate(path, config.root, cwd)
        if not found.exists():
            warn(f"{path}: no such file or directory")
            bad = True
        elif relative_posix(config.root, found) is None:
            warn(f"{path}: outside the root {config.root}; skipped")
            bad = True
        else:
            good.append(found)
    if not good:
        return [], bad
    files, messages = discover(config, good)
    for message in messages:
        warn(message)
    if not files:
        warn("no C files to check in " + ", ".join(str(p) for p in good))
    return [sf.path for sf in files], bad


def render(fmt: str, items, config: Config, stats: dict, problems: list[str],
           shown: Shown) -> str:
    """The report in ``fmt``; text and JSON print paths with ``shown``, SARIF root-relative."""
    from kernel_lsp.batch import report

    if fmt == "json":
        return report.format_json(items, config.root, stats, shown)
    if fmt == "sarif":
        from kernel_lsp.batch.sarif import format_sarif

        return format_sarif(items, config, problems)
    return report.format_text(items, shown)


def write_report(text: str, output: Path | None, utf8: bool = False,
                 config: Config | None = None) -> None:
    """``text`` to ``output`` (UTF-8) or standard output; ``utf8``: a machine format (JSON,
    SARIF, HTML, a demand file), written in UTF-8 there too whatever the locale's encoding.
    ``config``: the tree whose model's files and sources no report replaces (``not_ours``)."""
    if output is not None and config is not None:
        not_ours(output, config)
    if output is None:
        try:
            if utf8:
                sys.stdout.flush()
                sys.stdout.buffer.write(text.encode("utf-8", "surrogateescape"))
            else:
                sys.stdout.write(text)
            sys.stdout.flush()
        except BrokenPipeError:
            raise
        except OSError as exc:  # ``> /dev/full``
            raise CommandError(f"cannot write the report: {exc.strerror or exc}") from exc
        return
    try:
        write_whole(output, text.encode("utf-8", "surrogateescape"))
    except OSError as exc:
        raise CommandError(f"cannot write {output}: {exc.strerror or exc}") from exc


def not_ours(output: Path, config: Config) -> None:
    """:raises CommandError: ``output`` is (or leads to) a file of the model's directory or a
    source file of the tree: ``check -o .kernel-lsp/model.db`` replaced the model by the
    report, ``check -o fs/stat.c`` the file it checked (GCC refuses such an output too)."""
    real = Path(os.path.realpath(output))
    index_dir = Path(os.path.realpath(config.index_dir))
    if real == index_dir or index_dir in real.parents:
        raise CommandError(f"cannot write {output}: it is in {config.index_dir}, where "
                           "kernel-lsp keeps the model")
    rel = relative_posix(Path(os.path.realpath(config.root)), real)
    if rel is not None and real.suffix in config.extensions and real.is_file():
        raise CommandError(f"cannot write {output}: it is a source file of the tree ({rel})")


def write_whole(output: Path, data: bytes) -> None:
    """Replace the regular file ``output`` (or the one it links to) by ``data`` through a
    temporary file beside it: written in place, a report that did not fit on the disk left the
    last report cut in the middle (invalid SARIF for the CI job that reads it). Its permission
    bits are kept (a new file gets the umask's); a device or a FIFO (``/dev/stdout``) is
    written as it is, and so is a file whose directory takes no new file."""
    try:
        st: os.stat_result | None = output.stat()
    except FileNotFoundError:
        st = None
    if st is not None and not stat.S_ISREG(st.st_mode):
        with open(output, "wb") as f:
            f.write(data)
        return
    target = Path(os.path.realpath(output))
    if st is not None and not os.access(target, os.W_OK):
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES))
    if not os.access(target.parent, os.W_OK | os.X_OK):
        target.write_bytes(data)
        return
    if st is not None:
        mode = st.st_mode & 0o7777
    else:  # (the umask is read by setting it)
        umask = os.umask(0o022)
        os.umask(umask)
        mode = 0o666 & ~umask
    tmp = stage_beside(target, data, mode, ".part")
    try:
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


@collector.bulk_work()  # a whole-tree check holds millions of objects
def cmd_check(args: argparse.Namespace) -> int:
    from kernel_lsp.batch.report import error_count, summary_line
    from kernel_lsp.live.workspace import open_workspace

    started = time.perf_counter()
    _check_output(args.output)
    config = setup(args.root, args.paths, args.arch, args.jobs, args.verbose)
    if args.since is not None and not args.since.strip():
        # (``--since "$BASE"`` with BASE unset checked the whole tree: every old finding new)
        raise CommandError("--since needs a revision, got an empty one")
    if args.since and args.no_index:
        raise CommandError("--since and --no-index exclude each other")
    paths, bad_paths = select_paths(config, args.paths)
    if paths == []:  # nothing to check (said): no index written for it (``check notes.txt``)
        return EXIT_USAGE
    patch = _patch(config, args.since) if args.since else None
    result = stored_model(config) if args.no_index else run_index(config, args.verbose)
    since: dict = {}
    try:
        if patch is not None:
            from kernel_lsp.batch.since import since_findings

            items, since = since_findings(config, result.model, patch, paths)
        else:
            ws = open_workspace(config, result.model, paths)
            if result.stats.get("indexed") is False:  # (--no-index, or a read-only model)
                read_from_disk(ws, paths or [])
            items = ws.findings(paths) if paths != [] else []
    finally:
        result.model.close()
    checked = (since["touched_files"] + since["dependent_files"] if since else
               len(paths) if paths is not None else result.stats.get("files"))
    stats = {**result.stats, "checked_files": checked, "problems": len(result.problems),
             "include_paths_source": config.source, **({"since": since} if since else {})}
    shown = Shown(config.root, Path.cwd(), args.absolute_paths)
    write_report(render(args.format, items, config, stats, list(result.problems), shown),
                 args.output, utf8=args.format != "text", config=config)
    what = f" introduced since {args.since}" if since else ""
    before = (f"; {since['findings_now']} now, {since['findings_at_rev']} at {args.since}"
              if since else "")
    warn(f"{summary_line(items, stats.get('checked_files'), what)}{before} "
         f"({time.perf_counter() - started:.1f} s)")
    if bad_paths:
        return EXIT_USAGE
    return EXIT_FINDINGS if error_count(items) else EXIT_OK
