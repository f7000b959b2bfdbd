"""The tree-sitter C parser and the compiled queries of ``queries/*.scm``, loaded once per process."""

from __future__ import annotations

import functools
from importlib import resources
from pathlib import Path

import tree_sitter_c
from tree_sitter import Language, Parser, Query, QueryCursor, QueryError, Tree

from kernel_lsp.parse.preprocess import parser_text

C_LANGUAGE = Language(tree_sitter_c.language())


def _queries_dir() -> Path:
    """``kernel_lsp/queries`` in a wheel; the repository's top-level ``queries/`` in a checkout."""
    packaged = resources.files("kernel_lsp") / "queries"
    if packaged.is_dir():
        return Path(str(packaged))
    return Path(__file__).resolve().parents[2] / "queries"


QUERY_FILES = ("definitions", "calls", "types", "locals", "errors")


class QueriesUnavailable(Exception):
    """A query file of the installation cannot be read or compiled: nothing can be extracted
    (a package installed without its ``queries/``, or with a tree-sitter-c they do not fit)."""


def _query_text(name: str) -> str:
    path = _queries_dir() / f"{name}.scm"
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise QueriesUnavailable(f"the installation is incomplete: cannot read the query "
                                 f"file {path} ({reason}); reinstall kernel-lsp") from exc


def _compiled(text: str, what: str) -> Query:
    try:
        return Query(C_LANGUAGE, text)
    except QueryError as exc:
        raise QueriesUnavailable(f"kernel-lsp's query {what} does not compile with this "
                                 f"tree-sitter-c ({exc}); reinstall kernel-lsp") from exc


@functools.cache
def query(name: str) -> Query:
    """The compiled query ``queries/<name>.scm``."""
    return _compiled(_query_text(name), f"{name}.scm")


@functools.cache
def _all_queries() -> Query:
    # One pass over the tree for all concerns: each cursor run walks the whole tree, so running
    # the files one by one costs more than the parse itself. Capture names are unique per file.
    return _compiled("\n".join(_query_text(name) for name in QUERY_FILES),
                     "files " + ", ".join(f"{n}.scm" for n in QUERY_FILES))


def check_queries() -> None:
    """Raise ``QueriesUnavailable`` when the queries cannot be loaded. An index checks this
    before it stores anything: with no queries every file would be stored as extracted with
    no facts."""
    _all_queries()


# How deep below the node it runs on a query match may start. A query's cost grows with the
# square of the tree's depth: 50,000 nested braces (a hostile or broken buffer) held the
# server's model thread for a minute in one call, which nothing can interrupt; no Linux 6.1
# file has a match starting below depth 1,000 (the same captures with and without the bound).
MAX_START_DEPTH = 1000


def query_cursor(q: Query) -> QueryCursor:
    """A cursor of ``q`` bounded to ``MAX_START_DEPTH``."""
    cursor = QueryCursor(q)
    cursor.set_max_start_depth(MAX_START_DEPTH)
    return cursor


def captures(name: str, node) -> dict:
    """Captures of query ``name`` under ``node``: ``{capture: [nodes in document order]}``."""
    return query_cursor(query(name)).captures(node)


def all_captures(node) -> dict:
    """Captures of every query file under ``node`` in one pass, each list in document order.

    py-tree-sitter does not promise an order when several patterns capture the same name, and
    extraction keeps the first of duplicate uses: sorting makes it deterministic.
    """
    caps = query_cursor(_all_queries()).captures(node)
    for nodes in caps.values():
        nodes.sort(key=_position)
    return caps


def _position(node) -> tuple[int, int]:
    return node.start_byte, -node.end_byte


@functools.cache
def _parser() -> Parser:
    return Parser(C_LANGUAGE)


def parse(source: bytes, old_tree: Tree | None = None) -> Tree:
    """Parse C ``source`` after blanking annotation macros (offsets unchanged). Branches a
    configuration drops are blanked by the caller first (``conditions.active_text``)."""
    return reparse_blanked(parser_text(source), old_tree)


def reparse_blanked(blanked: bytes, old_tree: Tree | None) -> Tree:
    """Parse already-blanked text, reusing ``old_tree`` (edited to match) when given."""
    if old_tree is not None:
        return _parser().parse(blanked, old_tree)
    return _parser().parse(blanked)
